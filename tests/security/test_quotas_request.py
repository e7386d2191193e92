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
