"""CreatePartitions (key 37), v0–3.

Grow a topic to ``count`` partitions, placed by the controller or as ``assignments`` say (one broker
list per new partition). Only an increase: the same count is INVALID_PARTITIONS ``Topic already has 3
partition(s).``, a lower one ``The topic t currently has 3 partition(s); 2 would not be an increase.``
(Kafka 4's controller messages); an unknown topic has no message, and a topic named twice answers once
(INVALID_REQUEST). ``validate_only`` answers without committing; committed partitions get
their logs at once, so producers see them on their next metadata refresh.
"""

from dataclasses import replace

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.mutation_quotas import mutation_quota, throttle_time
from kavka.broker.registry import handles
from kavka.controller.topics import CreatePartitionsTopic
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.CREATE_PARTITIONS, 0, 3)
def handle_create_partitions(ctx, req):
    allowed, merge = split_before_forwarding(ctx, req)
    return merge(_create(ctx, req, allowed.topics) if allowed is not None else None)


def split_before_forwarding(ctx, req):
    """Kafka's ControllerApis check, where the client's principal is known: ALTER on each topic, else
    TOPIC_AUTHORIZATION_FAILED (no message), answered before the others. Returns (the request with the
    alterable topics or None; a function from the answer to those to the whole answer)."""
    alterable = authz.filter_authorized(ctx, AclOperation.ALTER, ResourceType.TOPIC, (t.name for t in req.topics))
    denied = {
        t.name: {"name": t.name, "error_code": ErrorCode.topic_authorization_failed, "error_message": None}
        for t in req.topics
        if t.name not in alterable
    }
    kept = [t for t in req.topics if t.name in alterable]

    def merge(answer):
        results = list(answer["results"] if isinstance(answer, dict) else answer.results) if answer else []
        throttle = (answer["throttle_time"] if isinstance(answer, dict) else answer.throttle_time) if answer else 0
        return {"throttle_time": throttle, "results": [*denied.values(), *results]}

    return (replace(req, topics=tuple(kept)) if kept else None), merge


def _create(ctx, req, requested):
    if not requested:
        return {"throttle_time": 0, "results": []}
    topics = [
        CreatePartitionsTopic(
            name=t.name,
            count=t.count,
            assignments=None if t.assignments is None else [list(a.broker_ids) for a in t.assignments],
        )
        for t in requested
    ]
    validate_only = bool(req.validate_only)
    quota = mutation_quota(ctx)  # controller_mutation_rate: THROTTLING_QUOTA_EXCEEDED per topic (v3+)
    admit = None if quota is None else quota.admit
    results, _ = ctx.broker.controller.create_partitions(topics, validate_only=validate_only, admit=admit)
    # As Kafka: one result per topic name (a name twice in the request answers once), and an unknown
    # topic's UNKNOWN_TOPIC_OR_PARTITION carries no message.
    unique: dict[str, dict] = {}
    for r in results:
        message = None if r.error_code == ErrorCode.unknown_topic_or_partition else r.error_message
        unique.setdefault(r.name, {"name": r.name, "error_code": r.error_code, "error_message": message})
    return {"throttle_time": throttle_time(ctx, quota), "results": list(unique.values())}


handle_create_partitions.split_before_forwarding = split_before_forwarding
