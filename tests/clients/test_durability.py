"""Durability: a clean stop keeps everything; after ``kill -9`` mid-stream, every acknowledged record
is served at the offset the producer was given."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time

from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_produce, ck_read_all

PARTITIONS = 3


def _pos(r):
    return (r.partition, r.offset)


def test_clean_restart_keeps_records_and_offsets(broker_factory, create_topic, topic_name):
    broker = broker_factory()
    create_topic(topic_name, PARTITIONS, bootstrap=broker.bootstrap)
    records = [
        Out(f"k{i}".encode(), os.urandom(50), (("i", str(i).encode()),), partition=i % PARTITIONS) for i in range(3000)
    ]
    delivered = ck_produce(broker.bootstrap, topic_name, records, acks="all")
    before = ck_read_all(broker.bootstrap, topic_name, PARTITIONS)

    assert broker.stop() == 0, "SIGTERM must stop the broker cleanly (exit 0)"
    broker.start()

    after = ck_read_all(broker.bootstrap, topic_name, PARTITIONS)
    assert sorted(after, key=_pos) == sorted(before, key=_pos)
    by_pos = {(r.partition, r.offset): r for r in after}
    for out, d in zip(records, delivered, strict=True):
        rec = by_pos[(d.partition, d.offset)]
        assert (rec.key, rec.value, rec.headers) == (out.key, out.value, out.headers)
    # New records continue after the old ones.
    more = ck_produce(broker.bootstrap, topic_name, [Out(None, b"after restart", partition=0)])
    assert more[0].offset == 1000


def test_restart_after_segment_rolls(broker_factory, create_topic, topic_name):
    """Small segments: several segment files and indexes per partition survive a restart."""
    broker = broker_factory({"log.segment.bytes": 2**20, "log.index.interval.bytes": 4096})
    create_topic(topic_name, 1, bootstrap=broker.bootstrap)
    records = [Out(None, os.urandom(4000), partition=0) for _ in range(1000)]
    ck_produce(broker.bootstrap, topic_name, records, linger_ms=1, batch_num_messages=10)
    segments = list((broker.data_dir / f"{topic_name}-0").glob("*.log"))
    assert len(segments) > 3, f"expected several segments, found {segments}"
    broker.stop()
    broker.start()
    got = ck_read_all(broker.bootstrap, topic_name, 1)
    assert [r.value for r in got] == [r.value for r in records]
    assert [r.offset for r in got] == list(range(1000))


PRODUCER_SCRIPT = textwrap.dedent("""
    import json, os, sys, time
    from confluent_kafka import Producer

    bootstrap, topic, partitions, out_path = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    out = open(out_path, "w", buffering=1)
    p = Producer({"bootstrap.servers": bootstrap, "acks": "all", "linger.ms": 2,
                  "message.timeout.ms": 4000, "retries": 0, "enable.idempotence": False,
                  "queue.buffering.max.messages": 20000})

    def report(err, msg):
        if err is None:
            out.write(json.dumps([msg.partition(), msg.offset(), msg.key().decode()]) + "\\n")

    i = 0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not os.path.exists(out_path + ".stop"):
        try:
            p.produce(topic, key=str(i).encode(), value=(str(i) * 30).encode()[:100],
                      partition=i % partitions, on_delivery=report)
            i += 1
        except BufferError:
            p.poll(0.01)
        p.poll(0)
    p.flush(10)
    out.close()
""")


def test_kill_9_mid_stream_keeps_every_acknowledged_record(broker_factory, create_topic, topic_name, tmp_path):
    broker = broker_factory()
    create_topic(topic_name, PARTITIONS, bootstrap=broker.bootstrap)
    acked_path = tmp_path / "acked.jsonl"
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER_SCRIPT, broker.bootstrap, topic_name, str(PARTITIONS), str(acked_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        # Let it produce heavily, then crash the broker while requests are in flight.
        wait_until(
            lambda: acked_path.exists() and acked_path.stat().st_size > 400_000, 60, message="20k acknowledged records"
        )
        assert producer.poll() is None, "producer should still be producing"
        broker.kill()
        (acked_path.with_name(acked_path.name + ".stop")).touch()
        output, _ = producer.communicate(timeout=60)
    finally:
        if producer.poll() is None:
            producer.kill()
            producer.wait()
    acked = [json.loads(line) for line in acked_path.read_text().splitlines() if line.strip()]
    assert len(acked) > 10_000, output

    t0 = time.monotonic()
    broker.start()
    recovery = time.monotonic() - t0
    got = ck_read_all(broker.bootstrap, topic_name, PARTITIONS, timeout=60)
    by_pos = {(r.partition, r.offset): r.key for r in got}
    missing = [(p, o, k) for p, o, k in acked if by_pos.get((p, o)) != k.encode()]
    assert not missing, f"{len(missing)} acknowledged records lost or moved, e.g. {missing[:5]}"
    # Offsets stay contiguous from 0 in every partition, torn tail or not.
    for p in range(PARTITIONS):
        offsets = [r.offset for r in got if r.partition == p]
        assert offsets == list(range(len(offsets)))
    # The recovered log accepts new records right after what it kept.
    ends = {p: sum(1 for r in got if r.partition == p) for p in range(PARTITIONS)}
    more = ck_produce(broker.bootstrap, topic_name, [Out(None, b"after crash", partition=0)])
    assert more[0].offset == ends[0]
    assert recovery < 30
