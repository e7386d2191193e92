"""CreateTopics, DeleteTopics, CreatePartitions, AlterConfigs and IncrementalAlterConfigs with valid and
invalid input, sent alike to Kafka and Kavka: error codes, messages and the rest of each answer.

Each test runs its steps in order on both brokers (later steps see what earlier ones did) and collects
the differences per step; known.ADMIN_DIFFERENCES holds the expected lines of every step that differs.
Config entries that CreateTopics returns are compared except the names known to exist on one side only
(test_oracle_describe_configs covers those).
"""

from __future__ import annotations

from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences, record
from tests.oracle.oraclewire import (
    ALTER_CONFIGS,
    BROKER,
    CREATE_PARTITIONS,
    CREATE_TOPICS,
    DELETE_TOPICS,
    DESCRIBE_CONFIGS,
    INCREMENTAL_ALTER_CONFIGS,
    TOPIC,
)

ONE_SIDED = known.KAFKA_ONLY_TOPIC_CONFIGS | known.KAVKA_ONLY_TOPIC_CONFIGS
SET, DELETE, APPEND, SUBTRACT = 0, 1, 2, 3


def _strip_one_sided(answer: dict) -> dict:
    for topic in answer.get("topics", []):
        if isinstance(topic, dict) and isinstance(topic.get("configs"), list):
            topic["configs"] = [c for c in topic["configs"] if c["name"] not in ONE_SIDED]
    return answer


def _run(oracle, steps, renames) -> tuple[dict[str, list[str]], list[int]]:
    found, kafka_codes = {}, []
    for step, api, version, body in steps:
        kafka, kavka = oracle.both(api, version, body, renames)
        kafka_codes += _codes(kafka)
        lines = differences(_strip_one_sided(kafka), _strip_one_sided(kavka))
        if lines:
            found[step] = lines
    return found, kafka_codes


def _codes(answer) -> list[int]:
    if isinstance(answer, dict):
        own = [answer["error_code"]] if "error_code" in answer else []
        return own + [c for v in answer.values() for c in _codes(v)]
    if isinstance(answer, list):
        return [c for v in answer for c in _codes(v)]
    return []


def _expected(group: str) -> dict[str, list[str]]:
    return {step: lines for step, lines in known.ADMIN_DIFFERENCES.items() if step.startswith(group + ":")}


def _topic(name, partitions=1, rf=1, configs=None, assignments=()):
    return {
        "name": name,
        "num_partitions": partitions,
        "replication_factor": rf,
        "assignments": list(assignments),
        "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()],
    }


def _create(*topics, validate_only=False):
    return {"topics": list(topics), "timeout": 30000, "validate_only": validate_only}


