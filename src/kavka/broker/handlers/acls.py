"""DescribeAcls / CreateAcls / DeleteAcls (keys 29–31), v1–3, on a broker with no authorizer.

Kavka has no ``authorizer.class.name`` (every connection may do everything, as on a Kafka broker
without one), so these answer as Kafka's ``AclApis`` does when no authorizer is configured:
SECURITY_DISABLED, at the top level for DescribeAcls and once per creation / filter for the other
two. Admin clients then raise their "security disabled" error, exactly as against Kafka.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_DESCRIBE_MESSAGE = "No Authorizer is configured on the broker"
_ALTER_MESSAGE = "No Authorizer is configured."


@handles(ApiKey.DESCRIBE_ACLS, 1, 3)
def handle_describe_acls(ctx, req):
    return {
        "throttle_time": 0,
        "error_code": ErrorCode.security_disabled,
        "error_message": _DESCRIBE_MESSAGE,
        "resources": [],
    }


@handles(ApiKey.CREATE_ACLS, 1, 3)
def handle_create_acls(ctx, req):
    return {
        "throttle_time": 0,
        "results": [
            {"error_code": ErrorCode.security_disabled, "error_message": _ALTER_MESSAGE} for _ in req.creations
        ],
    }


@handles(ApiKey.DELETE_ACLS, 1, 3)
def handle_delete_acls(ctx, req):
    return {
        "throttle_time": 0,
        "filter_results": [
            {"error_code": ErrorCode.security_disabled, "error_message": _ALTER_MESSAGE, "matching_acls": []}
            for _ in req.filters
        ],
    }
