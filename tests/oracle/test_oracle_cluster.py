"""Metadata and DescribeCluster: the same topics asked of Kafka and Kavka answer alike once cluster
ids, topic ids and ports are normalised (both nodes are node 1 and their own controller)."""

from __future__ import annotations

from tests.oracle.oraclewire import CREATE_TOPICS, DESCRIBE_CLUSTER, METADATA, create_topics_body


def _create(oracle, name: str, partitions: int, configs: dict[str, str] | None = None) -> None:
    body = create_topics_body(name, partitions, configs)
    kafka, kavka = oracle.both(CREATE_TOPICS, 7, body)
    assert kafka["topics"][0]["error_code"] == kavka["topics"][0]["error_code"] == 0, (kafka, kavka)


def test_metadata_of_topics_known_and_unknown(oracle, new_topic_name):
    name, missing = new_topic_name("md"), new_topic_name("missing")
    _create(oracle, name, 3)
    body = {
        "topics": [{"name": name}, {"name": missing}],
        "allow_auto_topic_creation": False,
        "include_topic_authorized_operations": True,
    }
    renames = {name: "<topic>", missing: "<missing>"}
    assert oracle.diff(METADATA, 12, body, renames) == []
    kafka, _ = oracle.both(METADATA, 12, body, renames)
    # Not vacuous: the answer has the topic with three led partitions and the unknown one's error.
    [topic, unknown] = sorted(kafka["topics"], key=lambda t: t["name"] != "<topic>")
    assert [p["leader_id"] for p in topic["partitions"]] == [1, 1, 1]
    assert unknown["error_code"] == 3


def test_metadata_versions_agree(oracle, new_topic_name):
    """Every Metadata version answers alike (v0 has no auto-creation flag and null means all topics)."""
    name = new_topic_name("mdv")
    _create(oracle, name, 1)
    for version in range(0, 14):
        body = {"topics": [{"name": name}]}
        if version >= 4:
            body["allow_auto_topic_creation"] = False
        if version >= 8:
            body["include_topic_authorized_operations"] = True
        if 8 <= version <= 10:
            body["include_cluster_authorized_operations"] = True
        assert oracle.diff(METADATA, version, body, {name: "<topic>"}) == [], version


def test_metadata_invalid_topic_name(oracle):
    body = {
        "topics": [{"name": "bad name!"}],
        "allow_auto_topic_creation": True,
        "include_topic_authorized_operations": False,
    }
    assert oracle.diff(METADATA, 12, body) == []


def test_describe_cluster(oracle):
    for version, body in (
        (0, {"include_cluster_authorized_operations": False}),
        (1, {"include_cluster_authorized_operations": True, "endpoint_type": 1}),
    ):
        assert oracle.diff(DESCRIBE_CLUSTER, version, body) == [], version
    kafka, _ = oracle.both(DESCRIBE_CLUSTER, 1, {"include_cluster_authorized_operations": True, "endpoint_type": 1})
    assert kafka["brokers"] == [{"broker_id": 1, "host": "127.0.0.1", "port": "<port>", "rack": None}]


def test_describe_cluster_controller_endpoints(oracle):
    """endpoint_type 2 (controllers) is for controller listeners: a broker answers UNSUPPORTED_ENDPOINT_TYPE."""
    kafka, kavka = oracle.both(
        DESCRIBE_CLUSTER, 1, {"include_cluster_authorized_operations": False, "endpoint_type": 2}
    )
    assert kafka["error_code"] != 0
    assert (kavka["error_code"], kavka["error_message"]) == (kafka["error_code"], kafka["error_message"])
