"""ListTransactions (key 66), v0–2: transactions this broker coordinates, filtered by state names,
producer ids, (v1) how long they have been running and (v2, KIP-1152) a transactional id pattern."""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.LIST_TRANSACTIONS, 0, 2)
def handle_list_transactions(ctx, req):
    service = txn_service_of(ctx)
    if service is None:
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.coordinator_not_available,
            "unknown_state_filters": [],
            "transaction_states": [],
        }
    result = service.coordinator.list_transactions(
        state_filters=list(req.state_filters),
        producer_id_filters=[int(p) for p in req.producer_id_filters],
        duration_filter_ms=int(getattr(req, "duration_filter", -1)),
        transactional_id_pattern=getattr(req, "transactional_id_pattern", None),
    )
    if authz.enabled(ctx):  # Kafka lists only the transactional ids the principal may DESCRIBE
        allowed = authz.filter_authorized(
            ctx,
            AclOperation.DESCRIBE,
            ResourceType.TRANSACTIONAL_ID,
            (s["transactional_id"] for s in result["transaction_states"]),
        )
        result = dict(
            result, transaction_states=[s for s in result["transaction_states"] if s["transactional_id"] in allowed]
        )
    return dict(result, throttle_time=0)
