"""TxnOffsetCommit (key 28), v0–4.

Offsets a transactional producer commits for a consumer group (``send_offsets_to_transaction``). The
group coordinator validates the group side (generation and member, v3+); the offsets are held until
the transaction's marker reaches the group's ``__consumer_offsets`` partition, then written on commit
or dropped on abort (kavka.broker.txn_service). The producer must be the transactional id's current one.
"""

from kavka.broker.group_service import service_of
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.runtime import CoordinatorError
from kavka.protocol.api import ApiKey, ErrorCode


def _result(topics, code):
    return {"throttle_time": 0, "topics": [
        {"name": t.name, "partitions": [{"partition_index": p.partition_index, "error_code": code}
                                        for p in t.partitions]} for t in topics]}


@handles(ApiKey.TXN_OFFSET_COMMIT, 0, 4)
def handle_txn_offset_commit(ctx, req):
    service, groups = txn_service_of(ctx), service_of(ctx)
    if service is None or groups is None:
        return _result(req.topics, ErrorCode.coordinator_not_available)
    group_id = req.group_id
    partition = groups.partition_for(group_id)
    try:
        groups.coordinator.runtime.read(partition, lambda shard: shard.offsets.validate_commit(
            group_id, getattr(req, "member_id", ""), getattr(req, "group_instance_id", None),
            int(getattr(req, "generation_id", -1)), 9))
    except CoordinatorError as e:
        code = e.error_code
        if code == ErrorCode.group_id_not_found:
            code = ErrorCode.illegal_generation
        return _result(req.topics, code)
    # the producer must be current for its transactional id (when this broker coordinates it)
    tx = service.coordinator
    try:
        meta = tx.shard_of(req.transactional_id).txns.get(req.transactional_id)
    except CoordinatorError:
        meta = None
    if meta is not None and (meta.producer_id != req.producer_id or meta.producer_epoch != req.producer_epoch):
        return _result(req.topics, ErrorCode.invalid_producer_epoch if meta.producer_id == req.producer_id
                       else ErrorCode.invalid_producer_id_mapping)
    pending = service.pending_offsets.setdefault((int(req.producer_id), group_id), {})
    for t in req.topics:
        for p in t.partitions:
            pending[(t.name, int(p.partition_index))] = (
                int(p.committed_offset), int(getattr(p, "committed_leader_epoch", -1)), p.committed_metadata or "")
    return _result(req.topics, ErrorCode.none)
