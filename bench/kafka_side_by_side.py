#!/usr/bin/env python3
"""Apache Kafka and Kavka under Kafka's own perf tools, one broker after the other, on this machine.

    .venv/bin/python bench/kafka_side_by_side.py --quick --python /tmp/kavka-prod-venv/bin/python   # ~3 min
    .venv/bin/python bench/kafka_side_by_side.py --python /tmp/kavka-prod-venv/bin/python \\
        --json /tmp/side-by-side.json            # ~10 min on a quiet machine (9-14 min at load 20-50)

The load comes from Kafka 4.4's Java tools (the classes behind ``bin/kafka-*-perf-test.sh``), the same
for both brokers: ``org.apache.kafka.tools.ProducerPerformance``, ``ConsumerPerformance`` and
``EndToEndLatency``, run from the jars ``interop/kafka.sh`` resolves (``$KAVKA_KAFKA_LIB``), each in its
own JVM with the flags ``bin/kafka-run-class.sh`` gives a perf tool (``-Xmx512M``, G1).

Brokers, each started fresh (empty data directory, free loopback port), measured, and stopped before the
next one starts, so they never share the machine with each other:

- **kafka**: a KRaft combined node (``kavka.testing.apache_kafka.ApacheKafka``) with the JVM flags of
  ``bin/kafka-server-start.sh`` (``-Xmx1G -Xms1G``, G1, ``MaxGCPauseMillis=20``) instead of the test
  fixture's small serial-GC heap.
- **kavka**: ``python -m kavka serve --no-console`` (``bench/peers.py`` ``KavkaRunner``, the way
  ``bench/compare.py`` starts it) with ``--python``'s interpreter: use a plain ``pip install -e .``
  venv (docs/benchmarks.md) so Hypothesis is not imported.

Both get ``group.initial.rebalance.delay.ms=0`` (as Kafka's shipped ``config/server.properties``) so the
consumer perf test does not wait 3 s for its group; everything else is each broker's default.

Per broker: create every topic, warm up (one producer run to a separate topic, reported apart: the JVM's
JIT and Python's caches), then the workloads. For each workload the script reads the broker process's
``/proc/<pid>/stat`` (utime + stime: CPU seconds) before and after, and its ``VmHWM`` from
``/proc/<pid>/status`` after resetting it through ``/proc/<pid>/clear_refs`` (peak RSS during the
workload). Figures: records/s and MB/s (10^6 B, values only) as the tool prints them; producer latency
(send to acknowledgement, as ProducerPerformance measures it: unthrottled, so mostly time queued in the
client) p50/p99; EndToEndLatency's p50/p99 (whole milliseconds: the tool's resolution) and average; the
broker's CPU seconds and CPU seconds per million records; its peak RSS. Then Kavka / Kafka per workload
against issue 13's target (records/s >= 1.0x, CPU per million <= 1.0x).

Workloads (full; ``--quick`` runs the subset marked q with 100,000 records and 1,000 round trips):

    p-a1-p1-l0  q  produce, acks=1,   1 partition,   linger.ms=0
    p-a1-p1-l5  q  produce, acks=1,   1 partition,   linger.ms=5
    p-a1-p32-l0    produce, acks=1,   32 partitions, linger.ms=0
    p-a1-p32-l5 q  produce, acks=1,   32 partitions, linger.ms=5
    p-all-p1-l0    produce, acks=all, 1 partition,   linger.ms=0
    p-all-p1-l5 q  produce, acks=all, 1 partition,   linger.ms=5
    p-all-p32-l0   produce, acks=all, 32 partitions, linger.ms=0
    p-all-p32-l5   produce, acks=all, 32 partitions, linger.ms=5
    c-p1        q  consume p-a1-p1-l5's records (ConsumerPerformance, a group, 1 MiB partition fetches)
    c-p32       q  consume p-a1-p32-l5's records
    e2e-a1      q  EndToEndLatency, acks=1: produce one record, poll until it arrives, repeat
    e2e-all        EndToEndLatency, acks=all

The machine is what it is: on a shared machine the rates move between runs; the script prints the load
average before and after each broker so a reader can judge. Not a test: it prints figures (``--json``
writes them).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchlib import machine
from kavka.testing.apache_kafka import ApacheKafka, ApacheKafkaError, kafka_lib, unavailable_reason
from kavka.testing.process import create_topic
from peers import KavkaRunner, PeerUnavailable, proc_cpu_seconds, proc_memory_kib

VALUE_SIZE = 100
TOOLS = "org.apache.kafka.tools."
#: bin/kafka-run-class.sh's KAFKA_JVM_PERFORMANCE_OPTS, used for every JVM here (brokers and tools)
JVM_PERF = [
    "-server",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
    "-XX:InitiatingHeapOccupancyPercent=35",
    "-XX:+ExplicitGCInvokesConcurrent",
    "-XX:MaxInlineLevel=15",
    "-Djava.awt.headless=true",
]
#: the same for both brokers: Kafka's shipped server.properties sets it, so a consumer's group forms at once
BROKER_SETTINGS = {"group.initial.rebalance.delay.ms": "0"}


@dataclass
class Workload:
    name: str
    kind: str  # produce | consume | e2e
    quick: bool
    acks: str = "1"
    partitions: int = 1
    linger_ms: int = 0
    source: str = ""  # consume: the produce workload whose topic it reads

    @property
    def topic(self) -> str:
        return self.source or self.name

    def describe(self) -> str:
        if self.kind == "produce":
            return f"produce acks={self.acks} partitions={self.partitions} linger.ms={self.linger_ms}"
        if self.kind == "consume":
            return f"consume {self.partitions} partition(s) ({self.source}'s records)"
        return f"end to end acks={self.acks}"


def workloads() -> list[Workload]:
    out = []
    quick = {"p-a1-p1-l0", "p-a1-p1-l5", "p-a1-p32-l5", "p-all-p1-l5"}
    for acks in ("1", "all"):
        for parts in (1, 32):
            for linger in (0, 5):
                name = f"p-{'a1' if acks == '1' else 'all'}-p{parts}-l{linger}"
                out.append(Workload(name, "produce", name in quick, acks, parts, linger))
    out.append(Workload("c-p1", "consume", True, partitions=1, source="p-a1-p1-l5"))
    out.append(Workload("c-p32", "consume", True, partitions=32, source="p-a1-p32-l5"))
    out.append(Workload("e2e-a1", "e2e", True, acks="1"))
    out.append(Workload("e2e-all", "e2e", False, acks="all"))
    return out


@dataclass
class Result:
    broker: str
    workload: str
    records: int = 0
    records_per_s: float | None = None
    mb_per_s: float | None = None
    p50_ms: float | None = None
    p99_ms: float | None = None
    avg_ms: float | None = None
    cpu_s: float | None = None
    peak_rss_mib: float | None = None
    wall_s: float | None = None
    error: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def cpu_per_million(self) -> float | None:
        if self.cpu_s is None or not self.records:
            return None
        return self.cpu_s / self.records * 1e6


# -- brokers ---------------------------------------------------------------------------------------------


class KafkaBroker(ApacheKafka):
    """ApacheKafka with bin/kafka-server-start.sh's JVM flags (the fixture's are sized for tests)."""

    def __init__(self, base_dir: Path, heap: str) -> None:
        super().__init__(base_dir, BROKER_SETTINGS, heap=heap, ready_timeout=180.0)

    def _jvm(self, main: str, args, *, heap: str, log_level: str) -> list[str]:
        cmd = super()._jvm(main, args, heap=heap, log_level=log_level)
        if main != "kafka.Kafka":
            return cmd
        cp = cmd.index("-cp")
        return [cmd[0], f"-Xmx{heap}", f"-Xms{heap}", *JVM_PERF, *cmd[cp:]]


class Broker:
    """The one interface the workloads need: bootstrap, pid, stop. Wraps either broker."""

    def __init__(self, name: str, root: Path, python: str | None, kafka_heap: str) -> None:
        self.name = name
        self.root = root
        self.kafka: KafkaBroker | None = None
        self.kavka: KavkaRunner | None = None
        self.version = ""
        if name == "kafka":
            self.kafka = KafkaBroker(root, kafka_heap)
            self.version = f"Apache Kafka {kafka_lib().parent.name.removeprefix('kafka-')} (jars {kafka_lib()})"
        else:
            self.kavka = KavkaRunner(root, python=python, overrides=BROKER_SETTINGS)
            self.version = f"kavka serve with {self.kavka.python}"

    def start(self) -> float:
        if self.kafka is not None:
            t0 = time.monotonic()
            self.kafka.start()
            return time.monotonic() - t0
        assert self.kavka is not None
        return self.kavka.start()

    @property
    def bootstrap(self) -> str:
        return self.kafka.bootstrap if self.kafka is not None else self.kavka.bootstrap  # type: ignore[union-attr]

    @property
    def pid(self) -> int:
        if self.kafka is not None:
            assert self.kafka.popen is not None
            return self.kafka.popen.pid
        return self.kavka.pid  # type: ignore[union-attr]

    def alive(self) -> bool:
        popen = self.kafka.popen if self.kafka is not None else self.kavka.popen  # type: ignore[union-attr]
        return popen is not None and popen.poll() is None

    def log_tail(self) -> str:
        return self.kafka.log_tail(20) if self.kafka is not None else self.kavka.log_tail(20)  # type: ignore[union-attr]

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def reset_peak(self) -> None:
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
        except OSError:
            pass  # older kernels: the peak then covers the broker's life so far, which is still a bound

    def peak_rss_mib(self) -> float:
        return proc_memory_kib(self.pid, "VmHWM") / 1024

    def stop(self) -> None:
        if self.kafka is not None:
            if self.kafka.is_running():
                self.kafka.stop()
        elif self.kavka is not None:
            self.kavka.stop()


# -- the tools -------------------------------------------------------------------------------------------


def tool(main: str, args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """One of Kafka's tools in its own JVM, flags as bin/kafka-producer-perf-test.sh gives them."""
    cmd = [
        "java",
        "-Xmx512M",
        *JVM_PERF,
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-Dlog4j2.level=WARN",
        "-cp",
        str(kafka_lib() / "*"),
        TOOLS + main,
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)


