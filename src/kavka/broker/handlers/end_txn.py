"""EndTxn (key 26), v0–5.

Commits or aborts the producer's transaction: answered once PrepareCommit/PrepareAbort is in
``__transaction_state``; the markers are written right after (in process) and the transaction
completes (kavka.coordinator.txn). v2 knows PRODUCER_FENCED (older versions get
INVALID_PRODUCER_EPOCH), v4 TRANSACTION_ABORTABLE. v5 is transaction version 2 (KIP-890 part 2): the
epoch is bumped at every EndTxn and the answer carries the producer id and epoch the producer
continues with (-1/-1 with an error, as Kafka).
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.runtime import CoordinatorError
from kavka.coordinator.txn.versions import TV2_END_TXN_VERSION, for_version
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.END_TXN, 0, 5)
def handle_end_txn(ctx, req):
    if not authz.authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, req.transactional_id):
        return {"throttle_time": 0, "error_code": ErrorCode.transactional_id_authorization_failed}
    service = txn_service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available}
    code = service.call(
        service.coordinator.end_txn,
        transactional_id=req.transactional_id,
        producer_id=int(req.producer_id),
        producer_epoch=int(req.producer_epoch),
        commit=bool(req.committed),
        client_transaction_version=2 if ctx.version >= TV2_END_TXN_VERSION else 0,
    )
    response = {"throttle_time": 0, "error_code": for_version(ApiKey.END_TXN, ctx.version, code)}
    if code == ErrorCode.none and ctx.version >= TV2_END_TXN_VERSION:
        try:
            producer_id, producer_epoch = service.coordinator.producer_after_end(req.transactional_id)
        except CoordinatorError as e:  # the partition moved away after the answer: the client looks again
            return {"throttle_time": 0, "error_code": e.error_code}
        response.update(producer_id=producer_id, producer_epoch=producer_epoch)
    return response
