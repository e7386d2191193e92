#!/usr/bin/env python3
"""Produce then consume N records of SIZE bytes through one partition, with confluent-kafka.

Runs against

1. a Kavka broker subprocess (``python -m kavka serve``, fresh data dir), measuring the broker's CPU
   seconds (/proc/<pid>/stat utime+stime) and peak RSS (/proc/<pid>/status VmHWM), and
2. librdkafka's mock cluster (``test.mock.num.brokers=1``; it lives inside the producing client's
   process), as a peer measured in the same run. The mock keeps only the newest few MB of a
   partition (its log start offset moves up), so its consume figure is over the records it kept,

and prints records/s and MB/s for each, and Kavka/mock ratios. Before that it measures the broker's
start-to-ready time (empty data dir, spawn to first ApiVersions answer) and idle RSS.

    .venv/bin/python bench/produce_consume.py                 # 1,000,000 x 100 B
    .venv/bin/python bench/produce_consume.py --records 200000 --size 1000

Producer: acks=1, linger.ms=5, no compression, delivery reports only for errors. Consumer: large fetch
sizes so the client is not the limit. Not a test: it prints figures (``--json`` writes them too).
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, Producer, TopicPartition

from benchlib import machine
from kavka.testing.process import BrokerProcess, create_topic

TOPIC = "bench"


def produce(conf: dict, records: int, size: int, partition: int = 0) -> dict:
    errors: list = []
    producer = Producer(
        {
            "acks": "1",
            "linger.ms": 5,
            "compression.type": "none",
            "queue.buffering.max.messages": 1_000_000,
            "queue.buffering.max.kbytes": 1_048_576,
            "delivery.report.only.error": True,
            "on_delivery": lambda err, msg: errors.append(err),
            **conf,
        }
    )
    value = b"v" * size
    produce_ = producer.produce
    poll = producer.poll
    t0 = time.perf_counter()
    for i in range(records):
        try:
            produce_(TOPIC, value, partition=partition)
        except BufferError:
            poll(0.01)
            produce_(TOPIC, value, partition=partition)
        if i % 10_000 == 0:
            poll(0)
    left = producer.flush(120)
    elapsed = time.perf_counter() - t0
    if left or errors:
        raise RuntimeError(f"produce failed: {left} undelivered, {len(errors)} errors, first {errors[:1]}")
    return {
        "seconds": elapsed,
        "records_per_s": records / elapsed,
        "mb_per_s": records * size / elapsed / 1e6,
        "producer": producer,
    }


def consume(bootstrap: str, size: int, partition: int = 0) -> dict:
    """Read the partition from its log start to its high watermark; return rate figures."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench",
            "enable.auto.commit": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "fetch.wait.max.ms": 100,
            "queued.max.messages.kbytes": 1_048_576,
            "queued.min.messages": 1_000_000,
        }
    )
    low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)
    records = high - low
    consumer.assign([TopicPartition(TOPIC, partition, OFFSET_BEGINNING)])
    n = 0
    nbytes = 0
    t0 = time.perf_counter()
    t_first = None
    deadline = time.monotonic() + 300
    while n < records:
        if time.monotonic() > deadline:
            raise RuntimeError(f"consumed only {n} of {records}")
        msgs = consumer.consume(num_messages=10_000, timeout=1.0)
        if msgs and t_first is None:
            t_first = time.perf_counter()
        for m in msgs:
            if m.error() is not None:
                raise KafkaException(m.error())
            nbytes += len(m.value())
        n += len(msgs)
    t_end = time.perf_counter()
    consumer.close()
    assert nbytes == records * size, (nbytes, records * size)
    # Rate over the stream itself: from the first batch handed to the application to the last, so the
    # one-off start (connect, ListOffsets, first fetch) does not count; it is reported separately.
    elapsed = t_end - t_first
    return {
        "records": records,
        "log_start_offset": low,
        "seconds": elapsed,
        "first_record_after_s": t_first - t0,
        "records_per_s": records / elapsed,
        "mb_per_s": nbytes / elapsed / 1e6,
    }


def startup(repeats: int, python: str | None = None) -> dict:
    times, rss = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="kavka-bench-") as tmp:
            b = BrokerProcess(Path(tmp) / "data", python=python)
            try:
                b.start()
                times.append(b.ready_seconds)
                # Idle: ready, no clients; read RSS once the process has settled.
                time.sleep(0.5)
                rss.append(b.memory_kib("VmRSS"))
                b.stop()
            finally:
                b.cleanup()
    return {
        "ready_seconds_min": min(times),
        "ready_seconds_median": statistics.median(times),
        "idle_rss_mib": statistics.median(rss) / 1024,
    }


