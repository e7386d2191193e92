"""OffsetDelete (key 47), v0.

Deletes a group's committed offsets of some partitions. Refused per topic with
GROUP_SUBSCRIBED_TO_TOPIC while a member of the (consumer) group subscribes to it; for the whole
request with NON_EMPTY_GROUP for a non-consumer group with members, GROUP_ID_NOT_FOUND for none.
"""

from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.OFFSET_DELETE, 0, 0)
def handle_offset_delete(ctx, req):
    service = service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available, "topics": []}
    result = service.call(
        service.coordinator.delete_offsets,
        group_id=req.group_id,
        topics=[(t.name, [p.partition_index for p in t.partitions]) for t in req.topics],
    )
    return dict(result, throttle_time=0)
