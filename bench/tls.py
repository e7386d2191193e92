#!/usr/bin/env python3
"""TLS against plaintext on one Kavka broker: produce and consume throughput, broker CPU per million
records, and TLS handshakes per second.

One ``kavka serve`` subprocess with a PLAINTEXT and an SSL listener (PEM key store from
kavka.testing.certs, TLS 1.3, no client certificate). For each listener: produce N records of SIZE
bytes to a topic of its own with confluent-kafka (acks=1, linger.ms=5, no compression), then consume
them; the broker's CPU seconds (/proc/<pid>/stat) are read around each phase. Then K new TLS
connections, each handshake completed and followed by one ApiVersions round trip, from one client
thread (what a reconnect storm costs the broker), and the same over plaintext for comparison.

With ``--kafka`` the same measurement runs, after Kavka's, against Apache Kafka 4.4 (one KRaft node from
KAVKA_KAFKA_LIB, a PLAINTEXT and an SSL listener with the same PEM key store; the JVM's CPU seconds from
its /proc/<pid>/stat) and a table prints each figure for both with the ratio Kavka / Kafka. Both brokers
get the same warm-up (``--warmup`` records produced and consumed on each listener, 100 TLS
handshakes) before anything is timed; the JVM compiles its hot paths during it, Kavka fills its caches.

    .venv/bin/python bench/tls.py                        # 1,000,000 x 100 B, 500 handshakes
    .venv/bin/python bench/tls.py --records 200000 --size 1000
    KAVKA_KAFKA_LIB=... .venv/bin/python bench/tls.py --kafka

Not a test: it prints figures (``--json`` writes them too).
"""

from __future__ import annotations

import argparse
import os
import socket
import ssl
import struct
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaException, TopicPartition

from benchlib import machine, process_cpu_seconds, report
from kavka.testing.certs import Pki, make_pki
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


def handshakes(port: int, count: int, ctx: ssl.SSLContext | None) -> tuple[float, str]:
    """Connections per second, each with its handshake and one ApiVersions round trip; and the
    protocol and cipher the last TLS connection negotiated ("" over plaintext)."""
    negotiated = ""
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
            if isinstance(s, ssl.SSLSocket):
                cipher = s.cipher()
                negotiated = f"{cipher[1]} {cipher[0]}" if cipher else "?"
    return count / (time.perf_counter() - t0), negotiated


def measure(
    cpu_seconds: Callable[[], float], plain_port: int, tls_port: int, ca_pem: str, args: argparse.Namespace
) -> dict:
    """Every figure for one broker serving PLAINTEXT on ``plain_port`` and SSL on ``tls_port``;
    ``cpu_seconds`` reads the broker process's CPU time. Keys have no broker prefix."""
    out: dict = {}
    listeners = {
        "plaintext": {"bootstrap.servers": f"127.0.0.1:{plain_port}"},
        "tls": {
            "bootstrap.servers": f"127.0.0.1:{tls_port}",
            "security.protocol": "SSL",
            "ssl.ca.location": ca_pem,
        },
    }
    bootstrap = listeners["plaintext"]["bootstrap.servers"]
    per_million = 1e6 / args.records
    # The first run pays for imports, caches and (for the JVM) JIT compilation: warm both paths on both
    # listeners (a warm-up that only produced left the first timed consume paying for it).
    for name, conf in listeners.items():
        create_topic(bootstrap, f"bench-warmup-{name}", 1)
        produce_to(conf, f"bench-warmup-{name}", args.warmup, args.size)
        consume(conf, f"bench-warmup-{name}", args.size)
    for name, conf in listeners.items():
        topic = f"bench-{name}"
        create_topic(bootstrap, topic, 1)
        cpu0 = cpu_seconds()
        p = produce_to(conf, topic, args.records, args.size)
        cpu1 = cpu_seconds()
        c = consume(conf, topic, args.size)
        cpu2 = cpu_seconds()
        out[f"{name}_produce_rec_s"] = p["records_per_s"]
        out[f"{name}_produce_mb_s"] = p["mb_per_s"]
        out[f"{name}_consume_rec_s"] = c["records_per_s"]
        out[f"{name}_consume_mb_s"] = c["mb_per_s"]
        out[f"{name}_cpu_ms_per_M_produce"] = (cpu1 - cpu0) * per_million * 1000
        out[f"{name}_cpu_ms_per_M_consume"] = (cpu2 - cpu1) * per_million * 1000
    ctx = ssl.create_default_context(cafile=ca_pem)
    handshakes(tls_port, 100, ctx)  # warm-up
    cpu0 = cpu_seconds()
    out["tls_handshakes_per_s"], out["tls_negotiated"] = handshakes(tls_port, args.handshakes, ctx)
    out["tls_cpu_ms_per_handshake"] = (cpu_seconds() - cpu0) * 1000 / args.handshakes
    cpu0 = cpu_seconds()
    out["plain_connects_per_s"], _ = handshakes(plain_port, args.handshakes, None)
    out["plain_cpu_ms_per_connect"] = (cpu_seconds() - cpu0) * 1000 / args.handshakes
    for what in ("produce", "consume"):
        out[f"tls_over_plain_{what}"] = out[f"tls_{what}_rec_s"] / out[f"plaintext_{what}_rec_s"]
    return out


