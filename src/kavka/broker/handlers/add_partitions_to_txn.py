"""AddPartitionsToTxn (key 24), v0–3 (the client form; v4+ batches transactions for brokers).

Adds partitions to the producer's ongoing transaction, so the coordinator writes their markers. One
error for the whole request, on every partition, except partitions of unknown topics:
UNKNOWN_TOPIC_OR_PARTITION for them and OPERATION_NOT_ATTEMPTED for the others (Kafka's rule).
"""

from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.protocol.api import ApiKey, ErrorCode


def _result(topics, code_of):
    return {
        "throttle_time": 0,
        "results_by_topic_v3_and_below": [
            {
                "name": name,
                "results_by_partition": [
                    {"partition_index": p, "partition_error_code": code_of(name, p)} for p in parts
                ],
            }
            for name, parts in topics
        ],
    }


@handles(ApiKey.ADD_PARTITIONS_TO_TXN, 0, 3)
def handle_add_partitions_to_txn(ctx, req):
    topics = [(t.name, [int(p) for p in t.partitions]) for t in req.v3_and_below_topics]
    service = txn_service_of(ctx)
    if service is None:
        return _result(topics, lambda _t, _p: ErrorCode.coordinator_not_available)
    unknown = {
        (name, p)
        for name, parts in topics
        for p in parts
        if (img := ctx.broker.topic(name)) is None or p not in img.partitions
    }
    if unknown:
        return _result(
            topics,
            lambda t, p: (
                ErrorCode.unknown_topic_or_partition if (t, p) in unknown else ErrorCode.operation_not_attempted
            ),
        )
    code = service.call(
        service.coordinator.add_partitions_to_txn,
        transactional_id=req.v3_and_below_transactional_id,
        producer_id=int(req.v3_and_below_producer_id),
        producer_epoch=int(req.v3_and_below_producer_epoch),
        partitions=[(name, p) for name, parts in topics for p in parts],
    )
    return _result(topics, lambda _t, _p: code)
