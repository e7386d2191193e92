"""DescribeLogDirs (key 35), v1–5.

One result per log directory: the topics and partitions it holds (all of them when ``topics`` is null,
else those asked for), each with its size in bytes, an offset lag of 0 (no future replicas here) and
``is_future_key`` false; v4 adds the volume's total and usable bytes (-1 when unknown, and before v4);
v5 adds ``is_cordoned`` (KIP-1066), always false: Kavka has no cordoned log directories.
A failed (offline) log dir is listed with KAFKA_STORAGE_ERROR and no topics, as Kafka lists it.
The metadata log (``__cluster_metadata``) is not listed, as in Kafka where the raft manager owns it.
"""

import os
from collections import defaultdict

from kavka.broker.registry import handles
from kavka.metadata.internal_topics import METADATA_TOPIC
from kavka.protocol.api import ApiKey, ErrorCode


def _volume_bytes(path: str) -> tuple[int, int]:
    try:
        st = os.statvfs(path)
    except OSError:
        return -1, -1
    return st.f_blocks * st.f_frsize, st.f_bavail * st.f_frsize


@handles(ApiKey.DESCRIBE_LOG_DIRS, 1, 5)
def handle_describe_log_dirs(ctx, req):
    lm = ctx.broker.log_manager
    wanted = None
    if req.topics is not None:
        wanted = {(t.topic, p) for t in req.topics for p in t.partitions}
    by_dir: dict[str, dict[str, list]] = {d: defaultdict(list) for d in lm.log_dirs}
    for plog in lm.all_logs():
        if plog.topic == METADATA_TOPIC:
            continue
        if wanted is not None and (plog.topic, plog.partition) not in wanted:
            continue
        log_dir = os.path.dirname(plog.dir)
        by_dir.setdefault(log_dir, defaultdict(list))[plog.topic].append(
            {
                "partition_index": plog.partition,
                "partition_size": plog.size_in_bytes,
                "offset_lag": 0,
                "is_future_key": False,
            }
        )
    results = []
    for log_dir in lm.offline_dirs:
        by_dir.pop(log_dir, None)
        results.append(
            {
                "error_code": ErrorCode.kafka_storage_error,
                "log_dir": log_dir,
                "topics": [],
                "total_bytes": -1,
                "usable_bytes": -1,
            }
        )
    for log_dir, topics in by_dir.items():
        total, usable = _volume_bytes(log_dir)
        results.append(
            {
                "error_code": 0,
                "log_dir": log_dir,
                "topics": [
                    {"name": name, "partitions": sorted(parts, key=lambda p: p["partition_index"])}
                    for name, parts in sorted(topics.items())
                ],
                "total_bytes": total,
                "usable_bytes": usable,
                "is_cordoned": False,
            }
        )
    return {"throttle_time": 0, "error_code": 0, "results": results}
