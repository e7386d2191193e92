#!/usr/bin/env python3
"""The broker's CPU per Produce request, under the request pattern of Kafka's Java producer.

    .venv/bin/python bench/produce_path.py --python /tmp/kavka-prod-venv/bin/python
    .venv/bin/python bench/produce_path.py --requests 5000 --in-flight 1

``kafka-producer-perf-test`` (bench/kafka_side_by_side.py) is bound by its own JVM on a small machine,
and on a shared one its rate says little about the broker. This script sends the same load from a
client that costs almost nothing: Produce v9 requests built once, each one record batch of
``--batch-records`` x ``--size`` B records (the Java producer's 16 KiB ``batch.size`` holds 148 x 100 B),
acks=1, no producer id, ``--in-flight`` requests pipelined on one connection (the Java producer's
``max.in.flight.requests.per.connection`` is 5), to a fresh ``kavka serve`` (bench/peers.py
``KavkaRunner``), after a warm-up of 1,000 requests. It reads the broker process's CPU seconds
(``/proc/<pid>/stat`` utime and stime) before and after and prints CPU microseconds per request,
split into user and system time, and CPU seconds per million records; the best of ``--repeats`` runs
(the least disturbed by other processes) and the median. Not a test: it prints figures (``--json``
writes them).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine, report
from kavka.protocol.api import encode_request_body
from kavka.protocol.records import Record, build_batch
from kavka.testing.process import create_topic
from peers import KavkaRunner

TOPIC = "produce-path"
_SIZE = struct.Struct(">i")
_HEADER = struct.Struct(">hhih")
_TICKS = os.sysconf("SC_CLK_TCK")


def produce_frame(batch: bytes, correlation_id: int) -> bytes:
    body = encode_request_body(
        0,
        9,
        {
            "transactional_id": None,
            "acks": 1,
            "timeout_ms": 30000,
            "topic_data": [{"name": TOPIC, "partition_data": [{"index": 0, "records": batch}]}],
        },
    )
    client = b"produce-path"
    head = _HEADER.pack(0, 9, correlation_id, len(client)) + client + b"\x00"  # header v2: no tagged fields
    return _SIZE.pack(len(head) + len(body)) + head + body


def cpu(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / _TICKS, int(fields[12]) / _TICKS


def run(sock: socket.socket, frame: bytes, requests: int, in_flight: int) -> None:
    """Send ``requests`` copies of ``frame`` keeping ``in_flight`` unanswered; read every answer."""
    sent = answered = 0
    buf = bytearray()
    while answered < requests:
        burst = min(in_flight - (sent - answered), requests - sent)
        if burst > 0:
            sock.sendall(frame * burst)
            sent += burst
        chunk = sock.recv(1 << 16)
        if not chunk:
            raise RuntimeError("broker closed the connection")
        buf += chunk
        while len(buf) >= 4:
            (n,) = _SIZE.unpack_from(buf, 0)
            if len(buf) < 4 + n:
                break
            # Produce v9 response: correlation id, tagged fields, topics[1], name, partitions[1], index, error
            del buf[: 4 + n]
            answered += 1


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--requests", type=int, default=20_000, help="Produce requests per run (20,000)")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--in-flight", type=int, default=5)
    ap.add_argument("--batch-records", type=int, default=148)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--python", help="interpreter running the broker (default: this one)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    now = int(time.time() * 1000)
    batch = build_batch([Record(i, now, None, b"v" * args.size) for i in range(args.batch_records)])
    frame = produce_frame(batch, 1)
    with tempfile.TemporaryDirectory(prefix="kavka-produce-path-") as tmp:
        broker = KavkaRunner(Path(tmp), python=args.python)
        broker.start()
        try:
            create_topic(broker.bootstrap, TOPIC, 1)
            with socket.create_connection(("127.0.0.1", broker.port)) as sock:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                run(sock, frame, 1000, args.in_flight)  # warm-up
                runs = []
                for _ in range(args.repeats):
                    u0, s0 = cpu(broker.pid)
                    t0 = time.perf_counter()
                    run(sock, frame, args.requests, args.in_flight)
                    wall = time.perf_counter() - t0
                    u1, s1 = cpu(broker.pid)
                    runs.append((u1 - u0, s1 - s0, wall))
        finally:
            broker.stop()
    per = [((u + s) / args.requests * 1e6, u / args.requests * 1e6, s / args.requests * 1e6) for u, s, _ in runs]
    best = min(per)
    records = args.requests * args.batch_records
    out = {
        "machine": machine(),
        "load_average": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
        "requests_per_run": args.requests,
        "batch_bytes": len(batch),
        "in_flight": args.in_flight,
        "cpu_us_per_request_best": best[0],
        "user_us_per_request_best": best[1],
        "sys_us_per_request_best": best[2],
        "cpu_us_per_request_median": statistics.median(p[0] for p in per),
        "cpu_s_per_million_records_best": best[0] * args.requests / records,
        "requests_per_s_best_run": max(args.requests / w for _, _, w in runs),
        "runs_us_per_request": " ".join(f"{p[0]:.1f}" for p in per),
    }
    report(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
