"""Damaged index and log files on disk, read back by a real consumer after a restart.

- An offset index of garbage, or of increasing entries that point at the wrong batches, is rebuilt from
  the log when first used: the consumer reads every record, none skipped (before: the fetch raised and
  the connection closed, and the retry skipped records; a plausible index skipped them silently).
- An index of 7 bytes (not a whole entry) is rebuilt too, and stays good after another restart (before:
  the partition was unreadable for good).
- A batch length of 0x7fffffff inside a flushed segment answers CORRUPT_MESSAGE for the partition and the
  broker logs the segment and offset (before: the consumer stalled at that offset, nothing said).
"""

from __future__ import annotations

import struct
import time

from confluent_kafka import OFFSET_BEGINNING, KafkaError, TopicPartition

from kavka.protocol.batch import iter_headers
from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_consumer, ck_produce

N = 3000  # ~1.6 MB of records: two segments at the 1 MiB segment.bytes floor
TOPIC_CONFIGS = {"segment.bytes": str(1 << 20), "index.interval.bytes": "4096"}


def _fill(broker, create_topic) -> str:
    topic = create_topic(configs=TOPIC_CONFIGS, bootstrap=broker.bootstrap)
    ck_produce(
        broker.bootstrap, topic, [Out(None, b"%06d" % i + b"x" * 500, partition=0) for i in range(N)], batch_size=16384
    )
    broker.stop()
    return topic


def _first_segment(broker, topic):
    d = broker.data_dir / f"{topic}-0"
    logs = sorted(d.glob("*.log"))
    assert len(logs) >= 2, logs  # the damaged segment is an old, flushed one
    return logs[0], logs[0].with_suffix(".index")


def _offsets_read(bootstrap, topic, timeout=30.0) -> list[int]:
    # Small fetches, so most start in the middle of the segment, where the index is consulted.
    consumer = ck_consumer(bootstrap, max_partition_fetch_bytes=20000)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got: list[int] = []
        deadline = time.monotonic() + timeout
        while (not got or got[-1] < N - 1) and time.monotonic() < deadline:
            for m in consumer.consume(num_messages=1000, timeout=0.2):
                assert m.error() is None, m.error()
                assert m.value()[:6] == b"%06d" % m.offset()
                got.append(m.offset())
        return got
    finally:
        consumer.close()


def _garbage(index, log):
    index.write_bytes(bytes((i * 97 + 13) % 251 for i in range(index.stat().st_size)))


def _plausible_but_wrong(index, log):
    """Every entry keeps its offset but takes the position two entries on: increasing, inside the .log,
    and each pointing past the batch after its own (a lookup there would skip that batch)."""
    raw = index.read_bytes()
    entries = list(struct.iter_unpack(">ii", raw))
    assert len(entries) > 10, len(entries)
    shifted = [(rel, entries[i + 2][1]) for i, (rel, _) in enumerate(entries[:-2])]
    index.write_bytes(b"".join(struct.pack(">ii", *e) for e in shifted))


def _seven_bytes(index, log):
    index.write_bytes(b"\x00\x01\x02\x03\x04\x05\x06")


def test_damaged_offset_indexes_are_rebuilt_and_nothing_is_skipped(broker_factory, create_topic):
    broker = broker_factory()
    topics = []
    for damage in (_garbage, _plausible_but_wrong, _seven_bytes):
        topics.append((damage, _fill(broker, create_topic)))
        log, index = _first_segment(broker, topics[-1][1])
        damage(index, log)
        broker.start()
    for damage, topic in topics:
        assert _offsets_read(broker.bootstrap, topic) == list(range(N)), damage.__name__
    assert "rebuilding the indexes" in broker.log_text()
    # The rebuilt index was written: still good after another restart.
    broker.stop()
    broker.start()
    for damage, topic in topics:
        assert _offsets_read(broker.bootstrap, topic) == list(range(N)), damage.__name__


def test_corrupt_batch_in_flushed_segment_answers_corrupt_message(broker_factory, create_topic):
    broker = broker_factory()
    topic = _fill(broker, create_topic)
    log, _index = _first_segment(broker, topic)
    data = log.read_bytes()
    headers = list(iter_headers(data))
    pos, victim = headers[len(headers) // 2]
    with open(log, "r+b") as f:
        f.seek(pos + 8)
        f.write(struct.pack(">i", 0x7FFFFFFF))
    broker.start()

    consumer = ck_consumer(broker.bootstrap)
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        got: list[int] = []
        errors = []

        def read_until_error() -> bool:
            for m in consumer.consume(num_messages=1000, timeout=0.2):
                if m.error() is not None:
                    errors.append(m.error())
                else:
                    got.append(m.offset())
            return bool(errors)

        wait_until(read_until_error, timeout=20, message="the consumer never saw an error for the damaged batch")
    finally:
        consumer.close()
    assert got == list(range(victim.base_offset)), (got[:3], got[-3:], victim.base_offset)
    assert errors[0].code() == KafkaError.INVALID_MSG, errors[
        0
    ]  # Kafka CORRUPT_MESSAGE (2); librdkafka names it INVALID_MSG
    wait_until(
        lambda: f"{log.name}" in broker.log_text() and "corrupt batch" in broker.log_text(),
        timeout=5,
        message="the broker log does not name the damaged segment",
    )
    line = next(ln for ln in broker.log_text().splitlines() if "corrupt batch" in ln)
    assert f"offset {victim.base_offset}" in line and f"position {pos}" in line, line
