#!/usr/bin/env python3
"""TLS against plaintext on one Kavka broker: produce and consume throughput, broker CPU per million
records, and TLS handshakes per second.

One ``kavka serve`` subprocess with a PLAINTEXT and an SSL listener (PEM key store from
kavka.testing.certs, TLS 1.3, no client certificate). For each listener: produce N records of SIZE
bytes to a topic of its own with confluent-kafka (acks=1, linger.ms=5, no compression), then consume
them; the broker's CPU seconds (/proc/<pid>/stat) are read around each phase. Then K new TLS
connections, each handshake completed and followed by one ApiVersions round trip, from one client
thread (what a reconnect storm costs the broker), and the same over plaintext for comparison.

    .venv/bin/python bench/tls.py                        # 1,000,000 x 100 B, 500 handshakes
    .venv/bin/python bench/tls.py --records 200000 --size 1000

Not a test: it prints figures (``--json`` writes them too).
"""

from __future__ import annotations

import argparse
import socket
import ssl
import struct
import sys
import tempfile
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from benchlib import machine, report
from kavka.testing.certs import make_pki
from kavka.testing.process import BrokerProcess, create_topic, free_port
from produce_consume import produce

_API_VERSIONS = struct.pack(">hhih", 18, 0, 1, 5) + b"bench"
_FRAME = struct.pack(">i", len(_API_VERSIONS)) + _API_VERSIONS


def consume(conf: dict, topic: str, size: int) -> dict:
    consumer = Consumer(
        {
            "group.id": "bench",
            "enable.auto.commit": False,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "fetch.wait.max.ms": 100,
            "queued.max.messages.kbytes": 1_048_576,
            "queued.min.messages": 1_000_000,
            **conf,
        }
    )
    low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
    records = high - low
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    n = nbytes = 0
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
    elapsed = time.perf_counter() - t_first
    consumer.close()
    assert nbytes == records * size
    return {"records_per_s": records / elapsed, "mb_per_s": nbytes / elapsed / 1e6, "seconds": elapsed}


def handshakes(port: int, count: int, ctx: ssl.SSLContext | None) -> float:
    """Connections per second, each with its handshake and one ApiVersions round trip."""
    t0 = time.perf_counter()
    for _ in range(count):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1") if ctx is not None else raw
        with s:
            s.sendall(_FRAME)
            head = b""
            while len(head) < 4:
                head += s.recv(4 - len(head))
            (size,) = struct.unpack(">i", head)
            got = 0
            while got < size:
                got += len(s.recv(size - got))
    return count / (time.perf_counter() - t0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--handshakes", type=int, default=500)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    out: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="kavka-bench-tls-") as tmp:
        pki = make_pki(Path(tmp) / "pki")
        plain_port, tls_port = free_port(), free_port()
        b = BrokerProcess(
            Path(tmp) / "data",
            port=plain_port,
            overrides={
                "listeners": f"PLAINTEXT://127.0.0.1:{plain_port},SSL://127.0.0.1:{tls_port}",
                "ssl.keystore.type": "PEM",
                "ssl.keystore.location": pki.broker_pem,
            },
        )
        b.start()
        try:
            listeners = {
                "plaintext": {"bootstrap.servers": f"127.0.0.1:{plain_port}"},
                "tls": {
                    "bootstrap.servers": f"127.0.0.1:{tls_port}",
                    "security.protocol": "SSL",
                    "ssl.ca.location": pki.ca_pem,
                },
            }
            per_million = 1e6 / args.records
            create_topic(b.bootstrap, "bench-warmup", 1)  # the first run pays for imports and caches
            produce_to(listeners["plaintext"], "bench-warmup", min(args.records, 50_000), args.size)
            for name, conf in listeners.items():
                topic = f"bench-{name}"
                create_topic(b.bootstrap, topic, 1)
                cpu0 = b.cpu_seconds()
                p = produce_to(conf, topic, args.records, args.size)
                cpu1 = b.cpu_seconds()
                c = consume(conf, topic, args.size)
                cpu2 = b.cpu_seconds()
                out[f"{name}_produce_rec_s"] = p["records_per_s"]
                out[f"{name}_produce_mb_s"] = p["mb_per_s"]
                out[f"{name}_consume_rec_s"] = c["records_per_s"]
                out[f"{name}_consume_mb_s"] = c["mb_per_s"]
                out[f"{name}_cpu_ms_per_M_produce"] = (cpu1 - cpu0) * per_million * 1000
                out[f"{name}_cpu_ms_per_M_consume"] = (cpu2 - cpu1) * per_million * 1000
            ctx = ssl.create_default_context(cafile=pki.ca_pem)
            out["tls_handshakes_per_s"] = handshakes(tls_port, args.handshakes, ctx)
            out["plain_connects_per_s"] = handshakes(plain_port, args.handshakes, None)
        finally:
            b.stop()
            b.cleanup()
    for what in ("produce", "consume"):
        out[f"tls_over_plain_{what}"] = out[f"tls_{what}_rec_s"] / out[f"plaintext_{what}_rec_s"]
    report(out, args.json)
    return 0


def produce_to(conf: dict, topic: str, records: int, size: int) -> dict:
    import produce_consume

    produce_consume.TOPIC = topic  # produce() writes to the module's TOPIC
    result = produce(conf, records, size)
    result.pop("producer")
    return result


if __name__ == "__main__":
    raise SystemExit(main())