def kavka(pki: Pki, tmp: Path, args: argparse.Namespace) -> dict:
    plain_port, tls_port = free_port(), free_port()
    b = BrokerProcess(
        tmp / "data",
        port=plain_port,
        overrides={
            "listeners": f"PLAINTEXT://127.0.0.1:{plain_port},SSL://127.0.0.1:{tls_port}",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": pki.broker_pem,
        },
    )
    b.start()
    try:
        return measure(b.cpu_seconds, plain_port, tls_port, pki.ca_pem, args)
    finally:
        b.stop()
        b.cleanup()


def kafka(pki: Pki, args: argparse.Namespace) -> dict:
    """The same on Apache Kafka (KAVKA_KAFKA_LIB): one KRaft node, the same PEM key store on an SSL
    listener, TLS 1.2/1.3 enabled (Kafka's default; both sides pick 1.3), no client certificate."""
    from kavka.testing.apache_kafka import ApacheKafka

    k = ApacheKafka()
    tls_port, h = free_port(), k.host
    k.overrides.update(
        {
            "listeners": f"PLAINTEXT://{h}:{k.port},CONTROLLER://{h}:{k.controller_port},SSL://{h}:{tls_port}",
            "advertised.listeners": f"PLAINTEXT://{h}:{k.port},SSL://{h}:{tls_port}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT,SSL:SSL",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": pki.broker_pem,
        }
    )
    k.start()
    try:
        assert k.popen is not None
        pid = k.popen.pid
        return measure(lambda: process_cpu_seconds(pid), k.port, tls_port, pki.ca_pem, args)
    finally:
        k.stop()
        k.cleanup()


FIGURES = (
    ("plaintext_produce_rec_s", "produce, plaintext, records/s"),
    ("tls_produce_rec_s", "produce, TLS, records/s"),
    ("plaintext_consume_rec_s", "consume, plaintext, records/s"),
    ("tls_consume_rec_s", "consume, TLS, records/s"),
    ("plaintext_cpu_ms_per_M_produce", "broker CPU ms per M produced, plaintext"),
    ("tls_cpu_ms_per_M_produce", "broker CPU ms per M produced, TLS"),
    ("plaintext_cpu_ms_per_M_consume", "broker CPU ms per M consumed, plaintext"),
    ("tls_cpu_ms_per_M_consume", "broker CPU ms per M consumed, TLS"),
    ("tls_handshakes_per_s", "TLS connections/s (handshake + ApiVersions)"),
    ("tls_cpu_ms_per_handshake", "broker CPU ms per TLS connection"),
    ("plain_connects_per_s", "plaintext connections/s (+ ApiVersions)"),
    ("plain_cpu_ms_per_connect", "broker CPU ms per plaintext connection"),
)


def side_by_side(kv: dict, kf: dict) -> None:
    """One line per figure: Kavka, Kafka, and Kavka / Kafka."""
    print(f"{'':46} {'Kavka':>12} {'Kafka':>12} {'Kavka/Kafka':>12}")
    for key, label in FIGURES:
        a, b = kv[key], kf[key]
        print(f"{label:46} {a:12,.1f} {b:12,.1f} {a / b if b else float('nan'):12.2f}")
    print(f"{'TLS negotiated':46} {kv['tls_negotiated']:>12} / {kf['tls_negotiated']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--size", type=int, default=100)
    ap.add_argument("--handshakes", type=int, default=500)
    ap.add_argument("--warmup", type=int, default=200_000, help="records produced on each listener first")
    ap.add_argument("--kafka", action="store_true", help="also Apache Kafka 4.4, the same way (needs KAVKA_KAFKA_LIB)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args(argv)

    out: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine()}
    with tempfile.TemporaryDirectory(prefix="kavka-bench-tls-") as tmp:
        pki = make_pki(Path(tmp) / "pki")
        kv = kavka(pki, Path(tmp), args)
        out.update(kv)
        if args.kafka:
            kf = kafka(pki, args)
            out.update({f"kafka_{k}": v for k, v in kf.items()})
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    report(out, args.json)
    if args.kafka:
        side_by_side(kv, kf)
    return 0


def produce_to(conf: dict, topic: str, records: int, size: int) -> dict:
    import produce_consume

    produce_consume.TOPIC = topic  # produce() writes to the module's TOPIC
    result = produce(conf, records, size)
    result.pop("producer")
    return result


if __name__ == "__main__":
    raise SystemExit(main())
