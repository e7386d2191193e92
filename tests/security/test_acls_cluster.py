"""ACLs replicate: on a LocalCluster (one controller, two brokers) an ACL created through one broker is
in the metadata log, and the other broker enforces it.

The cluster runs Kafka's StandardAuthorizer with ``allow.everyone.if.no.acl.found=true``: the nodes'
own requests (registration, heartbeats, the metadata log's Fetch) come as ``User:ANONYMOUS`` over
PLAINTEXT and need CLUSTER_ACTION, which no ACL takes away here, as with brokers named in
``super.users`` in a typical configuration.
"""

from __future__ import annotations

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.oracle.oraclewire import call
from tests.security.aclfixtures import STANDARD_AUTHORIZER

METADATA, CREATE_TOPICS, CREATE_ACLS, DESCRIBE_ACLS, CREATE_PARTITIONS, INCREMENTAL_ALTER = 3, 19, 30, 29, 37, 44
TOPIC_AUTHORIZATION_FAILED = 29


def every_body() -> dict:
    return {"topics": None, "allow_auto_topic_creation": False, "include_topic_authorized_operations": False}


def test_an_acl_created_through_one_broker_is_enforced_by_another(tmp_path):
    overrides = {"authorizer.class.name": STANDARD_AUTHORIZER, "allow.everyone.if.no.acl.found": "true"}
    with LocalCluster(controllers=1, brokers=2, base_dir=tmp_path, overrides=overrides) as cluster:
        first, second = cluster.brokers
        topic = "acl-replicated"
        body = {
            "topics": [{"name": topic, "num_partitions": 1, "replication_factor": 2, "assignments": [], "configs": []}],
            "timeout": 30000,
            "validate_only": False,
        }
        # both brokers registered and unfenced: the topic can have two replicas
        wait_until(
            lambda: call(first.bootstrap, CREATE_TOPICS, 7, body)["topics"][0]["error_code"] in (0, 36),
            30,
            message="the topic created on two brokers",
        )
        metadata = {
            "topics": [{"name": topic}],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": False,
        }
        wait_until(
            lambda: call(second.bootstrap, METADATA, 12, metadata)["topics"][0]["error_code"] == 0,
            30,
            message="the topic on the second broker",
        )
        deny_describe = {
            "resource_type": 2,
            "resource_name": topic,
            "resource_pattern_type": 3,
            "principal": "User:ANONYMOUS",
            "host": "*",
            "operation": 8,  # DESCRIBE
            "permission_type": 2,  # DENY
        }
        created = call(first.bootstrap, CREATE_ACLS, 3, {"creations": [deny_describe]})
        assert created["results"][0]["error_code"] == 0, created
        wait_until(
            lambda: (
                call(second.bootstrap, METADATA, 12, metadata)["topics"][0]["error_code"] == TOPIC_AUTHORIZATION_FAILED
            ),
            30,
            message="the DENY enforced by the second broker",
        )
        every = call(second.bootstrap, METADATA, 12, {"topics": None, "allow_auto_topic_creation": False,
                                                        "include_topic_authorized_operations": False})  # fmt: skip
        assert topic not in [t["name"] for t in every["topics"]]
        described = call(second.bootstrap, DESCRIBE_ACLS, 3, {
            "resource_type_filter": 1, "resource_name_filter": None, "pattern_type_filter": 1, "principal_filter": None,
            "host_filter": None, "operation": 1, "permission_type": 1,
        })  # fmt: skip
        assert [(r["resource_name"], len(r["acls"])) for r in described["resources"]] == [(topic, 1)]
        # Admin requests the brokers forward to the controller node: the refused part answered by the
        # broker, the rest done (ALTER on a topic has no cluster-wide shortcut, unlike CREATE and DELETE)
        fine = {**body, "topics": [{**body["topics"][0], "name": "acl-fine"}]}
        assert call(second.bootstrap, CREATE_TOPICS, 7, fine)["topics"][0]["error_code"] == 0
        grow = {
            "topics": [{"name": n, "count": 2, "assignments": None} for n in (topic, "acl-fine")],
            "timeout": 30000,
            "validate_only": False,
        }
        grown = {r["name"]: r["error_code"] for r in call(second.bootstrap, CREATE_PARTITIONS, 3, grow)["results"]}
        assert grown == {topic: TOPIC_AUTHORIZATION_FAILED, "acl-fine": 0}
        alter = {
            "resources": [
                {"resource_type": 2, "resource_name": n,
                 "configs": [{"name": "retention.ms", "config_operation": 0, "value": "100000"}]}
                for n in (topic, "acl-fine")
            ],
            "validate_only": False,
        }  # fmt: skip
        altered = {
            r["resource_name"]: r["error_code"]
            for r in call(second.bootstrap, INCREMENTAL_ALTER, 1, alter)["responses"]
        }
        assert altered == {topic: TOPIC_AUTHORIZATION_FAILED, "acl-fine": 0}


def test_a_cluster_whose_nodes_are_super_users_works(tmp_path):
    """The typical configuration: the nodes' principal (User:ANONYMOUS on these PLAINTEXT listeners) in
    ``super.users`` and no ACL for them; registrations, heartbeats, the metadata log's Fetch and
    replication pass the CLUSTER_ACTION checks and a topic replicated on both brokers takes writes."""
    overrides = {"authorizer.class.name": STANDARD_AUTHORIZER, "super.users": "User:ANONYMOUS"}
    with LocalCluster(controllers=1, brokers=2, base_dir=tmp_path, overrides=overrides) as cluster:
        first, _ = cluster.brokers
        body = {
            "topics": [
                {"name": "acl-su", "num_partitions": 1, "replication_factor": 2, "assignments": [], "configs": []}
            ],
            "timeout": 30000,
            "validate_only": False,
        }
        wait_until(
            lambda: call(first.bootstrap, CREATE_TOPICS, 7, body)["topics"][0]["error_code"] in (0, 36),
            30,
            message="the topic created on two brokers",
        )
        from confluent_kafka import Producer

        errors = []
        p = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", "message.timeout.ms": 20000})
        p.produce("acl-su", b"v", on_delivery=lambda err, msg: errors.append(err))
        p.flush(30)
        assert errors == [None]
