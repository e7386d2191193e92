"""AlterPartitionReassignments (key 45), v0–1: move partition replicas, or cancel a move.

Decided by the active controller (``kavka.controller.replication.alter_partition_reassignments``,
Kafka's ``ReplicationControlManager.alterPartitionReassignments``), its records committed in one batch
before the answer; a node that is not the active controller forwards the request
(``broker/dispatch.py``). Checked per partition, in Kafka's order:

- a topic that does not exist: UNKNOWN_TOPIC_OR_PARTITION ``Unable to find a topic named t.``;
- a partition that does not exist: UNKNOWN_TOPIC_OR_PARTITION ``Unable to find partition t:5.``;
- null replicas (cancel) on a partition with no reassignment in progress: NO_REASSIGNMENT_IN_PROGRESS
  (no message: Kafka drops one that is the error's default text);
  a cancel that would need an unclean election where the topic does not allow one:
  INVALID_REPLICA_ASSIGNMENT;
- an empty replica list, a broker that is not registered, or one named twice (brokers checked in
  ascending id order): INVALID_REPLICA_ASSIGNMENT with Kafka's messages;
- v1 (KIP-860) with ``allow_replication_factor_change`` false, a target with another number of
  replicas than the partition has (or will have, when a move is in progress): INVALID_REPLICATION_FACTOR
  ``The replication factor is changed from 1 to 2``. The answer echoes the flag (true before v1).

A target equal to the current replica list changes nothing. Otherwise the new replicas join as
``adding_replicas`` (the partition's replicas are the target plus those leaving, listed as
``removing_replicas``); they fetch from the leader, and once all are in the ISR the controller finishes
the move in the leader's AlterPartition (those leaving go; leadership moves if the leader leaves). A
target whose replicas are all in the ISR already (a new order, or fewer replicas) finishes at once.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.ALTER_PARTITION_REASSIGNMENTS, 0, 1)
def handle_alter_partition_reassignments(ctx, req):
    allow_rf_change = bool(getattr(req, "allow_replication_factor_change", True))
    topics = [
        (
            t.name,
            [
                (int(p.partition_index), None if p.replicas is None else [int(r) for r in p.replicas])
                for p in t.partitions
            ],
        )
        for t in req.topics
    ]
    answers, _ = ctx.broker.controller.alter_partition_reassignments(topics, allow_rf_change)
    return {
        "throttle_time": 0,
        "allow_replication_factor_change": allow_rf_change,
        "error_code": 0,
        "error_message": None,
        "responses": [
            {
                "name": name,
                "partitions": [
                    {
                        "partition_index": r.partition_index,
                        "error_code": r.error.code,
                        "error_message": r.error.message,
                    }
                    for r in results
                ],
            }
            for name, results in answers
        ],
    }
