"""ListGroups (key 16), v0–5.

Every group this broker coordinates, with its protocol type; v4 adds the state and a state filter,
v5 the group type ("classic") and a type filter. Filters compare case-insensitively.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.LIST_GROUPS, 0, 5)
def handle_list_groups(ctx, req):
    service = service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available, "groups": []}
    result = service.coordinator.list_groups(
        getattr(req, "states_filter", ()) or (), getattr(req, "types_filter", ()) or ()
    )
    if authz.enabled(ctx) and not authz.authorize_cluster(ctx, AclOperation.DESCRIBE):
        # Kafka: without DESCRIBE on the cluster, only the groups the principal may DESCRIBE
        allowed = authz.filter_authorized(
            ctx, AclOperation.DESCRIBE, ResourceType.GROUP, (g["group_id"] for g in result["groups"])
        )
        result = dict(result, groups=[g for g in result["groups"] if g["group_id"] in allowed])
    return dict(result, throttle_time=0)
