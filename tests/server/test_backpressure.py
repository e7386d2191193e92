"""A client that sends requests and never reads the answers cannot make the broker hold its responses:
the connection is muted (no request dispatched, the socket not read) while its responses are not being
drained, so the broker's memory stays bounded and other clients are served as usual.

And ``queued.max.request.bytes`` (Kafka's budget of request bytes read but not yet handled): while it is
used up, no connection's next request is read; it is handled once bytes come back.
"""

from __future__ import annotations

import time

from confluent_kafka import Producer

from kavka.testing.process import create_topic, wait_until
from tests.server.rawwire import MB, api_versions, connect, fetch, proc_status, read_frame, readable_within, round_trip


def _fill(bootstrap: str, topic: str, mb: int) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "batch.size": 900_000})
    value = bytes(range(256)) * 400  # ~100 KB, incompressible enough not to matter (no compression)
    for _ in range(mb * 10):
        p.produce(topic, value)
        p.poll(0)
    assert p.flush(30) == 0


def test_pipelined_fetches_never_read_stay_bounded(broker_factory):
    broker = broker_factory()
    topic = create_topic(broker.bootstrap, "pipelined", 1)
    _fill(broker.bootstrap, topic, 2)
    rss_before = proc_status(broker.pid, "VmRSS")
    hog = connect(broker.bootstrap, rcvbuf=32 * 1024)
    try:
        # 300 Fetch requests of ~2 MB answers each, back to back, and never a byte read: answering them
        # all would hold ~600 MB in the broker.
        hog.sendall(b"".join(fetch(topic, i, 2 * MB) for i in range(300)))
        # Other clients are still served while the hog is stuck...
        assert round_trip(broker.bootstrap)
        p = Producer({"bootstrap.servers": broker.bootstrap})
        p.produce(topic, b"after the hog")
        assert p.flush(10) == 0
        # ...and the broker holds about one response for the hog, not 300.
        grown_mb = (proc_status(broker.pid, "VmRSS") - rss_before) / 1024
        assert grown_mb < 100, f"broker RSS grew {grown_mb:.0f} MB for a client that reads nothing"
    finally:
        hog.close()
    assert round_trip(broker.bootstrap)


def test_requests_over_queued_max_request_bytes_wait(broker_factory):
    # The budget is the smallest Kafka allows (socket.request.max.bytes), and one long-polling Fetch of
    # exactly that size takes all of it: while it waits for data, no other request is read.
    budget = 4096
    broker = broker_factory(overrides={"queued.max.request.bytes": budget, "socket.request.max.bytes": budget})
    topic = create_topic(broker.bootstrap, "waiting", 1)
    poller = connect(broker.bootstrap)
    other = connect(broker.bootstrap)
    try:
        for s in (poller, other):  # both accepted and served once, so only the budget differs below
            s.sendall(api_versions(0))
            read_frame(s)
        poller.sendall(fetch(topic, 1, MB, max_wait_ms=3000, size=budget))
        t0 = time.monotonic()
        # Both sockets may turn readable in the same loop turn and ``other`` be read first; then its
        # answer comes at once and the Fetch (already on the wire) is read right after. Two tries.
        held = False
        for correlation_id in (2, 3):
            other.sendall(api_versions(correlation_id))
            if not readable_within(other, 0.5):
                held = True
                break
            read_frame(other)
        assert held, f"ApiVersions answered while the budget was used up (Fetch answered: {readable_within(poller, 0)})"
        read_frame(poller)  # the long poll ends after max_wait_ms and gives its bytes back
        assert len(read_frame(other)) > 0  # then the waiting request is read and answered
        assert time.monotonic() - t0 >= 1.0
    finally:
        poller.close()
        other.close()
    wait_until(lambda: round_trip(broker.bootstrap), 10)


def test_answers_behind_a_long_poll_are_not_piled_up(broker_factory):
    broker = broker_factory()
    empty = create_topic(broker.bootstrap, "empty", 1)
    full = create_topic(broker.bootstrap, "full", 1)
    _fill(broker.bootstrap, full, 2)
    rss_before = proc_status(broker.pid, "VmRSS")
    with connect(broker.bootstrap, timeout=30) as s:
        # A long poll first, then 60 Fetch requests with ~2 MB answers each: those answers must wait
        # for the long poll (responses go in order), and the broker must not compute all 60 meanwhile.
        s.sendall(fetch(empty, 0, MB, max_wait_ms=3000) + b"".join(fetch(full, i, 2 * MB) for i in range(1, 61)))
        assert round_trip(broker.bootstrap)  # the broker has had its turn at the pipelined requests
        grown_mb = (proc_status(broker.pid, "VmRSS") - rss_before) / 1024
        assert grown_mb < 60, f"broker RSS grew {grown_mb:.0f} MB while a long poll held the line"
        for _ in range(61):  # and every answer still comes, in order
            read_frame(s)
