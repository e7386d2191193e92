"""Fetch details a consumer relies on: out-of-range offsets, size limits below one batch, isolation."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import KafkaError, TopicPartition

from tests.clients.clientlib import Out, ck_consumer, ck_produce, ck_read_all, kp_read_all


def poll_values(consumer, n: int, timeout: float = 8) -> list:
    got = []
    deadline = time.monotonic() + timeout
    while len(got) < n and time.monotonic() < deadline:
        m = consumer.poll(0.2)
        if m is None:
            continue
        if m.error() is not None:
            return got + [m.error()]
        got.append(m.value())
    return got


@pytest.mark.parametrize("reset,expected", [("earliest", [b"0", b"1", b"2"]), ("latest", [b"new"])])
def test_offset_out_of_range_resets(reset, expected, bootstrap, create_topic):
    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(None, str(i).encode(), partition=0) for i in range(3)])
    consumer = ck_consumer(bootstrap, auto_offset_reset=reset)
    try:
        consumer.assign([TopicPartition(topic, 0, 1000)])  # beyond the log end: OFFSET_OUT_OF_RANGE
        if reset == "latest":
            # librdkafka reports no position until it delivers a record, so keep producing "new"
            # until one arrives: a reset to the end means the first record seen is a "new" one.
            deadline = time.monotonic() + 10
            first = None
            while first is None and time.monotonic() < deadline:
                ck_produce(bootstrap, topic, [Out(None, b"new", partition=0)])
                m = consumer.poll(0.5)
                if m is not None:
                    first = m.error() or m.value()
            assert first == b"new"
        else:
            assert poll_values(consumer, len(expected)) == expected
    finally:
        consumer.close()


def test_offset_out_of_range_error(bootstrap, create_topic):
    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(None, b"x", partition=0)])
    consumer = ck_consumer(bootstrap, auto_offset_reset="error")
    try:
        consumer.assign([TopicPartition(topic, 0, 50)])
        got = poll_values(consumer, 1)
        assert len(got) == 1 and isinstance(got[0], KafkaError), got
        assert got[0].code() in (KafkaError.OFFSET_OUT_OF_RANGE, KafkaError._AUTO_OFFSET_RESET), got[0]
    finally:
        consumer.close()


def test_batch_larger_than_fetch_limits_is_still_returned(bootstrap, create_topic):
    topic = create_topic()
    big = [Out(f"k{i}".encode(), bytes([i]) * 200_000, partition=0) for i in range(3)]
    ck_produce(bootstrap, topic, big, linger_ms=0, message_max_bytes=1_000_000)
    # Limits far below one batch: the broker still returns at least one whole batch (KIP-74).
    got = ck_read_all(bootstrap, topic, 1, max_partition_fetch_bytes=1024, fetch_max_bytes=1024, message_max_bytes=1000)
    assert [r.value for r in got] == [o.value for o in big]
    got = kp_read_all(bootstrap, topic, 1, max_partition_fetch_bytes=1024, fetch_max_bytes=1024)
    assert [r.value for r in got] == [o.value for o in big]


def test_read_committed_sees_non_transactional_records(bootstrap, create_topic):
    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(None, str(i).encode(), partition=0) for i in range(5)])
    for level in ("read_committed", "read_uncommitted"):
        got = ck_read_all(bootstrap, topic, 1, isolation_level=level)
        assert [r.value for r in got] == [str(i).encode() for i in range(5)]


def test_recreated_topic_starts_at_offset_zero(bootstrap, create_topic):
    from confluent_kafka.admin import AdminClient

    from kavka.testing.process import wait_until

    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(None, b"old", partition=0)] * 3)
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.delete_topics([topic])[topic].result(timeout=30)
    wait_until(lambda: topic not in admin.list_topics(timeout=5).topics, 15, message="topic deleted")
    create_topic(topic, 1)
    assert ck_produce(bootstrap, topic, [Out(None, b"new", partition=0)])[0].offset == 0
    assert [r.value for r in ck_read_all(bootstrap, topic, 1)] == [b"new"]


def test_offset_out_of_range_resets_kafka_python(bootstrap, create_topic):
    from kafka import TopicPartition as KpTP

    from tests.clients.clientlib import kp_consumer

    topic = create_topic()
    ck_produce(bootstrap, topic, [Out(None, str(i).encode(), partition=0) for i in range(3)])
    consumer = kp_consumer(bootstrap, auto_offset_reset="earliest")
    try:
        tp = KpTP(topic, 0)
        consumer.assign([tp])
        consumer.seek(tp, 1000)
        got = []
        deadline = time.monotonic() + 15
        while len(got) < 3 and time.monotonic() < deadline:
            for msgs in consumer.poll(timeout_ms=200).values():
                got.extend(m.value for m in msgs)
        assert got == [b"0", b"1", b"2"]
    finally:
        consumer.close()