def test_create_topics(oracle, new_topic_name):
    a, b, c, dotted = (new_topic_name(s) for s in ("a", "b", "c", "x.y"))
    renames = {a: "<a>", b: "<b>", c: "<c>", dotted: "<dotted>", dotted.replace(".", "_"): "<dotted_>"}
    steps = [
        ("create:valid", CREATE_TOPICS, 7, _create(_topic(a, 2, configs={"cleanup.policy": "compact"}))),
        ("create:exists", CREATE_TOPICS, 7, _create(_topic(a))),
        ("create:validate-only", CREATE_TOPICS, 7, _create(_topic(b, 3), validate_only=True)),
        ("create:defaults", CREATE_TOPICS, 7, _create(_topic(b, -1, -1))),
        ("create:invalid-name", CREATE_TOPICS, 7, _create(_topic("bad name!"))),
        ("create:dot", CREATE_TOPICS, 7, _create(_topic(".."))),
        ("create:too-long", CREATE_TOPICS, 7, _create(_topic("t" * 250))),
        ("create:zero-partitions", CREATE_TOPICS, 7, _create(_topic(c, 0))),
        ("create:rf-too-big", CREATE_TOPICS, 7, _create(_topic(c, 1, 3))),
        ("create:bad-value", CREATE_TOPICS, 7, _create(_topic(c, configs={"retention.ms": "abc"}))),
        ("create:unknown-config", CREATE_TOPICS, 7, _create(_topic(c, configs={"no.such.config": "1"}))),
        ("create:bad-enum", CREATE_TOPICS, 7, _create(_topic(c, configs={"cleanup.policy": "sometimes"}))),
        (
            "create:null-config",
            CREATE_TOPICS,
            7,
            {
                "topics": [{**_topic(c), "configs": [{"name": "retention.ms", "value": None}]}],
                "timeout": 30000,
                "validate_only": False,
            },
        ),
        (
            "create:assignment-bad-broker",
            CREATE_TOPICS,
            7,
            _create(_topic(c, -1, -1, assignments=[{"partition_index": 0, "broker_ids": [5]}])),
        ),
        (
            "create:assignment-and-count",
            CREATE_TOPICS,
            7,
            _create(_topic(c, 2, -1, assignments=[{"partition_index": 0, "broker_ids": [1]}])),
        ),
        ("create:collides", CREATE_TOPICS, 7, _create(_topic(dotted))),
        ("create:collides-2", CREATE_TOPICS, 7, _create(_topic(dotted.replace(".", "_")))),
        ("create:twice-in-request", CREATE_TOPICS, 7, _create(_topic(c), _topic(c))),
    ]
    found, codes = _run(oracle, steps, renames)
    assert {36, 17, 37, 38, 40, 42} <= set(codes)  # the steps do provoke Kafka's errors
    record("create", found)
    assert found == _expected("create")


def test_delete_topics(oracle, new_topic_name):
    a, b, missing = new_topic_name("a"), new_topic_name("b"), new_topic_name("missing")
    renames = {a: "<a>", b: "<b>", missing: "<missing>"}
    oracle.both(CREATE_TOPICS, 7, _create(_topic(a), _topic(b)), renames)
    steps = [
        ("delete:unknown", DELETE_TOPICS, 6, {"topics": [{"name": missing}], "timeout": 30000}),
        (
            "delete:unknown-id",
            DELETE_TOPICS,
            6,
            {"topics": [{"name": None, "topic_id": "0f6b8c5e-2b7a-4a43-9e59-2f5b0a9e3c11"}], "timeout": 30000},
        ),
        ("delete:v5-names", DELETE_TOPICS, 5, {"topic_names": [a, missing], "timeout": 30000}),
        ("delete:twice-in-request", DELETE_TOPICS, 6, {"topics": [{"name": b}, {"name": b}], "timeout": 30000}),
        ("delete:invalid-name", DELETE_TOPICS, 6, {"topics": [{"name": "bad name!"}], "timeout": 30000}),
    ]
    found, codes = _run(oracle, steps, renames)
    assert 3 in codes
    record("delete", found)
    assert found == _expected("delete")


def test_create_partitions(oracle, new_topic_name):
    a, missing = new_topic_name("a"), new_topic_name("missing")
    renames = {a: "<a>", missing: "<missing>"}
    oracle.both(CREATE_TOPICS, 7, _create(_topic(a, 1)), renames)

    def req(name, count, assignments=None, validate_only=False):
        return {
            "topics": [{"name": name, "count": count, "assignments": assignments}],
            "timeout": 30000,
            "validate_only": validate_only,
        }

    steps = [
        ("partitions:validate-only", CREATE_PARTITIONS, 3, req(a, 3, validate_only=True)),
        ("partitions:grow", CREATE_PARTITIONS, 3, req(a, 3)),
        ("partitions:same", CREATE_PARTITIONS, 3, req(a, 3)),
        ("partitions:shrink", CREATE_PARTITIONS, 3, req(a, 2)),
        ("partitions:unknown", CREATE_PARTITIONS, 3, req(missing, 2)),
        ("partitions:bad-assignment-count", CREATE_PARTITIONS, 3, req(a, 5, [{"broker_ids": [1]}])),
        ("partitions:bad-broker", CREATE_PARTITIONS, 3, req(a, 4, [{"broker_ids": [9]}])),
        (
            "partitions:twice-in-request",
            CREATE_PARTITIONS,
            3,
            {"topics": [{"name": a, "count": 6, "assignments": None}] * 2, "timeout": 30000, "validate_only": False},
        ),
    ]
    found, codes = _run(oracle, steps, renames)
    assert 37 in codes and 3 in codes
    record("partitions", found)
    assert found == _expected("partitions")