_PRODUCER_SUMMARY = re.compile(
    r"(\d+) records sent, ([\d.]+) records/sec \(([\d.]+) MB/sec\), ([\d.]+) ms avg latency, "
    r"([\d.]+) ms max latency, (\d+) ms 50th, (\d+) ms 95th, (\d+) ms 99th, (\d+) ms 99.9th"
)
_E2E_AVG = re.compile(r"Avg latency: ([\d.]+) ms")
_E2E_PCT = re.compile(r"Percentiles: 50th = (\d+), 99th = (\d+), 99.9th = (\d+)")


def _failure(proc: subprocess.CompletedProcess[str]) -> str:
    lines = [ln for ln in (proc.stderr + proc.stdout).splitlines() if ln.strip() and "WARN" not in ln[:40]]
    return f"exit {proc.returncode}: " + " | ".join(lines[-3:])[:400]


def run_produce(b: Broker, w: Workload, records: int, topic: str, timeout: float) -> dict:
    proc = tool(
        "ProducerPerformance",
        [
            "--bootstrap-server",
            b.bootstrap,
            "--topic",
            topic,
            "--num-records",
            str(records),
            "--record-size",
            str(VALUE_SIZE),
            "--throughput",
            "-1",
            "--command-property",
            f"acks={w.acks}",
            f"linger.ms={w.linger_ms}",
        ],
        timeout,
    )
    m = _PRODUCER_SUMMARY.search(proc.stdout)
    if proc.returncode != 0 or not m:
        raise RuntimeError(_failure(proc))
    sent = int(m.group(1))
    if sent != records:
        raise RuntimeError(f"sent {sent} of {records}")
    return {
        "records": sent,
        "records_per_s": float(m.group(2)),
        "mb_per_s": float(m.group(3)) * 1.048576,  # the tool's "MB" is MiB
        "avg_ms": float(m.group(4)),
        "p50_ms": float(m.group(6)),
        "p99_ms": float(m.group(8)),
        "extra": {"max_ms": float(m.group(5)), "p99.9_ms": float(m.group(9))},
    }


