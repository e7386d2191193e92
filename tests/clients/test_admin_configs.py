"""DescribeConfigs, AlterConfigs and IncrementalAlterConfigs with real clients (issue 5, "Configs").

Topic configs on the shared broker (each test owns its topic); dynamic broker configs, which would
leak into other tests, on private brokers from ``broker_factory``. Changes must take effect live:
``max.message.bytes`` lowered refuses a larger record at once; ``message.timestamp.type`` switched to
LogAppendTime stamps the records produced after it; a cluster-wide dynamic default reaches topics
without an override. A restart keeps altered configs (they live in the metadata log).
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, ConfigSource

from kavka.testing.process import wait_until
from tests.clients import adminwire
from tests.clients.clientlib import LOG_APPEND_TIME, Out, ck_produce, ck_read_all, now_ms

TOPIC, BROKER = ConfigResource.Type.TOPIC, ConfigResource.Type.BROKER
TOPIC_ID, BROKER_ID = adminwire.TOPIC, adminwire.BROKER
SET, DELETE = AlterConfigOpType.SET, AlterConfigOpType.DELETE
APPEND, SUBTRACT = AlterConfigOpType.APPEND, AlterConfigOpType.SUBTRACT


def admin_for(bootstrap: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": bootstrap})


@pytest.fixture
def admin(bootstrap):
    return admin_for(bootstrap)


def describe(admin: AdminClient, rtype, name: str, **kwargs) -> dict:
    resource = ConfigResource(rtype, name)
    return admin.describe_configs([resource], request_timeout=15, **kwargs)[resource].result(timeout=30)


def describe_error(admin: AdminClient, rtype, name: str) -> KafkaError:
    resource = ConfigResource(rtype, name)
    with pytest.raises(KafkaException) as info:
        admin.describe_configs([resource], request_timeout=15)[resource].result(timeout=30)
    return info.value.args[0]


def incremental(
    admin: AdminClient, rtype, name: str, ops: list[tuple], validate_only: bool = False
) -> KafkaError | None:
    """Apply ``[(name, op, value), ...]``; the broker's error for the resource, or None."""
    resource = ConfigResource(
        rtype, name, incremental_configs=[ConfigEntry(key, value, incremental_operation=op) for key, op, value in ops]
    )
    fut = admin.incremental_alter_configs([resource], validate_only=validate_only, request_timeout=15)[resource]
    try:
        fut.result(timeout=30)
    except KafkaException as exc:
        return exc.args[0]
    return None


def legacy_alter(admin: AdminClient, rtype, name: str, configs: dict, validate_only: bool = False) -> KafkaError | None:
    resource = ConfigResource(rtype, name, set_config=configs)
    fut = admin.alter_configs([resource], validate_only=validate_only, request_timeout=15)[resource]
    try:
        fut.result(timeout=30)
    except KafkaException as exc:
        return exc.args[0]
    return None


def value(admin: AdminClient, topic: str, key: str) -> str | None:
    return describe(admin, TOPIC, topic)[key].value


# -- DescribeConfigs -------------------------------------------------------------------------------


