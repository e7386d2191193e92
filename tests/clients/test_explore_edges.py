"""Edge cases a Kafka user's tests touch: topic names, timestamps limits, record sizes at the limit, many
partitions, a topic deleted and recreated under a consumer, and requests at the wire that clients
normally guard (unknown partitions and topics, duplicates in one request, special ListOffsets timestamps
at old versions). ``xfail(strict=True)`` marks a difference from Apache Kafka 4.0 (the reason says what
Kafka does); the other tests document behaviour that works.
"""

from __future__ import annotations

import time
import uuid

import pytest

from kavka.testing.process import create_topic as create_topic_on
from kavka.testing.process import wait_until
from tests.clients.adminwire import call, fetch_body

PRODUCE, FETCH, LIST_OFFSETS, CREATE_TOPICS = 0, 1, 2, 19
NONE, OFFSET_OUT_OF_RANGE, UNKNOWN_TOPIC_OR_PARTITION, INVALID_TOPIC_EXCEPTION = 0, 1, 3, 17
UNSUPPORTED_VERSION, INVALID_REQUEST, INVALID_RECORD = 35, 42, 87


@pytest.fixture
def ck_admin(bootstrap):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def create(ck_admin, name: str, partitions: int = 1, config: dict | None = None, validate_only: bool = False):
    from confluent_kafka.admin import NewTopic

    fut = ck_admin.create_topics(
        [NewTopic(name, partitions, 1, config=config or {})], validate_only=validate_only, operation_timeout=10
    )[name]
    return fut.result()


def batch(key: bytes | None = b"k", value: bytes | None = b"v", timestamp: int | None = None) -> bytes:
    """One record, magic 2, no compression, no producer id."""
    from kafka.record.default_records import DefaultRecordBatchBuilder

    b = DefaultRecordBatchBuilder(2, 0, False, -1, -1, -1, 1 << 20)
    b.append(0, timestamp if timestamp is not None else int(time.time() * 1000), key, value, [])
    return bytes(b.build())


def produce_wire(bootstrap: str, topic: str, partition: int, records: bytes, version: int = 9):
    r = call(
        bootstrap,
        PRODUCE,
        version,
        {
            "transactional_id": None,
            "acks": 1,
            "timeout": 5000,
            "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": records}]}],
        },
    )
    [t] = r.responses
    [p] = t.partition_responses
    return p


def list_offsets_wire(bootstrap: str, topic: str, queries: list[tuple[int, int]], version: int = 7):
    r = call(
        bootstrap,
        LIST_OFFSETS,
        version,
        {
            "replica_id": -1,
            "isolation_level": 0,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {"partition_index": p, "timestamp": ts, "current_leader_epoch": -1} for p, ts in queries
                    ],
                }
            ],
        },
    )
    return [(p.partition_index, int(p.error_code), p.offset) for t in r.topics for p in t.partitions]


def fetch_wire(bootstrap: str, topic: str, partition: int, offset: int, max_wait: int = 3000):
    started = time.monotonic()
    r = call(
        bootstrap,
        FETCH,
        12,
        fetch_body(topic, partition, offset, max_wait),
    )
    [t] = r.responses
    [p] = t.partitions
    return time.monotonic() - started, int(p.error_code), p.high_watermark, p.log_start_offset


def deliver(bootstrap: str, topic: str, conf: dict | None = None, **kw):
    """Produce one record with confluent-kafka; return (error or None, offset)."""
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000, **(conf or {})})
    out = []
    p.produce(topic, on_delivery=lambda err, msg: out.append((err, msg.offset())), **kw)
    assert p.flush(15) == 0
    [res] = out
    return res


# -- topic names ---------------------------------------------------------------------------------------------


def test_dot_and_underscore_names_collide(ck_admin, new_topic_name):
    from confluent_kafka import KafkaException

    base = new_topic_name("col").replace(".", "-").replace("_", "-")
    create(ck_admin, base + "_x")
    for validate_only in (True, False):
        with pytest.raises(KafkaException, match="collides with existing topic") as e:
            create(ck_admin, base + ".x", validate_only=validate_only)
        assert e.value.args[0].code() == INVALID_TOPIC_EXCEPTION


@pytest.mark.parametrize("name", [".", "..", "a" * 250, "bad name", "bad/name"])
def test_illegal_names_are_invalid_topic_exception(ck_admin, name):
    from confluent_kafka import KafkaException

    with pytest.raises(KafkaException) as e:
        create(ck_admin, name)
    assert e.value.args[0].code() == INVALID_TOPIC_EXCEPTION


def test_create_topics_with_a_name_twice_in_one_request(bootstrap, new_topic_name):
    name = new_topic_name("dup")
    one = {"name": name, "num_partitions": 1, "replication_factor": 1}
    r = call(bootstrap, CREATE_TOPICS, 7, {"topics": [one, one], "timeout": 5000})
    # One entry for the name, as Apache Kafka answers (tests/oracle/test_oracle_admin_requests.py).
    assert [(t.name, int(t.error_code)) for t in r.topics] == [(name, INVALID_REQUEST)]


