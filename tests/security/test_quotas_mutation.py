"""controller_mutation_rate (KIP-599) against Apache Kafka: the same requests on both brokers, the same
answers. Quota 1 partition/s with Kafka's default windows (11 × 1 s): a bucket of 11 tokens that starts
full. A 12-partition topic is admitted (the bucket goes to -1); the next topic is refused with
THROTTLING_QUOTA_EXCEEDED and ~1 s of throttle time on the versions whose clients know the error, and
admitted but throttled on older ones. The quota is per client id: another client id is not limited.
"""

from __future__ import annotations

import uuid

from tests.oracle.oraclewire import create_topics_body
from tests.security.quotawire import QuotaConn, set_quota

CREATE_TOPICS, DELETE_TOPICS, CREATE_PARTITIONS = 19, 20, 37
THROTTLED = 89


def _create(conn: QuotaConn, version: int, name: str, partitions: int) -> tuple[int, str | None, int]:
    body = create_topics_body(name, partitions)
    answer, _ = conn.request(CREATE_TOPICS, version, body)
    [topic] = answer["topics"]
    return topic["error_code"], topic["error_message"], answer["throttle_time"]


def _scenario(bootstrap: str) -> dict:
    suffix = uuid.uuid4().hex[:8]
    client_id, other_id = f"mutator-{suffix}", f"free-{suffix}"
    set_quota(bootstrap, [("client-id", client_id)], {"controller_mutation_rate": 1.0})
    big, small, old, grown = (f"mq-{suffix}-{n}" for n in ("big", "small", "old", "grown"))
    seen: dict = {}
    conn = QuotaConn(bootstrap, client_id)
    seen["big admitted"] = _create(conn, 7, big, 12)  # 11 tokens -> -1: admitted, nothing to wait yet
    seen["next refused"] = _create(conn, 7, small, 1)
    conn.close()
    # a new connection is not muted, and the client id's bucket is shared by its connections
    conn = QuotaConn(bootstrap, client_id)
    answer, _ = conn.request(
        CREATE_PARTITIONS,
        3,
        {"topics": [{"name": big, "count": 13, "assignments": None}], "timeout": 30000, "validate_only": False},
    )
    seen["grow refused"] = (
        answer["results"][0]["error_code"],
        answer["results"][0]["error_message"],
        answer["throttle_time"],
    )
    conn.close()
    conn = QuotaConn(bootstrap, client_id)
    answer, _ = conn.request(
        DELETE_TOPICS,
        6,
        {"topics": [{"name": big, "topic_id": "00000000-0000-0000-0000-000000000000"}], "timeout": 30000},
    )
    seen["delete refused"] = (
        answer["responses"][0]["error_code"],
        answer["responses"][0]["error_message"],
        answer["throttle_time"],
    )
    conn.close()
    # CreateTopics v5 predates the error: the topic is created, and the answer throttles the client
    conn = QuotaConn(bootstrap, client_id)
    seen["old version admitted"] = _create(conn, 5, old, 1)
    conn.close()
    free = QuotaConn(bootstrap, other_id)
    seen["other client"] = _create(free, 7, grown, 3)
    free.close()
    return seen


def _shape(seen: dict) -> dict:
    """The answers with the throttle times as 0, ~1 s (refused: the bucket at about -1) or more."""

    def bucket(ms: int) -> str:
        return "0" if ms == 0 else "~1s" if 700 <= ms <= 1100 else "more" if ms > 1100 else f"{ms}ms"

    return {k: (code, message, bucket(ms)) for k, (code, message, ms) in seen.items()}


def test_controller_mutation_rate_as_kafka(apache_kafka, broker):
    kafka, kavka = _shape(_scenario(apache_kafka.bootstrap)), _shape(_scenario(broker.bootstrap))
    assert kavka == kafka
    assert (
        kavka["next refused"][0] == THROTTLED
        and kavka["big admitted"][0] == 0
        and kavka["other client"] == (0, None, "0")
    )
