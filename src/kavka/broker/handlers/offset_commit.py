"""OffsetCommit (key 8), v2–9.

Offsets (with their metadata strings) go to ``__consumer_offsets`` before the answer. Members of a
group must give its generation and their member id; with generation -1 and no member id (a consumer
using ``assign()``, or an admin) commits are taken while the group has no members. v2–4 carry a
retention time (-1: the broker's ``offsets.retention.minutes``); v6 the leader epoch of each
offset; v7 ``group_instance_id``; v9 answers GROUP_ID_NOT_FOUND (not ILLEGAL_GENERATION) for a group
that does not exist. A member of a KIP-848 consumer group commits with v9+ and its member epoch as the
generation (UNKNOWN_MEMBER_ID, UNSUPPORTED_VERSION below v9, STALE_MEMBER_EPOCH for another epoch).
A partition the cluster does not have gets UNKNOWN_TOPIC_OR_PARTITION and is not committed; the
others are.
"""

from kavka.broker.group_service import millis, service_of, split_unknown_partitions
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.OFFSET_COMMIT, 2, 9)
def handle_offset_commit(ctx, req):
    topics = [
        (
            t.name,
            [
                (p.partition_index, p.committed_offset, getattr(p, "committed_leader_epoch", -1), p.committed_metadata)
                for p in t.partitions
            ],
        )
        for t in req.topics
    ]
    service = service_of(ctx)
    if service is None:
        return {
            "throttle_time": 0,
            "topics": [
                {
                    "name": name,
                    "partitions": [
                        {"partition_index": p[0], "error_code": ErrorCode.coordinator_not_available} for p in parts
                    ],
                }
                for name, parts in topics
            ],
        }
    topics, unknown = split_unknown_partitions(ctx.broker, topics)
    if not topics:
        return {"throttle_time": 0, "topics": unknown}
    retention = millis(req.retention_time) if 2 <= ctx.version <= 4 else -1
    result = service.call(
        service.coordinator.commit_offsets,
        group_id=req.group_id,
        generation_id=req.generation_id_or_member_epoch,
        member_id=req.member_id,
        topics=topics,
        group_instance_id=getattr(req, "group_instance_id", None),
        retention_ms=retention,
        api_version=ctx.version,
    )
    return dict(result, throttle_time=0, topics=list(result["topics"]) + unknown)
