"""DescribeTransactions (key 65), v0: the state of transactional ids this broker coordinates."""

from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.DESCRIBE_TRANSACTIONS, 0, 0)
def handle_describe_transactions(ctx, req):
    service = txn_service_of(ctx)
    if service is None:
        return {
            "throttle_time": 0,
            "transaction_states": [
                {
                    "error_code": ErrorCode.coordinator_not_available,
                    "transactional_id": t,
                    "transaction_state": "",
                    "transaction_timeout": 0,
                    "transaction_start_time": -1,
                    "producer_id": -1,
                    "producer_epoch": -1,
                    "topics": [],
                }
                for t in req.transactional_ids
            ],
        }
    return {
        "throttle_time": 0,
        "transaction_states": service.coordinator.describe_transactions(list(req.transactional_ids)),
    }