def run_consume(b: Broker, w: Workload, records: int, timeout: float) -> dict:
    proc = tool(
        "ConsumerPerformance",
        [
            "--bootstrap-server",
            b.bootstrap,
            "--topic",
            w.topic,
            "--num-records",
            str(records),
            "--timeout",
            "30000",
            "--group",
            f"perf-{w.name}",
        ],
        timeout,
    )
    lines = [ln for ln in proc.stdout.splitlines() if ln.count(",") >= 9]
    if proc.returncode != 0 or len(lines) < 2:
        raise RuntimeError(_failure(proc))
    head = [h.strip() for h in lines[0].split(",")]
    row = dict(zip(head, (v.strip() for v in lines[-1].split(",")), strict=False))
    got = int(row["data.consumed.in.nMsg"])
    if got < records:
        raise RuntimeError(f"consumed {got} of {records}")
    # fetch.* excludes the group join (rebalance.time.ms); the totals are kept in extra
    return {
        "records": got,
        "records_per_s": float(row["fetch.nMsg.sec"]),
        "mb_per_s": float(row["fetch.MB.sec"]) * 1.048576,
        "extra": {
            "total_records_per_s": float(row["nMsg.sec"]),
            "rebalance_ms": float(row["rebalance.time.ms"]),
            "fetch_ms": float(row["fetch.time.ms"]),
        },
    }


