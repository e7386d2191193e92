"""DescribeAcls / CreateAcls / DeleteAcls (keys 29–31), v1–3, as Kafka's ``AclApis`` answers them.

Without an authorizer (``authorizer.class.name`` empty) they answer SECURITY_DISABLED, at the top level
for DescribeAcls and once per creation / filter for the other two, as a Kafka broker without one does.

With Kafka's StandardAuthorizer: DescribeAcls needs DESCRIBE on the cluster, CreateAcls and DeleteAcls
ALTER (else CLUSTER_AUTHORIZATION_FAILED: top level for DescribeAcls, on each result for the others).
Creations and deletions are decided against the controller's image by ``kavka.security.acl_control``
and committed as AccessControlEntryRecord / RemoveAccessControlEntryRecord (forwarded to the active
controller in a cluster, after the cluster check on the node the client called).
"""

from kavka.broker import authz
from kavka.broker.dispatch import CloseConnection
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.security.acl_control import create_acls, delete_acls, describe_acls
from kavka.security.authorizer import Acl, AclFilter, AclOperation

_DESCRIBE_MESSAGE = "No Authorizer is configured on the broker"
_ALTER_MESSAGE = "No Authorizer is configured."


@handles(ApiKey.DESCRIBE_ACLS, 1, 3)
def handle_describe_acls(ctx, req):
    if not authz.enabled(ctx):
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.security_disabled,
            "error_message": _DESCRIBE_MESSAGE,
            "resources": [],
        }
    if not authz.authorize_cluster(ctx, AclOperation.DESCRIBE):
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.cluster_authorization_failed,
            "error_message": authz.denied_message(ctx, AclOperation.DESCRIBE),
            "resources": [],
        }
    f = _known(
        AclFilter(
            int(req.resource_type_filter),
            req.resource_name_filter,
            int(req.pattern_type_filter),
            req.principal_filter,
            req.host_filter,
            int(req.operation),
            int(req.permission_type),
        )
    )
    groups = describe_acls(ctx.broker.authz.current().index, f)
    return {
        "throttle_time": 0,
        "error_code": 0,
        "error_message": "",
        "resources": [
            {
                "resource_type": rtype,
                "resource_name": name,
                "pattern_type": ptype,
                "acls": [
                    {
                        "principal": a.principal,
                        "host": a.host,
                        "operation": a.operation,
                        "permission_type": a.permission,
                    }
                    for a in acls
                ],
            }
            for (rtype, name, ptype), acls in groups
        ],
    }


def _known(f: AclFilter) -> AclFilter:
    """Kafka refuses to parse a filter with an UNKNOWN code ("Filters contain UNKNOWN elements") and
    closes the connection; so does Kavka."""
    if f.is_unknown():
        raise CloseConnection(f"ACL filter contains UNKNOWN elements: {f}")
    return f


def _known_creation(c) -> None:
    codes = (c.resource_type, c.resource_pattern_type, c.operation, c.permission_type)
    if any(int(x) == 0 for x in codes):
        raise CloseConnection("ACL creation contains UNKNOWN elements")


def _refused_create(ctx, req):
    """The answer when CreateAcls may not proceed here (no authorizer, no cluster ALTER), else None."""
    if not authz.enabled(ctx):
        code, message = ErrorCode.security_disabled, _ALTER_MESSAGE
    elif not authz.authorize_cluster(ctx, AclOperation.ALTER):
        code, message = ErrorCode.cluster_authorization_failed, authz.denied_message(ctx, AclOperation.ALTER)
    else:
        return None
    return {"throttle_time": 0, "results": [{"error_code": code, "error_message": message} for _ in req.creations]}


@handles(ApiKey.CREATE_ACLS, 1, 3)
def handle_create_acls(ctx, req):
    refused = _refused_create(ctx, req)
    if refused is not None:
        return refused
    for c in req.creations:
        _known_creation(c)
    controller = ctx.broker.controller
    acls = [
        Acl(
            int(c.resource_type),
            c.resource_name,
            int(c.resource_pattern_type),
            c.principal,
            c.host,
            int(c.operation),
            int(c.permission_type),
        )
        for c in req.creations
    ]
    results, records = create_acls(controller.image.acls, acls)
    controller.write_acls(records)
    return {
        "throttle_time": 0,  # Kafka answers "" for no message on success, null for an UNKNOWN_SERVER_ERROR
        "results": [
            {"error_code": r.error_code, "error_message": "" if r.error_code == 0 else r.error_message} for r in results
        ],
    }


handle_create_acls.refuse_before_forwarding = _refused_create


def _refused_delete(ctx, req):
    if not authz.enabled(ctx):
        code, message = ErrorCode.security_disabled, _ALTER_MESSAGE
    elif not authz.authorize_cluster(ctx, AclOperation.ALTER):
        code, message = ErrorCode.cluster_authorization_failed, authz.denied_message(ctx, AclOperation.ALTER)
    else:
        return None
    return {
        "throttle_time": 0,
        "filter_results": [{"error_code": code, "error_message": message, "matching_acls": []} for _ in req.filters],
    }


@handles(ApiKey.DELETE_ACLS, 1, 3)
def handle_delete_acls(ctx, req):
    refused = _refused_delete(ctx, req)
    if refused is not None:
        return refused
    controller = ctx.broker.controller
    filters = [
        _known(
            AclFilter(
                int(f.resource_type_filter),
                f.resource_name_filter,
                int(f.pattern_type_filter),
                f.principal_filter,
                f.host_filter,
                int(f.operation),
                int(f.permission_type),
            )
        )
        for f in req.filters
    ]
    results, records = delete_acls(controller.image.acls, filters)
    controller.write_acls(records)
    return {
        "throttle_time": 0,
        "filter_results": [
            {
                "error_code": r.error_code,
                "error_message": r.error_message,
                "matching_acls": [
                    {
                        "error_code": 0,
                        "error_message": None,
                        "resource_type": a.resource_type,
                        "resource_name": a.resource_name,
                        "pattern_type": a.pattern_type,
                        "principal": a.principal,
                        "host": a.host,
                        "operation": a.operation,
                        "permission_type": a.permission,
                    }
                    for a in r.matching
                ],
            }
            for r in results
        ],
    }


handle_delete_acls.refuse_before_forwarding = _refused_delete
