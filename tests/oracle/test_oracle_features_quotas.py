"""The APIs added for issue 13 against Apache Kafka: client quotas (Describe/AlterClientQuotas),
UpdateFeatures, ListConfigResources, UnregisterBroker, AlterReplicaLogDirs and ApiVersions v5, at the
protocol level (the same request to both brokers, the answers compared) and through Kafka's own
``kafka-configs`` and ``kafka-features``.

Quotas live in each session broker's metadata for the rest of the session, so every test names its own
entities (a unique suffix) and filters on them. Nothing here changes a finalized feature or unregisters a
broker of the session: those run on a private Kavka broker, with Kafka's answer taken from what it does
(noted in the module that implements each).
"""

from __future__ import annotations

import json
import socket
import struct
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from kio.index import load_response_schema
from kio.serial import entity_reader

from kavka.protocol.api import encode_request_body
from kavka.protocol.records import Record, build_batch
from kavka.protocol.varint import encode_unsigned_varint
from kavka.testing.process import create_topic as create_on
from kavka.testing.process import wait_until
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences
from tests.oracle.oraclewire import call, plain

DESCRIBE_QUOTAS, ALTER_QUOTAS, UPDATE_FEATURES, UNREGISTER_BROKER = 48, 49, 57, 64
ALTER_LOG_DIRS, LIST_CONFIG_RESOURCES, DESCRIBE_LOG_DIRS, API_VERSIONS = 34, 74, 35, 18
TOOLS = "org.apache.kafka.tools."


def _entity(*parts):
    return [{"entity_type": t, "entity_name": n} for t, n in parts]


def _op(key, value, remove=False):
    return {"key": key, "value": value, "remove": remove}


def _sorted_entries(answer: dict) -> dict:
    """Quota answers list entities in hash order: sort them so two brokers' answers compare."""
    if answer.get("entries") is not None:
        answer = {**answer, "entries": sorted(answer["entries"], key=repr)}
    return answer


def _both(oracle, api_key, version, body):
    kafka, kavka = oracle.both(api_key, version, body)
    return _sorted_entries(kafka), _sorted_entries(kavka)


# -- AlterClientQuotas: validation --------------------------------------------------------------------


INVALID_ALTERATIONS = {
    "empty entity": ([], [_op("producer_byte_rate", 1000.0)]),
    "unknown type": ([("group", "g")], [_op("producer_byte_rate", 10.0)]),
    "empty user": ([("user", "")], [_op("producer_byte_rate", 10.0)]),
    "empty client id with user": ([("user", "u"), ("client-id", "")], [_op("producer_byte_rate", 10.0)]),
    "ip with user": ([("user", "bob"), ("ip", "1.2.3.4")], [_op("connection_creation_rate", 10.0)]),
    "ip with all": ([("user", "u"), ("ip", "1.1.1.1"), ("client-id", "c")], [_op("bogus", 1.0)]),
    "ip not an address": ([("ip", "notanip")], [_op("bogus", 10.0)]),
    "ip key on user": ([("user", "bob")], [_op("connection_creation_rate", 5.0)]),
    "user key on ip": ([("ip", "1.2.3.4")], [_op("producer_byte_rate", 10.0)]),
    "unknown key": ([("user", "bob"), ("client-id", "c")], [_op("producer_byte_rate", 10.0), _op("bogus", 7.0)]),
    "fraction": ([("user", "bob")], [_op("producer_byte_rate", 10.5)]),
    "fraction ip": ([("ip", "::1")], [_op("connection_creation_rate", 1.5)]),
    "zero": ([("user", "bob")], [_op("consumer_byte_rate", 0.0)]),
    "negative double": ([("user", "bob")], [_op("request_percentage", -2.0)]),
    "too large long": ([("user", "bob")], [_op("producer_byte_rate", 1e30)]),
    "too large int": ([("ip", "1.2.3.4")], [_op("connection_creation_rate", 3e9)]),
    "duplicate key": ([("client-id", "c9")], [_op("producer_byte_rate", 10.0), _op("producer_byte_rate", 20.0)]),
}


