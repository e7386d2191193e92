"""AddPartitionsToTxn (key 24), v0–5.

v0–3 are the client form: one transaction, one error for the whole request on every partition,
except partitions of unknown topics: UNKNOWN_TOPIC_OR_PARTITION for them and OPERATION_NOT_ATTEMPTED
for the others (Kafka's rule). v2 knows PRODUCER_FENCED; v0–1 get INVALID_PRODUCER_EPOCH instead.

v4–5 are the broker-to-coordinator form (KIP-890): several transactions per request, a top-level
error code, and ``verify_only``, which only asks whether each partition is already in the producer's
ongoing transaction (what a partition leader asks before the first transactional append: Kavka's
leaders ask in process when they coordinate the id themselves, else with this request, see
``TxnService.check_produce``). Without ``verify_only`` a v4+ request adds the partitions for a
transaction version 2 client (a leader's Produce v12+ / TxnOffsetCommit v5+), as Kafka reads it.
v5 knows TRANSACTION_ABORTABLE.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.txn.versions import for_version
from kavka.metadata.internal_topics import is_internal
from kavka.protocol.api import ApiKey, ErrorCode


def _topic_results(topics, code_of):
    return [
        {
            "name": name,
            "results_by_partition": [{"partition_index": p, "partition_error_code": code_of(name, p)} for p in parts],
        }
        for name, parts in topics
    ]


def _unknown(ctx, topics) -> set[tuple[str, int]]:
    return {
        (name, p)
        for name, parts in topics
        for p in parts
        if (img := ctx.broker.topic(name)) is None or p not in img.partitions
    }


def _transaction(ctx, service, version, txn_id, producer_id, producer_epoch, topics, verify_only=False):
    """The per-partition results of one transaction of the request."""
    if version < 4 and authz.enabled(ctx):
        # Kafka: WRITE on the transactional id, then WRITE on each topic (never on an internal one)
        if not authz.authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, txn_id):
            return _topic_results(topics, lambda _t, _p: ErrorCode.transactional_id_authorization_failed)
        names = [name for name, _ in topics if not is_internal(name)]
        writable = authz.filter_authorized(ctx, AclOperation.WRITE, ResourceType.TOPIC, names)
        if any(name not in writable for name, _ in topics):
            unknown = _unknown(ctx, topics)
            return _topic_results(
                topics,
                lambda t, p: (
                    ErrorCode.topic_authorization_failed
                    if t not in writable
                    else ErrorCode.unknown_topic_or_partition
                    if (t, p) in unknown
                    else ErrorCode.operation_not_attempted
                ),
            )
    if service is None:
        return _topic_results(topics, lambda _t, _p: ErrorCode.coordinator_not_available)
    unknown = _unknown(ctx, topics)
    if unknown:
        return _topic_results(
            topics,
            lambda t, p: (
                ErrorCode.unknown_topic_or_partition if (t, p) in unknown else ErrorCode.operation_not_attempted
            ),
        )
    partitions = [(name, p) for name, parts in topics for p in parts]
    if verify_only:
        found = service.coordinator.verify_partitions(
            transactional_id=txn_id, producer_id=producer_id, producer_epoch=producer_epoch, partitions=partitions
        )
        return _topic_results(topics, lambda t, p: found[(t, p)])
    code = service.call(
        service.coordinator.add_partitions_to_txn,
        transactional_id=txn_id,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        partitions=partitions,
        # v4+ comes from a partition leader adding for a transaction version 2 client (Kafka's
        # TransactionVersion.transactionVersionForAddPartitionsToTxn)
        client_transaction_version=2 if version >= 4 else 0,
    )
    code = for_version(ApiKey.ADD_PARTITIONS_TO_TXN, version, code)
    return _topic_results(topics, lambda _t, _p: code)


@handles(ApiKey.ADD_PARTITIONS_TO_TXN, 0, 5)
def handle_add_partitions_to_txn(ctx, req):
    service = txn_service_of(ctx)
    if ctx.version < 4:
        topics = [(t.name, [int(p) for p in t.partitions]) for t in req.v3_and_below_topics]
        results = _transaction(
            ctx,
            service,
            ctx.version,
            req.v3_and_below_transactional_id,
            int(req.v3_and_below_producer_id),
            int(req.v3_and_below_producer_epoch),
            topics,
        )
        return {"throttle_time": 0, "results_by_topic_v3_and_below": results}
    if not authz.authorize_cluster(ctx, AclOperation.CLUSTER_ACTION):  # v4+ comes from a partition leader
        return {"throttle_time": 0, "error_code": ErrorCode.cluster_authorization_failed, "results_by_transaction": []}
    results = []
    for txn in req.transactions:
        topics = [(t.name, [int(p) for p in t.partitions]) for t in txn.topics]
        results.append(
            {
                "transactional_id": txn.transactional_id,
                "topic_results": _transaction(
                    ctx,
                    service,
                    ctx.version,
                    txn.transactional_id,
                    int(txn.producer_id),
                    int(txn.producer_epoch),
                    topics,
                    bool(txn.verify_only),
                ),
            }
        )
    return {"throttle_time": 0, "error_code": ErrorCode.none, "results_by_transaction": results}
