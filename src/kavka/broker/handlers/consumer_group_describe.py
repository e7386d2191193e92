"""ConsumerGroupDescribe (key 69), v0: consumer groups (KIP-848) as their coordinator sees them.

Per group: state (Empty, Assigning, Reconciling, Stable), group epoch, assignment epoch, the
assignor, and per member its epoch, client, subscription (names and regex), current assignment and
target assignment (topic ids with names). An id that is not a consumer group — a classic group, or
nothing — is GROUP_ID_NOT_FOUND, which tells an admin client to try DescribeGroups.
With ``include_authorized_operations`` each group found carries every group operation (no
authorizer, as in Kafka's ``KafkaApis.handleConsumerGroupDescribe``); otherwise INT32_MIN.
"""

from kavka.broker.acl_operations import GROUP_OPERATIONS, NOT_REQUESTED
from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.CONSUMER_GROUP_DESCRIBE, 0, 0)
def handle_consumer_group_describe(ctx, req):
    service = service_of(ctx)
    if service is None:
        groups = [
            {
                "error_code": ErrorCode.coordinator_not_available,
                "group_id": g,
                "group_state": "",
                "members": [],
                "authorized_operations": NOT_REQUESTED,
            }
            for g in req.group_ids
        ]
    else:
        groups = service.coordinator.consumer_group_describe(list(req.group_ids))
    if req.include_authorized_operations:
        groups = [{**g, "authorized_operations": GROUP_OPERATIONS} if int(g["error_code"]) == 0 else g for g in groups]
    return {"throttle_time": 0, "groups": groups}
