"""Measured throughput under a byte-rate quota, with confluent-kafka clients that try to exceed it:
the rate the broker lets through stays within 10% of the quota (KIP-13 / KIP-219: the client is told
the throttle time and its connection is muted meanwhile, so it slows down instead of failing).

The broker measures rates over ``quota.window.num`` windows of ``quota.window.size.seconds``; with
Kafka's default 11 × 1 s a client may first send ten seconds' worth at once, so these brokers use
2 × 1 s windows (a Kafka config) to reach the steady state quickly. The steady state is periodic
(a window expires, the client sends a burst, is throttled, waits), one period being the windows'
span: what is measured is the bytes acknowledged (produce) or received (fetch) over two periods,
from second 2 to second 6.
"""

from __future__ import annotations

import time
import uuid

import pytest
from confluent_kafka import Consumer, Producer

from kavka.testing.process import create_topic as create_on
from tests.security.quotawire import set_quota

QUOTA = 2_000_000  # bytes/s
VALUE = b"q" * 10_000
WARMUP, MEASURE = 2.0, 4.0


def _rate(events: list[tuple[float, int]], start: float) -> float:
    """Bytes per second of ``events`` (time, bytes) in [start + WARMUP, start + WARMUP + MEASURE)."""
    lo, hi = start + WARMUP, start + WARMUP + MEASURE
    return sum(n for t, n in events if lo <= t < hi) / MEASURE


@pytest.fixture
def quota_broker(broker_factory):
    return broker_factory(overrides={"quota.window.num": 2, "quota.window.size.seconds": 1})


def test_produce_throughput_stays_within_the_quota(quota_broker):
    bootstrap = quota_broker.bootstrap
    client_id = f"fast-producer-{uuid.uuid4().hex[:6]}"
    topic = f"quota-produce-{uuid.uuid4().hex[:6]}"
    create_on(bootstrap, topic)
    set_quota(bootstrap, [("client-id", client_id)], {"producer_byte_rate": float(QUOTA)})
    acked: list[tuple[float, int]] = []
    conf = {"client.id": client_id, "linger.ms": 5, "acks": 1, "batch.size": 100_000}
    p = Producer({"bootstrap.servers": bootstrap, **conf, "queue.buffering.max.kbytes": 4000})

    def delivered(err, msg):
        if err is None:  # (what is still queued at the end is purged)
            acked.append((time.monotonic(), len(msg.value())))

    start = time.monotonic()
    while time.monotonic() < start + WARMUP + MEASURE:
        try:
            p.produce(topic, VALUE, on_delivery=delivered)
        except BufferError:  # the client's queue is full: it is being throttled, as meant
            p.poll(0.01)
        p.poll(0)
    p.purge()
    p.flush(10)
    rate = _rate(acked, start)
    print(f"produce: {rate:.0f} B/s against {QUOTA}")
    assert abs(rate - QUOTA) <= 0.1 * QUOTA, f"{rate:.0f} B/s against a quota of {QUOTA} B/s"


def test_fetch_throughput_stays_within_the_quota(quota_broker):
    bootstrap = quota_broker.bootstrap
    client_id = f"fast-consumer-{uuid.uuid4().hex[:6]}"
    topic = f"quota-fetch-{uuid.uuid4().hex[:6]}"
    create_on(bootstrap, topic)
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 20})
    for _ in range(int(QUOTA * (WARMUP + MEASURE + 3) / len(VALUE))):
        while True:
            try:
                p.produce(topic, VALUE)
                break
            except BufferError:
                p.poll(0.05)
    assert p.flush(60) == 0
    set_quota(bootstrap, [("client-id", client_id)], {"consumer_byte_rate": float(QUOTA)})
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "client.id": client_id,
            "group.id": client_id,
            "auto.offset.reset": "earliest",
            "max.partition.fetch.bytes": 262_144,
            "enable.auto.commit": False,
        }
    )
    c.subscribe([topic])
    received: list[tuple[float, int]] = []
    start = None
    try:
        while start is None or time.monotonic() < start + WARMUP + MEASURE:
            msg = c.poll(0.1)
            if msg is None or msg.error():
                continue
            now = time.monotonic()
            start = now if start is None else start
            received.append((now, len(msg.value())))
    finally:
        c.close()
    rate = _rate(received, start)
    print(f"fetch: {rate:.0f} B/s against {QUOTA}")
    assert abs(rate - QUOTA) <= 0.1 * QUOTA, f"{rate:.0f} B/s against a quota of {QUOTA} B/s"