@pytest.mark.parametrize("case", sorted(INVALID_ALTERATIONS))
def test_alter_client_quotas_refused_as_kafka_refuses(oracle, case):
    parts, ops = INVALID_ALTERATIONS[case]
    body = {"entries": [{"entity": _entity(*parts), "ops": ops}], "validate_only": True}
    kafka, kavka = _both(oracle, ALTER_QUOTAS, 1, body)
    assert kafka == kavka
    assert kafka["entries"][0]["error_code"] == 42, kafka  # INVALID_REQUEST, with Kafka's message


def test_alter_client_quotas_valid_and_duplicate_entities(oracle):
    tag = uuid.uuid4().hex[:8]
    body = {
        "entries": [
            {"entity": _entity(("user", f"a-{tag}")), "ops": [_op("producer_byte_rate", 10.0)]},
            {"entity": _entity(("user", f"a-{tag}")), "ops": [_op("consumer_byte_rate", 10.0)]},
            {"entity": _entity(("user", f"b-{tag}"), ("client-id", "c")), "ops": [_op("request_percentage", 0.5)]},
            {"entity": _entity(("ip", None)), "ops": [_op("connection_creation_rate", 7.0)]},
            {"entity": _entity(("ip", "::1")), "ops": [_op("connection_creation_rate", 7.0, remove=True)]},
            {"entity": _entity(("user", f"c-{tag}")), "ops": [_op("bogus", 1.0, remove=True)]},
        ],
        "validate_only": True,
    }
    for version in (0, 1):
        kafka, kavka = _both(oracle, ALTER_QUOTAS, version, body)
        assert kafka == kavka
        assert [e["error_code"] for e in kafka["entries"]].count(0) == 4, kafka


# -- quotas stored and described ----------------------------------------------------------------------


def _describe(bootstrap, components, strict=False, version=1):
    return _sorted_entries(call(bootstrap, DESCRIBE_QUOTAS, version, {"components": components, "strict": strict}))


def _component(entity_type, match_type, match=None):
    return {"entity_type": entity_type, "match_type": match_type, "match": match}


def test_client_quotas_stored_described_and_removed(oracle):
    tag = uuid.uuid4().hex[:8]
    alice, app = f"alice-{tag}", f"app-{tag}"
    set_body = {
        "entries": [
            {"entity": _entity(("user", alice)), "ops": [_op("producer_byte_rate", 1024.0)]},
            {
                "entity": _entity(("user", alice), ("client-id", app)),
                "ops": [_op("consumer_byte_rate", 2048.0), _op("request_percentage", 12.5)],
            },
            {"entity": _entity(("client-id", app)), "ops": [_op("controller_mutation_rate", 3.0)]},
        ],
        "validate_only": False,
    }
    kafka, kavka = _both(oracle, ALTER_QUOTAS, 1, set_body)
    assert kafka == kavka and all(e["error_code"] == 0 for e in kafka["entries"])
    # Kafka's broker learns the quotas from its metadata log a moment after its controller answers
    everything = [_component("user", 0, alice)]
    wait_until(lambda: len(_describe(oracle.kafka.bootstrap, everything)["entries"]) == 2, 10)

    filters = [
        ([_component("user", 0, alice)], True),
        ([_component("user", 0, alice)], False),
        ([_component("client-id", 0, app)], False),
        ([_component("user", 0, alice), _component("client-id", 0, app)], True),
        ([_component("user", 0, alice), _component("client-id", 2)], False),
        ([_component("user", 0, alice), _component("client-id", 1)], False),
    ]
    for components, strict in filters:
        for version in (0, 1):
            kafka = _describe(oracle.kafka.bootstrap, components, strict, version)
            kavka = _describe(oracle.kavka.bootstrap, components, strict, version)
            assert kafka == kavka, (components, strict)
    assert len(_describe(oracle.kavka.bootstrap, [_component("user", 0, alice)])["entries"]) == 2

    remove_body = {
        "entries": [
            {"entity": _entity(("user", alice)), "ops": [_op("producer_byte_rate", 0.0, remove=True)]},
            {"entity": _entity(("client-id", app), ("user", alice)), "ops": [_op("request_percentage", 0, True)]},
        ],
        "validate_only": False,
    }
    kafka, kavka = _both(oracle, ALTER_QUOTAS, 1, remove_body)
    assert kafka == kavka
    wait_until(lambda: len(_describe(oracle.kafka.bootstrap, everything)["entries"]) == 1, 10)
    kafka = _describe(oracle.kafka.bootstrap, [_component("user", 0, alice)])
    kavka = _describe(oracle.kavka.bootstrap, [_component("user", 0, alice)])
    assert kafka == kavka
    assert [e["values"] for e in kavka["entries"]] == [[{"key": "consumer_byte_rate", "value": 2048.0}]]


