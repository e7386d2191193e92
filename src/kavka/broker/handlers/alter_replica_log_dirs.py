"""AlterReplicaLogDirs (key 34), v1–2: move partitions between this broker's log dirs (KIP-113).

Per partition, as Kafka's ``ReplicaManager.alterReplicaLogDirs`` answers (checked against Kafka with
one log dir): a path that is not one of ``log.dirs`` exactly is LOG_DIR_NOT_FOUND, an offline one
KAFKA_STORAGE_ERROR; a partition this broker has no log of is UNKNOWN_TOPIC_OR_PARTITION; the dir it
is already in is NONE with nothing to do. A partition named under two paths goes to the last one.

Kafka moves a replica in the background (a "future" replica that catches up, then swaps in); Kavka
moves it before answering (``LogManager.move_log``: copy, fsync, rename, remove), so when the answer
says NONE the move is done and DescribeLogDirs shows the new dir. The partition's readers and
waiters stay attached: only its log object is swapped.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.storage.errors import KafkaStorageError


def _move(broker, topic: str, index: int, path: str) -> int:
    lm = broker.log_manager
    if path not in lm.log_dirs:
        return ErrorCode.log_dir_not_found
    if path in lm.offline_dirs:
        return ErrorCode.kafka_storage_error
    if lm.get_log(topic, index) is None or lm.log_dir_of(topic, index) is None:
        return ErrorCode.unknown_topic_or_partition
    partition = broker.replica_manager.get(topic, index)
    if partition is not None and partition.offline:
        return ErrorCode.kafka_storage_error
    high_watermark = lm.get_log(topic, index).high_watermark
    try:
        lm.move_log(topic, index, path)
        code = ErrorCode.none
    except KafkaStorageError:
        code = ErrorCode.kafka_storage_error
    moved = lm.get_log(topic, index)
    if moved is not None:
        if moved.high_watermark < high_watermark:
            moved.update_high_watermark(high_watermark)
        if partition is not None:
            partition.log = moved
    return code


@handles(ApiKey.ALTER_REPLICA_LOG_DIRS, 1, 2)
def handle_alter_replica_log_dirs(ctx, req):
    wanted: dict[tuple[str, int], str] = {}
    for d in req.dirs:
        for t in d.topics:
            for index in t.partitions:
                wanted[(t.name, int(index))] = d.path
    by_topic: dict[str, list[dict]] = {}
    for (topic, index), path in wanted.items():
        code = _move(ctx.broker, topic, index, path)
        by_topic.setdefault(topic, []).append({"partition_index": index, "error_code": code})
    return {
        "throttle_time": 0,
        "results": [{"topic_name": name, "partitions": parts} for name, parts in by_topic.items()],
    }
