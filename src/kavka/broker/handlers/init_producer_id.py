"""InitProducerId (key 22), v0–5.

Without a transactional id every call gets a fresh producer id at epoch 0, as Kafka's
TransactionCoordinator does (a producer that asks to bump its epoch, KIP-360, also gets a new id).
Producer ids come from blocks the controller hands out through the metadata log, so an id is never
reused across restarts. With a transactional id the transaction coordinator answers
(kavka.coordinator.txn): a new producer id or an epoch bump that fences older producers; v3+ carry
the caller's producer id and epoch (KIP-360). A fenced caller gets PRODUCER_FENCED from v4 and
INVALID_PRODUCER_EPOCH below (kavka.coordinator.txn.versions).
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import millis
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.controller.errors import ProducerIdsNotReady
from kavka.coordinator.txn.versions import for_version
from kavka.protocol.api import ApiKey, ErrorCode


def _denied(ctx, transactional_id: str | None) -> int | None:
    """Kafka's checks: WRITE on the transactional id; without one (idempotence), IDEMPOTENT_WRITE on the
    cluster or WRITE on some topic (KIP-679, ``authorizeByResourceType``)."""
    if transactional_id is not None:
        if authz.authorize(ctx, AclOperation.WRITE, ResourceType.TRANSACTIONAL_ID, transactional_id):
            return None
        return ErrorCode.transactional_id_authorization_failed
    if authz.authorize_cluster(ctx, AclOperation.IDEMPOTENT_WRITE) or authz.authorize_by_resource_type(
        ctx, AclOperation.WRITE, ResourceType.TOPIC
    ):
        return None
    return ErrorCode.cluster_authorization_failed


@handles(ApiKey.INIT_PRODUCER_ID, 0, 5)
def handle_init_producer_id(ctx, req):
    producer_id, producer_epoch = int(getattr(req, "producer_id", -1)), int(getattr(req, "producer_epoch", -1))
    if (producer_id == -1) != (producer_epoch == -1):  # v3+: both or neither, as Kafka's KafkaApis checks
        return {"throttle_time": 0, "error_code": ErrorCode.invalid_request, "producer_id": -1, "producer_epoch": -1}
    denied = _denied(ctx, req.transactional_id)
    if denied is not None:
        return {"throttle_time": 0, "error_code": denied, "producer_id": -1, "producer_epoch": -1}
    if req.transactional_id is not None:
        service = txn_service_of(ctx)
        if service is None:
            return {
                "throttle_time": 0,
                "error_code": ErrorCode.coordinator_not_available,
                "producer_id": -1,
                "producer_epoch": -1,
            }
        result = service.call(
            service.coordinator.init_producer_id,
            transactional_id=req.transactional_id,
            transaction_timeout_ms=millis(req.transaction_timeout),
            producer_id=producer_id,
            producer_epoch=producer_epoch,
        )
        error = for_version(ApiKey.INIT_PRODUCER_ID, ctx.version, result["error_code"])
        return dict(result, error_code=error, throttle_time=0)
    try:
        producer_id = ctx.broker.next_producer_id()
    except ProducerIdsNotReady:
        # Kafka's ProducerIdManager while its next block is on the way: retriable, the client retries
        code = ErrorCode.coordinator_load_in_progress
        return {"throttle_time": 0, "error_code": code, "producer_id": -1, "producer_epoch": -1}
    return {"throttle_time": 0, "error_code": 0, "producer_id": producer_id, "producer_epoch": 0}
