"""LeaveGroup (key 13), v0–5.

v0–2 name one member; v3+ a batch of members, each by member id and/or group instance id (an empty
member id with an instance id removes that static member, as an administrator may), with an error
per member. The group rebalances once for the whole batch. Answering v0–2, the top-level error is
the member's.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.LEAVE_GROUP, 0, 5)
def handle_leave_group(ctx, req):
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return {"throttle_time": 0, "error_code": ErrorCode.group_authorization_failed, "members": []}
    service = service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available, "members": []}
    if ctx.version >= 3:
        members = [(m.member_id, m.group_instance_id) for m in req.members]
    else:
        members = [(req.member_id, None)]
    result = service.call(service.coordinator.leave_group, group_id=req.group_id, members=members)
    code = result["error_code"]
    if ctx.version < 3 and not code and result["members"]:
        code = result["members"][0]["error_code"]
    return {"throttle_time": 0, "error_code": code, "members": result["members"]}
