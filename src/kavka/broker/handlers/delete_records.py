"""DeleteRecords (key 21), v0–2.

Moves each partition's log start offset up to ``offset`` (-1 = the high watermark), deleting segments
wholly below it, and answers the new low watermark (the log start offset; one replica here). Kafka's
errors: an unknown partition UNKNOWN_TOPIC_OR_PARTITION, an offset above the high watermark or below
-1 OFFSET_OUT_OF_RANGE, a topic whose ``cleanup.policy`` lacks ``delete`` POLICY_VIOLATION, an internal
topic INVALID_TOPIC_EXCEPTION. An offset at or below the current start changes nothing and succeeds.
The log start offsets are checkpointed right away so a crash does not bring deleted records back.
"""

import logging

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.metadata.internal_topics import is_internal
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.storage.errors import KafkaStorageError, OffsetOutOfRangeError

log = logging.getLogger(__name__)

HIGH_WATERMARK = -1


def _delete(rm, topic: str, index: int, offset: int) -> tuple[int, int]:
    """(error code, low watermark) for one partition."""
    if is_internal(topic):
        return ErrorCode.invalid_topic_exception, -1
    p = rm.get(topic, index)
    if p is None:
        return rm.missing_code(topic, index), -1
    if p.offline:
        return ErrorCode.kafka_storage_error, -1
    if not p.is_leader:
        return ErrorCode.not_leader_or_follower, -1
    plog = p.log
    if "delete" not in plog.config.cleanup_policy:
        return ErrorCode.policy_violation, -1
    target = plog.high_watermark if offset == HIGH_WATERMARK else offset
    if target < 0 or target > plog.high_watermark:
        return ErrorCode.offset_out_of_range, -1
    try:
        plog.advance_log_start_offset(target)
    except OffsetOutOfRangeError:
        return ErrorCode.offset_out_of_range, -1
    except (OSError, KafkaStorageError) as e:  # its log dir failed: it goes offline
        rm.storage_failed(p, e)
        return ErrorCode.kafka_storage_error, -1
    return 0, plog.log_start_offset


@handles(ApiKey.DELETE_RECORDS, 0, 2)
def handle_delete_records(ctx, req):
    rm = ctx.broker.replica_manager
    topics = []
    changed = False
    deletable = authz.filter_authorized(ctx, AclOperation.DELETE, ResourceType.TOPIC, (t.name for t in req.topics))
    for t in req.topics:
        parts = []
        if t.name not in deletable:  # Kafka: DELETE on the topic
            parts = [
                {
                    "partition_index": rp.partition_index,
                    "low_watermark": -1,
                    "error_code": ErrorCode.topic_authorization_failed,
                }
                for rp in t.partitions
            ]
            topics.append({"name": t.name, "partitions": parts})
            continue
        for rp in t.partitions:
            code, low = _delete(rm, t.name, rp.partition_index, rp.offset)
            changed = changed or code == 0
            parts.append({"partition_index": rp.partition_index, "low_watermark": low, "error_code": code})
        topics.append({"name": t.name, "partitions": parts})
    lm = ctx.broker.log_manager
    if changed and lm is not None:
        try:
            lm.checkpoint_log_start_offsets()
        except OSError:
            log.exception("could not checkpoint log start offsets after DeleteRecords")
    return {"throttle_time": 0, "topics": topics}
