"""AlterPartitionReassignments (key 45), v0–1: move partition replicas, or cancel a move.

Checked per partition as Kafka's controller does (``ReplicationControlManager.alterPartitionReassignment``
and ``validateManualPartitionAssignment``), in this order:

- a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION ``Unable to find a topic named t.``;
- a partition that does not exist: UNKNOWN_TOPIC_OR_PARTITION ``Unable to find partition t:5.``;
- null replicas (cancel) on a partition with no reassignment in progress: NO_REASSIGNMENT_IN_PROGRESS;
- an empty replica list, a broker that is not registered, or one named twice (brokers checked in
  ascending id order): INVALID_REPLICA_ASSIGNMENT with Kafka's messages;
- v1 (KIP-860) with ``allow_replication_factor_change`` false, a target with another number of
  replicas than the partition has (before any move in progress): INVALID_REPLICATION_FACTOR
  ``The replication factor is changed from 1 to 2``. The answer echoes the flag (true before v1).

A target equal to the current replica list changes nothing and succeeds, as in Kafka. On one broker
that is the only valid target (every replica is this node), so nothing ever moves; a valid target that
differs (or a cancel of a move in progress) would need the replication work Kavka does not have yet,
and is refused with INVALID_REPLICA_ASSIGNMENT.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_NO_REASSIGNMENT = "No partition reassignment is in progress."
_CANNOT_MOVE = "Kavka does not move partition replicas between brokers."


class _Refused(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = int(code), message


def _check_target(replicas, registered) -> None:
    if not replicas:
        raise _Refused(
            ErrorCode.invalid_replica_assignment, "The manual partition assignment includes an empty replica list."
        )
    previous = None
    for broker_id in sorted(replicas):
        if broker_id not in registered:
            raise _Refused(
                ErrorCode.invalid_replica_assignment,
                f"The manual partition assignment includes broker {broker_id}, but no such broker is registered.",
            )
        if broker_id == previous:
            raise _Refused(
                ErrorCode.invalid_replica_assignment,
                f"The manual partition assignment includes the broker {previous} more than once.",
            )
        previous = broker_id


def _alter(broker, topic_name: str, target, allow_rf_change: bool = True) -> None:
    topic = broker.topic(topic_name)
    if topic is None:
        raise _Refused(ErrorCode.unknown_topic_or_partition, f"Unable to find a topic named {topic_name}.")
    index = int(target.partition_index)
    partition = topic.partitions.get(index)
    if partition is None:
        raise _Refused(ErrorCode.unknown_topic_or_partition, f"Unable to find partition {topic_name}:{index}.")
    reassigning = bool(partition.adding_replicas or partition.removing_replicas)
    if target.replicas is None:
        if not reassigning:
            raise _Refused(ErrorCode.no_reassignment_in_progress, _NO_REASSIGNMENT)
        raise _Refused(ErrorCode.invalid_replica_assignment, _CANNOT_MOVE)
    replicas = [int(r) for r in target.replicas]
    _check_target(replicas, set(broker.image.brokers))
    if not allow_rf_change:
        original = [r for r in partition.replicas if r not in set(partition.adding_replicas or ())]
        if len(original) != len(replicas):
            raise _Refused(
                ErrorCode.invalid_replication_factor,
                f"The replication factor is changed from {len(original)} to {len(replicas)}",
            )
    if replicas != list(partition.replicas) or reassigning:
        raise _Refused(ErrorCode.invalid_replica_assignment, _CANNOT_MOVE)


@handles(ApiKey.ALTER_PARTITION_REASSIGNMENTS, 0, 1)
def handle_alter_partition_reassignments(ctx, req):
    allow_rf_change = bool(getattr(req, "allow_replication_factor_change", True))
    responses = []
    for topic in req.topics:
        partitions = []
        for target in topic.partitions:
            code, message = 0, None
            try:
                _alter(ctx.broker, topic.name, target, allow_rf_change)
            except _Refused as e:
                code, message = e.code, e.message
            partitions.append({"partition_index": target.partition_index, "error_code": code, "error_message": message})
        responses.append({"name": topic.name, "partitions": partitions})
    return {
        "throttle_time": 0,
        "allow_replication_factor_change": allow_rf_change,
        "error_code": 0,
        "error_message": None,
        "responses": responses,
    }
