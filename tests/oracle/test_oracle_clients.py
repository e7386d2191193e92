"""The same scenario through real clients (confluent-kafka) against Kafka and Kavka: what a user's
program sees (results, error codes and messages, records read back) is compared after normalising
names. ``any_broker`` runs a scenario on each broker alone, for behaviour that both must show.
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, ConfigResource, NewPartitions, NewTopic

from kavka.testing.process import wait_until
from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences


def _error(future) -> tuple[str, str] | None:
    try:
        future.result(timeout=30)
    except KafkaException as exc:
        err = exc.args[0]
        return err.name(), err.str()
    return None


def _admin_scenario(bootstrap: str, base: str) -> dict:
    """Create, fail to create, grow, describe and delete topics; return what each step answered."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    seen: dict = {}
    fs = admin.create_topics(
        [
            NewTopic(f"{base}-a", 2, 1, config={"cleanup.policy": "compact"}),
            NewTopic(f"{base}-b", 0, 1),
            NewTopic(f"{base}-c", 1, 5),
            NewTopic(f"{base}-d", 1, 1, config={"retention.ms": "soon"}),
        ],
        request_timeout=30,
    )
    seen["create"] = {name.replace(base, "<t>"): _error(f) for name, f in fs.items()}
    seen["create-again"] = {
        n.replace(base, "<t>"): _error(f) for n, f in admin.create_topics([NewTopic(f"{base}-a", 1, 1)]).items()
    }
    fs = admin.create_partitions([NewPartitions(f"{base}-a", 4), NewPartitions(f"{base}-a2", 2)])
    seen["partitions"] = {n.replace(base, "<t>"): _error(f) for n, f in fs.items()}
    # Kafka's broker learns of a new topic from the metadata log a moment after the controller answers
    # CreateTopics; DescribeConfigs before then is UNKNOWN_TOPIC_OR_PARTITION. Wait as a client would.
    wait_until(
        lambda: f"{base}-a" in admin.list_topics(timeout=30).topics, 30, interval=0.05, message="the topic in Metadata"
    )
    [f] = admin.describe_configs([ConfigResource("TOPIC", f"{base}-a")]).values()
    configs = f.result(timeout=30)
    seen["describe"] = {
        name: (e.value, e.source, e.is_read_only, e.is_default, e.is_sensitive)
        for name, e in configs.items()
        if name not in known.KAFKA_ONLY_TOPIC_CONFIGS | known.KAVKA_ONLY_TOPIC_CONFIGS and name != "min.insync.replicas"
    }  # ELR: see known.TOPIC_CONFIG_LINES

    # Kafka's brokers learn of new partitions from the metadata log a moment after the controller
    # answers: wait for all four, as a client would.
    def grown():
        topic = admin.list_topics(topic=f"{base}-a", timeout=30).topics[f"{base}-a"]
        return topic if len(topic.partitions) == 4 else None

    md = wait_until(grown, 30, interval=0.05, message="four partitions in Metadata")
    seen["metadata"] = sorted((p.id, p.leader, list(p.replicas), list(p.isrs)) for p in md.partitions.values())
    fs = admin.delete_topics([f"{base}-a", f"{base}-zzz"], operation_timeout=30)
    seen["delete"] = {n.replace(base, "<t>"): _error(f) for n, f in fs.items()}
    return seen


def test_admin_client_scenario(apache_kafka, broker):
    base = f"oracle-{uuid.uuid4().hex[:8]}"
    kafka = _admin_scenario(apache_kafka.bootstrap, base)
    kavka = _admin_scenario(broker.bootstrap, base)
    assert kafka["create"]["<t>-b"][0] == "INVALID_PARTITIONS"  # the scenario does reach Kafka's errors
    assert differences(kafka, kavka) == known.CLIENT_ADMIN_DIFFERENCES


def _round_trip(bootstrap: str, topic: str) -> list[tuple]:
    admin = AdminClient({"bootstrap.servers": bootstrap})  # kept alive until the future resolves
    admin.create_topics([NewTopic(topic, 2, 1)])[topic].result(30)
    producer = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for i in range(6):
        producer.produce(
            topic, key=f"k{i % 3}".encode(), value=f"v{i}".encode(), partition=i % 2, headers=[("h", str(i).encode())]
        )
    assert producer.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{topic}", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in (0, 1)])  # no group join: fast
    got: list[tuple] = []

    def read_all() -> bool:
        msg = consumer.poll(0.5)
        if msg is not None and msg.error() is None:
            got.append((msg.partition(), msg.offset(), msg.key(), msg.value(), msg.headers(), msg.timestamp()[0]))
        return len(got) == 6

    try:
        wait_until(read_all, 60, interval=0, message="six records read back")
    finally:
        consumer.close()
    return sorted(got)


def test_produce_and_consume_alike(apache_kafka, broker):
    topic = f"oracle-rt-{uuid.uuid4().hex[:8]}"
    kafka = _round_trip(apache_kafka.bootstrap, topic)
    assert kafka == _round_trip(broker.bootstrap, topic)


@pytest.mark.parametrize(
    "config, value, expected",
    [
        ("retention.ms", "-1", None),
        ("retention.ms", "-3", "INVALID_CONFIG"),
        ("cleanup.policy", "compact,delete", None),
        ("max.message.bytes", "-1", "INVALID_CONFIG"),
    ],
)
def test_topic_config_validation_on_any_broker(any_broker, config, value, expected):
    """One scenario, run once per broker (ids "kafka" and "kavka"): both must accept or refuse alike."""
    admin = AdminClient({"bootstrap.servers": any_broker.bootstrap})
    topic = f"oracle-cfg-{uuid.uuid4().hex[:8]}"
    err = _error(admin.create_topics([NewTopic(topic, 1, 1, config={config: value})])[topic])
    assert (err[0] if err else None) == expected, err
