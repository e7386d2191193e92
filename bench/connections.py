#!/usr/bin/env python3
"""What connections cost the broker in memory, and what clients that never read can make it hold.

Against a Kavka broker subprocess (fresh data dir, loopback), the broker's resident set (VmRSS from
/proc) is read:

1. **idle**: at start, then with ``--idle`` (5,000) connections open, each having done one ApiVersions
   round trip (so the broker has accepted and served it) and then idle.
2. **slow consumers**: a one-partition topic holding ``--data-mb`` (60) MB; then ``--consumers`` (50)
   sockets each send one Fetch v4 request from offset 0 with max_bytes and partition max_bytes of
   50 MB, and never read a byte of the answer; then (fresh broker) ``--pipelined`` (10) sockets each
   send 4 such requests back to back. RSS is read once it has been
   steady for 2 s (at most 30 s), and the broker must still answer a fresh ApiVersions.

``--src DIR`` runs the broker from another source tree (e.g. ``git archive <commit> | tar -x -C DIR``)
to compare before and after a change:

    .venv/bin/python bench/connections.py
    .venv/bin/python bench/connections.py --src /tmp/kavka-before/src

The script raises its own RLIMIT_NOFILE soft limit to the hard limit (the broker inherits it). Not a
test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import socket
import struct
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine
from kavka.testing.process import BrokerProcess, create_topic, wait_until

MB = 1024 * 1024


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _header(api_key: int, version: int, correlation_id: int) -> bytes:
    client = b"bench"
    return struct.pack(">hhih", api_key, version, correlation_id, len(client)) + client


def api_versions_frame(correlation_id: int) -> bytes:
    body = _header(18, 0, correlation_id)
    return struct.pack(">i", len(body)) + body


def fetch_frame(correlation_id: int, topic: str, max_bytes: int) -> bytes:
    """Fetch v4: replica -1, max_wait 0, min_bytes 1, max_bytes, read_uncommitted, one partition at 0."""
    t = topic.encode()
    body = (
        _header(1, 4, correlation_id)
        + struct.pack(">iiiib", -1, 0, 1, max_bytes, 0)
        + struct.pack(">ih", 1, len(t))
        + t
        + struct.pack(">iiqi", 1, 0, 0, max_bytes)
    )
    return struct.pack(">i", len(body)) + body


def read_frame(sock: socket.socket) -> bytes:
    def exact(n: int) -> bytes:
        buf = bytearray()
        while len(buf) < n:
            chunk = sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("closed")
            buf += chunk
        return bytes(buf)

    (size,) = struct.unpack(">i", exact(4))
    return exact(size)


def still_serving(bootstrap: str) -> bool:
    host, port = bootstrap.split(":")
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(api_versions_frame(7))
        return len(read_frame(s)) > 0


def steady_rss(pid: int, timeout: float = 30.0) -> float:
    """RSS once it has moved less than 2 MB over 2 s (or after ``timeout`` s)."""
    deadline = time.monotonic() + timeout
    last = rss_mb(pid)
    stable_since = time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.25)
        now = rss_mb(pid)
        if abs(now - last) > 2:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 2:
            break
    return rss_mb(pid)


def idle(broker: BrokerProcess, n: int) -> None:
    host, port = broker.bootstrap.split(":")
    before = rss_mb(broker.pid)
    socks = []
    try:
        for i in range(n):
            s = socket.create_connection((host, int(port)), timeout=30)
            s.sendall(api_versions_frame(i))
            socks.append(s)
        for s in socks:
            read_frame(s)
        after = steady_rss(broker.pid)
        print(
            f"idle: {n} connections: RSS {before:.0f} MB -> {after:.0f} MB "
            f"({(after - before) * 1024 / n:.1f} KB per connection)"
        )
    finally:
        for s in socks:
            s.close()


def slow_consumers(broker: BrokerProcess, topic: str, consumers: int, fetches: int) -> None:
    host, port = broker.bootstrap.split(":")
    before = rss_mb(broker.pid)
    socks = []
    peak = before
    try:
        for i in range(consumers):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
            s.connect((host, int(port)))
            s.sendall(b"".join(fetch_frame(i * 100 + k, topic, 50 * MB) for k in range(fetches)))
            socks.append(s)
            peak = max(peak, rss_mb(broker.pid))
        after = steady_rss(broker.pid)
        ok = still_serving(broker.bootstrap)
        print(
            f"slow consumers: {consumers} x {fetches} Fetch (50 MB max_bytes), never read: "
            f"RSS {before:.0f} MB -> {after:.0f} MB; broker still answers: {ok}"
        )
    finally:
        for s in socks:
            s.close()


def fill(broker: BrokerProcess, topic: str, data_mb: int) -> None:
    from confluent_kafka import Producer

    p = Producer(
        {"bootstrap.servers": broker.bootstrap, "linger.ms": 5, "compression.type": "none", "batch.size": 900_000}
    )
    value = os.urandom(100_000)
    for _ in range(data_mb * MB // len(value)):
        while True:
            try:
                p.produce(topic, value)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0, "produce did not finish"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--src", help="run the broker from this source tree (its src/ directory)")
    ap.add_argument("--idle", type=int, default=5000)
    ap.add_argument("--consumers", type=int, default=50)
    ap.add_argument(
        "--pipelined", type=int, default=10, help="consumers in the second round, each pipelining 4 Fetch requests"
    )
    ap.add_argument("--data-mb", type=int, default=60)
    args = ap.parse_args()

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = args.idle + 1000
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(want, hard), hard))
    print("machine:", machine())
    print("RLIMIT_NOFILE:", resource.getrlimit(resource.RLIMIT_NOFILE)[0], "| broker from:", args.src or "this tree")
    env = dict(os.environ)
    if args.src:
        env["PYTHONPATH"] = str(Path(args.src).resolve()) + os.pathsep + env.get("PYTHONPATH", "")
    with tempfile.TemporaryDirectory(prefix="bench-conn-") as tmp:
        for consumers, fetches in ((args.consumers, 1), (args.pipelined, 4)):
            broker = BrokerProcess(Path(tmp) / f"data{fetches}", env=env, overrides={"message.max.bytes": 1_000_000})
            broker.start()
            try:
                print(f"broker RSS at start: {rss_mb(broker.pid):.0f} MB")
                if fetches == 1:
                    idle(broker, args.idle)
                    wait_until(lambda: still_serving(broker.bootstrap), 30)
                topic = create_topic(broker.bootstrap, "slow", 1)
                fill(broker, topic, args.data_mb)
                slow_consumers(broker, topic, consumers, fetches)
            finally:
                broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
