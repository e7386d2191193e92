"""OffsetFetch (key 9), v1–9.

Committed offsets of a group, with their leader epoch (v5+) and metadata; -1 for partitions without
one. A null topic list (v2+) asks for every partition the group has an offset for. v8+ asks for many
groups at once and answers per group. v9 (KIP-848) may name the member asking, with its member id
and epoch: for a consumer group they must be a current member's (UNKNOWN_MEMBER_ID,
STALE_MEMBER_EPOCH as the group's error otherwise); a null member id with epoch -1 is not checked.
v1 has no top-level error code, so a group-level error is put on every partition.
"""

from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


def _fetch(service, group_id, topics, require_stable, member_id=None, member_epoch=-1) -> dict:
    wanted = None if topics is None else [(t.name, list(t.partition_indexes)) for t in topics]
    if service is None:
        return {"group_id": group_id, "error_code": ErrorCode.coordinator_not_available, "topics": []}
    return service.coordinator.fetch_offsets(group_id, wanted, require_stable, member_id, int(member_epoch))


@handles(ApiKey.OFFSET_FETCH, 1, 9)
def handle_offset_fetch(ctx, req):
    service = service_of(ctx)
    require_stable = bool(getattr(req, "require_stable", False))
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
