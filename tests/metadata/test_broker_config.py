import pytest

from kavka.metadata.config import BrokerConfig, ConfigSource, Listener, validate_topic_configs
from kavka.metadata.configdefs import BROKER_CONFIGS, TOPIC_CONFIG_SYNONYMS, TOPIC_CONFIGS
from kavka.metadata.configtypes import LONG_MAX, ConfigError, ConfigType


def cfg(**props):
    return BrokerConfig.from_properties({k.replace("_", "."): v for k, v in props.items()})


def test_defaults_match_kafka():
    c = BrokerConfig.from_properties({})
    assert c["num.partitions"] == 1
    assert c["default.replication.factor"] == 1
    assert c["auto.create.topics.enable"] is True
    assert c["delete.topic.enable"] is True
    assert c["message.max.bytes"] == 1048588
    assert c["socket.request.max.bytes"] == 104857600
    assert c["log.retention.hours"] == 168
    assert c["log.retention.ms"] is None
    assert c["offsets.topic.num.partitions"] == 50
    assert c["offsets.topic.replication.factor"] == 3
    assert c["offsets.retention.minutes"] == 10080
    assert c["transaction.state.log.min.isr"] == 2
    assert c["transaction.max.timeout.ms"] == 900000
    assert c["group.initial.rebalance.delay.ms"] == 3000
    assert c["group.min.session.timeout.ms"] == 6000
    assert c["group.max.session.timeout.ms"] == 1800000
    assert c["unclean.leader.election.enable"] is False
    assert c["compression.type"] == "producer"
    assert c["log.cleaner.min.cleanable.ratio"] == 0.5
    assert c["log.cleanup.policy"] == ["delete"]
    assert c["console.listener"] == "http://127.0.0.1:8080"
    assert c["listeners"] == "PLAINTEXT://:9092"
    assert c.log_dirs == ["/tmp/kafka-logs"]
    assert c.node_id == -1
    assert c.unknown_keys == []


def test_every_definition_default_validates():
    for table in (BROKER_CONFIGS, TOPIC_CONFIGS):
        for d in table.values():
            if d.default is not None and d.validator is not None:
                d.validator.ensure_valid(d.name, d.default)


def test_serve_defaults():
    c = BrokerConfig.for_serve()
    assert c.node_id == 1
    assert c.process_roles == ["broker", "controller"]
    assert c.log_dirs == ["./kavka-data"]
    assert c.listeners == [Listener("PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT")]
    assert BrokerConfig.for_serve({"node.id": "7"}).node_id == 7


@pytest.mark.parametrize(
    "name, value, message",
    [
        ("num.partitions", "abc", "Invalid value abc for configuration num.partitions: Not a number of type INT"),
        ("num.partitions", "0", "Invalid value 0 for configuration num.partitions: Value must be at least 1"),
        (
            "num.partitions",
            "3000000000",
            "Invalid value 3000000000 for configuration num.partitions: Not a number of type INT",
        ),
        ("num.partitions", "1.5", "Invalid value 1.5 for configuration num.partitions: Not a number of type INT"),
        (
            "offsets.topic.replication.factor",
            "40000",
            "Invalid value 40000 for configuration offsets.topic.replication.factor: Not a number of type SHORT",
        ),
        (
            "log.retention.bytes",
            "x",
            "Invalid value x for configuration log.retention.bytes: Not a number of type LONG",
        ),
        (
            "auto.create.topics.enable",
            "yes",
            "Invalid value yes for configuration auto.create.topics.enable: Expected value to be either true or false",
        ),
        (
            "compression.type",
            "brotli",
            "Invalid value brotli for configuration compression.type: String must be one of: "
            "uncompressed, zstd, lz4, snappy, gzip, producer",
        ),
        (
            "log.cleanup.policy",
            "delete,shred",
            "Invalid value shred for configuration log.cleanup.policy: String must be one of: compact, delete",
        ),
        (
            "log.cleaner.min.cleanable.ratio",
            "1.5",
            "Invalid value 1.5 for configuration log.cleaner.min.cleanable.ratio: Value must be no more than 1",
        ),
        (
            "log.cleaner.min.cleanable.ratio",
            "half",
            "Invalid value half for configuration log.cleaner.min.cleanable.ratio: Not a number of type DOUBLE",
        ),
        (
            "process.roles",
            "broker,zookeeper",
            "Invalid value zookeeper for configuration process.roles: String must be one of: broker, controller",
        ),
    ],
)
def test_validation_messages(name, value, message):
    with pytest.raises(ConfigError) as e:
        BrokerConfig.from_properties({name: value})
    assert str(e.value) == message
    assert isinstance(e.value, ValueError)


