"""Heartbeat (key 12), v0–4.

Keeps a member's session alive and tells it when to rejoin: REBALANCE_IN_PROGRESS during a
rebalance, ILLEGAL_GENERATION / UNKNOWN_MEMBER_ID / FENCED_INSTANCE_ID when it is out of date.
v3 adds ``group_instance_id``.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.HEARTBEAT, 0, 4)
def handle_heartbeat(ctx, req):
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return {"throttle_time": 0, "error_code": ErrorCode.group_authorization_failed}
    service = service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available}
    result = service.call(
        service.coordinator.heartbeat,
        group_id=req.group_id,
        generation_id=req.generation_id,
        member_id=req.member_id,
        group_instance_id=getattr(req, "group_instance_id", None),
    )
    return {"throttle_time": 0, "error_code": result["error_code"]}
