"""request_percentage (KIP-124) on both brokers: a client id allowed 0.01% of a request-handler thread
is throttled within a few requests (at most one window, 1000 ms, as Kafka bounds it), the connection
is muted that long, and other client ids are not throttled."""

from __future__ import annotations

import uuid

import pytest

from tests.security.quotawire import QuotaConn, set_quota

METADATA = 3
_BODY = {"topics": [], "allow_auto_topic_creation": False, "include_topic_authorized_operations": False}


def _until_throttled(conn: QuotaConn) -> tuple[int, int]:
    """(requests sent, throttle time) once an answer carries a throttle time."""
    for n in range(1, 2001):
        answer, _ = conn.request(METADATA, 12, _BODY)
        if answer["throttle_time"]:
            return n, answer["throttle_time"]
    raise AssertionError("2000 Metadata requests and no throttle time")


@pytest.mark.parametrize("side", ["kafka", "kavka"])
def test_request_percentage_throttles(side, apache_kafka, broker):
    bootstrap = apache_kafka.bootstrap if side == "kafka" else broker.bootstrap
    client_id = f"busy-{uuid.uuid4().hex[:8]}"
    set_quota(bootstrap, [("client-id", client_id)], {"request_percentage": 0.01})
    conn = QuotaConn(bootstrap, client_id)
    sent, throttle = _until_throttled(conn)
    assert 0 < throttle <= 1000, (sent, throttle)
    _, seconds = conn.request(METADATA, 12, _BODY)
    assert seconds >= throttle / 1000 - 0.1  # muted: the next request was not read before the time was up
    conn.close()
    other = QuotaConn(bootstrap, client_id + "-other")
    assert all(other.request(METADATA, 12, _BODY)[0]["throttle_time"] == 0 for _ in range(sent + 5))
    other.close()
    # removing the quota lifts it
    set_quota(bootstrap, [("client-id", client_id)], {"request_percentage": None})
    conn = QuotaConn(bootstrap, client_id)
    assert all(conn.request(METADATA, 12, _BODY)[0]["throttle_time"] == 0 for _ in range(sent + 5))
    conn.close()


@pytest.mark.parametrize("side", ["kafka", "kavka"])
def test_request_percentage_does_not_count_a_long_poll_wait(side, apache_kafka, broker, create_topic):
    """1% of a handler thread is 100 ms over Kafka's 10 s window; three Fetch long polls of 400 ms on an
    empty topic wait 1.2 s but take the broker almost no time: no throttling."""
    bootstrap = apache_kafka.bootstrap if side == "kafka" else broker.bootstrap
    topic = create_topic(bootstrap=bootstrap)
    client_id = f"poller-{uuid.uuid4().hex[:8]}"
    set_quota(bootstrap, [("client-id", client_id)], {"request_percentage": 1.0})
    conn = QuotaConn(bootstrap, client_id)
    part = {"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}
    body = {
        "max_wait": 400,
        "min_bytes": 1,
        "topics": [{"topic": topic, "partitions": [part]}],
        "forgotten_topics_data": [],
    }
    answers = [conn.request(1, 12, body) for _ in range(3)]
    conn.close()
    assert all(seconds >= 0.3 for _, seconds in answers)  # each one did wait
    assert [a["throttle_time"] for a, _ in answers] == [0, 0, 0]
