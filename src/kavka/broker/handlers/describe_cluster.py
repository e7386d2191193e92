"""DescribeCluster (key 60), v0–1: cluster id, controller and brokers, as the AdminClient shows them.

As Kafka's ``AuthHelper.computeDescribeClusterResponse`` answers on a broker: v1's ``endpoint_type``
must be 1 (brokers); 2 (controllers) is MISMATCHED_ENDPOINT_TYPE and any other value
UNSUPPORTED_ENDPOINT_TYPE (INVALID_REQUEST for both in v0, which has no such field). With
``include_cluster_authorized_operations`` the answer carries every cluster operation (there is no
authorizer), else INT32_MIN.
"""

from kavka.broker.acl_operations import CLUSTER_OPERATIONS, NOT_REQUESTED
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode

_BROKER, _CONTROLLER = 1, 2


@handles(ApiKey.DESCRIBE_CLUSTER, 0, 1)
def handle_describe_cluster(ctx, req):
    broker = ctx.broker
    endpoint_type = int(getattr(req, "endpoint_type", _BROKER))
    if endpoint_type != _BROKER:
        if endpoint_type == _CONTROLLER:
            code = ErrorCode.mismatched_endpoint_type
            message = "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
        else:
            code = ErrorCode.unsupported_endpoint_type
            message = f"Unsupported endpoint type {endpoint_type}"
        if ctx.version == 0:
            code = ErrorCode.invalid_request
        return {"throttle_time": 0, "error_code": code, "error_message": message, "cluster_id": "", "brokers": []}
    brokers = broker.live_brokers()
    controller_id = broker.controller_id
    if controller_id not in {b.node_id for b in brokers}:
        controller_id = -1
    include_ops = bool(getattr(req, "include_cluster_authorized_operations", False))
    return {
        "throttle_time": 0,
        "error_code": 0,
        "error_message": None,
        "endpoint_type": _BROKER,
        "cluster_id": broker.cluster_id,
        "controller_id": controller_id,
        "brokers": [{"broker_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack} for b in brokers],
        "cluster_authorized_operations": CLUSTER_OPERATIONS if include_ops else NOT_REQUESTED,
    }
