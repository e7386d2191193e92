"""DescribeCluster (key 60), v0–2: cluster id, controller and brokers, as the AdminClient shows them.

As Kafka's ``AuthHelper.computeDescribeClusterResponse`` answers on a broker: v1's ``endpoint_type``
must be 1 (brokers); 2 (controllers) is MISMATCHED_ENDPOINT_TYPE and any other value
UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST for both in v0, which has no such field). On the CONTROLLER
listener it answers as Kafka's controller does for ``--bootstrap-controller`` clients (KIP-919): the
endpoint type must be 2, the nodes are the quorum's voters at their ``controller.quorum.voters``
addresses, and the controller id is the quorum's leader (-1 while none is known). With
``include_cluster_authorized_operations`` the answer carries every cluster operation (there is no
authorizer), else INT32_MIN. v2 (KIP-1073) marks each broker ``is_fenced`` and, with
``include_fenced_brokers``, lists the registered brokers that are fenced too (by id, after the live ones
as Kafka's ``MetadataCache.getBrokerNodes`` does not sort them apart: all sorted by id).
"""

from kavka.broker import authz
from kavka.broker.acl_operations import CLUSTER_OPERATIONS, NOT_REQUESTED, authorized_operations
from kavka.broker.authz import CLUSTER_NAME, AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_BROKER, _CONTROLLER = 1, 2


@handles(ApiKey.DESCRIBE_CLUSTER, 0, 2)
def handle_describe_cluster(ctx, req):
    broker = ctx.broker
    endpoint_type = int(getattr(req, "endpoint_type", _BROKER))
    served = _CONTROLLER if ctx.listener == "controller" else _BROKER
    if endpoint_type != served:
        if endpoint_type in (_BROKER, _CONTROLLER):
            code = ErrorCode.mismatched_endpoint_type
            names = {_BROKER: "BROKER", _CONTROLLER: "CONTROLLER"}
            message = (
                f"The request was sent to an endpoint of type {names[served]}, "
                f"but we wanted an endpoint of type {names[endpoint_type]}"
            )
        else:
            code = ErrorCode.unsupported_endpoint_type
            message = f"Unsupported endpoint type {endpoint_type}"
        if ctx.version == 0:
            code = ErrorCode.invalid_request
        return {"throttle_time": 0, "error_code": code, "error_message": message, "cluster_id": "", "brokers": []}
    include_ops = bool(getattr(req, "include_cluster_authorized_operations", False))
    if served == _CONTROLLER:
        return {
            "throttle_time": 0,
            "error_code": 0,
            "error_message": None,
            "endpoint_type": _CONTROLLER,
            "cluster_id": broker.cluster_id,
            "controller_id": broker.active_controller_id,
            "brokers": [
                {"broker_id": node, "host": host, "port": port, "rack": None, "is_fenced": False}
                for node, (host, port) in sorted(broker.voters.items())
            ],
            "cluster_authorized_operations": _cluster_operations(ctx) if include_ops else NOT_REQUESTED,
        }
    brokers = [
        {"broker_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack, "is_fenced": False}
        for b in broker.live_brokers(ctx.conn.listener_name)
    ]
    controller_id = broker.controller_id
    if controller_id not in {b["broker_id"] for b in brokers}:
        controller_id = -1
    if getattr(req, "include_fenced_brokers", False):
        brokers = sorted(brokers + _fenced(broker, {b["broker_id"] for b in brokers}), key=lambda b: b["broker_id"])
    return {
        "throttle_time": 0,
        "error_code": 0,
        "error_message": None,
        "endpoint_type": _BROKER,
        "cluster_id": broker.cluster_id,
        "controller_id": controller_id,
        "brokers": brokers,
        "cluster_authorized_operations": _cluster_operations(ctx) if include_ops else NOT_REQUESTED,
    }


def _cluster_operations(ctx) -> int:
    """Every cluster operation with no authorizer; else the principal's (0 without DESCRIBE on it), as
    Kafka's ``computeDescribeClusterResponse``."""
    if not authz.enabled(ctx):
        return CLUSTER_OPERATIONS
    if not authz.authorize_cluster(ctx, AclOperation.DESCRIBE):
        return 0
    return authorized_operations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)


def _fenced(broker, live: set[int]) -> list[dict]:
    """Fenced registrations of the metadata image, at their first listener's endpoint."""
    out = []
    for reg in broker.image.brokers.values():
        if reg.fenced and reg.broker_id not in live and reg.endpoints:
            ep = reg.endpoints[0]
            out.append(
                {"broker_id": reg.broker_id, "host": ep.host, "port": ep.port, "rack": reg.rack, "is_fenced": True}
            )
    return out
