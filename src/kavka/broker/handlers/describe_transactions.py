"""DescribeTransactions (key 65), v0: the state of transactional ids this broker coordinates."""

from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.txn.coordinator import transaction_state_entry
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.DESCRIBE_TRANSACTIONS, 0, 0)
def handle_describe_transactions(ctx, req):
    service = txn_service_of(ctx)
    if service is None:
        return {
            "throttle_time": 0,
            "transaction_states": [
                transaction_state_entry(t, ErrorCode.coordinator_not_available) for t in req.transactional_ids
            ],
        }
    return {
        "throttle_time": 0,
        "transaction_states": service.coordinator.describe_transactions(list(req.transactional_ids)),
    }