def test_partition_count_cannot_shrink_or_stay(ck_admin, create_topic):
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import NewPartitions

    topic = create_topic(partitions=3)
    for count in (2, 3):
        with pytest.raises(KafkaException, match="INVALID_PARTITIONS|already has"):
            ck_admin.create_partitions([NewPartitions(topic, count)])[topic].result()


def test_topic_recreated_under_a_group_consumer_is_read_from_zero(ck_admin, bootstrap, new_topic_name):
    from confluent_kafka import Consumer, Producer

    topic = new_topic_name("recreate")
    create(ck_admin, topic, 2)
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(6):
        p.produce(topic, f"old-{i}".encode(), partition=i % 2)
    assert p.flush(10) == 0
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"gr-{uuid.uuid4().hex[:8]}",
            "auto.offset.reset": "earliest",
            "topic.metadata.refresh.interval.ms": 500,
        }
    )
    try:
        c.subscribe([topic])
        old: list = []
        wait_until(
            lambda: old.extend(m for m in [c.poll(0.2)] if m is not None and not m.error()) or len(old) >= 6,
            20,
            interval=0,
            message="the old records",
        )
        ck_admin.delete_topics([topic], operation_timeout=10)[topic].result()
        create(ck_admin, topic, 3)
        p2 = Producer({"bootstrap.servers": bootstrap})
        for part in range(3):
            p2.produce(topic, f"new-{part}".encode(), partition=part)
        assert p2.flush(10) == 0
        new: list = []

        def read_new():
            m = c.poll(0.2)
            if m is not None and not m.error() and m.value().startswith(b"new-"):
                new.append((m.partition(), m.offset(), m.value()))
            return len(new) >= 3

        wait_until(read_new, 30, interval=0, message="the records of the recreated topic")
        assert sorted(new) == [(p, 0, f"new-{p}".encode()) for p in range(3)]
    finally:
        c.close()


# -- timestamps --------------------------------------------------------------------------------------------


def test_timestamp_before_and_after_max_ms(ck_admin, bootstrap, new_topic_name):
    now = int(time.time() * 1000)
    limited = new_topic_name("limited")
    create(
        ck_admin,
        limited,
        config={"message.timestamp.after.max.ms": "60000", "message.timestamp.before.max.ms": "60000"},
    )
    assert deliver(bootstrap, limited, value=b"a", timestamp=now + 30_000)[0] is None
    for ts in (now + 3_600_000, now - 3_600_000):
        err, _ = deliver(bootstrap, limited, value=b"a", timestamp=ts)
        assert err is not None and err.name() == "INVALID_TIMESTAMP"
    log_append = new_topic_name("lat")
    create(
        ck_admin,
        log_append,
        config={"message.timestamp.type": "LogAppendTime", "message.timestamp.before.max.ms": "60000"},
    )
    assert deliver(bootstrap, log_append, value=b"a", timestamp=now - 3_600_000)[0] is None
    default = new_topic_name("default")
    create(ck_admin, default)
    # Kafka 4.0 defaults: after.max.ms 1 hour, before.max.ms unlimited
    assert deliver(bootstrap, default, value=b"a", timestamp=now + 7_200_000)[0].name() == "INVALID_TIMESTAMP"
    assert deliver(bootstrap, default, value=b"a", timestamp=now - 10 * 365 * 86_400_000)[0] is None


def test_removed_timestamp_difference_config_is_unknown(ck_admin, new_topic_name):
    from confluent_kafka import KafkaException

    with pytest.raises(KafkaException, match="INVALID_CONFIG|Unknown topic config"):
        create(ck_admin, new_topic_name("diff"), config={"message.timestamp.difference.max.ms": "60000"})


# -- sizes and partitions -------------------------------------------------------------------------------------


def test_record_at_the_default_max_message_bytes_boundary(bootstrap, create_topic):
    """A one-record uncompressed batch is the value plus 72 bytes (61 header + 11 record framing here):
    1,048,516 bytes of value make a batch of exactly max.message.bytes (1,048,588)."""
    topic = create_topic()
    conf = {"message.max.bytes": 2_000_000, "compression.type": "none", "linger.ms": 0}
    err, offset = deliver(bootstrap, topic, conf, value=b"x" * 1_048_516)
    assert (err, offset) == (None, 0)
    err, _ = deliver(bootstrap, topic, conf, value=b"x" * 1_048_517)
    assert err is not None and err.name() == "MSG_SIZE_TOO_LARGE"


def test_two_hundred_partitions_through_a_group(bootstrap, create_topic):
    from confluent_kafka import Consumer, Producer

    topic = create_topic(partitions=200)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    for i in range(1000):
        p.produce(topic, f"{i}".encode(), partition=i % 200)
    assert p.flush(20) == 0
    c = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"g200-{uuid.uuid4().hex[:8]}", "auto.offset.reset": "earliest"}
    )
    seen = set()
    try:
        c.subscribe([topic])

        def read():
            for m in c.consume(500, 0.5):
                if not m.error():
                    seen.add((m.partition(), m.offset()))
            return len(seen) >= 1000

        wait_until(read, 40, interval=0, message="1000 records over 200 partitions")
    finally:
        c.close()
    assert seen == {(p, o) for p in range(200) for o in range(5)}


