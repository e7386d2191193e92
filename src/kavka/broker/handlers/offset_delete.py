"""OffsetDelete (key 47), v0.

Deletes a group's committed offsets of some partitions. Refused per topic with
GROUP_SUBSCRIBED_TO_TOPIC while a member of the (consumer) group subscribes to it; for the whole
request with NON_EMPTY_GROUP for a non-consumer group with members, GROUP_ID_NOT_FOUND for none.
A partition the metadata does not have is UNKNOWN_TOPIC_OR_PARTITION and not given to the
coordinator. The answer is put together as Kafka's ``OffsetDeleteResponse.Builder`` does: the
refused partitions first, each topic once, then the coordinator's; a request-level error of the
coordinator is answered alone, with no topics.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import service_of, shaped
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.OFFSET_DELETE, 0, 0)
def handle_offset_delete(ctx, req):
    if not authz.authorize(ctx, AclOperation.DELETE, ResourceType.GROUP, req.group_id):
        return {"throttle_time": 0, "error_code": ErrorCode.group_authorization_failed, "topics": []}
    service = service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available, "topics": []}
    answer: dict[str, list] = {}
    known: dict[str, list[int]] = {}
    for t in req.topics:
        topic = ctx.broker.topic(t.name)
        for p in t.partitions:
            if topic is not None and p.partition_index in topic.partitions:
                known.setdefault(t.name, []).append(p.partition_index)
            else:
                answer.setdefault(t.name, []).append(
                    {"partition_index": p.partition_index, "error_code": ErrorCode.unknown_topic_or_partition}
                )

    def merged(result: dict) -> dict:
        if result["error_code"]:
            return {"throttle_time": 0, "error_code": result["error_code"], "topics": []}
        for t in result["topics"]:
            answer.setdefault(t["name"], []).extend(t["partitions"])
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.none,
            "topics": [{"name": name, "partitions": parts} for name, parts in answer.items()],
        }

    result = service.call(service.coordinator.delete_offsets, group_id=req.group_id, topics=list(known.items()))
    return shaped(result, merged)