def bench_kavka(records: int, size: int, python: str | None = None) -> dict:
    with tempfile.TemporaryDirectory(prefix="kavka-bench-") as tmp:
        b = BrokerProcess(Path(tmp) / "data", overrides={"num.partitions": 1}, python=python)
        b.start()
        try:
            create_topic(b.bootstrap, TOPIC, 1)
            cpu0 = b.cpu_seconds()
            p = produce({"bootstrap.servers": b.bootstrap}, records, size)
            cpu1 = b.cpu_seconds()
            p.pop("producer")
            c = consume(b.bootstrap, size)
            assert c["records"] == records, c
            cpu2 = b.cpu_seconds()
            result = {
                "produce": p,
                "consume": c,
                "broker_cpu_seconds_produce": cpu1 - cpu0,
                "broker_cpu_seconds_consume": cpu2 - cpu1,
                "broker_peak_rss_mib": b.memory_kib("VmHWM") / 1024,
                "data_dir_mib": sum(f.stat().st_size for f in b.data_dir.rglob("*") if f.is_file()) / 2**20,
            }
            assert b.stop() == 0
            return result
        finally:
            b.cleanup()


def bench_mock(records: int, size: int) -> dict:
    # The mock cluster lives inside the first client created with test.mock.num.brokers; other clients
    # reach it through the listener address its metadata reports.
    holder = Producer({"test.mock.num.brokers": 1, "bootstrap.servers": ""})
    md = holder.list_topics(timeout=10)
    bootstrap = ",".join(f"{b.host}:{b.port}" for b in md.brokers.values())
    # The mock auto-creates topics (with 4 partitions) on a producer's Metadata request; only
    # partition 0 is used, like the single partition on Kavka.
    md = holder.list_topics(TOPIC, timeout=10)
    if md.topics[TOPIC].error is not None or 0 not in md.topics[TOPIC].partitions:
        raise RuntimeError(f"mock cluster did not create {TOPIC}: {md.topics[TOPIC].error}")
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    p = produce({"bootstrap.servers": bootstrap}, records, size)
    p.pop("producer")
    c = consume(bootstrap, size)
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    del holder
    return {
        "produce": p,
        "consume": c,
        "bootstrap": bootstrap,
        "process_cpu_seconds_incl_clients": (ru1.ru_utime + ru1.ru_stime) - (ru0.ru_utime + ru0.ru_stime),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100, help="value size in bytes")
    ap.add_argument("--startup-repeats", type=int, default=5)
    ap.add_argument("--skip-mock", action="store_true")
    ap.add_argument(
        "--python",
        help="interpreter that runs the broker (default: this one); e.g. a venv "
        "made with the README's install command, without the test extras",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    args = ap.parse_args(argv)

    figures: dict = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "machine": machine(),
        "records": args.records,
        "size": args.size,
    }
    m = figures["machine"]
    print(
        f"commit {m['commit']}; machine: {m['nproc']} x {m['cpu']}; Python {m['python']}; "
        f"confluent-kafka {m['confluent_kafka']} / librdkafka {m['librdkafka']}"
    )

    figures["startup"] = s = startup(args.startup_repeats, args.python)
    print(f"broker interpreter: {args.python or sys.executable}")
    print(
        f"kavka serve start-to-ready (empty data dir): min {s['ready_seconds_min'] * 1000:.0f} ms, "
        f"median {s['ready_seconds_median'] * 1000:.0f} ms; idle RSS {s['idle_rss_mib']:.1f} MiB"
    )

    figures["kavka"] = k = bench_kavka(args.records, args.size, args.python)
    print(
        f"kavka  produce {k['produce']['records_per_s']:>10,.0f} rec/s {k['produce']['mb_per_s']:7.1f} MB/s"
        f"  | consume {k['consume']['records_per_s']:>10,.0f} rec/s {k['consume']['mb_per_s']:7.1f} MB/s"
    )
    print(
        f"kavka  broker CPU: produce {k['broker_cpu_seconds_produce']:.2f} s, consume "
        f"{k['broker_cpu_seconds_consume']:.2f} s; peak RSS {k['broker_peak_rss_mib']:.1f} MiB; "
        f"data {k['data_dir_mib']:.1f} MiB"
    )

    if not args.skip_mock:
        figures["mock"] = mk = bench_mock(args.records, args.size)
        print(
            f"mock   produce {mk['produce']['records_per_s']:>10,.0f} rec/s {mk['produce']['mb_per_s']:7.1f} MB/s"
            f"  | consume {mk['consume']['records_per_s']:>10,.0f} rec/s {mk['consume']['mb_per_s']:7.1f} MB/s"
        )
        figures["ratio"] = r = {
            "produce": k["produce"]["records_per_s"] / mk["produce"]["records_per_s"],
            "consume": k["consume"]["records_per_s"] / mk["consume"]["records_per_s"],
        }
        print(
            f"       (the mock cluster keeps only the newest {mk['consume']['records']:,} records; "
            "its consume rate is over those)"
        )
        print(f"kavka / mock: produce {r['produce']:.2f}x, consume {r['consume']:.2f}x")

    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
