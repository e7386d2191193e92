"""AddOffsetsToTxn (key 25), v0–4 (v2 knows PRODUCER_FENCED, older ones get INVALID_PRODUCER_EPOCH;
v4 knows TRANSACTION_ABORTABLE).

Adds the group's ``__consumer_offsets`` partition to the transaction, so offsets the producer then
sends with TxnOffsetCommit are committed (or dropped) with it.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.txn.versions import for_version
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.ADD_OFFSETS_TO_TXN, 0, 4)
def handle_add_offsets_to_txn(ctx, req):
    if not authz.authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactional_id):
        return {"throttle_time": 0, "error_code": ErrorCode.transactional_id_authorization_failed}
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return {"throttle_time": 0, "error_code": ErrorCode.group_authorization_failed}
    service = txn_service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available}
    gs = getattr(ctx.broker, "group_service", None)
    if gs is not None:
        gs.ensure_offsets_topic()
    code = service.call(
        service.coordinator.add_offsets_to_txn,
        transactional_id=req.transactional_id,
        producer_id=int(req.producer_id),
        producer_epoch=int(req.producer_epoch),
        group_id=req.group_id,
    )
    return {"throttle_time": 0, "error_code": for_version(ApiKey.ADD_OFFSETS_TO_TXN, ctx.version, code)}
