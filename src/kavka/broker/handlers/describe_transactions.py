"""DescribeTransactions (key 65), v0: the state of transactional ids this broker coordinates."""

from types import SimpleNamespace

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.broker.txn_service import txn_service_of
from kavka.coordinator.txn.coordinator import transaction_state_entry
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.DESCRIBE_TRANSACTIONS, 0, 0)
def handle_describe_transactions(ctx, req):
    if authz.enabled(ctx):
        return _authorized(ctx, req)
    return _describe(ctx, req)


def _authorized(ctx, req):
    """Kafka: DESCRIBE on each transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED), and only the
    topics of a transaction the principal may DESCRIBE."""
    ids = list(req.transactional_ids)
    allowed = authz.filter_authorized(ctx, AclOperation.DESCRIBE, ResourceType.TRANSACTIONAL_ID, ids)
    answer = _describe(ctx, SimpleNamespace(transactional_ids=[i for i in ids if i in allowed])) if allowed else None
    states = []
    for entry in answer["transaction_states"] if answer else []:
        topics = [
            t
            for t in entry.get("topics", [])
            if authz.authorize(ctx, AclOperation.DESCRIBE, ResourceType.TOPIC, t["topic"])
        ]
        states.append({**entry, "topics": topics})
    states += [
        transaction_state_entry(i, ErrorCode.transactional_id_authorization_failed) for i in ids if i not in allowed
    ]
    return {"throttle_time": 0, "transaction_states": states}


def _describe(ctx, req):
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
