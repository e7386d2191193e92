"""Fetch is a long poll: the broker holds an empty fetch for up to fetch.wait.max.ms, and a produce
wakes it at once."""

from __future__ import annotations

import json
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, TopicPartition

from tests.clients.clientlib import Out, ck_consumer, ck_produce, kp_consumer

WAIT_MS = 10_000


def test_produce_wakes_waiting_fetch_confluent(bootstrap, create_topic):
    topic = create_topic()
    stats: dict = {}

    def on_stats(raw: str) -> None:
        doc = json.loads(raw)
        stats["fetch_requests"] = sum(
            b.get("req", {}).get("Fetch", 0) for b in doc["brokers"].values() if b.get("nodeid", -1) >= 0
        )

    consumer = ck_consumer(
        bootstrap, fetch_wait_max_ms=WAIT_MS, fetch_min_bytes=1, statistics_interval_ms=100, stats_cb=on_stats
    )
    try:
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        # Nothing to read: the consumer connects and parks a fetch at the broker.
        assert consumer.poll(1.0) is None
        before = stats.get("fetch_requests", 0)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 1.5:
            assert consumer.poll(0.1) is None
        # A broker that holds the fetch sees at most one or two in 1.5 s; one that ignored
        # max_wait_ms would get a new fetch after every empty answer.
        assert stats["fetch_requests"] - before <= 2, stats

        latencies = []
        for i in range(3):
            sent = {}

            def produce() -> None:
                sent["t"] = time.monotonic()
                ck_produce(bootstrap, topic, [Out(None, f"wake-{i}".encode(), partition=0)], linger_ms=0)

            t = threading.Thread(target=produce)
            t.start()
            msg = None
            deadline = time.monotonic() + WAIT_MS / 1000 + 5
            while msg is None and time.monotonic() < deadline:
                msg = consumer.poll(0.05)
            received = time.monotonic()
            t.join()
            assert msg is not None and msg.error() is None and msg.value() == f"wake-{i}".encode()
            latencies.append(received - sent["t"])
        # Producer connection set-up included; far below the 10 s the fetch may wait.
        assert max(latencies) < 1.5, latencies
    finally:
        consumer.close()


def test_produce_wakes_waiting_fetch_kafka_python(bootstrap, create_topic):
    from kafka import TopicPartition as KpTP

    topic = create_topic()
    consumer = kp_consumer(bootstrap, fetch_max_wait_ms=WAIT_MS, fetch_min_bytes=1)
    try:
        tp = KpTP(topic, 0)
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        assert consumer.poll(timeout_ms=1000) == {}  # connects and parks a fetch at the broker

        sent = time.monotonic()
        ck_produce(bootstrap, topic, [Out(None, b"wake", partition=0)], linger_ms=0)
        got = []
        while not got and time.monotonic() - sent < WAIT_MS / 1000 + 5:
            for msgs in consumer.poll(timeout_ms=50).values():
                got.extend(msgs)
        latency = time.monotonic() - sent
        assert [m.value for m in got] == [b"wake"]
        assert latency < 1.5, latency
    finally:
        consumer.close()
