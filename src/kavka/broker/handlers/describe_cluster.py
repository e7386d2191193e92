"""DescribeCluster (key 60), v0–1: cluster id, controller and brokers, as the AdminClient shows them."""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.DESCRIBE_CLUSTER, 0, 1)
def handle_describe_cluster(ctx, req):
    broker = ctx.broker
    return {
        "throttle_time": 0,
        "error_code": 0,
        "error_message": None,
        "endpoint_type": getattr(req, "endpoint_type", 1),
        "cluster_id": broker.cluster_id,
        "controller_id": broker.controller_id,
        "brokers": [
            {"broker_id": b.node_id, "host": b.host, "port": b.port, "rack": b.rack}
            for b in broker.live_brokers()
        ],
        "cluster_authorized_operations": -2147483648,
    }