DESCRIBE_FILTER_ERRORS = {
    "unknown type": [_component("group", 2)],
    "unknown match type": [_component("user", 5)],
    "exact without name": [_component("user", 0)],
    "default with name": [_component("user", 1, "x")],
    "any with name": [_component("user", 2, "x")],
    "type twice": [_component("user", 2), _component("user", 2)],
    "ip with user": [_component("ip", 2), _component("user", 2)],
}


@pytest.mark.parametrize("case", sorted(DESCRIBE_FILTER_ERRORS))
def test_describe_client_quotas_filter_errors(oracle, case):
    body = {"components": DESCRIBE_FILTER_ERRORS[case], "strict": False}
    kafka, kavka = _both(oracle, DESCRIBE_QUOTAS, 1, body)
    assert kafka == kavka and kafka["error_code"] != 0


# -- kafka-configs for clients, users and ips ---------------------------------------------------------


def _tool_both(apache_kafka, broker, main, args, renames):
    def run(bootstrap):
        done = apache_kafka.run_tool(TOOLS + main, ["--bootstrap-server", bootstrap, *args])
        text = (done.stdout + done.stderr).replace(bootstrap, "<bootstrap>")
        for old, new in renames.items():
            text = text.replace(old, new)
        # an error's stack frames are the tool's own, not the broker's answer
        lines = [line.rstrip() for line in text.splitlines() if line.strip() and not line.startswith("\tat ")]
        return done.returncode, sorted(lines)

    with ThreadPoolExecutor(2) as pool:
        return tuple(pool.map(run, (apache_kafka.bootstrap, broker.bootstrap)))


def test_kafka_configs_for_quota_entities(apache_kafka, broker):
    tag = uuid.uuid4().hex[:8]
    user, client = f"user-{tag}", f"client-{tag}"
    renames = {tag: "<tag>"}
    runs = [
        ["--alter", "--entity-type", "users", "--entity-name", user, "--add-config", "producer_byte_rate=1024"],
        [
            "--alter",
            *("--entity-type", "users", "--entity-name", user, "--entity-type", "clients", "--entity-name", client),
            *("--add-config", "consumer_byte_rate=2048,request_percentage=50"),
        ],
        ["--alter", "--entity-type", "ips", "--entity-name", "127.0.0.9", "--add-config", "connection_creation_rate=5"],
        ["--describe", "--entity-type", "users", "--entity-name", user],
        ["--describe", "--entity-type", "users", "--entity-name", user, "--entity-type", "clients"],
        ["--describe", "--entity-type", "ips", "--entity-name", "127.0.0.9"],
        ["--alter", "--entity-type", "users", "--entity-name", user, "--delete-config", "producer_byte_rate"],
        ["--alter", "--entity-type", "users", "--entity-name", user, "--add-config", "producer_byte_rate=1.5"],
    ]
    outputs = []
    for args in runs:
        kafka, kavka = _tool_both(apache_kafka, broker, "ConfigCommand", args, renames)
        assert kafka == kavka, args
        outputs.append(kafka)
    assert outputs[3] == (0, ["Quota configs for user-principal 'user-<tag>' are producer_byte_rate=1024.0"])
    assert outputs[-1][0] == 1 and any("producer_byte_rate cannot be a fractional value." in x for x in outputs[-1][1])


# -- features -----------------------------------------------------------------------------------------