def run_e2e(b: Broker, w: Workload, records: int, timeout: float) -> dict:
    proc = tool(
        "EndToEndLatency",
        [
            "--bootstrap-server",
            b.bootstrap,
            "--topic",
            w.topic,
            "--num-records",
            str(records),
            "--producer-acks",
            w.acks,
            "--record-size",
            str(VALUE_SIZE),
        ],
        timeout,
    )
    avg, pct = _E2E_AVG.search(proc.stdout), _E2E_PCT.search(proc.stdout)
    if proc.returncode != 0 or not avg or not pct:
        raise RuntimeError(_failure(proc))
    return {
        "records": records,
        "avg_ms": float(avg.group(1)),
        "p50_ms": float(pct.group(1)),
        "p99_ms": float(pct.group(2)),
        "extra": {"p99.9_ms": float(pct.group(3))},
    }


# -- one broker ------------------------------------------------------------------------------------------


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def bench_broker(b: Broker, chosen: list[Workload], records: int, e2e_records: int, warmup: int, log) -> dict:
    out: dict = {"version": b.version, "results": [], "load_before": load()}
    log(f"== {b.name}: {b.version}; load average {out['load_before']}")
    try:
        out["start_s"] = b.start()
    except (PeerUnavailable, ApacheKafkaError) as exc:
        out["error"] = str(exc).splitlines()[0]
        log(f"{b.name}: did not start: {exc}")
        return out
    try:
        topics = {w.topic: w.partitions for w in chosen if w.kind != "consume"}
        topics.update({w.source: w.partitions for w in chosen if w.kind == "consume"})
        topics["warmup"] = 1
        for topic, parts in topics.items():
            create_topic(b.bootstrap, topic, parts, timeout=60)
        produced: set[str] = set()
        if warmup:
            t0 = time.monotonic()
            cpu0 = b.cpu_seconds()
            warm = run_produce(b, Workload("warmup", "produce", True), warmup, "warmup", 300)
            out["warmup"] = {
                "records": warmup,
                "records_per_s": warm["records_per_s"],
                "cpu_s": b.cpu_seconds() - cpu0,
                "wall_s": time.monotonic() - t0,
            }
            log(f"  warm-up {warmup:,} records: {warm['records_per_s']:,.0f} rec/s")
        for w in chosen:
            if w.kind == "consume" and w.source not in produced:
                # the source workload was not chosen: fill its topic first (unmeasured)
                run_produce(b, Workload(w.source, "produce", True, "1", w.partitions, 5), records, w.source, 600)
                produced.add(w.source)
            r = Result(b.name, w.name)
            r.extra["load_average_1m_before"] = float(load().split()[0])  # to judge a figure on a shared machine
            b.reset_peak()
            cpu0 = b.cpu_seconds()
            t0 = time.monotonic()
            try:
                if w.kind == "produce":
                    figures = run_produce(b, w, records, w.topic, 600)
                    produced.add(w.name)
                elif w.kind == "consume":
                    figures = run_consume(b, w, records, 600)
                else:
                    figures = run_e2e(b, w, e2e_records, 600)
                for k, v in figures.items():
                    if k == "extra":
                        r.extra.update(v)
                    else:
                        setattr(r, k, v)
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                r.error = str(exc)[:400]
            r.wall_s = time.monotonic() - t0
            if not b.alive():
                r.error = (r.error + f"; broker died: {b.log_tail()}")[:600]
                out["results"].append(asdict(r))
                log(f"  {w.name}: broker died")
                break
            r.cpu_s = b.cpu_seconds() - cpu0
            r.peak_rss_mib = b.peak_rss_mib()
            out["results"].append(asdict(r) | {"cpu_per_million": r.cpu_per_million})
            log("  " + line(r))
    finally:
        out["load_after"] = load()
        b.stop()
    return out


