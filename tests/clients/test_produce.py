"""Produce semantics: acks 0/1/all, MESSAGE_TOO_LARGE, LogAppendTime, NOT_ENOUGH_REPLICAS, bad acks."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, TopicPartition

from kavka.testing.process import wait_until
from tests.clients.clientlib import (
    CLIENTS,
    LOG_APPEND_TIME,
    PRODUCE,
    READ_ALL,
    Out,
    ck_consumer,
    ck_produce,
    kp_produce,
    now_ms,
)


def high_watermark(bootstrap: str, topic: str, partition: int = 0) -> int:
    consumer = ck_consumer(bootstrap)
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)[1]
    finally:
        consumer.close()


@pytest.mark.parametrize("acks", ["1", "all", "-1"])
def test_acks_confluent(acks, bootstrap, create_topic):
    topic = create_topic()
    records = [Out(f"k{i}".encode(), f"v{i}".encode(), partition=0) for i in range(50)]
    delivered = ck_produce(bootstrap, topic, records, acks=acks)
    assert [d.offset for d in delivered] == list(range(50))
    got = READ_ALL["confluent"](bootstrap, topic, 1)
    assert [(r.key, r.value) for r in got] == [(o.key, o.value) for o in records]


def test_acks_zero_confluent(bootstrap, create_topic):
    topic = create_topic()
    records = [Out(f"k{i}".encode(), f"v{i}".encode(), partition=0) for i in range(50)]
    ck_produce(bootstrap, topic, records, acks="0")  # no response, so no offsets to check
    wait_until(lambda: high_watermark(bootstrap, topic) == 50, 15, message="50 records stored")
    got = READ_ALL["confluent"](bootstrap, topic, 1)
    assert [(r.offset, r.value) for r in got] == [(i, o.value) for i, o in enumerate(records)]


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_acks_kafka_python(acks, bootstrap, create_topic):
    topic = create_topic()
    records = [Out(f"k{i}".encode(), f"v{i}".encode(), partition=0) for i in range(30)]
    # Idempotence needs acks=all, so turn it off for the other settings.
    kp_produce(bootstrap, topic, records, acks=acks, enable_idempotence=(acks == "all"))
    wait_until(lambda: high_watermark(bootstrap, topic) == 30, 15, message="30 records stored")
    got = READ_ALL["kafka-python"](bootstrap, topic, 1)
    assert [(r.offset, r.key, r.value) for r in got] == [(i, o.key, o.value) for i, o in enumerate(records)]


def test_message_too_large_confluent(bootstrap, create_topic):
    topic = create_topic(configs={"max.message.bytes": "2000"})
    # The producer's own limit is high, so the broker is the one rejecting.
    results = ck_produce(
        bootstrap,
        topic,
        [
            Out(b"big", b"x" * 10_000, partition=0),
        ],
        check=False,
        message_max_bytes=5_000_000,
        linger_ms=0,
        retries=0,
    )
    assert isinstance(results[0], Exception)
    assert results[0].args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    # A record under the limit is still accepted, at offset 0: the rejected batch took no offsets.
    ok = ck_produce(bootstrap, topic, [Out(b"small", b"x" * 100, partition=0)])
    assert ok[0].offset == 0


def test_message_too_large_kafka_python(bootstrap, create_topic):
    from kafka.errors import MessageSizeTooLargeError

    topic = create_topic(configs={"max.message.bytes": "2000"})
    results = kp_produce(
        bootstrap, topic, [Out(b"big", b"x" * 10_000, partition=0)], check=False, max_request_size=5_000_000, retries=0
    )
    assert isinstance(results[0], MessageSizeTooLargeError), results[0]


def test_broker_message_max_bytes_default_applies(broker_factory, create_topic, topic_name):
    """The broker-wide ``message.max.bytes`` applies to topics without ``max.message.bytes``."""
    b = broker_factory({"message.max.bytes": "3000"})
    create_topic(topic_name, 1, bootstrap=b.bootstrap)
    results = ck_produce(
        b.bootstrap,
        topic_name,
        [Out(None, b"y" * 20_000, partition=0)],
        check=False,
        message_max_bytes=5_000_000,
        linger_ms=0,
        retries=0,
    )
    assert isinstance(results[0], Exception)
    assert results[0].args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE


@pytest.mark.parametrize("client", CLIENTS)
def test_log_append_time(client, bootstrap, create_topic):
    topic = create_topic(configs={"message.timestamp.type": "LogAppendTime"})
    old = 1_000_000_000_000  # 2001: the broker must replace it
    records = [Out(f"k{i}".encode(), b"v", timestamp=old + i, partition=0) for i in range(10)]
    before = now_ms()
    delivered = PRODUCE[client](bootstrap, topic, records)
    after = now_ms()
    got = READ_ALL[client](bootstrap, topic, 1)
    assert len(got) == 10
    for r in got:
        assert r.timestamp_type == LOG_APPEND_TIME
        assert before - 1000 <= r.timestamp <= after + 1000, (r.timestamp, before, after)
    # Every record of one batch carries the same append time.
    if client == "confluent":
        for d in delivered:
            assert d.timestamp_type == LOG_APPEND_TIME
            assert before - 1000 <= d.timestamp <= after + 1000


def test_create_time_is_kept(bootstrap, create_topic):
    topic = create_topic()
    ts = now_ms() - 3_600_000
    ck_produce(bootstrap, topic, [Out(b"k", b"v", timestamp=ts, partition=0)])
    (r,) = READ_ALL["confluent"](bootstrap, topic, 1)
    assert r.timestamp == ts and r.timestamp_type == "CreateTime"


def test_not_enough_replicas(bootstrap, create_topic):
    topic = create_topic(configs={"min.insync.replicas": "2"})
    results = ck_produce(
        bootstrap, topic, [Out(None, b"v", partition=0)], check=False, acks="all", retries=0, message_timeout_ms=5000
    )
    assert isinstance(results[0], Exception)
    assert results[0].args[0].code() == KafkaError.NOT_ENOUGH_REPLICAS, results[0]
    # acks=1 does not need the ISR.
    ok = ck_produce(bootstrap, topic, [Out(None, b"v", partition=0)], acks="1")
    assert ok[0].offset == 0


def test_invalid_required_acks(bootstrap, create_topic):
    topic = create_topic()
    results = ck_produce(
        bootstrap, topic, [Out(None, b"v", partition=0)], check=False, acks="2", retries=0, message_timeout_ms=5000
    )
    assert isinstance(results[0], Exception)
    assert results[0].args[0].code() == KafkaError.INVALID_REQUIRED_ACKS, results[0]


def test_produce_many_partitions_in_one_request(bootstrap, create_topic):
    topic = create_topic(partitions=8)
    records = [Out(None, f"{i}".encode(), partition=i % 8) for i in range(400)]
    start = time.monotonic()
    delivered = ck_produce(bootstrap, topic, records, linger_ms=50)
    assert time.monotonic() - start < 20
    assert sorted((d.partition, d.offset) for d in delivered) == sorted((i % 8, i // 8) for i in range(400))


def test_large_record_within_topic_limit(bootstrap, create_topic):
    """A 5 MB record on a topic allowing 10 MB: one large frame in each direction."""
    import os

    topic = create_topic(configs={"max.message.bytes": str(10 * 2**20)})
    value = os.urandom(5 * 2**20)
    d = ck_produce(bootstrap, topic, [Out(b"big", value, partition=0)], message_max_bytes=10 * 2**20)
    assert d[0].offset == 0
    (rec,) = READ_ALL["confluent"](
        bootstrap,
        topic,
        1,
        fetch_max_bytes=20 * 2**20,
        max_partition_fetch_bytes=20 * 2**20,
        message_max_bytes=20 * 2**20,
    )
    assert rec.value == value
    (rec,) = READ_ALL["kafka-python"](
        bootstrap, topic, 1, fetch_max_bytes=20 * 2**20, max_partition_fetch_bytes=20 * 2**20
    )
    assert rec.value == value
