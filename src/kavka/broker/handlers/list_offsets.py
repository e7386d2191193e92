"""ListOffsets (key 2), v1–11.

Special timestamps: -2 earliest (log start offset), -1 latest (high watermark, or the last stable
offset for read_committed), -3 the record with the largest timestamp (v7+), -4 earliest local (v8+,
= earliest without tiered storage), -5 latest tiered (v9+, none here: -1 offset), -6 earliest pending
upload (v11+, KIP-1023; without tiered storage Kafka answers offset -1, timestamp -1, leader epoch -1);
each special one below its version is UNSUPPORTED_VERSION. v10's ``timeout`` bounds Kafka's
asynchronous lookups in remote storage (KIP-1075); every lookup here is local and immediate. A real timestamp finds the first record whose timestamp is at
or after it, through the time index. As in Kafka, what a consumer may not fetch is not found: a
max-timestamp or by-timestamp answer at or past the last fetchable offset (the last stable offset for
read_committed, else the high watermark) is offset -1 and timestamp -1, the same as nothing found. A
partition named twice in one request gets INVALID_REQUEST in both entries.
"""

from collections import Counter

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.storage.errors import KafkaStorageError

EARLIEST, LATEST, MAX_TIMESTAMP, EARLIEST_LOCAL, LATEST_TIERED, EARLIEST_PENDING_UPLOAD = -2, -1, -3, -4, -5, -6
# the first ListOffsets version that knows each special timestamp (Kafka's timestampMinSupportedVersion)
_MIN_VERSION = {MAX_TIMESTAMP: 7, EARLIEST_LOCAL: 8, LATEST_TIERED: 9, EARLIEST_PENDING_UPLOAD: 11}


def _lookup(p, ts: int, read_committed: bool) -> tuple[int, int]:
    plog = p.log
    if ts == EARLIEST or ts == EARLIEST_LOCAL:
        return -1, plog.log_start_offset
    last_fetchable = plog.last_stable_offset if read_committed else plog.high_watermark
    if ts == LATEST:
        return -1, last_fetchable
    if ts == LATEST_TIERED:
        return -1, -1
    if ts == MAX_TIMESTAMP:
        found = plog.max_timestamp_and_offset()
        timestamp, offset = found if found is not None else (-1, -1)
    else:
        found = plog.offset_for_timestamp(ts)
        offset, timestamp = found if found is not None else (-1, -1)
    if offset >= last_fetchable:
        return -1, -1
    return timestamp, offset


@handles(ApiKey.LIST_OFFSETS, 1, 11)
def handle_list_offsets(ctx, req):
    rm = ctx.broker.replica_manager
    read_committed = getattr(req, "isolation_level", 0) == 1
    named = Counter((t.name, rp.partition_index) for t in req.topics for rp in t.partitions)
    topics = []
    describable = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, (t.name for t in req.topics))
    for t in req.topics:
        parts = []
        for rp in t.partitions:
            if t.name not in describable:  # Kafka's check comes first: DESCRIBE on the topic
                parts.append(
                    {
                        "partition_index": rp.partition_index,
                        "error_code": ErrorCode.topic_authorization_failed,
                        "timestamp": -1,
                        "offset": -1,
                        "leader_epoch": -1,
                    }
                )
                continue
            if named[(t.name, rp.partition_index)] > 1:
                parts.append(
                    {
                        "partition_index": rp.partition_index,
                        "error_code": ErrorCode.invalid_request,
                        "timestamp": -1,
                        "offset": -1,
                    }
                )
                continue
            if ctx.version < _MIN_VERSION.get(rp.timestamp, 0):
                parts.append(
                    {
                        "partition_index": rp.partition_index,
                        "error_code": ErrorCode.unsupported_version,
                        "timestamp": -1,
                        "offset": -1,
                    }
                )
                continue
            p = rm.get(t.name, rp.partition_index)
            if p is None or p.offline:
                code = rm.missing_code(t.name, rp.partition_index) if p is None else ErrorCode.kafka_storage_error
                parts.append({"partition_index": rp.partition_index, "error_code": code})
                continue
            epoch = getattr(rp, "current_leader_epoch", -1)
            if epoch != -1 and epoch > p.leader_epoch:
                parts.append({"partition_index": rp.partition_index, "error_code": ErrorCode.unknown_leader_epoch})
                continue
            if epoch != -1 and epoch < p.leader_epoch:
                parts.append({"partition_index": rp.partition_index, "error_code": ErrorCode.fenced_leader_epoch})
                continue
            if not p.is_leader:
                parts.append({"partition_index": rp.partition_index, "error_code": ErrorCode.not_leader_or_follower})
                continue
            if rp.timestamp == EARLIEST_PENDING_UPLOAD:  # nothing is uploaded: no remote storage
                parts.append({"partition_index": rp.partition_index, "error_code": 0, "leader_epoch": -1})
                continue
            try:
                if rp.timestamp == LATEST and req.replica_id >= 0:
                    timestamp, offset = -1, p.log.log_end_offset  # a follower asks where our log ends (Kafka)
                else:
                    timestamp, offset = _lookup(p, rp.timestamp, read_committed)
            except (OSError, KafkaStorageError) as e:  # its log dir failed: it goes offline
                rm.storage_failed(p, e)
                parts.append({"partition_index": rp.partition_index, "error_code": ErrorCode.kafka_storage_error})
                continue
            parts.append(
                {
                    "partition_index": rp.partition_index,
                    "error_code": 0,
                    "timestamp": timestamp,
                    "offset": offset,
                    "leader_epoch": p.leader_epoch if offset != -1 else -1,  # nothing found: no epoch (Kafka)
                }
            )
        topics.append({"name": t.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}