def _update(feature, level, upgrade_type):
    return {"feature": feature, "max_version_level": level, "upgrade_type": upgrade_type}


UPDATE_CASES = {
    "group.version upgrade to current": [_update("group.version", 1, 1)],
    "group.version safe downgrade": [_update("group.version", 0, 2)],
    "group.version unsafe downgrade": [_update("group.version", 0, 3)],
    "group.version beyond supported": [_update("group.version", 5, 1)],
    "unknown feature": [_update("bogus.version", 1, 1)],
    "unknown upgrade type": [_update("group.version", 1, 0)],
    "negative level": [_update("group.version", -1, 2)],
    "downgrade flagged as upgrade": [_update("group.version", 0, 1)],
    "kraft.version downgrade to 0": [_update("kraft.version", 0, 3)],
    "metadata.version above supported": [_update("metadata.version", 34, 1)],
    "metadata.version 0": [_update("metadata.version", 0, 3)],
    "twice": [_update("group.version", 1, 1), _update("group.version", 1, 1)],
}


@pytest.mark.parametrize("case", sorted(UPDATE_CASES))
def test_update_features_validated_as_kafka(oracle, case):
    known_lines = known.UPDATE_FEATURES_DIFFERENCES.get(case, [])
    for version in (1, 2):
        body = {"timeout": 30000, "feature_updates": UPDATE_CASES[case], "validate_only": True}
        found = oracle.diff(UPDATE_FEATURES, version, body)
        assert found == [line for line in known_lines if version < 2 or not line.startswith("results")]


def test_features_in_api_versions_v4(oracle):
    kafka, kavka = oracle.both(API_VERSIONS, 4, {"client_software_name": "t", "client_software_version": "1"})
    rest = ("supported_features", "finalized_features", "finalized_features_epoch", "zk_migration_ready")
    found = differences({f: kafka[f] for f in rest}, {f: kavka[f] for f in rest})
    assert sorted(found) == sorted(known.FEATURE_DIFFERENCES_V4)


def test_update_features_v0_and_no_op_commit(oracle):
    body = {
        "timeout": 30000,
        "feature_updates": [{"feature": "group.version", "max_version_level": 1, "allow_downgrade": False}],
    }
    kafka, kavka = oracle.both(UPDATE_FEATURES, 0, body)
    assert kafka == kavka and kafka["error_code"] == 0
    body = {"timeout": 30000, "feature_updates": [_update("group.version", 1, 1)], "validate_only": False}
    kafka, kavka = oracle.both(UPDATE_FEATURES, 1, body)
    assert kafka == kavka and kafka["error_code"] == 0


def _features(bootstrap):
    answer = call(bootstrap, API_VERSIONS, 4, {"client_software_name": "t", "client_software_version": "1"})
    return {f["name"]: f["max_version_level"] for f in answer["finalized_features"]}


def _consumer_heartbeat(bootstrap) -> int:
    group = "kip848-group"

    def coordinator_ready() -> bool:  # FindCoordinator creates __consumer_offsets and loads its shards
        answer = call(bootstrap, 10, 4, {"key_type": 0, "coordinator_keys": [group]})
        return answer["coordinators"][0]["error_code"] == 0

    wait_until(coordinator_ready, 30)
    body = {
        "group_id": group,
        "member_id": "",
        "member_epoch": 0,
        "instance_id": None,
        "rack_id": None,
        "rebalance_timeout": 30000,
        "subscribed_topic_names": ["t"],
        "server_assignor": None,
        "topic_partitions": [],
    }
    return call(bootstrap, 68, 0, body)["error_code"]