def line(r: Result) -> str:
    if r.error:
        return f"{r.workload:13} FAILED {r.error}"
    rate = f"{r.records_per_s:>10,.0f} rec/s {r.mb_per_s:6.1f} MB/s" if r.records_per_s else " " * 27
    lat = f"p50 {r.p50_ms:g} p99 {r.p99_ms:g} ms" if r.p50_ms is not None else ""
    if "rebalance_ms" in r.extra:
        lat = f"group join {r.extra['rebalance_ms']:.0f} ms (not in the rate)"
    return f"{r.workload:13} {rate}  cpu {r.cpu_s:6.2f} s ({r.cpu_per_million:5.2f} s/M)  rss {r.peak_rss_mib:6.1f} MiB  {lat}"


# -- the table -------------------------------------------------------------------------------------------


def _f(v, spec: str) -> str:
    return "" if v is None else format(v, spec)


def table(runs: dict, chosen: list[Workload]) -> list[str]:
    by = {(r["broker"], r["workload"]): r for run in runs.values() for r in run.get("results", [])}
    head = (
        "| workload | broker | records/s | MB/s | p50 / p99 ms | broker CPU s | CPU s per M | peak RSS MiB "
        "| kavka/kafka rec/s | kavka/kafka CPU per M |"
    )
    rows = [head, "|" + "---|" * 10]
    verdicts = []
    for w in chosen:
        ka, kv = by.get(("kafka", w.name)), by.get(("kavka", w.name))
        rate_ratio = cpu_ratio = None
        if ka and kv and not ka["error"] and not kv["error"]:
            if ka["records_per_s"] and kv["records_per_s"]:
                rate_ratio = kv["records_per_s"] / ka["records_per_s"]
            if ka["cpu_per_million"] and kv["cpu_per_million"] is not None:
                cpu_ratio = kv["cpu_per_million"] / ka["cpu_per_million"]
        for i, r in enumerate(x for x in (ka, kv) if x):
            label = w.name if i == 0 else ""
            if r["error"]:
                rows.append(f"| {label} | {r['broker']} | failed: {r['error'][:120]} | | | | | | | |")
                continue
            lat = f"{r['p50_ms']:g} / {r['p99_ms']:g}" if r["p50_ms"] is not None else ""
            if w.kind == "e2e" and r["avg_ms"] is not None:
                lat += f" (avg {r['avg_ms']:.2f})"
            rows.append(
                f"| {label} | {r['broker']} | {_f(r['records_per_s'], ',.0f')} | {_f(r['mb_per_s'], '.1f')} | {lat} "
                f"| {_f(r['cpu_s'], '.2f')} | {_f(r['cpu_per_million'], '.2f')} | {_f(r['peak_rss_mib'], '.0f')} "
                f"| {_f(rate_ratio if i else None, '.2f')} | {_f(cpu_ratio if i else None, '.2f')} |"
            )
        if w.kind == "e2e":
            if ka and kv and not ka["error"] and not kv["error"]:
                verdicts.append(
                    f"{w.name}: p50 {kv['p50_ms']:g} vs {ka['p50_ms']:g} ms, p99 {kv['p99_ms']:g} vs {ka['p99_ms']:g} ms,"
                    f" CPU per M {_f(cpu_ratio, '.2f')}x"
                )
            continue
        if rate_ratio is None or cpu_ratio is None:
            why = "only one broker ran" if len(runs) < 2 else "a run failed or a broker did not start"
            verdicts.append(f"{w.name}: no comparison ({why})")
            continue
        ok = rate_ratio >= 1.0 and cpu_ratio <= 1.0
        verdicts.append(
            f"{w.name}: rec/s {rate_ratio:.2f}x {'>=' if rate_ratio >= 1 else '<'} 1.0, "
            f"CPU per M {cpu_ratio:.2f}x {'<=' if cpu_ratio <= 1 else '>'} 1.0 -> {'met' if ok else 'NOT met'}"
        )
    notes = [
        "",
        "records/s and MB/s as the tools print them (consume: from the first fetch, the group join excluded);",
        "p50 / p99: produce = send to acknowledgement (queueing in the client included), e2e = EndToEndLatency's",
        "round trip (whole ms; avg in brackets); CPU s per M = broker CPU seconds per million records (e2e: per",
        "million round trips); peak RSS = the broker's VmHWM during the workload.",
    ]
    return rows + notes + ["", "target (kavka >= 1.0x kafka records/s, <= 1.0x CPU per million):"] + verdicts


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="100,000 records, the workloads marked q (~3 min)")
    ap.add_argument("--records", type=int, help="records per produce/consume workload (1,000,000; --quick 100,000)")
    ap.add_argument("--e2e-records", type=int, help="EndToEndLatency round trips (10,000; --quick 1,000)")
    ap.add_argument("--warmup", type=int, help="warm-up records before the workloads (200,000; --quick 50,000)")
    ap.add_argument("--brokers", default="kafka,kavka", help="comma-separated, in run order (kafka,kavka)")
    ap.add_argument("--workloads", help="comma-separated names (see the docstring); default all / the quick set")
    ap.add_argument("--python", help="interpreter running Kavka (default this one; use a plain install)")
    ap.add_argument("--kafka-heap", default="1G", help="Kafka's -Xmx and -Xms (kafka-server-start.sh: 1G)")
    ap.add_argument("--json", type=Path, help="also write every figure here")
    args = ap.parse_args(argv)

    records = args.records or (100_000 if args.quick else 1_000_000)
    e2e_records = args.e2e_records or (1_000 if args.quick else 10_000)
    warmup = args.warmup if args.warmup is not None else (50_000 if args.quick else 200_000)
    every = workloads()
    if args.workloads:
        names = [n.strip() for n in args.workloads.split(",") if n.strip()]
        unknown = set(names) - {w.name for w in every}
        if unknown:
            ap.error(f"unknown workloads {sorted(unknown)}; known: {', '.join(w.name for w in every)}")
        chosen = [w for w in every if w.name in names]
    else:
        chosen = [w for w in every if w.quick or not args.quick]
    brokers = [n.strip() for n in args.brokers.split(",") if n.strip()]
    if set(brokers) - {"kafka", "kavka"}:
        ap.error("--brokers takes kafka and/or kavka")
    reason = unavailable_reason()
    if reason:
        print(f"cannot run Kafka's tools: {reason}", file=sys.stderr)
        return 2

    info = machine()
    print(f"commit {info['commit']}; {info['nproc']} x {info['cpu']}; Python {info['python']}; kernel {info['kernel']}")
    print(
        f"{records:,} records x {VALUE_SIZE} B per produce/consume workload; {e2e_records:,} end-to-end round trips;"
        f" warm-up {warmup:,}; workloads: {', '.join(w.name for w in chosen)}"
    )
    t_start = time.monotonic()
    runs: dict = {}
    with tempfile.TemporaryDirectory(prefix="kavka-side-by-side-") as tmp:
        for name in brokers:
            root = Path(tmp) / name
            runs[name] = bench_broker(
                Broker(name, root, args.python, args.kafka_heap), chosen, records, e2e_records, warmup, print
            )
            shutil.rmtree(root, ignore_errors=True)
    print()
    print("\n".join(table(runs, chosen)))
    for name, run in runs.items():
        extra = f", warm-up {run['warmup']['records_per_s']:,.0f} rec/s" if "warmup" in run else ""
        print(
            f"{name}: start {_f(run.get('start_s'), '.1f')} s{extra}; load average {run['load_before']} before, "
            f"{run.get('load_after', '?')} after{'; ' + run['error'] if run.get('error') else ''}"
        )
    print(f"total {time.monotonic() - t_start:.0f} s; machine {json.dumps(info)}")
    if args.json:
        figures = {
            "command": " ".join([Path(sys.executable).name, *sys.argv]),
            "machine": info,
            "records": records,
            "e2e_records": e2e_records,
            "warmup": warmup,
            "workloads": [asdict(w) for w in chosen],
            "runs": runs,
        }
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    failed = any(r["error"] for run in runs.values() for r in run.get("results", [])) or any(
        run.get("error") for run in runs.values()
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