def test_alter_configs(oracle, new_topic_name):
    a, missing = new_topic_name("a"), new_topic_name("missing")
    renames = {a: "<a>", missing: "<missing>"}
    oracle.both(CREATE_TOPICS, 7, _create(_topic(a)), renames)

    def req(rtype, name, configs, validate_only=False):
        return {
            "resources": [
                {
                    "resource_type": rtype,
                    "resource_name": name,
                    "configs": [{"name": k, "value": v} for k, v in configs.items()],
                }
            ],
            "validate_only": validate_only,
        }

    steps = [
        ("alter:topic", ALTER_CONFIGS, 2, req(TOPIC, a, {"retention.ms": "60000", "cleanup.policy": "compact"})),
        ("alter:topic-validate-only", ALTER_CONFIGS, 2, req(TOPIC, a, {"retention.ms": "1"}, True)),
        ("alter:topic-bad-value", ALTER_CONFIGS, 2, req(TOPIC, a, {"retention.ms": "abc"})),
        ("alter:topic-unknown-config", ALTER_CONFIGS, 2, req(TOPIC, a, {"no.such.config": "1"})),
        ("alter:topic-unknown", ALTER_CONFIGS, 2, req(TOPIC, missing, {"retention.ms": "1"})),
        # Broker-level steps validate only: a legacy AlterConfigs replaces every dynamic config of the
        # resource, and the shared brokers must keep theirs for the other tests.
        ("alter:broker-dynamic", ALTER_CONFIGS, 2, req(BROKER, "1", {"log.cleaner.threads": "1"}, True)),
        ("alter:broker-read-only", ALTER_CONFIGS, 2, req(BROKER, "1", {"num.partitions": "2"}, True)),
        ("alter:broker-synonym-hours", ALTER_CONFIGS, 2, req(BROKER, "1", {"log.retention.hours": "100"}, True)),
        ("alter:broker-other-node", ALTER_CONFIGS, 2, req(BROKER, "7", {"log.cleaner.threads": "1"}, True)),
        ("alter:cluster-default", ALTER_CONFIGS, 2, req(BROKER, "", {"log.cleaner.threads": "1"}, True)),
    ]
    found, codes = _run(oracle, steps, renames)
    assert 40 in codes
    record("alter", found)
    assert found == _expected("alter")