def test_group_version_downgrade_is_stored_in_the_metadata_log(broker_factory):
    """group.version 0 (seen on Kafka 4.4): ApiVersions no longer finalizes it, and every
    ConsumerGroupHeartbeat answers UNSUPPORTED_VERSION, until it is upgraded again; it survives a restart."""
    b = broker_factory()
    assert _features(b.bootstrap)["group.version"] == 1
    body = {"timeout": 30000, "feature_updates": [_update("group.version", 0, 2)], "validate_only": False}
    assert call(b.bootstrap, UPDATE_FEATURES, 1, body)["error_code"] == 0
    assert "group.version" not in _features(b.bootstrap)
    assert _consumer_heartbeat(b.bootstrap) == 35
    b.restart()
    assert "group.version" not in _features(b.bootstrap)
    assert _consumer_heartbeat(b.bootstrap) == 35
    body["feature_updates"] = [_update("group.version", 1, 1)]
    assert call(b.bootstrap, UPDATE_FEATURES, 1, body)["error_code"] == 0
    assert _features(b.bootstrap)["group.version"] == 1
    assert _consumer_heartbeat(b.bootstrap) == 0


def test_kafka_features_describe_and_dry_runs(apache_kafka, broker):
    def lines(args):
        return _tool_both(apache_kafka, broker, "FeatureCommand", args, {})

    kafka, kavka = lines(["describe"])
    assert kafka[0] == kavka[0] == 0

    def levels(out):  # "Feature: x  SupportedMinVersion: a  SupportedMaxVersion: b  FinalizedVersionLevel: c  Epoch: n"
        rows = [line.split() for line in out]
        return {r[1]: (r[3], r[5], r[7]) for r in rows if r[0] == "Feature:"}

    k, v = levels(kafka[1]), levels(kavka[1])
    assert k.keys() == v.keys() and len(k) == 7
    assert {name: (k[name], v[name]) for name in k if k[name] != v[name]} == known.FEATURES_TOOL_DIFFERENCES
    for args in (
        ["upgrade", "--feature", "group.version=1", "--dry-run"],
        ["downgrade", "--feature", "group.version=0", "--dry-run"],
        ["upgrade", "--feature", "group.version=7", "--dry-run"],
        ["upgrade", "--feature", "bogus.version=1", "--dry-run"],
    ):
        kafka, kavka = lines(args)
        assert kafka == kavka, args
    # a metadata.version downgrade is refused by both; the message names each one's current level
    kafka, kavka = lines(["downgrade", "--feature", "metadata.version=20", "--dry-run"])
    assert kafka[0] == kavka[0] == 1
    assert [x.replace("from 33", "from 25") for x in kafka[1]] == kavka[1]


# -- ListConfigResources, UnregisterBroker ------------------------------------------------------------


def test_list_config_resources(oracle, create_topic, apache_kafka):
    topic = create_topic()
    create_on(apache_kafka.bootstrap, topic)
    for body in (
        {"resource_types": [4, 8]},
        {"resource_types": [8, 4, 4]},
        {"resource_types": [0]},
        {"resource_types": [99, 2]},
    ):
        kafka, kavka = oracle.both(LIST_CONFIG_RESOURCES, 1, body)
        assert kafka == kavka, body
    for answer in oracle.both(LIST_CONFIG_RESOURCES, 1, {"resource_types": [2]}):
        assert {"resource_name": topic, "resource_type": 2} in answer["config_resources"]
    kafka, kavka = oracle.both(LIST_CONFIG_RESOURCES, 0, {})
    assert kafka["error_code"] == kavka["error_code"] == 0


def test_unregister_unknown_broker(oracle):
    kafka, kavka = oracle.both(UNREGISTER_BROKER, 0, {"broker_id": 7})
    assert kafka == kavka
    assert kafka["error_code"] == 102 and kafka["error_message"] == "Broker ID 7 is not currently registered"


def _brokers(bootstrap):
    body = {"include_cluster_authorized_operations": False, "endpoint_type": 1}
    return [b["broker_id"] for b in call(bootstrap, 60, 1, body)["brokers"]]


def test_unregister_this_broker_until_it_restarts(broker_factory):
    b = broker_factory()
    assert _brokers(b.bootstrap) == [1]
    answer = call(b.bootstrap, UNREGISTER_BROKER, 0, {"broker_id": 1})
    assert (answer["error_code"], answer["error_message"]) == (0, "")
    assert _brokers(b.bootstrap) == []
    b.restart()
    assert _brokers(b.bootstrap) == [1]


# -- AlterReplicaLogDirs ------------------------------------------------------------------------------


