"""DescribeClientQuotas (key 48), v0–1: the client quotas a filter selects (KIP-546).

Answered from the metadata image (``kavka.metadata.client_quotas``: match types exact, default and
any, ``strict``). A filter Kafka refuses gets its error code and message and null entries; success
carries an empty (not null) message, as Kafka's does. Values are listed by key.
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation
from kavka.broker.registry import handles
from kavka.metadata.client_quotas import DescribeError, FilterComponent, answer_order, describe_client_quotas
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.DESCRIBE_CLIENT_QUOTAS, 0, 1)
def handle_describe_client_quotas(ctx, req):
    if not authz.authorize_cluster(ctx, AclOperation.DESCRIBE_CONFIGS):
        return {"throttle_time": 0, "error_code": ErrorCode.cluster_authorization_failed, "error_message": None,
                "entries": None}  # fmt: skip
    components = [FilterComponent(c.entity_type, int(c.match_type), c.match) for c in req.components]
    try:
        found = describe_client_quotas(ctx.broker.image.client_quotas, components, bool(req.strict))
    except DescribeError as e:
        return {"throttle_time": 0, "error_code": e.code, "error_message": str(e), "entries": None}
    return {
        "throttle_time": 0,
        "error_code": 0,
        "error_message": "",
        "entries": [
            {
                "entity": [{"entity_type": t, "entity_name": n} for t, n in answer_order(entity)],
                "values": [{"key": k, "value": v} for k, v in sorted(values.items())],
            }
            for entity, values in found
        ],
    }
