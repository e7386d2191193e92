"""InitProducerId (key 22), v0–5, for idempotent producers.

Without a transactional id every call gets a fresh producer id at epoch 0, as Kafka's
TransactionCoordinator does (a producer that asks to bump its epoch, KIP-360, also gets a new id).
Producer ids come from blocks the controller hands out through the metadata log, so an id is never
reused across restarts. Transactional ids belong to the transaction coordinator (not served yet).
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.INIT_PRODUCER_ID, 0, 5)
def handle_init_producer_id(ctx, req):
    if req.transactional_id is not None:
        return {"throttle_time": 0, "error_code": ErrorCode.coordinator_not_available,
                "producer_id": -1, "producer_epoch": -1}
    producer_id = ctx.broker.next_producer_id()
    return {"throttle_time": 0, "error_code": 0, "producer_id": producer_id, "producer_epoch": 0}