def _alter_dirs(bootstrap, moves, version=2):
    body = {"dirs": [{"path": p, "topics": [{"name": t, "partitions": parts}]} for p, t, parts in moves]}
    answer = call(bootstrap, ALTER_LOG_DIRS, version, body)
    return sorted(
        (r["topic_name"], p["partition_index"], p["error_code"]) for r in answer["results"] for p in r["partitions"]
    )


def test_alter_replica_log_dirs_with_one_log_dir(apache_kafka, broker, create_topic):
    topic = create_topic(partitions=2)
    create_on(apache_kafka.bootstrap, topic, partitions=2)
    found = []
    for bootstrap, data_dir in ((apache_kafka.bootstrap, apache_kafka.data_dir), (broker.bootstrap, broker.data_dir)):
        d = str(data_dir)
        found.append(
            [
                _alter_dirs(bootstrap, [(d, topic, [0, 1, 5]), (d, f"{topic}-nope", [0])]),
                _alter_dirs(bootstrap, [("/tmp/not-a-log-dir", topic, [0])], version=1),
                _alter_dirs(bootstrap, [(d + "/", topic, [0])]),
                _alter_dirs(bootstrap, [(d, topic, [0]), ("/elsewhere", topic, [0])]),
            ]
        )
    kafka, kavka = found
    assert kafka == kavka
    assert kafka[0] == [(topic, 0, 0), (topic, 1, 0), (topic, 5, 3), (f"{topic}-nope", 0, 3)]


def test_move_a_partition_between_log_dirs(broker_factory, tmp_path):
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]
    b = broker_factory(overrides={"log.dirs": ",".join(dirs)})
    topic = create_on(b.bootstrap, f"move-{uuid.uuid4().hex[:6]}")
    producer = Producer({"bootstrap.servers": b.bootstrap})
    for i in range(100):
        producer.produce(topic, value=f"v{i}".encode())
    assert producer.flush(10) == 0

    def where():
        answer = call(b.bootstrap, DESCRIBE_LOG_DIRS, 4, {"topics": None})
        return {r["log_dir"] for r in answer["results"] for t in r["topics"] if t["name"] == topic}

    source = where().pop()
    dest = dirs[1] if source == dirs[0] else dirs[0]
    assert _alter_dirs(b.bootstrap, [(dest, topic, [0])]) == [(topic, 0, 0)]
    assert where() == {dest}
    for i in range(100, 110):
        producer.produce(topic, value=f"v{i}".encode())
    assert producer.flush(10) == 0

    def read_all():
        c = Consumer({"bootstrap.servers": b.bootstrap, "group.id": uuid.uuid4().hex, "enable.auto.commit": False})
        c.assign([TopicPartition(topic, 0, 0)])
        got: list[bytes] = []
        wait_until(lambda: got.extend(m.value() for m in c.consume(200, 0.5) if not m.error()) or len(got) >= 110, 20)
        c.close()
        return got

    assert read_all() == [f"v{i}".encode() for i in range(110)]
    del producer
    b.restart()
    assert where() == {dest}
    assert read_all() == [f"v{i}".encode() for i in range(110)]


