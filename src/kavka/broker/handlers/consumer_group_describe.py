"""ConsumerGroupDescribe (key 69), v0–1: consumer groups (KIP-848) as their coordinator sees them.

Per group: state (Empty, Assigning, Reconciling, Stable), group epoch, assignment epoch, the
assignor, and per member its epoch, client, subscription (names and regex), current assignment and
target assignment (topic ids with names); v1 (KIP-1099) adds each member's ``member_type``: 0 for a
member that joined with the classic protocol (an upgraded group), 1 for a consumer member. An id that is not a consumer group — a classic group, or
nothing — is GROUP_ID_NOT_FOUND, which tells an admin client to try DescribeGroups.
With ``include_authorized_operations`` each group found carries every group operation (no
authorizer, as in Kafka's ``KafkaApis.handleConsumerGroupDescribe``); otherwise INT32_MIN.
"""

from kavka.broker.group_service import described_groups
from kavka.broker.registry import handles
from kavka.coordinator.group.responses import consumer_describe_error
from kavka.protocol.api import ApiKey


@handles(ApiKey.CONSUMER_GROUP_DESCRIBE, 0, 1)
def handle_consumer_group_describe(ctx, req):
    groups = described_groups(
        ctx,
        list(req.group_ids),
        lambda coordinator, ids: coordinator.consumer_group_describe(ids),
        consumer_describe_error,
        req.include_authorized_operations,
    )
    return {"throttle_time": 0, "groups": groups}
