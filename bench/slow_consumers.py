#!/usr/bin/env python3
"""Broker memory with consumers that ask for a lot and never read (issue 11, fetch hardening).

Produces SIZE MB into one partition with confluent-kafka, then opens N raw connections that each send
one Fetch v4 (``max_bytes`` and partition max bytes = FETCH MB, offset 0) and never read their socket
(4 KiB receive buffer). Prints the broker's RSS before, once every response has started, and its peak
(VmHWM), then reads one response to the end to show it arrives whole.

    .venv/bin/python bench/slow_consumers.py                       # 50 consumers, 50 MB each
    .venv/bin/python bench/slow_consumers.py --python /path/to/other/python   # e.g. an older checkout

Not a test: it prints figures (``--json`` writes them too).
"""

from __future__ import annotations

import argparse
import fcntl
import socket
import struct
import sys
import tempfile
import termios
import time
from pathlib import Path

from confluent_kafka import Producer

from benchlib import machine, report
from kavka.testing.process import BrokerProcess, create_topic, wait_until

TOPIC = "slow"


def fetch_request(topic: str, max_bytes: int) -> bytes:
    client = b"slow-consumer"
    t = topic.encode()
    body = struct.pack(">hhih", 1, 4, 7, len(client)) + client
    body += struct.pack(">iiiib", -1, 0, 1, max_bytes, 0)
    body += struct.pack(">ih", 1, len(t)) + t + struct.pack(">iiqi", 1, 0, 0, max_bytes)
    return struct.pack(">i", len(body)) + body


def unread(s: socket.socket) -> int:
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--consumers", type=int, default=50)
    ap.add_argument("--size-mb", type=int, default=50, help="MB produced into the partition")
    ap.add_argument("--fetch-mb", type=int, default=50, help="max_bytes of each Fetch, MB")
    ap.add_argument("--python", help="interpreter that runs the broker (default: this one)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    out: dict = {"machine": machine(), "consumers": args.consumers, "size_mb": args.size_mb, "fetch_mb": args.fetch_mb}
    with tempfile.TemporaryDirectory(prefix="kavka-bench-slow-") as tmp:
        broker = BrokerProcess(Path(tmp) / "data", python=args.python)
        broker.start()
        try:
            create_topic(broker.bootstrap, TOPIC, 1)
            p = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "acks": "1"})
            value = b"v" * 100_000
            for _ in range(args.size_mb * 10):
                while True:
                    try:
                        p.produce(TOPIC, value, partition=0)
                        break
                    except BufferError:
                        p.poll(0.05)
            assert p.flush(60) == 0
            out["rss_before_mib"] = broker.memory_kib() / 1024
            socks = []
            t0 = time.perf_counter()
            for _ in range(args.consumers):
                s = socket.socket()
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.settimeout(60)
                s.connect(("127.0.0.1", broker.port))
                s.sendall(fetch_request(TOPIC, args.fetch_mb * 1_000_000))
                socks.append(s)
            wait_until(lambda: all(unread(s) > 0 for s in socks), timeout=120, message="responses to start")
            out["all_started_s"] = time.perf_counter() - t0
            # Let the broker settle (not a synchronisation: a measurement window).
            time.sleep(2)
            out["rss_with_unread_mib"] = broker.memory_kib() / 1024
            out["rss_peak_mib"] = broker.memory_kib("VmHWM") / 1024
            out["per_consumer_mib"] = (out["rss_with_unread_mib"] - out["rss_before_mib"]) / args.consumers
            # One response read to the end.
            s = socks[0]
            s.settimeout(120)
            (size,) = struct.unpack(">i", s.recv(4, socket.MSG_WAITALL))
            got = 0
            t1 = time.perf_counter()
            while got < size:
                chunk = s.recv(1 << 20)
                if not chunk:
                    break
                got += len(chunk)
            out["one_response_bytes"] = got
            out["one_response_complete"] = got == size
            out["one_response_s"] = time.perf_counter() - t1
            for s in socks:
                s.close()
            out["broker_alive"] = broker.is_running()
        finally:
            broker.stop()
    report(out, args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
