"""Log compaction end to end: confluent-kafka writes updates and tombstones to a ``cleanup.policy=compact``
topic, the broker's cleaner compacts it in the background, and kcat and confluent-kafka read the same
compacted log: the latest value of every live key, no tombstoned key once ``delete.retention.ms`` has
passed, offsets increasing, far fewer bytes on disk, the log start unchanged. A consumer that was
mid-way through the log when cleaning began finishes with the same final state. A compacted topic
refuses a record without a key (INVALID_RECORD, surfaced to confluent-kafka as a delivery error).

Segments: ``segment.bytes`` cannot go below Kafka 4's 1 MiB, so each phase of updates is produced with
CreateTime timestamps a minute apart (an hour ago onwards) and ``segment.ms`` of 30 s: the time-based
roll, measured from a segment's first batch timestamp as in Kafka, gives every phase its own segment,
and the last phase (the active segment, never cleaned) holds no tombstones.

The broker runs its cleaner from its once-a-second tick; ``log.cleaner.backoff.ms`` is lowered so an
idle cleaner looks again at the next tick. Every wait is a condition with a deadline.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from confluent_kafka import KafkaError, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, OffsetSpec

from kavka.testing.process import wait_until
from tests.clients.clientlib import ck_consumer, ck_read_all, now_ms

KCAT = shutil.which("kcat") or shutil.which("kafkacat")

CLEANER_BROKER = {
    "num.partitions": "1",
    "log.cleaner.backoff.ms": "100",
    "log.retention.check.interval.ms": "200",
}
KEYS = 1000
TOMBSTONED = 100  # keys 0..99 get a tombstone after the first phases
PHASES_BEFORE = 8  # phases updating every key, then the tombstones
PHASES_AFTER = 4  # phases updating the live keys; the last one stays in the active segment
DELETE_RETENTION_MS = 3000
END_KEY = b"~end"


def key(i: int) -> bytes:
    return b"key-%05d" % i


def value(i: int, phase: int) -> bytes:
    return b"value of %05d in phase %02d " % (i, phase) + b"x" * 60


def on_disk(directory: Path) -> int:
    """Bytes of the live ``.log`` files in a partition directory."""
    total = 0
    for entry in os.scandir(directory):
        if entry.name.endswith(".log"):
            try:
                total += entry.stat().st_size
            except FileNotFoundError:
                pass
    return total


def alter_topic(admin: AdminClient, topic: str, **configs: str) -> None:
    res = ConfigResource(
        ConfigResource.Type.TOPIC,
        topic,
        incremental_configs=[
            ConfigEntry(name.replace("_", "."), v, incremental_operation=AlterConfigOpType.SET)
            for name, v in configs.items()
        ],
    )
    for fut in admin.incremental_alter_configs([res]).values():
        fut.result(timeout=15)


def earliest(admin: AdminClient, topic: str) -> int:
    tp = TopicPartition(topic, 0)
    return admin.list_offsets({tp: OffsetSpec.earliest()}, request_timeout=10)[tp].result(timeout=15).offset


def kcat_read(bootstrap: str, topic: str) -> list[tuple[int, bytes, bytes | None]]:
    """``kcat -C -e -f '%o %k %S %s\\n'``: offset, key, value size (-1 for null), value."""
    proc = subprocess.run(
        [KCAT, "-b", bootstrap, "-t", topic, "-p", "0", "-C", "-e", "-o", "beginning", "-f", "%o %k %S %s\\n"],
        capture_output=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr.decode()
    out = []
    for line in proc.stdout.splitlines():
        offset, k, size, *rest = line.split(b" ", 3)
        v = rest[0] if rest else b""
        out.append((int(offset), k, None if int(size) < 0 else v))
    return out


def test_compaction_keeps_latest_value_per_live_key_seen_alike_by_kcat_and_confluent(broker_factory, create_topic):
    b = broker_factory(overrides=CLEANER_BROKER)
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    topic = create_topic(
        bootstrap=b.bootstrap,
        configs={
            "cleanup.policy": "compact",
            "segment.ms": "30000",
            "min.cleanable.dirty.ratio": "1",  # no cleaning until the mid-way consumer is in place
            "delete.retention.ms": str(DELETE_RETENTION_MS),
            "min.compaction.lag.ms": "0",
            "file.delete.delay.ms": "0",
        },
    )
    directory = b.data_dir / f"{topic}-0"

    # Produce: phases a minute apart in CreateTime, so each lands in a segment of its own.
    expected: dict[bytes, bytes | None] = {}
    producer = Producer(
        {
            "bootstrap.servers": b.bootstrap,
            "linger.ms": 5,
            "acks": "all",
            "enable.idempotence": True,
            "compression.type": "lz4",
        }
    )
    errors: list = []

    def cb(err, _msg):
        if err is not None:
            errors.append(err)

    def produce(records: list[tuple[bytes, bytes | None]], ts: int) -> None:
        for k, v in records:
            while True:
                try:
                    producer.produce(topic, key=k, value=v, timestamp=ts, on_delivery=cb)
                    break
                except BufferError:
                    producer.poll(0.05)
            expected[k] = v
        assert producer.flush(30) == 0 and not errors, errors

    ts = now_ms() - 3_600_000
    phase = 0
    for phase in range(PHASES_BEFORE):
        produce([(key(i), value(i, phase)) for i in range(KEYS)], ts + phase * 60_000)
    produce([(key(i), None) for i in range(TOMBSTONED)], ts + PHASES_BEFORE * 60_000)
    for phase in range(PHASES_BEFORE + 1, PHASES_BEFORE + 1 + PHASES_AFTER):
        produce([(key(i), value(i, phase)) for i in range(TOMBSTONED, KEYS)], ts + phase * 60_000)
    # The active segment is never cleaned, so a key updated there would also keep its previous value
    # below (as in Kafka); a last phase of one record under its own key takes that place.
    produce([(END_KEY, b"end")], ts + (phase + 1) * 60_000)
    total_records = PHASES_BEFORE * KEYS + TOMBSTONED + PHASES_AFTER * (KEYS - TOMBSTONED) + 1
    wm = TopicPartition(topic, 0)
    consumer_probe = ck_consumer(b.bootstrap)
    assert consumer_probe.get_watermark_offsets(wm, timeout=10) == (0, total_records)
    consumer_probe.close()
    before = on_disk(directory)
    segments_before = sorted(n for n in os.listdir(directory) if n.endswith(".log"))
    assert len(segments_before) == PHASES_BEFORE + 1 + PHASES_AFTER + 1, segments_before

    # A consumer reads the first half of the log before any cleaning; it prefetches little, so what it
    # reads after the cleaning comes from the cleaned log.
    midway = ck_consumer(
        b.bootstrap,
        queued_min_messages=1,
        queued_max_messages_kbytes=1,
        fetch_message_max_bytes=4096,
        fetch_queue_backoff_ms=5,
    )
    midway.assign([TopicPartition(topic, 0, 0)])
    seen: dict[bytes, bytes | None] = {}
    offsets: list[int] = []

    def read_some(until_offset: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while not offsets or offsets[-1] < until_offset:
            assert time.monotonic() < deadline, f"mid-way consumer stuck at {offsets[-1:] or 'start'}"
            for m in midway.consume(num_messages=500, timeout=0.2):
                assert m.error() is None, m.error()
                offsets.append(m.offset())
                seen[m.key()] = m.value()

    read_some(total_records // 2)

    # Let the cleaner in (applied live), and wait until it has compacted: far fewer bytes on disk.
    alter_topic(admin, topic, min_cleanable_dirty_ratio="0.01")
    wait_until(
        lambda: on_disk(directory) < before // 4,
        30,
        interval=0.05,
        message=lambda: f"the cleaner to shrink {before} bytes on disk (now {on_disk(directory)})",
    )

    # The mid-way consumer finishes within delete.retention.ms, so it sees the tombstones (the log keeps
    # them that long): its final state is the producer's, and its offsets only increase, with gaps.
    read_some(total_records - 1)
    midway.close()
    assert offsets == sorted(set(offsets))
    assert offsets[-1] == total_records - 1
    assert len(offsets) < total_records * 3 // 4, (
        f"the mid-way consumer read {len(offsets)} records: all fetched before cleaning?"
    )
    assert seen == expected

    # Tombstones go once delete.retention.ms has passed since the cleaning that kept them.
    def compacted() -> list:
        recs = ck_read_all(b.bootstrap, topic)
        return recs if all(r.value is not None for r in recs) and len(recs) == KEYS - TOMBSTONED + 1 else None

    recs = wait_until(compacted, 30, interval=0.2, message="tombstones to be removed after delete.retention.ms")

    # What confluent-kafka reads from offset 0: the latest value of every live key, once, in offset order.
    live = {k: v for k, v in expected.items() if v is not None}
    assert len(live) == KEYS - TOMBSTONED + 1
    assert {r.key: r.value for r in recs} == live
    assert [r.offset for r in recs] == sorted({r.offset for r in recs})
    assert recs[-1].offset == total_records - 1
    assert not any(r.key != END_KEY and int(r.key[4:]) < TOMBSTONED for r in recs)
    assert earliest(admin, topic) == 0  # compaction does not move the log start
    after = on_disk(directory)
    assert after < before // 4, (before, after)

    # kcat reads the very same log.
    if KCAT is not None:
        assert kcat_read(b.bootstrap, topic) == [(r.offset, r.key, r.value) for r in recs]
        out = subprocess.run(
            [KCAT, "-b", b.bootstrap, "-t", topic, "-C", "-e", "-f", "%o %k %s\\n"], capture_output=True, timeout=60
        )
        assert out.returncode == 0
        assert out.stdout.decode().splitlines() == [f"{r.offset} {r.key.decode()} {r.value.decode()}" for r in recs]

    # A restart loads the cleaned segments: the same log.
    b.restart()
    assert [(r.offset, r.key, r.value) for r in ck_read_all(b.bootstrap, topic)] == [
        (r.offset, r.key, r.value) for r in recs
    ]
    assert earliest(AdminClient({"bootstrap.servers": b.bootstrap}), topic) == 0

    # Appends go on after the cleaning, at the log end.
    got: list = []
    p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 0})
    p.produce(topic, key=b"key-00500", value=b"latest", on_delivery=lambda err, msg: got.append((err, msg.offset())))
    p.flush(15)
    assert got == [(None, total_records)], got


def test_compact_delete_topic_is_compacted_and_retained(broker_factory, create_topic):
    """``cleanup.policy=compact,delete``: retention removes expired segments (the log start moves) and the
    cleaner compacts what is left."""
    b = broker_factory(overrides=CLEANER_BROKER)
    topic = create_topic(
        bootstrap=b.bootstrap,
        configs={
            "cleanup.policy": "compact,delete",
            "retention.ms": "3600000",  # an hour
            "segment.ms": "60000",
            "min.cleanable.dirty.ratio": "0.01",
            "file.delete.delay.ms": "0",
        },
    )
    now = now_ms()
    producer = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5})
    phases = [
        (now - 3 * 3_600_000, [(b"k%d" % i, b"a%d" % i) for i in range(10)]),  # 0-9: expired
        (now - 30 * 60_000, [(b"k%d" % i, b"b%d" % i) for i in range(10)]),  # 10-19
        (now - 20 * 60_000, [(b"k%d" % i, b"c%d" % i) for i in range(5)]),  # 20-24: k0..k4 again
        (now, [(END_KEY, b"end")]),  # 25: the active segment
    ]
    for ts, records in phases:
        for k, v in records:
            producer.produce(topic, key=k, value=v, timestamp=ts)
        assert producer.flush(15) == 0
    expected = (
        [(10 + i, b"k%d" % i, b"b%d" % i) for i in range(5, 10)]
        + [(20 + i, b"k%d" % i, b"c%d" % i) for i in range(5)]
        + [(25, END_KEY, b"end")]
    )

    def done():
        recs = ck_read_all(b.bootstrap, topic)
        return recs if [(r.offset, r.key, r.value) for r in recs] == expected else None

    wait_until(done, 20, interval=0.2, message="retention and compaction of the compact,delete topic")
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    assert earliest(admin, topic) == 10
    if KCAT is not None:
        assert kcat_read(b.bootstrap, topic) == expected


def test_compacted_topic_refuses_a_record_without_key(bootstrap, create_topic):
    topic = create_topic(configs={"cleanup.policy": "compact"})
    results: list = []
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    p.produce(topic, value=b"keyless", on_delivery=lambda err, msg: results.append(err))
    p.flush(15)
    assert len(results) == 1 and results[0] is not None, results
    assert results[0].code() == KafkaError.INVALID_RECORD, results[0]
    assert not results[0].retriable()
    # Nothing was appended; a keyed record gets offset 0.
    results.clear()
    p.produce(topic, key=b"k", value=b"v", on_delivery=lambda err, msg: results.append((err, msg.offset())))
    p.flush(15)
    assert results == [(None, 0)], results
    assert [(r.offset, r.key, r.value) for r in ck_read_all(bootstrap, topic)] == [(0, b"k", b"v")]
