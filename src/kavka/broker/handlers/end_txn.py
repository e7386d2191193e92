"""EndTxn (key 26), v0–4.

Commits or aborts the producer's transaction: answered once PrepareCommit/PrepareAbort is in
``__transaction_state``; the markers are written right after (in process) and the transaction
completes (kavka.coordinator.txn).
"""

from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.END_TXN, 0, 4)
def handle_end_txn(ctx, req):
    service = txn_service_of(ctx)
    if service is None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available}
    code = service.call(
        service.coordinator.end_txn,
        transactional_id=req.transactional_id,
        producer_id=int(req.producer_id),
        producer_epoch=int(req.producer_epoch),
        commit=bool(req.committed),
    )
    return {"throttle_time": 0, "error_code": code}