def test_kafka_reassign_partitions_moves_log_dirs(apache_kafka, broker_factory, tmp_path):
    """Kafka's kafka-reassign-partitions with "log_dirs" in its JSON file (AlterPartitionReassignments and
    AlterReplicaLogDirs), then --verify, against a Kavka broker with two log dirs."""
    dirs = [str(tmp_path / "a"), str(tmp_path / "b")]
    b = broker_factory(overrides={"log.dirs": ",".join(dirs)})
    topic = create_on(b.bootstrap, f"reassign-{uuid.uuid4().hex[:6]}", partitions=2)
    answer = call(b.bootstrap, DESCRIBE_LOG_DIRS, 4, {"topics": None})
    before = {
        p["partition_index"]: r["log_dir"]
        for r in answer["results"]
        for t in r["topics"]
        for p in t["partitions"]
        if t["name"] == topic
    }
    after = {index: dirs[1] if d == dirs[0] else dirs[0] for index, d in before.items()}
    moves = tmp_path / "moves.json"
    moves.write_text(
        json.dumps(
            {
                "version": 1,
                "partitions": [
                    {"topic": topic, "partition": index, "replicas": [1], "log_dirs": [d]} for index, d in after.items()
                ],
            }
        )
    )
    main = TOOLS + "reassign.ReassignPartitionsCommand"
    common = ["--bootstrap-server", b.bootstrap, "--reassignment-json-file", str(moves)]
    done = apache_kafka.run_tool(main, [*common, "--execute"])
    assert done.returncode == 0, done.stderr[-2000:]
    for index, d in after.items():
        assert (
            f"Successfully started moving log directory to {d} for replica {topic}-{index} with broker 1" in done.stdout
        )
    done = apache_kafka.run_tool(main, [*common, "--verify"])
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"Reassignment of replica {topic}-0-1 completed successfully." in done.stdout
    answer = call(b.bootstrap, DESCRIBE_LOG_DIRS, 4, {"topics": None})
    now = {
        p["partition_index"]: r["log_dir"]
        for r in answer["results"]
        for t in r["topics"]
        for p in t["partitions"]
        if t["name"] == topic
    }
    assert now == after


# -- ApiVersions v5 -----------------------------------------------------------------------------------


def _api_versions_v5(bootstrap, cluster_id, node_id) -> tuple[int, int]:
    """(error code, number of API keys) of an ApiVersions v5 request, built by hand (kio has no v5)."""

    def cstr(s):
        if s is None:
            return encode_unsigned_varint(0)
        raw = s.encode()
        return encode_unsigned_varint(len(raw) + 1) + raw

    body = cstr("kavka-test") + cstr("1") + cstr(cluster_id) + struct.pack(">i", node_id) + b"\x00"
    frame = struct.pack(">hhih", API_VERSIONS, 5, 99, 4) + b"test" + b"\x00" + body
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        data = b""
        while len(data) < 4 or len(data) < 4 + struct.unpack_from(">i", data)[0]:
            chunk = s.recv(65536)
            assert chunk, "connection closed"
            data += chunk
    correlation, error = struct.unpack_from(">ih", data, 4)
    assert correlation == 99
    return error, data[10] - 1  # the compact array's length (under 127 keys: one byte)


def test_api_versions_v5(oracle):
    cluster = {}
    for side, target in (("kafka", oracle.kafka), ("kavka", oracle.kavka)):
        body = {"include_cluster_authorized_operations": False, "endpoint_type": 1}
        cluster[side] = call(target.bootstrap, 60, 1, body)["cluster_id"]
    found = {}
    for side, target in (("kafka", oracle.kafka), ("kavka", oracle.kavka)):
        cid = cluster[side]
        found[side] = [
            _api_versions_v5(target.bootstrap, None, -1)[0],
            _api_versions_v5(target.bootstrap, cid, 1)[0],
            _api_versions_v5(target.bootstrap, "AAAAAAAAAAAAAAAAAAAAAA", 1),
            _api_versions_v5(target.bootstrap, cid, 7),
            _api_versions_v5(target.bootstrap, cid, -1),
            _api_versions_v5(target.bootstrap, None, 1),
        ]
    assert found["kafka"] == found["kavka"] == [0, 0, (129, 0), (129, 0), (42, 0), (42, 0)]
    assert _api_versions_v5(oracle.kavka.bootstrap, None, -1)[1] > 40


# -- byte-rate quotas enforced ------------------------------------------------------------------------


