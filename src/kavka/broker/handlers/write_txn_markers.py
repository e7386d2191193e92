"""WriteTxnMarkers (key 27), v1–2 (v2 adds each marker's transaction version, KIP-1228; a marker
is the same control record whatever it says): write COMMIT/ABORT markers to partitions this broker leads.

The transaction coordinator sends this to the leaders of a transaction's partitions on other brokers
(kavka.broker.txn_markers; a partition this broker leads gets its marker in process). Admins send it
too: ``kafka-transactions.sh abort`` and kafka-python's ``abort_transaction`` close a hanging
transaction (one no coordinator knows, found with DescribeProducers) by writing an ABORT marker for its
producer id and epoch. Each partition gets its own error: UNKNOWN_TOPIC_OR_PARTITION when the cluster
does not have it (or, on a single node, it is not hosted here), NOT_LEADER_OR_FOLLOWER when another
broker leads it, INVALID_PRODUCER_EPOCH for an epoch below the producer's, TRANSACTION_COORDINATOR_FENCED
for a coordinator epoch below the last marker's. A marker in ``__consumer_offsets`` applies or drops the
producer's pending transactional offsets, as the coordinator's own markers do. In a cluster a marker is
written as Kafka writes it, with acks=all: NOT_ENOUGH_REPLICAS when the ISR is below
min.insync.replicas, and the answer waits until the ISR has it (REQUEST_TIMED_OUT after
``request.timeout.ms``), so a marker the coordinator counts cannot be lost with its leader.
"""

import asyncio

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.WRITE_TXN_MARKERS, 1, 2)
def handle_write_txn_markers(ctx, req):
    service = ctx.broker.txn_service
    rm = ctx.broker.replica_manager
    waits = []  # (answer entry, partition, offset): markers written, to be in the ISR before the answer
    markers = []
    for marker in req.markers:
        topics = []
        for t in marker.topics:
            partitions = []
            for index in t.partition_indexes:
                if service is None:
                    code = ErrorCode.coordinator_not_available
                else:
                    code = service.write_marker(
                        t.name,
                        int(index),
                        int(marker.producer_id),
                        int(marker.producer_epoch),
                        bool(marker.transaction_result),
                        int(marker.coordinator_epoch),
                    )
                partitions.append({"partition_index": int(index), "error_code": code})
                waiting = rm.unreplicated_end(t.name, int(index)) if code == 0 and ctx.broker.cluster_mode else None
                if waiting is not None:
                    waits.append((partitions[-1], *waiting))
            topics.append({"name": t.name, "partitions": partitions})
        markers.append({"producer_id": int(marker.producer_id), "topics": topics})
    if waits:
        return _when_replicated(rm, {"markers": markers}, waits, ctx.broker.config["request.timeout.ms"] / 1000)
    return {"markers": markers}


async def _when_replicated(rm, answer: dict, waits, timeout: float) -> dict:
    """The answer once each written marker is in its partition's ISR (Kafka appends markers with
    acks=all): a partition whose ISR does not get it in time is REQUEST_TIMED_OUT (or
    NOT_ENOUGH_REPLICAS_AFTER_APPEND, NOT_LEADER_OR_FOLLOWER), and the coordinator retries it."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    for entry, partition, offset in waits:
        entry["error_code"] = await rm.until_replicated(partition, offset, max(0.0, deadline - loop.time()))
    return answer