def test_created_with_configs_shows_them_as_dynamic_topic_config(admin, create_topic):
    topic = create_topic(configs={"retention.ms": "123456", "cleanup.policy": "compact,delete"})
    configs = describe(admin, TOPIC, topic)
    assert configs["retention.ms"].value == "123456"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["cleanup.policy"].value == "compact,delete"
    assert configs["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    # Everything else: Kafka's defaults, writable, not sensitive.
    assert configs["max.message.bytes"].value == "1048588"
    assert configs["max.message.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["message.timestamp.type"].value == "CreateTime"
    assert configs["min.insync.replicas"].value == "1"
    assert {
        "cleanup.policy",
        "retention.bytes",
        "segment.ms",
        "segment.index.bytes",
        "segment.jitter.ms",
        "compression.type",
        "delete.retention.ms",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
        "unclean.leader.election.enable",
        "file.delete.delay.ms",
        "flush.messages",
        "flush.ms",
        "index.interval.bytes",
        "message.timestamp.before.max.ms",
        "message.timestamp.after.max.ms",
    } <= set(configs)
    assert not any(e.is_read_only or e.is_sensitive for e in configs.values())


def test_describe_topic_synonyms(admin, create_topic):
    topic = create_topic(configs={"retention.ms": "5000"})
    configs = describe(admin, TOPIC, topic)  # confluent-kafka always asks for synonyms
    syn = configs["retention.ms"].synonyms
    # Kafka lists broker synonyms from the primary name (log.retention.ms) on: none while it is unset.
    assert list(syn) == ["retention.ms"]
    assert syn["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert [s.name for s in configs["segment.bytes"].synonyms.values()] == ["log.segment.bytes"]


def test_describe_unknown_topic(admin, topic_name):
    err = describe_error(admin, TOPIC, topic_name)
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_illegal_topic_name(admin):
    err = describe_error(admin, TOPIC, "bad name!")
    assert err.code() == KafkaError.TOPIC_EXCEPTION


def test_describe_this_broker(admin, broker):
    configs = describe(admin, BROKER, "1")
    assert configs["log.dirs"].is_read_only
    assert configs["log.dirs"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert configs["node.id"].value == "1"
    assert configs["num.partitions"].value == "1"  # the shared broker's override
    assert configs["log.retention.hours"].is_read_only  # secondary synonym: read-only in Kafka
    assert not configs["log.retention.ms"].is_read_only
    assert configs["log.retention.hours"].value == "168"
    assert configs["log.retention.hours"].source == ConfigSource.DEFAULT_CONFIG.value
    assert not configs["message.max.bytes"].is_read_only


def test_describe_cluster_default_broker_resource_is_empty_until_set(bootstrap):
    # The shared broker has no cluster-wide dynamic defaults (clients cannot name "": at the wire).
    assert adminwire.describe(bootstrap, BROKER_ID, "") == {}


def test_describe_cluster(admin, broker):
    desc = admin.describe_cluster(request_timeout=15).result(timeout=30)
    assert desc.controller.id == 1
    assert [(n.id, n.host, n.port) for n in desc.nodes] == [(1, "127.0.0.1", broker.port)]
    assert desc.cluster_id


# -- IncrementalAlterConfigs -----------------------------------------------------------------------


def test_incremental_set_and_delete(admin, create_topic):
    topic = create_topic(configs={"retention.ms": "123456"})
    ops = [("retention.bytes", SET, "1000000"), ("retention.ms", DELETE, None)]
    assert incremental(admin, TOPIC, topic, ops) is None
    configs = describe(admin, TOPIC, topic)
    assert configs["retention.bytes"].value == "1000000"
    assert configs["retention.bytes"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert configs["retention.ms"].value == "604800000"  # back to log.retention.hours=168
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value


def test_incremental_append_and_subtract_lists(admin, create_topic):
    topic = create_topic()
    assert incremental(admin, TOPIC, topic, [("cleanup.policy", APPEND, "compact")]) is None
    assert value(admin, topic, "cleanup.policy") == "delete,compact"
    assert incremental(admin, TOPIC, topic, [("cleanup.policy", APPEND, "compact")]) is None  # no duplicates
    assert value(admin, topic, "cleanup.policy") == "delete,compact"
    assert incremental(admin, TOPIC, topic, [("cleanup.policy", SUBTRACT, "delete")]) is None
    assert value(admin, topic, "cleanup.policy") == "compact"


def test_incremental_append_to_non_list_is_invalid_config(admin, create_topic):
    topic = create_topic()
    err = incremental(admin, TOPIC, topic, [("retention.ms", APPEND, "5")])
    assert err.code() == KafkaError.INVALID_CONFIG
    assert err.str() == "Can't APPEND to key retention.ms because its type is not LIST."


@pytest.mark.parametrize(
    "key, bad, message",
    [
        ("foo.bar", "1", "Unknown topic config name: foo.bar"),
        ("retention.ms", "abc", "Invalid value abc for configuration retention.ms: Not a number of type LONG"),
        (
            "cleanup.policy",
            "shred",
            "Invalid value shred for configuration cleanup.policy: String must be one of: compact, delete",
        ),
        ("min.insync.replicas", "0", "Invalid value 0 for configuration min.insync.replicas: Value must be at least 1"),
        (
            "message.timestamp.type",
            "Whenever",
            "Invalid value Whenever for configuration message.timestamp.type: "
            "String must be one of: CreateTime, LogAppendTime",
        ),
    ],
)
def test_incremental_invalid_config_messages(admin, create_topic, key, bad, message):
    topic = create_topic()
    err = incremental(admin, TOPIC, topic, [(key, SET, bad)])
    assert err.code() == KafkaError.INVALID_CONFIG
    assert err.str() == message
    configs = describe(admin, TOPIC, topic)
    assert all(e.source == ConfigSource.DEFAULT_CONFIG.value for e in configs.values())


def test_incremental_unknown_topic(admin, topic_name):
    err = incremental(admin, TOPIC, topic_name, [("retention.ms", SET, "1000")])
    assert err.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    assert err.str() == f"The topic '{topic_name}' does not exist."


def test_incremental_validate_only_changes_nothing(admin, create_topic):
    topic = create_topic()
    assert incremental(admin, TOPIC, topic, [("retention.ms", SET, "1000")], validate_only=True) is None
    assert value(admin, topic, "retention.ms") == "604800000"
    err = incremental(admin, TOPIC, topic, [("retention.ms", SET, "x")], validate_only=True)
    assert err.code() == KafkaError.INVALID_CONFIG


# -- legacy AlterConfigs ---------------------------------------------------------------------------


def test_legacy_alter_replaces_the_whole_set(admin, create_topic):
    topic = create_topic(configs={"retention.ms": "123456", "segment.ms": "3600000"})
    assert legacy_alter(admin, TOPIC, topic, {"retention.bytes": "4096"}) is None
    configs = describe(admin, TOPIC, topic)
    assert configs["retention.bytes"].value == "4096"
    assert configs["retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["segment.ms"].source == ConfigSource.DEFAULT_CONFIG.value


def test_legacy_alter_errors_and_validate_only(admin, create_topic):
    topic = create_topic()
    err = legacy_alter(admin, TOPIC, topic, {"nope": "1"})
    assert err.code() == KafkaError.INVALID_CONFIG and err.str() == "Unknown topic config name: nope"
    assert legacy_alter(admin, TOPIC, topic, {"retention.ms": "77"}, validate_only=True) is None
    assert value(admin, topic, "retention.ms") == "604800000"


# -- live effect -----------------------------------------------------------------------------------


def test_lowered_max_message_bytes_refuses_larger_records_at_once(admin, bootstrap, create_topic):
    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(b"k", b"x" * 5000)])
    assert incremental(admin, TOPIC, topic, [("max.message.bytes", SET, "2000")]) is None
    [res] = ck_produce(bootstrap, topic, [Out(b"k", b"y" * 5000)], check=False, message_timeout_ms=10_000)
    assert isinstance(res, KafkaException)
    assert res.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    ck_produce(bootstrap, topic, [Out(b"k", b"small")])  # small records still go through
    # Raised again: the large record is accepted.
    assert incremental(admin, TOPIC, topic, [("max.message.bytes", DELETE, None)]) is None
    ck_produce(bootstrap, topic, [Out(b"k", b"z" * 5000)])
    assert [r.value[:1] for r in ck_read_all(bootstrap, topic)] == [b"x", b"s", b"z"]


def test_log_append_time_set_later_stamps_new_records(admin, bootstrap, create_topic):
    topic = create_topic()
    old_ts = now_ms() - 3_600_000 + 60_000  # within message.timestamp.before.max.ms either way
    ck_produce(bootstrap, topic, [Out(b"a", b"before", timestamp=old_ts)])
    assert incremental(admin, TOPIC, topic, [("message.timestamp.type", SET, "LogAppendTime")]) is None
    t0 = now_ms()
    ck_produce(bootstrap, topic, [Out(b"b", b"after", timestamp=old_ts)])
    t1 = now_ms()
    before, after = ck_read_all(bootstrap, topic)
    assert (before.timestamp, before.timestamp_type) == (old_ts, "CreateTime")
    assert after.timestamp_type == LOG_APPEND_TIME
    assert t0 - 1000 <= after.timestamp <= t1 + 1000


# -- dynamic broker configs (private brokers) ------------------------------------------------------


def test_cluster_default_reaches_topics_live(broker_factory, create_topic):
    b = broker_factory()
    admin = admin_for(b.bootstrap)
    topic = create_topic(bootstrap=b.bootstrap)
    assert adminwire.incremental_alter(
        b.bootstrap,
        BROKER_ID,
        "",
        [("log.message.timestamp.type", "SET", "LogAppendTime"), ("log.retention.ms", "SET", "7200000")],
    ) == (0, None)
    default = adminwire.describe(b.bootstrap, BROKER_ID, "")
    assert set(default) == {"log.message.timestamp.type", "log.retention.ms"}
    assert default["log.retention.ms"].config_source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    assert [(s.name, s.value, s.source) for s in default["log.retention.ms"].synonyms] == [
        ("log.retention.ms", "7200000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value)
    ]
    configs = describe(admin, TOPIC, topic)
    assert configs["retention.ms"].value == "7200000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    assert configs["message.timestamp.type"].value == "LogAppendTime"
    t0 = now_ms()
    ck_produce(b.bootstrap, topic, [Out(b"k", b"v", timestamp=t0 - 100_000)])
    [rec] = ck_read_all(b.bootstrap, topic)
    assert rec.timestamp_type == LOG_APPEND_TIME and rec.timestamp >= t0 - 1000
    # A per-broker value beats the cluster default; a topic override beats both.
    assert incremental(admin, BROKER, "1", [("log.retention.ms", SET, "3600000")]) is None
    configs = adminwire.describe(b.bootstrap, TOPIC_ID, topic, ["retention.ms"])
    assert configs["retention.ms"].value == "3600000"
    assert configs["retention.ms"].config_source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    assert [(s.name, s.value, s.source) for s in configs["retention.ms"].synonyms] == [
        ("log.retention.ms", "3600000", ConfigSource.DYNAMIC_BROKER_CONFIG.value),
        ("log.retention.ms", "7200000", ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value),
        ("log.retention.hours", "168", ConfigSource.DEFAULT_CONFIG.value),
    ]
    assert incremental(admin, TOPIC, topic, [("retention.ms", SET, "60000")]) is None
    assert value(admin, topic, "retention.ms") == "60000"
    broker_view = describe(admin, BROKER, "1")
    assert broker_view["log.retention.ms"].value == "3600000"
    assert broker_view["log.retention.ms"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    # Deleting the cluster default: topics fall back live (the record timestamps follow CreateTime again).
    assert adminwire.incremental_alter(
        b.bootstrap, BROKER_ID, "", [("log.message.timestamp.type", "DELETE", None)]
    ) == (0, None)
    ck_produce(b.bootstrap, topic, [Out(b"k", b"w", timestamp=t0 - 100_000)])
    assert [(r.timestamp, r.timestamp_type) for r in ck_read_all(b.bootstrap, topic)][1] == (t0 - 100_000, "CreateTime")


def test_broker_config_errors(broker_factory):
    b = broker_factory()
    admin = admin_for(b.bootstrap)
    err = incremental(admin, BROKER, "1", [("log.dirs", SET, "/elsewhere")])
    assert err.code() == KafkaError.INVALID_REQUEST
    assert err.str() == "Cannot update these configs dynamically: [log.dirs]"
    assert adminwire.incremental_alter(b.bootstrap, BROKER_ID, "", [("log.retention.ms", "SET", "soon")]) == (
        42,
        "Invalid value soon for configuration log.retention.ms: Not a number of type LONG",
    )
    assert adminwire.incremental_alter(b.bootstrap, BROKER_ID, "", [("listeners", "SET", "PLAINTEXT://:1")]) == (
        42,
        "Cannot update these configs at default cluster level, broker id must be specified: [listeners]",
    )
    assert adminwire.incremental_alter(b.bootstrap, BROKER_ID, "7", [("log.retention.ms", "SET", "1")]) == (
        42,
        "Unexpected broker id, expected 1, but received 7",
    )
    assert adminwire.incremental_alter(b.bootstrap, BROKER_ID, "one", [("log.retention.ms", "SET", "1")]) == (
        42,
        "Node id must be an integer, but it is: one",
    )
    err = incremental(admin, BROKER, "1", [("log.retention.ms", APPEND, "1000")])
    assert err.code() == KafkaError.INVALID_CONFIG
    assert err.str() == "Config value append is not allowed for config key: log.retention.ms"
    # validate_only accepts a good change and stores nothing.
    assert adminwire.incremental_alter(
        b.bootstrap, BROKER_ID, "", [("log.retention.ms", "SET", "1000")], validate_only=True
    ) == (0, None)
    assert adminwire.describe(b.bootstrap, BROKER_ID, "") == {}
    assert describe(admin, BROKER, "1")["log.retention.ms"].source == ConfigSource.DEFAULT_CONFIG.value


def test_altered_configs_survive_a_restart(broker_factory, create_topic):
    b = broker_factory()
    admin = admin_for(b.bootstrap)
    topic = create_topic(bootstrap=b.bootstrap, configs={"segment.ms": "3600000"})
    assert (
        incremental(admin, TOPIC, topic, [("max.message.bytes", SET, "2000"), ("cleanup.policy", APPEND, "compact")])
        is None
    )
    assert adminwire.incremental_alter(b.bootstrap, BROKER_ID, "", [("log.retention.bytes", "SET", "123456789")]) == (
        0,
        None,
    )
    assert incremental(admin, BROKER, "1", [("log.roll.ms", SET, "7200000")]) is None
    b.restart()
    admin = admin_for(b.bootstrap)
    wait_until(lambda: topic in admin.list_topics(timeout=5).topics, 15, message="topic after restart")
    configs = describe(admin, TOPIC, topic)
    assert configs["segment.ms"].value == "3600000"
    assert configs["max.message.bytes"].value == "2000"
    assert configs["cleanup.policy"].value == "delete,compact"
    assert configs["retention.bytes"].value == "123456789"
    assert configs["retention.bytes"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    assert describe(admin, BROKER, "1")["log.roll.ms"].value == "7200000"
    # ... and still in force.
    [res] = ck_produce(b.bootstrap, topic, [Out(b"k", b"y" * 5000)], check=False, message_timeout_ms=10_000)
    assert isinstance(res, KafkaException) and res.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE


# -- kafka-python ----------------------------------------------------------------------------------


@pytest.fixture
def kp_admin(bootstrap):
    from kafka.admin import KafkaAdminClient

    client = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def test_kafka_python_describe_and_alter(kp_admin, create_topic):
    from kafka.admin import AlterConfigOp
    from kafka.admin import ConfigResource as KpResource

    topic = create_topic(configs={"retention.ms": "123456"})
    got = kp_admin.describe_configs([KpResource("TOPIC", topic)])
    assert got == {
        "topic": {
            topic: {
                "retention.ms": {
                    "value": "123456",
                    "read_only": False,
                    "config_source": "DYNAMIC_TOPIC_CONFIG",
                    "is_sensitive": False,
                    "synonyms": [],
                    "config_type": "LONG",
                    "documentation": None,
                }
            }
        }
    }
    full = kp_admin.describe_configs(
        [KpResource("TOPIC", topic, ["retention.ms", "cleanup.policy"])], include_synonyms=True, config_filter="all"
    )["topic"][topic]
    assert set(full) == {"retention.ms", "cleanup.policy"}
    # Kafka lists broker synonyms from the primary name (log.retention.ms) on: none while it is unset.
    assert full["retention.ms"]["synonyms"] == [
        {"name": "retention.ms", "value": "123456", "source": "DYNAMIC_TOPIC_CONFIG"},
    ]
    assert full["cleanup.policy"]["config_type"] == "LIST"

    assert kp_admin.alter_configs([KpResource("TOPIC", topic, {"retention.ms": "999"})]) == {"topic": {topic: "OK"}}
    assert kp_admin.alter_configs(
        [KpResource("TOPIC", topic, {"cleanup.policy": (AlterConfigOp.APPEND, "compact")})]
    ) == {"topic": {topic: "OK"}}
    now = kp_admin.describe_configs([KpResource("TOPIC", topic)])["topic"][topic]
    assert {k: v["value"] for k, v in now.items()} == {"retention.ms": "999", "cleanup.policy": "delete,compact"}

    bad = kp_admin.alter_configs([KpResource("TOPIC", topic, {"retention.ms": "abc"})])
    assert "40" in str(bad["topic"][topic]) and "Not a number of type LONG" in str(bad["topic"][topic])


def test_kafka_python_legacy_alter_configs(kp_admin, create_topic):
    from kafka.admin import ConfigResource as KpResource

    topic = create_topic()
    assert kp_admin.alter_configs([KpResource("TOPIC", topic, {"retention.ms": "5000"})], incremental=False) == {
        "topic": {topic: "OK"}
    }
    got = kp_admin.describe_configs([KpResource("TOPIC", topic)])["topic"][topic]
    assert got["retention.ms"]["value"] == "5000"


def test_kafka_python_describe_broker(kp_admin):
    from kafka.admin import ConfigResource as KpResource

    dynamic = kp_admin.describe_configs([KpResource("BROKER", "1")], config_filter="dynamic")["broker"]["1"]
    assert "log.retention.ms" in dynamic and "log.dirs" not in dynamic
    assert "log.retention.hours" not in dynamic  # only the primary synonym is dynamic, as in Kafka
    everything = kp_admin.describe_configs([KpResource("BROKER", "1")], config_filter="all")["broker"]["1"]
    assert everything["log.dirs"]["read_only"] is True
    assert everything["num.partitions"]["config_source"] == "STATIC_BROKER_CONFIG"