def test_incremental_alter_configs(oracle, new_topic_name):
    a, missing = new_topic_name("a"), new_topic_name("missing")
    renames = {a: "<a>", missing: "<missing>"}
    oracle.both(CREATE_TOPICS, 7, _create(_topic(a)), renames)

    def req(rtype, name, ops, validate_only=False):
        return {
            "resources": [
                {
                    "resource_type": rtype,
                    "resource_name": name,
                    "configs": [{"name": k, "config_operation": op, "value": v} for k, op, v in ops],
                }
            ],
            "validate_only": validate_only,
        }

    steps = [
        ("incremental:set", INCREMENTAL_ALTER_CONFIGS, 1, req(TOPIC, a, [("retention.ms", SET, "60000")])),
        (
            "incremental:append-list",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(TOPIC, a, [("cleanup.policy", APPEND, "compact")]),
        ),
        (
            "incremental:subtract-list",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(TOPIC, a, [("cleanup.policy", SUBTRACT, "delete")]),
        ),
        ("incremental:append-scalar", INCREMENTAL_ALTER_CONFIGS, 1, req(TOPIC, a, [("retention.ms", APPEND, "1")])),
        ("incremental:delete", INCREMENTAL_ALTER_CONFIGS, 1, req(TOPIC, a, [("retention.ms", DELETE, None)])),
        ("incremental:bad-value", INCREMENTAL_ALTER_CONFIGS, 1, req(TOPIC, a, [("retention.ms", SET, "abc")])),
        ("incremental:unknown-config", INCREMENTAL_ALTER_CONFIGS, 1, req(TOPIC, a, [("no.such.config", SET, "1")])),
        (
            "incremental:duplicate-key",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(TOPIC, a, [("retention.ms", SET, "1"), ("retention.ms", SET, "2")]),
        ),
        (
            "incremental:duplicate-list",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(TOPIC, a, [("cleanup.policy", SET, "compact,compact")]),
        ),
        ("incremental:unknown-topic", INCREMENTAL_ALTER_CONFIGS, 1, req(TOPIC, missing, [("retention.ms", SET, "1")])),
        (
            "incremental:broker-dynamic",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(BROKER, "1", [("log.cleaner.threads", SET, "1")]),
        ),
        (
            "incremental:broker-read-only",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(BROKER, "1", [("num.partitions", SET, "2")]),
        ),
        (
            "incremental:broker-synonym-hours",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(BROKER, "1", [("log.retention.hours", SET, "100")], True),
        ),
        (
            "incremental:broker-unknown-name",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(BROKER, "1", [("no.such.config", SET, "1")], True),
        ),
        (
            "incremental:broker-delete",
            INCREMENTAL_ALTER_CONFIGS,
            1,
            req(BROKER, "1", [("log.cleaner.threads", DELETE, None)]),
        ),
    ]
    found, codes = _run(oracle, steps, renames)
    assert 40 in codes
    record("incremental", found)
    assert found == _expected("incremental")


def _incremental(name: str, ops, validate_only: bool = False) -> dict:
    return {
        "resources": [
            {
                "resource_type": BROKER,
                "resource_name": name,
                "configs": [{"name": k, "config_operation": op, "value": v} for k, op, v in ops],
            }
        ],
        "validate_only": validate_only,
    }


def _describe(rtype: int, name: str, keys) -> dict:
    return {
        "resources": [{"resource_type": rtype, "resource_name": name, "configuration_keys": keys}],
        "include_synonyms": True,
        "include_documentation": False,
    }


# Broker configs set (and then deleted) by test_broker_config_changes, on broker 1 and the cluster default.
_SET_ON_BROKER = ("sasl.kerberos.min.time.before.relogin", "num.io.threads", "no.such.config")
_SET_ON_DEFAULT = ("log.retention.ms", "message.max.bytes", "no.such.config")