# -- produce and fetch at the wire -------------------------------------------------------------------------------


def test_produce_to_a_missing_partition(bootstrap, create_topic):
    topic = create_topic()
    p = produce_wire(bootstrap, topic, 5, batch())
    assert (int(p.error_code), p.base_offset) == (UNKNOWN_TOPIC_OR_PARTITION, -1)


def test_produce_to_an_unknown_topic_does_not_create_it(ck_admin, bootstrap, new_topic_name):
    topic = new_topic_name("nope")
    p = produce_wire(bootstrap, topic, 0, batch())
    assert int(p.error_code) == UNKNOWN_TOPIC_OR_PARTITION
    assert topic not in ck_admin.list_topics(timeout=5).topics


def test_compacted_topic_refuses_a_null_key_with_invalid_record(bootstrap, create_topic):
    topic = create_topic(configs={"cleanup.policy": "compact"})
    p = produce_wire(bootstrap, topic, 0, batch(key=None))
    assert int(p.error_code) == INVALID_RECORD
    assert "Compacted topic cannot accept message without key" in p.error_message


def test_invalid_record_names_the_rejected_record(bootstrap, create_topic):
    topic = create_topic(configs={"cleanup.policy": "compact"})
    p = produce_wire(bootstrap, topic, 0, batch(key=None))
    assert [e.batch_index for e in p.record_errors] == [0]
    assert "without key" in p.record_errors[0].batch_index_error_message


@pytest.mark.parametrize("topic_exists", [True, False], ids=["missing-partition", "missing-topic"])
def test_fetch_of_a_missing_partition_answers_at_once(bootstrap, create_topic, new_topic_name, topic_exists):
    topic = create_topic() if topic_exists else new_topic_name("nope")
    elapsed, code, hw, _ = fetch_wire(bootstrap, topic, 3 if topic_exists else 0, 0, max_wait=5000)
    assert (code, hw) == (UNKNOWN_TOPIC_OR_PARTITION, -1)
    assert elapsed < 2.5


def test_fetch_out_of_range_answers_as_kafka(any_broker, new_topic_name):
    """Kafka answers an out-of-range fetch with the error and -1 for the high watermark and log start
    (its read failed before it looked at the log's bounds); clients then ask ListOffsets."""
    topic = new_topic_name()
    create_topic_on(any_broker.bootstrap, topic)
    assert int(produce_wire(any_broker.bootstrap, topic, 0, batch()).error_code) == NONE
    for offset in (5, -5):
        _, code, hw, log_start = fetch_wire(any_broker.bootstrap, topic, 0, offset)
        assert (code, hw, log_start) == (OFFSET_OUT_OF_RANGE, -1, -1)


# -- ListOffsets at the wire ---------------------------------------------------------------------------------------


def test_list_offsets_special_timestamps(bootstrap, create_topic):
    topic = create_topic()
    now = int(time.time() * 1000)
    for i in range(3):
        assert int(produce_wire(bootstrap, topic, 0, batch(timestamp=now - 3000 + i * 1000)).error_code) == NONE
    got = {ts: list_offsets_wire(bootstrap, topic, [(0, ts)], version=9)[0][1:] for ts in (-1, -2, -3, -4)}
    assert got == {-1: (NONE, 3), -2: (NONE, 0), -3: (NONE, 2), -4: (NONE, 0)}


def test_list_offsets_with_a_partition_twice(bootstrap, create_topic):
    topic = create_topic()
    assert int(produce_wire(bootstrap, topic, 0, batch()).error_code) == NONE
    got = list_offsets_wire(bootstrap, topic, [(0, -1), (0, -2)])
    assert [code for _, code, _ in got] == [INVALID_REQUEST, INVALID_REQUEST]


def test_list_offsets_special_timestamps_need_their_versions(bootstrap, create_topic):
    topic = create_topic()
    assert int(produce_wire(bootstrap, topic, 0, batch()).error_code) == NONE
    assert list_offsets_wire(bootstrap, topic, [(0, -3)], version=6)[0][1] == UNSUPPORTED_VERSION
    assert list_offsets_wire(bootstrap, topic, [(0, -4)], version=7)[0][1] == UNSUPPORTED_VERSION


# -- transactions --------------------------------------------------------------------------------------------------


def test_send_offsets_to_transaction_for_an_unknown_topic_fails(bootstrap, create_topic):
    from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

    topic = create_topic()
    missing = f"no-such-topic-{uuid.uuid4().hex[:8]}"
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"gt-{uuid.uuid4().hex[:8]}"})
    tx = Producer({"bootstrap.servers": bootstrap, "transactional.id": f"txu-{uuid.uuid4().hex[:8]}"})
    tx.init_transactions(15)
    tx.begin_transaction()
    tx.produce(topic, b"x")
    assert tx.flush(10) == 0
    try:
        with pytest.raises(KafkaException):
            tx.send_offsets_to_transaction([TopicPartition(missing, 0, 1)], c.consumer_group_metadata(), 10)
    finally:
        try:
            tx.abort_transaction(10)
        except KafkaException:
            pass
        c.close()
