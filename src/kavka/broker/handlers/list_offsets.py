"""ListOffsets (key 2), v1–9.

Special timestamps: -2 earliest (log start offset), -1 latest (high watermark, or the last stable
offset for read_committed), -3 the record with the largest timestamp (v7+), -4 earliest local (v8+,
= earliest without tiered storage), -5 earliest tiered... (v9+, none here: -1 offset). A real
timestamp finds the first record whose timestamp is at or after it, through the time index; none →
offset -1 and timestamp -1, as Kafka answers.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

EARLIEST, LATEST, MAX_TIMESTAMP, EARLIEST_LOCAL, EARLIEST_TIERED = -2, -1, -3, -4, -5


def _lookup(p, ts: int, read_committed: bool) -> tuple[int, int]:
    plog = p.log
    if ts == EARLIEST or ts == EARLIEST_LOCAL:
        return -1, plog.log_start_offset
    if ts == LATEST:
        return -1, plog.last_stable_offset if read_committed else plog.high_watermark
    if ts == MAX_TIMESTAMP:
        found = plog.max_timestamp_and_offset()
        return found if found is not None else (-1, -1)
    if ts == EARLIEST_TIERED:
        return -1, -1
    found = plog.offset_for_timestamp(ts)
    if found is None:
        return -1, -1
    offset, timestamp = found
    return timestamp, offset


@handles(ApiKey.LIST_OFFSETS, 1, 9)
def handle_list_offsets(ctx, req):
    rm = ctx.broker.replica_manager
    read_committed = getattr(req, "isolation_level", 0) == 1
    topics = []
    for t in req.topics:
        parts = []
        for rp in t.partitions:
            p = rm.get(t.name, rp.partition_index)
            if p is None:
                parts.append({"partition_index": rp.partition_index,
                              "error_code": ErrorCode.unknown_topic_or_partition})
                continue
            epoch = getattr(rp, "current_leader_epoch", -1)
            if epoch != -1 and epoch > p.leader_epoch:
                parts.append({"partition_index": rp.partition_index, "error_code": ErrorCode.unknown_leader_epoch})
                continue
            if epoch != -1 and epoch < p.leader_epoch:
                parts.append({"partition_index": rp.partition_index, "error_code": ErrorCode.fenced_leader_epoch})
                continue
            timestamp, offset = _lookup(p, rp.timestamp, read_committed)
            parts.append({"partition_index": rp.partition_index, "error_code": 0,
                          "timestamp": timestamp, "offset": offset, "leader_epoch": p.leader_epoch})
        topics.append({"name": t.name, "partitions": parts})
    return {"throttle_time": 0, "topics": topics}