def test_broker_config_changes(oracle, new_topic_name):
    """The broker config catalogue through the wire, per broker and cluster-wide: configs of features
    Kavka lacks are known (issue 13: sasl.kerberos.min.time.before.relogin), Kafka's update modes
    (read-only, per-broker, listener-prefixed security configs), thread-count limits, validators,
    custom names; what is set is described alike, on the broker and through a topic's synonyms."""
    a = new_topic_name("a")
    renames = {a: "<a>"}
    oracle.both(CREATE_TOPICS, 7, _create(_topic(a)), renames)
    inc = INCREMENTAL_ALTER_CONFIGS
    steps = [
        ("broker:sasl-relogin", inc, 1, _incremental("1", [("sasl.kerberos.min.time.before.relogin", SET, "60001")])),
        (
            "broker:sasl-relogin-default",
            inc,
            1,
            _incremental("", [("sasl.kerberos.min.time.before.relogin", SET, "60001")]),
        ),
        ("broker:sasl-relogin-bad", inc, 1, _incremental("1", [("sasl.kerberos.min.time.before.relogin", SET, "x")])),
        ("broker:advertised-listeners", inc, 1, _incremental("1", [("advertised.listeners", SET, "PLAINTEXT://h:1")])),
        ("broker:listeners-default", inc, 1, _incremental("", [("listeners", SET, "PLAINTEXT://h:1")], True)),
        ("broker:listener-prefix-only", inc, 1, _incremental("1", [("ssl.keystore.type", SET, "PKCS12")], True)),
        ("broker:io-threads-double", inc, 1, _incremental("1", [("num.io.threads", SET, "17")], True)),
        ("broker:io-threads-half", inc, 1, _incremental("1", [("num.io.threads", SET, "3")], True)),
        ("broker:io-threads", inc, 1, _incremental("1", [("num.io.threads", SET, "12")])),
        ("broker:cleaner-threads-double", inc, 1, _incremental("", [("log.cleaner.threads", SET, "3")], True)),
        ("broker:cleaner-threads-zero", inc, 1, _incremental("", [("log.cleaner.threads", SET, "0")], True)),
        ("broker:max-bytes-negative", inc, 1, _incremental("", [("message.max.bytes", SET, "-1")], True)),
        ("broker:max-bytes", inc, 1, _incremental("", [("message.max.bytes", SET, "2000000")])),
        ("broker:retention-default", inc, 1, _incremental("", [("log.retention.ms", SET, "3600000")])),
        ("broker:custom", inc, 1, _incremental("1", [("no.such.config", SET, "x")])),
        ("broker:custom-default", inc, 1, _incremental("", [("no.such.config", SET, "y")])),
        ("broker:gzip-level-bad", inc, 1, _incremental("", [("compression.gzip.level", SET, "12")], True)),
        ("broker:ssl-client-auth-bad", inc, 1, _incremental("1", [("ssl.client.auth", SET, "maybe")], True)),
        ("broker:append-list", inc, 1, _incremental("", [("log.cleanup.policy", APPEND, "compact")], True)),
        ("broker:subtract-list", inc, 1, _incremental("", [("log.cleanup.policy", SUBTRACT, "delete")], True)),
        ("broker:append-scalar", inc, 1, _incremental("", [("message.max.bytes", APPEND, "1")], True)),
        ("broker:duplicate-list", inc, 1, _incremental("", [("log.cleanup.policy", SET, "delete,delete")], True)),
        ("broker:bad-list-value", inc, 1, _incremental("", [("log.cleanup.policy", SET, "shred")], True)),
        ("broker:delete-unset", inc, 1, _incremental("1", [("log.retention.ms", DELETE, None)], True)),
        ("broker:append-custom", inc, 1, _incremental("1", [("another.custom", APPEND, "a")], True)),
        ("broker:double-type", inc, 1, _incremental("", [("log.cleaner.min.cleanable.ratio", SET, "1.5")], True)),
        (
            "broker:legacy-sasl-relogin",
            ALTER_CONFIGS,
            2,
            {
                "resources": [
                    {
                        "resource_type": BROKER,
                        "resource_name": "1",
                        "configs": [{"name": "sasl.kerberos.min.time.before.relogin", "value": "60002"}],
                    }
                ],
                "validate_only": True,
            },
        ),
        ("broker:describe-1", DESCRIBE_CONFIGS, 4, _describe(BROKER, "1", [*_SET_ON_BROKER, *_SET_ON_DEFAULT])),
        ("broker:describe-default", DESCRIBE_CONFIGS, 4, _describe(BROKER, "", None)),
        ("broker:describe-topic", DESCRIBE_CONFIGS, 4, _describe(TOPIC, a, ["retention.ms", "max.message.bytes"])),
    ]
    try:
        found, codes = _run(oracle, steps, renames)
    finally:
        oracle.both(inc, 1, _incremental("1", [(k, DELETE, None) for k in _SET_ON_BROKER]))
        oracle.both(inc, 1, _incremental("", [(k, DELETE, None) for k in _SET_ON_DEFAULT]))
    assert 42 in codes and 0 in codes
    record("broker", found)
    assert found == _expected("broker")
