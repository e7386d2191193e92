"""Broker configs through real clients, kafka-python and confluent-kafka, against Kafka and Kavka: what a
program sees when it describes the broker resource and changes a config on it (issue 13: kafka-python's
``alter_configs`` refused ``sasl.kerberos.min.time.before.relogin`` on Kavka as an unknown config, and its
tests expect ``advertised.listeners`` read-only). The same scenario runs on each broker; the answers are
compared whole.
"""

from __future__ import annotations

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource
from kafka.admin import AlterConfigOp as KpOp
from kafka.admin import ConfigResource as KpResource
from kafka.admin import ConfigResourceType as KpType
from kafka.admin import KafkaAdminClient

from kavka.testing.process import wait_until
from tests.oracle.oraclediff import differences

RELOGIN = "sasl.kerberos.min.time.before.relogin"
SHOWN = (RELOGIN, "advertised.listeners", "num.io.threads", "log.retention.ms", "ssl.keystore.location")
# Set differently by the two test set-ups (Kafka's fixture advertises its listener): flags only.
SETUP = ("advertised.listeners",)
DYNAMIC_BROKER_CONFIG, DEFAULT_CONFIG = 2, 5


def _kafka_python(bootstrap: str) -> dict:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=30000)
    seen: dict = {}
    try:
        every = admin.describe_configs([KpResource(KpType.BROKER, "1")], config_filter="all")["broker"]["1"]
        dynamic = admin.describe_configs([KpResource(KpType.BROKER, "1")], config_filter="dynamic")["broker"]["1"]
        seen["count"] = len(every) > 300
        seen["described"] = {name: every[name] for name in SHOWN}
        for name in SETUP:
            seen["described"][name].update(value="<set-up>", config_source="<set-up>")
        seen["dynamic"] = sorted(set(SHOWN) & set(dynamic))
        # raise_on_unknown (the default) first checks the names against the broker's dynamic configs.
        seen["alter"] = admin.alter_configs([KpResource(KpType.BROKER, "1", configs={RELOGIN: "60001"})])
        # Kafka's broker applies a change when it reads it from the metadata log: wait as a client would.
        seen["after"] = wait_until(
            lambda: (
                (d := admin.describe_configs([KpResource(KpType.BROKER, "1", configs={RELOGIN: None})]))
                and d["broker"]["1"][RELOGIN]["value"] == "60001"
                and d
            ),
            30,
            interval=0.05,
            message="the new value described",
        )
        try:
            admin.alter_configs([KpResource(KpType.BROKER, "1", configs={"advertised.listeners": "PLAINTEXT://h:1"})])
        except ValueError as e:
            seen["alter-read-only"] = str(e)
        seen["forced"] = admin.alter_configs(
            [KpResource(KpType.BROKER, "1", configs={"advertised.listeners": "PLAINTEXT://h:1"})],
            raise_on_unknown=False,
        )
        seen["reset"] = admin.alter_configs([KpResource(KpType.BROKER, "1", configs={RELOGIN: (KpOp.DELETE, None)})])
    finally:
        admin.close()
    return seen


def _error(future) -> tuple[str, str] | None:
    try:
        future.result(timeout=30)
    except KafkaException as exc:
        return exc.args[0].name(), exc.args[0].str()
    return None


def _confluent(bootstrap: str) -> dict:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    seen: dict = {}

    def describe() -> dict:
        [f] = admin.describe_configs([ConfigResource("BROKER", "1")], request_timeout=30).values()
        return f.result(timeout=30)

    def change(name: str, op: AlterConfigOpType, value: str | None, resource: str = "1"):
        entry = ConfigEntry(name, value, incremental_operation=op)
        [f] = admin.incremental_alter_configs(
            [ConfigResource("BROKER", resource, incremental_configs=[entry])]
        ).values()
        return _error(f)

    configs = describe()
    shown = {
        n: (e.value, e.source, e.is_read_only, e.is_default, e.is_sensitive) for n, e in configs.items() if n in SHOWN
    }
    seen["described"] = {
        n: (("<set-up>", "<set-up>", v[2], "<set-up>", v[4]) if n in SETUP else v) for n, v in shown.items()
    }

    def described(value: str, source: int):
        # Kafka's broker applies a change when it reads it from the metadata log: wait as a client would.
        return wait_until(
            lambda: (e := describe()[RELOGIN]) and (e.value, e.source) == (value, source) and (e.value, e.source),
            30,
            interval=0.05,
            message=f"{RELOGIN}={value} from source {source}",
        )

    seen["set"] = change(RELOGIN, AlterConfigOpType.SET, "60001")
    seen["after"] = described("60001", DYNAMIC_BROKER_CONFIG)
    seen["set-read-only"] = change("advertised.listeners", AlterConfigOpType.SET, "PLAINTEXT://h:1")
    seen["set-bad"] = change(RELOGIN, AlterConfigOpType.SET, "soon")
    seen["threads-too-many"] = change("num.io.threads", AlterConfigOpType.SET, "100")
    seen["delete"] = change(RELOGIN, AlterConfigOpType.DELETE, None)
    seen["after-delete"] = described("60000", DEFAULT_CONFIG)
    return seen


def test_kafka_python_on_the_broker_resource(apache_kafka, broker):
    kafka, kavka = _kafka_python(apache_kafka.bootstrap), _kafka_python(broker.bootstrap)
    assert kafka["alter"] == {"broker": {"1": "OK"}}
    assert kafka["described"]["advertised.listeners"]["read_only"] is True
    assert differences(kafka, kavka) == []


def test_confluent_kafka_on_the_broker_resource(apache_kafka, broker):
    kafka, kavka = _confluent(apache_kafka.bootstrap), _confluent(broker.bootstrap)
    assert kafka["set"] is None and kafka["set-read-only"][0] == "INVALID_REQUEST"
    assert differences(kafka, kavka) == []
