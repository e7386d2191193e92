"""UnregisterBroker (key 64), v0: remove a broker's registration from the cluster metadata (KIP-500).

An id that is not registered answers BROKER_ID_NOT_REGISTERED "Broker ID <id> is not currently
registered", as Kafka does. Unregistering this very node succeeds, as on Kafka 4.4 (seen there): the
node drops out of Metadata and DescribeCluster, so new topics have no broker to be placed on, until
the broker restarts and registers again.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey


@handles(ApiKey.UNREGISTER_BROKER, 0, 0)
def handle_unregister_broker(ctx, req):
    error = ctx.broker.controller.unregister_broker(int(req.broker_id))
    return {"throttle_time": 0, "error_code": int(error.code), "error_message": error.message or ""}
