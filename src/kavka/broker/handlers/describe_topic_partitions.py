"""DescribeTopicPartitions (key 75), v0: topics and their partitions, a page at a time (KIP-966).

What Kafka's ``DescribeTopicPartitionsRequestHandler`` and ``KRaftMetadataCache`` answer, and what the
Java admin's ``describeTopics`` and kafka-python's ``describe_topic_partitions`` read:

- An empty topic list means every topic. Topics are answered in name order, from the cursor's topic
  on (names below it are skipped); a named list must contain the cursor's topic, and the cursor's
  partition must not be negative, or every named topic gets INVALID_REQUEST.
- At most ``response_partition_limit`` partitions (bounded to 1..2000, Kafka's
  ``max.request.partition.size.limit``) are answered; the cursor's topic starts at the cursor's
  partition. When a topic does not fit, its first part is answered and ``next_cursor`` names the first
  partition left out; when the limit is used up exactly, ``next_cursor`` is the next topic at 0.
- A named topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION, or INVALID_TOPIC_EXCEPTION for an
  illegal name (Kafka answers a request naming "" with no cursor UNKNOWN_SERVER_ERROR, from a null
  cursor it reads; Kavka answers INVALID_TOPIC_EXCEPTION for that topic).
- Per partition: leader (-1 if not alive), leader epoch, replicas, ISR, offline replicas, and the
  eligible leader replicas and last known ELR, which are empty: Kavka keeps no ELR (KIP-966), as Kafka
  without ``eligible.leader.replicas.version``.
- ``topic_authorized_operations`` is every topic operation, for there is no authorizer.
"""

from kavka.broker import authz
from kavka.broker.acl_operations import TOPIC_OPERATIONS, authorized_operations
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.controller.topics import ZERO_UUID, topic_name_error
from kavka.metadata.internal_topics import is_internal
from kavka.protocol.api import ApiKey, ErrorCode

# max.request.partition.size.limit's default: Kafka's bound on the partitions of one answer.
MAX_PARTITIONS = 2000


def _partition(index: int, p, alive: set[int]) -> dict:
    return {
        "error_code": 0,
        "partition_index": index,
        "leader_id": p.leader if p.leader in alive else -1,
        "leader_epoch": p.leader_epoch,
        "replica_nodes": list(p.replicas),
        "isr_nodes": list(p.isr),
        "eligible_leader_replicas": [],
        "last_known_elr": [],
        "offline_replicas": [r for r in p.replicas if r not in alive],
    }


def _error_response(req, code: int) -> dict:
    """Kafka's ``DescribeTopicPartitionsRequest.getErrorResponse``: the error on every named topic."""
    return {
        "throttle_time": 0,
        "next_cursor": None,
        "topics": [
            {"error_code": code, "name": t.name, "topic_id": ZERO_UUID, "is_internal": False, "partitions": []}
            for t in req.topics
        ],
    }


@handles(ApiKey.DESCRIBE_TOPIC_PARTITIONS, 0, 0)
def handle_describe_topic_partitions(ctx, req):
    broker = ctx.broker
    cursor = req.cursor
    cursor_topic = cursor.topic_name if cursor is not None else ""
    fetch_all = not req.topics
    if fetch_all:
        names = {t.name for t in broker.topics() if t.name >= cursor_topic}
    else:
        names = {t.name for t in req.topics if t.name >= cursor_topic}
        if cursor is not None and cursor.topic_name not in names:
            return _error_response(req, ErrorCode.invalid_request)
    if cursor is not None and cursor.partition_index < 0:
        return _error_response(req, ErrorCode.invalid_request)
    refused: list[dict] = []
    secured = authz.enabled(ctx)
    if secured:  # Kafka: only topics the principal may DESCRIBE; a named one refused is TOPIC_AUTHORIZATION_FAILED
        allowed = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, names)
        if not fetch_all:
            refused = [
                {
                    "error_code": ErrorCode.topic_authorization_failed,
                    "name": n,
                    "topic_id": ZERO_UUID,
                    "is_internal": False,
                    "partitions": [],
                }
                for n in sorted(names - allowed)
            ]
        names = names & allowed

    alive = {b.node_id for b in broker.live_brokers()}
    remaining = max(min(MAX_PARTITIONS, int(req.response_partition_limit)), 1)
    topics: list[dict] = []
    next_cursor = None
    for name in sorted(names):
        if remaining == 0:
            # The limit is used up: the next page starts at this topic (which may not exist).
            next_cursor = {"topic_name": name, "partition_index": 0}
            break
        topic = broker.topic(name)
        if topic is None:
            if not fetch_all:
                error = topic_name_error(name)
                topics.append(
                    {
                        "error_code": ErrorCode.invalid_topic_exception
                        if error
                        else ErrorCode.unknown_topic_or_partition,
                        "name": name,
                        "topic_id": ZERO_UUID,
                        "is_internal": is_internal(name),
                        "partitions": [],
                        "topic_authorized_operations": TOPIC_OPERATIONS,
                    }
                )
            continue
        start = cursor.partition_index if cursor is not None and name == cursor_topic else 0
        count = len(topic.partitions)
        upper = min(count, start + remaining)
        partitions = [_partition(i, topic.partitions[i], alive) for i in range(start, upper) if i in topic.partitions]
        topics.append(
            {
                "error_code": 0,
                "name": name,
                "topic_id": topic.topic_id,
                "is_internal": is_internal(name),
                "partitions": partitions,
                "topic_authorized_operations": TOPIC_OPERATIONS,
            }
        )
        if upper < count:
            next_cursor = {"topic_name": name, "partition_index": upper}
            break
        remaining -= len(partitions)
    if secured:
        for t in topics:
            t["topic_authorized_operations"] = authorized_operations(ctx, ResourceType.TOPIC, t["name"])
    return {"throttle_time": 0, "topics": [*topics, *refused], "next_cursor": next_cursor}
