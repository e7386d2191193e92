#!/usr/bin/env python3
"""The Kafka Streams example (examples/kafka-streams) on Apache Kafka and on Kavka, one after the other.

    KAVKA_KAFKA_LIB=$(bash interop/kafka.sh) PYTHONPATH=. .venv/bin/python bench/kafka_streams.py \\
        --orders 20000 [--target kafka --target kavka] [--json out.json]

Per broker, started fresh (empty data directory, free loopback port, ``group.initial.rebalance.delay.ms=0``
as Kafka's shipped ``config/server.properties``; the Kafka node is the test fixture's, 512 MiB serial GC)
and stopped before the next: create the five topics (2 partitions), write the users and ``--orders``
users with confluent-kafka, start ``OrderAnalytics`` (exactly_once_v2, commit.interval.ms 100, RocksDB
stores, one stream thread; one JVM with C1 and a 256 MiB heap, as the tests run it), and once it is
RUNNING write the ``--orders`` orders (the tests' generator: seeded amounts, record timestamps over the
last ten minutes) and measure:

- ``start_s``: process start to KafkaStreams RUNNING (JVM start, group join, internal topics created);
- ``process_s``: the first order sent to done, where done is the group having committed every order and
  the region totals (read_committed, polled every 0.2 s) equal to the totals Python computes: every
  order was written, went through the join, the repartition topic and the region store;
  ``orders_per_s`` = orders / process_s. The orders are written only once the app runs, so none of the
  work happens before the clock starts (``produce_s``: how long writing them took, inside process_s);
- ``broker_cpu_s`` and ``app_cpu_s``: CPU seconds (user + system, /proc) of the broker and of the JVM
  during ``process_s``.

Then the outputs are checked once in full (windowed totals, every enriched order once). Not a test: it
prints figures; on a shared two-core machine they move between runs (the load average is printed).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

from benchlib import machine
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, ChildProcess, wait_until
from tests.examples import test_kafka_streams as scenario
from tests.examples.streamsexample import BUILD_SCRIPT, StreamsApp, StreamsExample
from tests.javabuild import build

OVERRIDES = {"num.partitions": "1", "group.initial.rebalance.delay.ms": "0"}


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(target: str, example: StreamsExample, n_orders: int, work: Path) -> dict[str, object]:
    broker: ChildProcess
    if target == "kafka":
        broker = ApacheKafka(work / "kafka", OVERRIDES)
        broker.start()
    else:
        broker = BrokerProcess(work / "kavka", overrides=OVERRIDES)
        broker.start()
    assert broker.popen is not None
    bootstrap = broker.bootstrap  # type: ignore[attr-defined]
    app = StreamsApp(example, bootstrap, "bench", "b-", work / f"state-{target}", work / f"{target}-app.log")
    try:
        scenario.create_topics(bootstrap, "b-")
        base = scenario._base_ms()
        user_rows = scenario.users(base)
        # Spread over ten minutes whatever their number (the generator places order n at n seconds).
        order_rows = [
            scenario.In(o.key, o.value, base + i * 600_000 // n_orders)
            for i, o in enumerate(scenario.orders(base, 0, n_orders))
        ]
        scenario.produce(bootstrap, "b-users", user_rows)
        want = scenario.expected(user_rows, order_rows)
        regions_topic = "b-order-totals-by-region"

        started = time.monotonic()
        app.start()
        app.wait_running(120)
        running = time.monotonic()
        broker_cpu, app_cpu = cpu_seconds(broker.popen.pid), cpu_seconds(app.popen.pid)  # type: ignore[union-attr]
        scenario.produce(bootstrap, "b-orders", order_rows)
        produced = time.monotonic()
        ends = scenario.log_ends(bootstrap, "b-orders")

        def done() -> bool:
            regions = dict(scenario.read(bootstrap, [regions_topic])[regions_topic])
            return regions == want.regions and scenario.committed(bootstrap, "bench", "b-orders") == ends

        wait_until(done, 600, interval=0.2, message="all orders processed")
        finished = time.monotonic()
        broker_cpu = cpu_seconds(broker.popen.pid) - broker_cpu
        app_cpu = cpu_seconds(app.popen.pid) - app_cpu  # type: ignore[union-attr]
        got = scenario.results(bootstrap, "b-")
        assert got == want, "the outputs differ from the expectation"
        app.stop()
        return {
            "orders": n_orders,
            "start_s": round(running - started, 2),
            "process_s": round(finished - running, 2),
            "produce_s": round(produced - running, 2),
            "orders_per_s": round(n_orders / (finished - running)),
            "broker_cpu_s": round(broker_cpu, 2),
            "app_cpu_s": round(app_cpu, 2),
            "load_after": os.getloadavg()[0],
        }
    finally:
        app.cleanup()
        broker.stop()
        broker.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=20_000)
    parser.add_argument("--target", action="append", choices=["kafka", "kavka"])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    java = os.environ.get("JAVA_HOME")
    example = StreamsExample(str(Path(java) / "bin" / "java") if java else "java", build(BUILD_SCRIPT))
    out: dict[str, object] = {"machine": machine()}
    with tempfile.TemporaryDirectory(prefix="kavka-streams-bench-") as tmp:
        for target in args.target or ["kafka", "kavka"]:
            print(f"{target}: load average before {os.getloadavg()[0]:.1f}", flush=True)
            out[target] = figures = run(target, example, args.orders, Path(tmp))
            print(target, json.dumps(figures), flush=True)
    print("machine", json.dumps(out["machine"]))
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
