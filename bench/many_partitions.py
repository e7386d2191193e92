#!/usr/bin/env python3
"""Many partitions under a common open-files limit (issue 11, fetch hardening).

Starts a broker under ``ulimit -n LIMIT`` (1024 by default: a common soft limit), creates one topic of
N partitions (10,000 by default) in steps, produces one record to every partition and reads them all
back with confluent-kafka, then prints the broker's RSS, its open descriptors, and the times taken. If
the broker dies (the open-files limit), it says after how many partitions.

    .venv/bin/python bench/many_partitions.py
    .venv/bin/python bench/many_partitions.py --partitions 2000 --python /path/to/other/python

Not a test: it prints figures (``--json`` writes them too).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewPartitions, NewTopic

from benchlib import machine, report
from kavka.testing.process import BrokerProcess

TOPIC = "many"


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--partitions", type=int, default=10_000)
    ap.add_argument("--step", type=int, default=1000, help="partitions added per CreatePartitions call")
    ap.add_argument("--limit", type=int, default=1024, help="ulimit -n of the broker")
    ap.add_argument("--python", help="interpreter that runs the broker (default: this one)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    out: dict = {"machine": machine(), "partitions": args.partitions, "ulimit_n": args.limit}
    with tempfile.TemporaryDirectory(prefix="kavka-bench-many-") as tmp:
        wrapper = Path(tmp) / "python"
        wrapper.write_text(f'#!/bin/sh\nulimit -n {args.limit}\nexec "{args.python or sys.executable}" "$@"\n')
        wrapper.chmod(0o755)
        broker = BrokerProcess(Path(tmp) / "data", python=str(wrapper), ready_timeout=120)
        broker.start()
        try:
            admin = AdminClient({"bootstrap.servers": broker.bootstrap})
            t0 = time.perf_counter()
            n = min(args.step, args.partitions)
            admin.create_topics([NewTopic(TOPIC, n, 1)])[TOPIC].result(timeout=60)
            created = n
            while created < args.partitions and broker.is_running():
                created = min(args.partitions, created + args.step)
                try:
                    admin.create_partitions([NewPartitions(TOPIC, created)])[TOPIC].result(timeout=60)
                except Exception as e:  # noqa: BLE001 - reported: this is what the bench measures
                    out["create_error"] = str(e)
                    break
            out["create_s"] = time.perf_counter() - t0
            out["created"] = created
            out["alive_after_create"] = broker.is_running()
            if broker.is_running():
                out["rss_after_create_mib"] = broker.memory_kib() / 1024
                out["fds_after_create"] = fds(broker.pid)
                p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 20, "acks": "1"})
                t1 = time.perf_counter()
                errors = []
                for part in range(created):
                    while True:
                        try:
                            p.produce(
                                TOPIC,
                                b"v%d" % part,
                                partition=part,
                                on_delivery=lambda err, _m: err and errors.append(err),
                            )
                            break
                        except BufferError:
                            p.poll(0.05)
                left = p.flush(300)
                out["produce_s"] = time.perf_counter() - t1
                out["produce_errors"] = len(errors) + left
                c = Consumer(
                    {"bootstrap.servers": broker.bootstrap, "group.id": "bench-many", "enable.auto.commit": False}
                )
                c.assign([TopicPartition(TOPIC, part, OFFSET_BEGINNING) for part in range(created)])
                seen: set[int] = set()
                t2 = time.perf_counter()
                deadline = time.monotonic() + 600
                while len(seen) < created and time.monotonic() < deadline and broker.is_running():
                    for m in c.consume(1000, 0.5):
                        if m.error() is None:
                            seen.add(m.partition())
                c.close()
                out["consume_s"] = time.perf_counter() - t2
                out["partitions_read"] = len(seen)
                out["alive_at_end"] = broker.is_running()
                if broker.is_running():
                    out["rss_at_end_mib"] = broker.memory_kib() / 1024
                    out["fds_at_end"] = fds(broker.pid)
            if not broker.is_running():
                tail = [ln for ln in broker.log_text().splitlines() if "Too many open files" in ln][:1]
                out["died"] = tail[0][-200:] if tail else broker.log_tail(5)
        finally:
            if broker.is_running():
                broker.stop(timeout=300)
    report(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
