"""DescribeGroups (key 15), v0–6.

State, protocol type, protocol (Stable groups only) and members with client id, host, metadata and
assignment bytes, carried as the clients sent them. A group that does not exist is described as
"Dead" with no error before v6, and from v6 (KIP-1043) with GROUP_ID_NOT_FOUND and "Group g not
found." (a KIP-848 consumer group: "Group g is not a classic group."). v4 adds each member's ``group_instance_id``.
From v3, ``include_authorized_operations`` puts every group operation on each result without an
error (Kafka's ``KafkaApis.handleDescribeGroupsRequest`` with no authorizer); otherwise INT32_MIN.
"""

from kavka.broker.group_service import described_groups
from kavka.broker.registry import handles
from kavka.coordinator.group.responses import describe_error
from kavka.protocol.api import ApiKey


@handles(ApiKey.DESCRIBE_GROUPS, 0, 6)
def handle_describe_groups(ctx, req):
    groups = described_groups(
        ctx,
        list(req.groups),
        lambda coordinator, ids: coordinator.describe_groups(ids, ctx.version),
        describe_error,
        ctx.version >= 3 and getattr(req, "include_authorized_operations", False),
    )
    return {"throttle_time": 0, "groups": groups}