def test_parsing_is_lenient_like_java():
    c = BrokerConfig.from_properties(
        {
            "num.partitions": " 4 ",
            "auto.create.topics.enable": "FALSE",
            "log.cleanup.policy": "compact , delete",
            "log.cleaner.min.cleanable.ratio": "0.25",
        }
    )
    assert c["num.partitions"] == 4
    assert c["auto.create.topics.enable"] is False
    assert c["log.cleanup.policy"] == ["compact", "delete"]
    assert c["log.cleaner.min.cleanable.ratio"] == 0.25


def test_unknown_keys_are_collected():
    c = BrokerConfig.from_properties({"no.such.thing": "1", "num.partitions": "2"})
    assert c.unknown_keys == ["no.such.thing"]
    assert c.is_set("num.partitions") and not c.is_set("num.io.threads")


def test_node_id_and_broker_id():
    assert cfg(broker_id="3").node_id == 3
    assert cfg(node_id="4").node_id == 4
    with pytest.raises(ConfigError):
        BrokerConfig.from_properties({"node.id": "1", "broker.id": "2"})


def test_log_dirs():
    assert BrokerConfig.from_properties({"log.dirs": "/a, /b", "log.dir": "/c"}).log_dirs == ["/a", "/b"]
    assert BrokerConfig.from_properties({"log.dir": "/c"}).log_dirs == ["/c"]
    assert BrokerConfig.from_properties({"log.dir": "/c"}).metadata_log_dir == "/c"


def test_listeners():
    c = BrokerConfig.from_properties(
        {
            "listeners": "PLAINTEXT://:9092,CONTROLLER://127.0.0.1:9093,ipv6://[::1]:9094",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,IPV6:SSL",
        }
    )
    assert c.listeners == [
        Listener("PLAINTEXT", "", 9092, "PLAINTEXT"),
        Listener("CONTROLLER", "127.0.0.1", 9093, "PLAINTEXT"),
        Listener("IPV6", "::1", 9094, "SSL"),
    ]
    assert c.listeners[0].bind_host == "0.0.0.0"
    assert c.listeners[0].advertised("myhost").host == "myhost"
    assert [lst.name for lst in c.advertised_listeners] == ["PLAINTEXT", "IPV6"]
    assert str(c.listeners[2]) == "IPV6://[::1]:9094"
    adv = BrokerConfig.from_properties({"advertised.listeners": "PLAINTEXT://kafka.example:19092"})
    assert adv.advertised_listeners == [Listener("PLAINTEXT", "kafka.example", 19092)]


@pytest.mark.parametrize("value", ["PLAINTEXT:9092", "PLAINTEXT://host", "://:9092x"])
def test_bad_listeners(value):
    with pytest.raises(ConfigError, match="Unable to parse"):
        BrokerConfig.from_properties({"listeners": value})


def test_listener_without_protocol():
    with pytest.raises(ConfigError, match="No security protocol defined for listener INTERNAL"):
        BrokerConfig.from_properties({"listeners": "INTERNAL://:9092"})


def test_duplicate_listener_names():
    with pytest.raises(ConfigError, match="different name"):
        BrokerConfig.from_properties({"listeners": "PLAINTEXT://:9092,PLAINTEXT://:9093"})


# ---- topic configs and synonyms


def test_synonym_table_refers_to_known_configs():
    for topic, syns in TOPIC_CONFIG_SYNONYMS.items():
        assert topic in TOPIC_CONFIGS
        for i, (broker, _) in enumerate(syns):
            assert broker in BROKER_CONFIGS
            # Only the primary name is dynamic (log.retention.ms, not .minutes or .hours), as in Kafka
            # (log.message.downconversion.enable left Kafka in 4.0: Kavka's own, read-only).
            if broker != "log.message.downconversion.enable":
                assert BROKER_CONFIGS[broker].read_only is (i > 0)


def test_effective_topic_config_defaults():
    eff = BrokerConfig.from_properties({}).effective_topic_config({})
    assert set(eff) == set(TOPIC_CONFIGS)
    assert eff["retention.ms"] == 604800000
    assert eff["segment.ms"] == 604800000
    assert eff["segment.bytes"] == 1073741824
    assert eff["max.message.bytes"] == 1048588
    assert eff["cleanup.policy"] == ["delete"]
    assert eff["flush.ms"] == LONG_MAX
    assert eff["message.timestamp.type"] == "CreateTime"
    assert eff["min.cleanable.dirty.ratio"] == 0.5


def test_effective_topic_config_synonym_priority():
    c = BrokerConfig.from_properties(
        {
            "log.retention.hours": "1",
            "log.retention.minutes": "5",
            "log.roll.hours": "2",
            "message.max.bytes": "2000",
            "log.cleanup.policy": "compact",
        }
    )
    eff = c.effective_topic_config({})
    assert eff["retention.ms"] == 5 * 60_000  # minutes beat hours
    assert eff["segment.ms"] == 2 * 3_600_000
    assert eff["max.message.bytes"] == 2000
    assert eff["cleanup.policy"] == ["compact"]
    c2 = BrokerConfig.from_properties({"log.retention.ms": "1000", "log.retention.minutes": "5"})
    assert c2.effective_topic_config({})["retention.ms"] == 1000
    # topic override beats everything
    assert c2.effective_topic_config({"retention.ms": "-1"})["retention.ms"] == -1


