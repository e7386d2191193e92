"""The broker config catalogue against Kafka's facts (kavka.metadata.kafkabrokerconfigs, generated from
Kafka 4.4 by tools/gen_broker_catalogue.py), and Kafka's dynamic update rules with no broker running."""

from __future__ import annotations

import pytest

from kavka.metadata.configcatalogue import validator_from_text
from kavka.metadata.configdefs import BROKER_CONFIGS
from kavka.metadata.configeffects import NOT_ACTED_ON
from kavka.metadata.configtypes import ConfigError, ConfigType, to_string
from kavka.metadata.dynamicconfig import validate_dynamic_broker_configs
from kavka.metadata.kafkabrokerconfigs import KAFKA_BROKER_CONFIGS, KAFKA_TOPIC_CONFIG_SYNONYMS
from kavka.metadata.topicconfigs import TOPIC_CONFIG_SYNONYMS

# Where Kavka's hand-written definition differs from Kafka's on purpose (docs/compatibility.md).
DELIBERATE = {
    # Kavka serves the classic and consumer protocols only (no streams groups).
    ("group.coordinator.rebalance.protocols", "default"),
    # Kavka runs without a node.id (node.id, else broker.id, else -1) or process.roles (kavka serve sets both).
    ("node.id", "default"),
    ("node.id", "valid_values"),
    ("process.roles", "default"),
    # Kavka checks host:count entries when the file is read; Kafka when it builds its connection quotas.
    ("max.connections.per.ip.overrides", "valid_values"),
    # Kafka's non-empty-list check applies when the quorum is configured; Kavka (one voter) checks nothing.
    ("controller.quorum.bootstrap.servers", "valid_values"),
    ("controller.quorum.voters", "valid_values"),
}


def _facts_of(name: str) -> dict[str, str | None]:
    definition = BROKER_CONFIGS[name]
    return {
        "type": definition.extra.get("reported_type", definition.type).name,
        "default": None if definition.sensitive else to_string(definition.default, definition.type),
        "valid_values": str(definition.validator) if definition.validator is not None else "",
        "read_only": str(definition.read_only),
    }


def test_every_kafka_broker_config_is_defined_with_kafkas_facts():
    assert len(KAFKA_BROKER_CONFIGS) > 300
    found = set()
    for name, fact in KAFKA_BROKER_CONFIGS.items():
        ours = _facts_of(name)
        kafka = {
            "type": fact.type,
            "default": fact.default,
            "valid_values": fact.valid_values,
            "read_only": str(fact.update_mode == "read-only"),
        }
        found |= {(name, key) for key in kafka if kafka[key] != ours[key]}
    assert found == DELIBERATE


def test_the_check_sees_a_wrong_default():
    # The comparison above is not vacuous: a changed definition shows up.
    assert _facts_of("message.max.bytes")["default"] == KAFKA_BROKER_CONFIGS["message.max.bytes"].default
    assert _facts_of("listeners")["type"] == "LIST"
    assert KAFKA_BROKER_CONFIGS["num.io.threads"].default != "9"


def test_validator_texts_round_trip():
    for fact in KAFKA_BROKER_CONFIGS.values():
        validator = validator_from_text(fact.valid_values, ConfigType[fact.type])
        assert (str(validator) if validator is not None else "") == fact.valid_values, fact.name


def test_not_acted_on_is_honest_about_features_kavka_lacks():
    assert "sasl.kerberos.min.time.before.relogin" in NOT_ACTED_ON
    assert "num.io.threads" in NOT_ACTED_ON
    assert "log.retention.ms" not in NOT_ACTED_ON and "message.max.bytes" not in NOT_ACTED_ON
    assert NOT_ACTED_ON <= BROKER_CONFIGS.keys()
    doc = BROKER_CONFIGS["ssl.keystore.location"].doc
    assert "TLS" in doc and "does not act on it" in doc


def _current(name: str):
    return {"num.io.threads": 8, "log.cleaner.threads": 1}.get(name, BROKER_CONFIGS[name].default)


@pytest.mark.parametrize(
    ("props", "per_broker", "message"),
    [
        (
            {"advertised.listeners": "PLAINTEXT://h:1"},
            True,
            "Cannot update these configs dynamically: [advertised.listeners]",
        ),
        (
            {"log.dirs": "/x", "num.partitions": "2"},
            True,
            "Cannot update these configs dynamically: [log.dirs, num.partitions]",
        ),
        (
            {"ssl.keystore.password": "s"},
            True,
            "These security configs can be dynamically updated only per-listener using the listener prefix: "
            "[ssl.keystore.password]",
        ),
        (
            {"sasl.kerberos.min.time.before.relogin": "soon"},
            False,
            "Invalid value soon for configuration sasl.kerberos.min.time.before.relogin: Not a number of type LONG",
        ),
        (
            {"sasl.kerberos.min.time.before.relogin": "1"},
            False,
            "Cannot update these configs at default cluster level, broker id must be specified: "
            "[sasl.kerberos.min.time.before.relogin]",
        ),
        (
            {"ssl.client.auth": "maybe"},
            True,
            "Invalid value maybe for configuration ssl.client.auth: String must be one of: required, requested, none",
        ),
        (
            {"num.io.threads": "17"},
            True,
            "Invalid value org.apache.kafka.common.config.ConfigException: Dynamic thread count update validation "
            "failed for num.io.threads=17, value should not be greater than double the current value 8 for "
            "configuration Invalid dynamic configuration",
        ),
        (
            {"num.io.threads": "3"},
            False,
            "Invalid value org.apache.kafka.common.config.ConfigException: Dynamic thread count update validation "
            "failed for num.io.threads=3, value should be at least half the current value 8 for configuration "
            "Invalid dynamic configuration",
        ),
        (
            {"log.cleaner.threads": "3"},
            False,
            "Invalid value org.apache.kafka.common.config.ConfigException: Log cleaner threads cannot be increased "
            "to more than double the current value 1 for configuration Invalid dynamic configuration",
        ),
        ({"log.cleaner.threads": "0"}, False, "/ by zero"),
    ],
)
def test_dynamic_update_rules(props, per_broker, message):
    with pytest.raises(ConfigError) as e:
        validate_dynamic_broker_configs(props, per_broker, _current)
    assert str(e.value) == message


def test_dynamic_updates_kafka_allows():
    for props, per_broker in [
        ({"sasl.kerberos.min.time.before.relogin": "60001"}, True),
        ({"num.io.threads": "16", "log.cleaner.threads": "2"}, False),
        ({"num.io.threads": "4"}, True),
        ({"log.retention.ms": "3600000", "message.max.bytes": "2000000"}, False),
        ({"my.custom.config": "anything"}, False),
    ]:
        validate_dynamic_broker_configs(props, per_broker, _current)


def test_topic_config_synonyms_are_kafkas():
    ours = {topic: syns for topic, syns in TOPIC_CONFIG_SYNONYMS.items() if topic != "message.downconversion.enable"}
    assert ours == KAFKA_TOPIC_CONFIG_SYNONYMS  # Kavka's own (removed from Kafka in 4.0) aside
