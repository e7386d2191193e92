"""AlterClientQuotas (key 49), v0–1: set or remove client quotas (KIP-546).

Validated and turned into ``ClientQuotaRecord``s by the controller (``kavka.controller.client_quotas``,
Kafka's rules and messages); committed to the metadata log unless ``validate_only``. One result per
distinct entity, its parts in Kafka's order. An ``ip`` entity's name may be a host name; it is resolved
here (the controller does no I/O), as Kafka's controller resolves it.
"""

import socket

from kavka.broker import authz
from kavka.broker.authz import AclOperation
from kavka.broker.registry import handles
from kavka.controller.client_quotas import QuotaAlteration, QuotaOp
from kavka.protocol.api import ApiKey, ErrorCode


def _resolves(host: str) -> bool:
    try:
        socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return False
    return True


def _refused(ctx, req):
    """ALTER_CONFIGS on the cluster, else every entry CLUSTER_AUTHORIZATION_FAILED (also checked by a node
    before it forwards the request to the active controller)."""
    if authz.authorize_cluster(ctx, AclOperation.ALTER_CONFIGS):
        return None
    return {
        "throttle_time": 0,
        "entries": [
            {
                "error_code": ErrorCode.cluster_authorization_failed,
                "error_message": "Cluster authorization failed.",
                "entity": [{"entity_type": e.entity_type, "entity_name": e.entity_name} for e in entry.entity],
            }
            for entry in req.entries
        ],
    }


@handles(ApiKey.ALTER_CLIENT_QUOTAS, 0, 1)
def handle_alter_client_quotas(ctx, req):
    refused = _refused(ctx, req)
    if refused is not None:
        return refused
    alterations = [
        QuotaAlteration(
            tuple((e.entity_type, e.entity_name) for e in entry.entity),
            tuple(QuotaOp(op.key, float(op.value), bool(op.remove)) for op in entry.ops),
        )
        for entry in req.entries
    ]
    results = ctx.broker.controller.alter_client_quotas(alterations, bool(req.validate_only), _resolves)
    return {
        "throttle_time": 0,
        "entries": [
            {
                "error_code": r.error_code,
                "error_message": r.error_message,
                "entity": [{"entity_type": t, "entity_name": n} for t, n in r.entity],
            }
            for r in results
        ],
    }


handle_alter_client_quotas.refuse_before_forwarding = _refused
