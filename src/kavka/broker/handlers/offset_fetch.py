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

from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


def _fetch(service, group_id, topics, require_stable, member_id=None, member_epoch=-1) -> dict:
    wanted = None if topics is None else [(t.name, list(t.partition_indexes)) for t in topics]
    if service is None:
        return {"group_id": group_id, "error_code": ErrorCode.coordinator_not_available, "topics": []}
    return service.coordinator.fetch_offsets(group_id, wanted, require_stable, member_id, int(member_epoch))


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
                )
                for g in req.groups
            ],
        }
    result = _fetch(service, req.group_id, req.topics, require_stable)
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
