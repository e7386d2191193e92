"""ConsumerGroupDescribe (key 69), v0: consumer groups (KIP-848) as their coordinator sees them.

Per group: state (Empty, Assigning, Reconciling, Stable), group epoch, assignment epoch, the
assignor, and per member its epoch, client, subscription (names and regex), current assignment and
target assignment (topic ids with names). An id that is not a consumer group — a classic group, or
nothing — is GROUP_ID_NOT_FOUND, which tells an admin client to try DescribeGroups.
"""

from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.CONSUMER_GROUP_DESCRIBE, 0, 0)
def handle_consumer_group_describe(ctx, req):
    service = service_of(ctx)
    if service is None:
        groups = [{"error_code": ErrorCode.coordinator_not_available, "group_id": g, "group_state": "",
                   "members": [], "authorized_operations": -2147483648} for g in req.group_ids]
    else:
        groups = service.coordinator.consumer_group_describe(list(req.group_ids))
    return {"throttle_time": 0, "groups": groups}