def test_effective_topic_config_dynamic_layers():
    c = BrokerConfig.from_properties({"log.retention.ms": "1000"})
    eff = c.effective_topic_config({}, dynamic_default={"log.retention.ms": "2000"})
    assert eff["retention.ms"] == 2000
    eff = c.effective_topic_config(
        {}, dynamic_broker={"log.retention.ms": "3000"}, dynamic_default={"log.retention.ms": "2000"}
    )
    assert eff["retention.ms"] == 3000


def test_unknown_topic_config():
    with pytest.raises(ConfigError) as e:
        BrokerConfig.from_properties({}).effective_topic_config({"foo": "1"})
    assert str(e.value) == "Unknown topic config name: foo"


def test_validate_topic_configs():
    assert validate_topic_configs({"retention.ms": "100", "cleanup.policy": "compact,delete"}) == {
        "retention.ms": 100,
        "cleanup.policy": ["compact", "delete"],
    }
    with pytest.raises(
        ConfigError, match="^Invalid value -5 for configuration retention.ms: Value must be at least -1$"
    ):
        validate_topic_configs({"retention.ms": "-5"})
    with pytest.raises(
        ConfigError, match="^Invalid value 100 for configuration segment.bytes: Value must be at least 1048576$"
    ):
        validate_topic_configs({"segment.bytes": "100"})
    with pytest.raises(
        ConfigError, match=r"conflict topic config setting min.compaction.lag.ms \(10\) > max.compaction.lag.ms \(5\)"
    ):
        validate_topic_configs({"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "5"})
    with pytest.raises(ConfigError, match="Null value not supported for topic configs: a,b"):
        validate_topic_configs({"a": None, "b": None})
    # deprecated but accepted
    assert validate_topic_configs({"message.downconversion.enable": "false"}) == {
        "message.downconversion.enable": False
    }


def test_describe_topic_sources_and_synonyms():
    c = BrokerConfig.from_properties({"log.retention.hours": "24"})
    entries = {
        e.name: e
        for e in c.describe_topic({"cleanup.policy": "compact"}, include_synonyms=True, include_documentation=True)
    }
    assert entries["cleanup.policy"].value == "compact"
    assert entries["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG == 1
    assert entries["cleanup.policy"].synonyms[0] == ("cleanup.policy", "compact", ConfigSource.DYNAMIC_TOPIC_CONFIG)
    assert entries["cleanup.policy"].synonyms[-1] == ("log.cleanup.policy", "delete", ConfigSource.DEFAULT_CONFIG)
    r = entries["retention.ms"]
    assert (r.value, r.source) == (str(24 * 3_600_000), ConfigSource.STATIC_BROKER_CONFIG)
    # Kafka's synonym list starts at the primary name (log.retention.ms), unset here: empty.
    assert r.synonyms == []
    s = entries["segment.bytes"]
    assert (s.value, s.source, s.read_only, s.is_sensitive) == ("1073741824", ConfigSource.DEFAULT_CONFIG, False, False)
    assert s.type is ConfigType.INT and s.documentation
    assert entries["min.cleanable.dirty.ratio"].value == "0.5"
    assert entries["unclean.leader.election.enable"].value == "false"
    only = c.describe_topic({}, names=["retention.ms", "nope"])
    assert [e.name for e in only] == ["retention.ms"] and only[0].synonyms == [] and only[0].documentation is None


def test_describe_broker():
    c = BrokerConfig.from_properties(
        {"num.partitions": "3", "console.auth": "admin:secret", "log.retention.minutes": "10"}
    )
    entries = {e.name: e for e in c.describe_broker(include_synonyms=True)}
    assert (entries["num.partitions"].value, entries["num.partitions"].source) == (
        "3",
        ConfigSource.STATIC_BROKER_CONFIG,
    )
    assert entries["num.partitions"].read_only is True
    assert (entries["num.io.threads"].value, entries["num.io.threads"].source) == ("8", ConfigSource.DEFAULT_CONFIG)
    assert entries["console.auth"].value is None and entries["console.auth"].is_sensitive
    ret = entries["log.retention.ms"]
    assert ret.value is None and ret.read_only is False
    # Kafka's synonym list starts at the config's own name, unset here: empty.
    assert ret.synonyms == []
    minutes = entries["log.retention.minutes"]
    assert minutes.synonyms == [
        ("log.retention.minutes", "10", ConfigSource.STATIC_BROKER_CONFIG),
        ("log.retention.hours", "168", ConfigSource.DEFAULT_CONFIG),
    ]
    assert "secret" not in repr(c)
