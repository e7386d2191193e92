"""SyncGroup (key 14), v0–5.

The leader's SyncGroup carries every member's assignment; the coordinator writes it to
``__consumer_offsets`` and then answers every member. A follower's SyncGroup waits for that, so the
handler may return a future. v3 adds ``group_instance_id``; v5 the protocol type and name, checked
against the group's (INCONSISTENT_GROUP_PROTOCOL) and echoed back.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of, shaped
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


def _fit(response: dict) -> dict:
    response["throttle_time"] = 0
    return response


@handles(ApiKey.SYNC_GROUP, 0, 5)
def handle_sync_group(ctx, req):
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return _fit({"error_code": ErrorCode.group_authorization_failed, "assignment": b""})
    service = service_of(ctx)
    if service is None:
        return _fit({"error_code": ErrorCode.coordinator_not_available, "assignment": b""})
    result = service.call(
        service.coordinator.sync_group,
        group_id=req.group_id,
        generation_id=req.generation_id,
        member_id=req.member_id,
        assignments=[(a.member_id, a.assignment) for a in req.assignments],
        group_instance_id=getattr(req, "group_instance_id", None),
        protocol_type=getattr(req, "protocol_type", None),
        protocol_name=getattr(req, "protocol_name", None),
    )
    return shaped(result, _fit)
