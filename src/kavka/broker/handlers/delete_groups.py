"""DeleteGroups (key 42), v0–3.

Deletes groups with no members, with all their committed offsets (tombstones in
``__consumer_offsets``); NON_EMPTY_GROUP for a group with members, GROUP_ID_NOT_FOUND for none.
v3 adds a per-group ``error_message``, which Kafka 4.4 sets only for streams groups (not in Kavka):
null here. kio has no v3 schema; :mod:`kavka.protocol.extra_schemas` has it.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of, shaped
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.DELETE_GROUPS, 0, 3)
def handle_delete_groups(ctx, req):
    allowed = authz.filter_authorized(ctx, AclOperation.DELETE, ResourceType.GROUP, req.groups_names)
    denied = [
        {"group_id": g, "error_code": ErrorCode.group_authorization_failed}
        for g in req.groups_names
        if g not in allowed
    ]
    names = [g for g in req.groups_names if g in allowed]
    service = service_of(ctx)
    if not names:
        results = []
    elif service is None:
        results = [{"group_id": g, "error_code": ErrorCode.coordinator_not_available} for g in names]
    else:
        results = service.call(service.coordinator.delete_groups, group_ids=names)
    return shaped(results, lambda answer: {"throttle_time": 0, "results": [*answer, *denied]})
