"""ListOffsets: earliest, latest, by timestamp (through the time index) and max timestamp."""

from __future__ import annotations

import pytest
from confluent_kafka import TopicPartition as CkTP

from tests.clients.clientlib import Out, ck_consumer, ck_produce, now_ms

N = 20


@pytest.fixture
def timed_topic(bootstrap, create_topic):
    """A 1-partition topic holding N records with timestamps base + 1000*i (one batch per record,
    so the time index has several entries), plus the base timestamp."""
    topic = create_topic(configs={"index.interval.bytes": "1"})
    base = now_ms() - 600_000
    records = [Out(f"k{i}".encode(), f"v{i}".encode(), timestamp=base + 1000 * i, partition=0) for i in range(N)]
    for r in records:
        ck_produce(bootstrap, topic, [r], linger_ms=0)
    return topic, base


def test_watermarks_confluent(bootstrap, timed_topic):
    topic, _ = timed_topic
    consumer = ck_consumer(bootstrap)
    try:
        assert consumer.get_watermark_offsets(CkTP(topic, 0), timeout=10) == (0, N)
    finally:
        consumer.close()


def test_offsets_for_times_confluent(bootstrap, timed_topic):
    topic, base = timed_topic
    consumer = ck_consumer(bootstrap)
    try:

        def lookup(ts: int) -> int:
            (tp,) = consumer.offsets_for_times([CkTP(topic, 0, ts)], timeout=10)
            assert tp.error is None
            return tp.offset

        assert lookup(base - 5000) == 0
        assert lookup(base) == 0
        assert lookup(base + 3500) == 4  # first record with timestamp >= target
        assert lookup(base + 7000) == 7
        assert lookup(base + 1000 * (N - 1)) == N - 1
        assert lookup(base + 1000 * N) == -1  # none: OFFSET_END
    finally:
        consumer.close()


def test_list_offsets_admin_confluent(bootstrap, timed_topic):
    from confluent_kafka.admin import AdminClient, OffsetSpec

    topic, base = timed_topic
    admin = AdminClient({"bootstrap.servers": bootstrap})
    tp = CkTP(topic, 0)

    def query(spec):
        return admin.list_offsets({tp: spec}, request_timeout=10)[tp].result(timeout=15)

    assert query(OffsetSpec.earliest()).offset == 0
    assert query(OffsetSpec.latest()).offset == N
    assert query(OffsetSpec.for_timestamp(base + 2500)).offset == 3
    max_ts = query(OffsetSpec.max_timestamp())
    assert max_ts.offset == N - 1
    assert max_ts.timestamp == base + 1000 * (N - 1)


def test_list_offsets_kafka_python(bootstrap, timed_topic):
    from kafka import KafkaConsumer, TopicPartition

    topic, base = timed_topic
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        assert consumer.beginning_offsets([tp]) == {tp: 0}
        assert consumer.end_offsets([tp]) == {tp: N}
        found = consumer.offsets_for_times({tp: base + 3500})[tp]
        assert (found.offset, found.timestamp) == (4, base + 4000)
        assert consumer.offsets_for_times({tp: base + 1000 * N})[tp] is None
    finally:
        consumer.close()


def test_list_offsets_empty_and_unknown(bootstrap, create_topic, topic_name):
    from kafka import KafkaConsumer, TopicPartition

    topic = create_topic()
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
    try:
        tp = TopicPartition(topic, 0)
        assert consumer.beginning_offsets([tp]) == {tp: 0}
        assert consumer.end_offsets([tp]) == {tp: 0}
        assert consumer.offsets_for_times({tp: 0})[tp] is None
    finally:
        consumer.close()
