"""ListConfigResources (key 74), v0–1: the resources that have configs (KIP-1142; v0 was
ListClientMetricsResources, KIP-714).

As a Kafka 4.4 broker answers (checked against it): v0 lists the client-metrics resources only, by
name. v1 lists the requested resource types, or every type for an empty list. Topics are every topic; the broker and broker-logger resources are this node; groups and
client-metrics resources are those with configs in the metadata image. Results go by type in Kafka's
order (groups, client metrics, broker loggers, brokers, topics), each type once however often it is
asked for. A type that is not a config resource type answers UNSUPPORTED_VERSION, as Kafka does.
"""

from kavka.broker.registry import handles
from kavka.metadata.records import ConfigResourceType as T
from kavka.protocol.api import ApiKey, ErrorCode

_ORDER = (T.GROUP, T.CLIENT_METRICS, T.BROKER_LOGGER, T.BROKER, T.TOPIC)


def _names(broker, resource_type: int) -> list[str]:
    image = broker.image
    if resource_type == T.TOPIC:
        return sorted(image.topics_by_name)
    if resource_type in (T.BROKER, T.BROKER_LOGGER):
        return [str(broker.node_id)]
    return sorted(name for (kind, name) in image.configs if kind == resource_type)


@handles(ApiKey.LIST_CONFIG_RESOURCES, 0, 1)
def handle_list_config_resources(ctx, req):
    if ctx.version == 0:
        names = _names(ctx.broker, T.CLIENT_METRICS)
        return {"throttle_time": 0, "error_code": 0, "config_resources": [{"resource_name": n} for n in names]}
    wanted = {int(t) for t in req.resource_types} or set(_ORDER)
    if not wanted <= set(_ORDER):
        return {"throttle_time": 0, "error_code": ErrorCode.unsupported_version, "config_resources": []}
    return {
        "throttle_time": 0,
        "error_code": 0,
        "config_resources": [
            {"resource_name": name, "resource_type": kind}
            for kind in _ORDER
            if kind in wanted
            for name in _names(ctx.broker, kind)
        ],
    }
