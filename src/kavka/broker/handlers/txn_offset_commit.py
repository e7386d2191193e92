"""TxnOffsetCommit (key 28), v0–5 (v5: transaction version 2, see below; v6, with topic ids, is not
served: kio has no schema for it).

Offsets a transactional producer commits for a consumer group (``send_offsets_to_transaction``). The
producer must be the transactional id's current one (when this broker coordinates it). The group
coordinator validates the group side (generation and member, v3+; none needed without them) and
writes the offsets to the group's ``__consumer_offsets`` partition as a transactional batch of the
producer (a transactional write of the coordinator runtime), so they survive a crash; they stay
pending until the transaction's marker reaches that partition, then count on commit and are dropped
on abort (kavka.coordinator.group.offsets). Before the first such batch of a transaction, the group's
partition is verified to be in the producer's ongoing transaction (KIP-890, as Produce does:
``TxnService.check_txn_offset_commit``), so offsets sent without AddOffsetsToTxn are refused -- from
v5 (KIP-890 part 2, the client sends no AddOffsetsToTxn) the partition is added instead. A
partition the cluster does not have gets UNKNOWN_TOPIC_OR_PARTITION and is not committed.
"""

from kavka.broker.group_service import service_of, split_unknown_partitions
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.runtime import CoordinatorError
from kavka.protocol.api import ApiKey, ErrorCode


def _result(topics, code):
    return {
        "throttle_time": 0,
        "topics": [
            {
                "name": t.name,
                "partitions": [{"partition_index": p.partition_index, "error_code": code} for p in t.partitions],
            }
            for t in topics
        ],
    }


@handles(ApiKey.TXN_OFFSET_COMMIT, 0, 5)
def handle_txn_offset_commit(ctx, req):
    service, groups = txn_service_of(ctx), service_of(ctx)
    if service is None or groups is None:
        return _result(req.topics, ErrorCode.coordinator_not_available)
    # the producer must be current for its transactional id (when this broker coordinates it)
    tx = service.coordinator
    try:
        meta = tx.shard_of(req.transactional_id).txns.get(req.transactional_id)
    except CoordinatorError:
        meta = None
    if meta is not None and (meta.producer_id != req.producer_id or meta.producer_epoch != req.producer_epoch):
        return _result(
            req.topics,
            ErrorCode.invalid_producer_epoch
            if meta.producer_id == req.producer_id
            else ErrorCode.invalid_producer_id_mapping,
        )
    topics = [
        (
            t.name,
            [
                (p.partition_index, p.committed_offset, getattr(p, "committed_leader_epoch", -1), p.committed_metadata)
                for p in t.partitions
            ],
        )
        for t in req.topics
    ]
    topics, unknown = split_unknown_partitions(ctx.broker, topics)
    if not topics:  # as Kafka: unknown partitions are answered before the coordinator is asked anything
        return {"throttle_time": 0, "topics": unknown}
    code = service.check_txn_offset_commit(
        req.transactional_id, int(req.producer_id), int(req.producer_epoch), req.group_id, ctx.version
    )
    if code:
        return {
            "throttle_time": 0,
            "topics": [
                {"name": name, "partitions": [{"partition_index": p[0], "error_code": code} for p in parts]}
                for name, parts in topics
            ]
            + unknown,
        }
    result = groups.call(
        groups.coordinator.commit_transactional_offsets,
        group_id=req.group_id,
        producer_id=int(req.producer_id),
        producer_epoch=int(req.producer_epoch),
        generation_id=int(getattr(req, "generation_id", -1)),
        member_id=getattr(req, "member_id", "") or "",
        group_instance_id=getattr(req, "group_instance_id", None),
        topics=topics,
    )
    return dict(result, throttle_time=0, topics=list(result["topics"]) + unknown)
