"""TxnOffsetCommit (key 28), v0–6 (v5: transaction version 2, see below; v6, KIP-1319: topics named by
id in the request and the answer, as v5 otherwise).

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
partition the cluster does not have gets UNKNOWN_TOPIC_OR_PARTITION (a topic id it does not know,
UNKNOWN_TOPIC_ID) and is not committed; the answer lists those first, as Kafka's builder does. From v6
a group that does not exist (asked with a generation) is GROUP_ID_NOT_FOUND and a stale member epoch
STALE_MEMBER_EPOCH, where older versions read ILLEGAL_GENERATION.
"""

import inspect

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import refuse_commit, service_of, sort_commit_topics
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.runtime import CoordinatorError
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.TXN_OFFSET_COMMIT, 0, 6)
def handle_txn_offset_commit(ctx, req):
    by_id = ctx.version >= 6
    if not authz.authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactional_id):
        return refuse_commit(req.topics, by_id, ErrorCode.transactional_id_authorization_failed)
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return refuse_commit(req.topics, by_id, ErrorCode.group_authorization_failed)
    # as Kafka: unknown topics and partitions are answered first, before anything else is asked
    answer, key_of, topics = sort_commit_topics(ctx.broker, req.topics, by_id, ctx)
    if not topics:
        return answer.body()

    def refuse(code: int) -> dict:
        for name, parts in topics.items():
            for p in parts:
                answer.add(key_of[name], p[0], code)
        return answer.body()

    service, groups = txn_service_of(ctx), service_of(ctx)
    if service is None or groups is None:
        return refuse(ErrorCode.coordinator_not_available)
    # the producer must be current for its transactional id (when this broker coordinates it)
    tx = service.coordinator
    try:
        meta = tx.shard_of(req.transactional_id).txns.get(req.transactional_id)
    except CoordinatorError:
        meta = None
    if meta is not None and (meta.producer_id != req.producer_id or meta.producer_epoch != req.producer_epoch):
        return refuse(
            ErrorCode.invalid_producer_epoch
            if meta.producer_id == req.producer_id
            else ErrorCode.invalid_producer_id_mapping
        )

    def commit() -> dict:
        result = groups.call(
            groups.coordinator.commit_transactional_offsets,
            group_id=req.group_id,
            producer_id=int(req.producer_id),
            producer_epoch=int(req.producer_epoch),
            generation_id=int(getattr(req, "generation_id", -1)),
            member_id=getattr(req, "member_id", "") or "",
            group_instance_id=getattr(req, "group_instance_id", None),
            topics=list(topics.items()),
            api_version=ctx.version,
        )
        for t in result["topics"]:
            for p in t["partitions"]:
                answer.add(key_of.get(t["name"], t["name"]), p["partition_index"], p["error_code"])
        return dict(result, **answer.body())

    code = service.check_txn_offset_commit(
        req.transactional_id, int(req.producer_id), int(req.producer_epoch), req.group_id, ctx.version
    )
    if inspect.isawaitable(code):  # the transaction coordinator is another broker: commit once it answers

        async def when_verified() -> dict:
            verified = await code
            return refuse(verified) if verified else commit()

        return when_verified()
    return refuse(code) if code else commit()
