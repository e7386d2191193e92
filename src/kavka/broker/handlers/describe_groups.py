"""DescribeGroups (key 15), v0–5.

State, protocol type, protocol (Stable groups only) and members with client id, host, metadata and
assignment bytes, carried as the clients sent them. A group that does not exist is described as
"Dead" with no error (as Kafka does before v6). v4 adds each member's ``group_instance_id``.
From v3, ``include_authorized_operations`` puts every group operation on each result without an
error (Kafka's ``KafkaApis.handleDescribeGroupsRequest`` with no authorizer); otherwise INT32_MIN.
"""

from kavka.broker.acl_operations import GROUP_OPERATIONS, NOT_REQUESTED
from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.DESCRIBE_GROUPS, 0, 5)
def handle_describe_groups(ctx, req):
    service = service_of(ctx)
    if service is None:
        groups = [
            {
                "error_code": ErrorCode.coordinator_not_available,
                "group_id": g,
                "group_state": "",
                "protocol_type": "",
                "protocol_data": "",
                "members": [],
                "authorized_operations": NOT_REQUESTED,
            }
            for g in req.groups
        ]
    else:
        groups = service.coordinator.describe_groups(list(req.groups))
    if ctx.version >= 3 and getattr(req, "include_authorized_operations", False):
        groups = [{**g, "authorized_operations": GROUP_OPERATIONS} if int(g["error_code"]) == 0 else g for g in groups]
    return {"throttle_time": 0, "groups": groups}