class _Client:
    """One connection with its own client id, sending Produce v9 / Fetch v12 and reading the answers."""

    def __init__(self, bootstrap: str, client_id: str) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.client_id = client_id.encode()

    def request(self, api_key: int, version: int, body: dict) -> tuple[dict, float]:
        """(the answer as plain Python, seconds until it came)."""
        frame = struct.pack(">hhih", api_key, version, 7, len(self.client_id)) + self.client_id + b"\x00"
        frame += encode_request_body(api_key, version, body)
        started = time.monotonic()
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", self._read(4))[0]
        payload = self._read(size)
        answer, _ = entity_reader(load_response_schema(api_key, version))(payload, 5)
        return plain(answer), time.monotonic() - started

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "connection closed"
            data += chunk
        return data

    def produce(self, topic: str, size: int) -> tuple[dict, float]:
        now = int(time.time() * 1000)
        records = build_batch([Record(0, now, None, b"x" * size)])
        data = [{"name": topic, "partition_data": [{"index": 0, "records": records}]}]
        return self.request(0, 9, {"transactional_id": None, "acks": 1, "timeout": 5000, "topic_data": data})

    def fetch(self, topic: str) -> tuple[dict, float]:
        part = {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}
        body = {"max_wait": 0, "min_bytes": 0, "topics": [{"topic": topic, "partitions": [part]}]}
        return self.request(1, 12, {**body, "forgotten_topics_data": []})

    def close(self) -> None:
        self.sock.close()


def test_produce_byte_rate_quota_throttles_as_kafka(apache_kafka, broker, create_topic):
    """producer_byte_rate 10,000 B/s for one client id; one 110 kB request is ~10% over it across Kafka's
    10 s measuring window: the answer says ~1000 ms in throttle_time_ms, and the connection reads nothing
    more for that long. Another client id is not throttled."""
    client_id = f"quota-{uuid.uuid4().hex[:8]}"
    topic = create_topic()
    create_on(apache_kafka.bootstrap, topic)
    found = {}
    for side, bootstrap in (("kafka", apache_kafka.bootstrap), ("kavka", broker.bootstrap)):
        body = {
            "entries": [{"entity": _entity(("client-id", client_id)), "ops": [_op("producer_byte_rate", 10000.0)]}],
            "validate_only": False,
        }
        assert call(bootstrap, ALTER_QUOTAS, 1, body)["entries"][0]["error_code"] == 0
        wait_until(lambda b=bootstrap: _describe(b, [_component("client-id", 0, client_id)])["entries"], 10)
        c = _Client(bootstrap, client_id)
        first, _ = c.produce(topic, 110_000)
        second, seconds = c.produce(topic, 10)
        c.close()
        other = _Client(bootstrap, client_id + "-other")
        unthrottled, _ = other.produce(topic, 110_000)
        other.close()
        found[side] = (first["throttle_time"], second["throttle_time"], seconds, unthrottled["throttle_time"])
    for side, (throttle, after, seconds, other) in found.items():
        assert 900 <= throttle <= 1200, (side, found)
        assert seconds >= throttle / 1000 - 0.1, (side, found)  # the connection was muted
        assert after > 0 and other == 0, (side, found)


def test_fetch_byte_rate_quota_answers_empty_when_throttled(apache_kafka, broker, create_topic):
    """consumer_byte_rate 10,000 B/s: a 110 kB Fetch answer is over it, so Kafka answers with no data and
    the throttle time instead (and does not count the bytes it did not send)."""
    client_id = f"fquota-{uuid.uuid4().hex[:8]}"
    topic = create_topic()
    create_on(apache_kafka.bootstrap, topic)
    found = {}
    for side, bootstrap in (("kafka", apache_kafka.bootstrap), ("kavka", broker.bootstrap)):
        producer = _Client(bootstrap, "fquota-producer")
        assert producer.produce(topic, 110_000)[0]["responses"][0]["partition_responses"][0]["error_code"] == 0
        producer.close()
        body = {
            "entries": [{"entity": _entity(("client-id", client_id)), "ops": [_op("consumer_byte_rate", 10000.0)]}],
            "validate_only": False,
        }
        assert call(bootstrap, ALTER_QUOTAS, 1, body)["entries"][0]["error_code"] == 0
        wait_until(lambda b=bootstrap: _describe(b, [_component("client-id", 0, client_id)])["entries"], 10)
        c = _Client(bootstrap, client_id)
        throttled, _ = c.fetch(topic)
        c.close()
        found[side] = (throttled["throttle_time"], throttled["responses"])
    for side, (throttle, responses) in found.items():
        assert 900 <= throttle <= 1200 and responses == [], (side, found)
