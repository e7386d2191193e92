"""OffsetFetch (key 9), v1–10.

Committed offsets of a group, with their leader epoch (v5+) and metadata; -1 for partitions without
one. A null topic list (v2+) asks for every partition the group has an offset for. v8+ asks for many
groups at once and answers per group. v9 (KIP-848) may name the member asking, with its member id
and epoch: for a consumer group they must be a current member's (UNKNOWN_MEMBER_ID,
STALE_MEMBER_EPOCH as the group's error otherwise); a null member id with epoch -1 is not checked.
v10 (KIP-848) names topics by id, asked and answered; an id the metadata does not know gets
UNKNOWN_TOPIC_ID on each partition asked (offset -1), and a fetch of all topics lists those the
metadata still knows, by id. v1 has no top-level error code, so a group-level error is put on every
partition.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


def _fetch(service, group_id, topics, require_stable, member_id=None, member_epoch=-1, ctx=None) -> dict:
    if ctx is not None and authz.enabled(ctx):
        return _fetch_authorized(ctx, service, group_id, topics, require_stable, member_id, member_epoch)
    wanted = None if topics is None else [(t.name, list(t.partition_indexes)) for t in topics]
    if service is None:
        return {"group_id": group_id, "error_code": ErrorCode.coordinator_not_available, "topics": []}
    return service.coordinator.fetch_offsets(group_id, wanted, require_stable, member_id, int(member_epoch))


def _fetch_authorized(ctx, service, group_id, topics, require_stable, member_id, member_epoch) -> dict:
    """Kafka's checks: DESCRIBE on the group (else GROUP_AUTHORIZATION_FAILED), DESCRIBE on each topic
    (a named one refused is TOPIC_AUTHORIZATION_FAILED on its partitions, after the others; a fetch of
    every topic leaves the refused ones out)."""
    if not authz.authorize(ctx, AclOperation.DESCRIBE, ResourceType.GROUP, group_id):
        return {"group_id": group_id, "error_code": ErrorCode.group_authorization_failed, "topics": []}
    if topics is None:
        result = _fetch(service, group_id, None, require_stable, member_id, member_epoch)
        allowed = authz.filter_authorized(
            ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, (t["name"] for t in result["topics"])
        )
        return dict(result, topics=[t for t in result["topics"] if t["name"] in allowed])
    allowed = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, (t.name for t in topics))
    result = _fetch(
        service, group_id, [t for t in topics if t.name in allowed], require_stable, member_id, member_epoch
    )
    denied = [
        {
            "name": t.name,
            "partitions": [
                {
                    "partition_index": i,
                    "committed_offset": -1,
                    "committed_leader_epoch": -1,
                    "metadata": "",
                    "error_code": ErrorCode.topic_authorization_failed,
                }
                for i in t.partition_indexes
            ],
        }
        for t in topics
        if t.name not in allowed
    ]
    if not denied or result["error_code"]:  # Kafka adds them only to a group answered without error
        return result
    return dict(result, topics=[*result["topics"], *denied])


class _Named:
    """A v10 request topic seen by name, as the coordinator reads offsets by name."""

    __slots__ = ("name", "partition_indexes")

    def __init__(self, name: str, partition_indexes) -> None:
        self.name, self.partition_indexes = name, partition_indexes


def _fetch_by_id(ctx, service, g, require_stable) -> dict:
    """One group of a v10 request: topic ids resolved to names, the answer named by id again."""
    broker = ctx.broker
    named, unknown = [], []
    if g.topics is not None:
        for t in g.topics:
            topic = broker.topic_by_id(t.topic_id)
            if topic is None:
                unknown.append(
                    {
                        "topic_id": t.topic_id,
                        "partitions": [
                            {
                                "partition_index": i,
                                "committed_offset": -1,
                                "committed_leader_epoch": -1,
                                "metadata": "",
                                "error_code": ErrorCode.unknown_topic_id,
                            }
                            for i in t.partition_indexes
                        ],
                    }
                )
            else:
                named.append(_Named(topic.name, t.partition_indexes))
    if g.topics is not None and not named:
        result = {"group_id": g.group_id, "error_code": ErrorCode.none, "topics": []}
        if service is None:
            result["error_code"] = ErrorCode.coordinator_not_available
        else:
            checked = _fetch(service, g.group_id, [], require_stable, g.member_id, g.member_epoch)
            result["error_code"] = checked["error_code"]
    else:
        result = _fetch(
            service, g.group_id, None if g.topics is None else named, require_stable, g.member_id, g.member_epoch
        )
    topics = []
    for t in result["topics"]:
        topic = broker.topic(t["name"])
        if topic is not None:
            topics.append({"topic_id": topic.topic_id, "partitions": t["partitions"]})
    if result["error_code"]:
        return {"group_id": g.group_id, "error_code": result["error_code"], "topics": []}
    return dict(result, topics=topics + unknown)


@handles(ApiKey.OFFSET_FETCH, 1, 10)
def handle_offset_fetch(ctx, req):
    service = service_of(ctx)
    require_stable = bool(getattr(req, "require_stable", False))
    if ctx.version >= 10:
        return {"throttle_time": 0, "groups": [_fetch_by_id(ctx, service, g, require_stable) for g in req.groups]}
    if ctx.version >= 8:
        return {
            "throttle_time": 0,
            "groups": [
                _fetch(
                    service,
                    g.group_id,
                    g.topics,
                    require_stable,
                    getattr(g, "member_id", None),
                    getattr(g, "member_epoch", -1),
                    ctx,
                )
                for g in req.groups
            ],
        }
    result = _fetch(service, req.group_id, req.topics, require_stable, ctx=ctx)
    if ctx.version < 2 and result["error_code"]:
        code = result["error_code"]
        result = {
            "topics": [
                {
                    "name": t.name,
                    "partitions": [
                        {"partition_index": i, "committed_offset": -1, "metadata": "", "error_code": code}
                        for i in t.partition_indexes
                    ],
                }
                for t in req.topics
            ]
        }
    return dict(result, throttle_time=0)
