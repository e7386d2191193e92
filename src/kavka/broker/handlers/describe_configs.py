"""DescribeConfigs (key 32), v1–4.

Topic (2), broker (4), broker-logger (8) and group (32) resources, every config or the requested names
(an empty list means all, as in Kafka). v1+ carries synonyms when asked; v3+ adds ``config_type`` and,
when asked, documentation. Password values are null. Per-resource errors are Kafka's ``ConfigHelper``'s:
an unknown topic is UNKNOWN_TOPIC_OR_PARTITION (no message), an illegal name INVALID_TOPIC_EXCEPTION,
another broker's id INVALID_REQUEST. A resource type Kafka does not know fails the whole request: every
resource gets INVALID_REQUEST with the error's default message, as Kafka's error response does.

A group (KIP-848's per-group configs, Kafka's ``GroupConfig``) is described whether or not it exists:
``consumer.session.timeout.ms`` and ``consumer.heartbeat.interval.ms``, each with the broker's
``group.consumer.*`` value as its default (source DEFAULT_CONFIG, and that one synonym, as Kafka's
``ConfigHelper.createGroupConfigEntry`` gives it), or a per-group value from the metadata image (source
GROUP_CONFIG). Kafka 4.0 also lists the ``share.*`` configs of its share groups, which Kavka does not
have. An empty group name is INVALID_REQUEST ``Group name must not be empty``.
"""

from kavka.broker import authz
from kavka.broker.admin import INVALID_REQUEST_MESSAGE, RESOURCE_TYPE_NAMES, AdminError, describe_resource
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.registry import handles
from kavka.metadata.config import ConfigSource
from kavka.metadata.configdefs import BROKER_CONFIGS
from kavka.metadata.configtypes import ConfigType
from kavka.metadata.records import ConfigResourceType
from kavka.protocol.api import ApiKey, ErrorCode

# GroupConfig name -> the broker config that gives its default.
GROUP_CONFIG_DEFAULTS = {
    "consumer.heartbeat.interval.ms": "group.consumer.heartbeat.interval.ms",
    "consumer.session.timeout.ms": "group.consumer.session.timeout.ms",
}


def _describe_group(broker, name: str, keys, *, include_synonyms: bool, include_documentation: bool) -> list[dict]:
    if not name:
        raise AdminError(ErrorCode.invalid_request, "Group name must not be empty")
    overrides = broker.image.configs.get((ConfigResourceType.GROUP, name), {})
    out = []
    for config, broker_name in GROUP_CONFIG_DEFAULTS.items():
        if keys and config not in keys:
            continue
        if config in overrides:
            value, source = overrides[config], ConfigSource.GROUP_CONFIG
        else:
            value, source = str(int(broker.config[broker_name])), ConfigSource.DEFAULT_CONFIG
        definition = BROKER_CONFIGS[broker_name]
        out.append(
            {
                "name": config,
                "value": value,
                "read_only": False,
                "config_source": int(source),
                "is_sensitive": False,
                "synonyms": [{"name": config, "value": value, "source": int(source)}] if include_synonyms else [],
                "config_type": ConfigType.INT.id,
                "documentation": definition.doc if include_documentation else None,
            }
        )
    return out


# Kafka's Errors messages, which ConfigHelper puts on a refused resource
_DENIED_MESSAGES = {
    ErrorCode.cluster_authorization_failed: "Cluster authorization failed.",
    ErrorCode.topic_authorization_failed: "Topic authorization failed.",
    ErrorCode.group_authorization_failed: "Group authorization failed.",
}


def _denied(ctx, resource_type: int, name: str) -> int | None:
    """Kafka's ConfigHelper check, DESCRIBE_CONFIGS: on the cluster for broker (and logger) resources, on
    the topic or group otherwise; the error code when refused, else None."""
    if resource_type in (ConfigResourceType.BROKER, ConfigResourceType.BROKER_LOGGER):
        return (
            None
            if authz.authorize_cluster(ctx, AclOperation.DESCRIBE_CONFIGS)
            else ErrorCode.cluster_authorization_failed
        )
    if resource_type == ConfigResourceType.TOPIC:
        ok = authz.authorize(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, name)
        return None if ok else ErrorCode.topic_authorization_failed
    if resource_type == ConfigResourceType.GROUP:
        ok = authz.authorize(ctx, AclOperation.DESCRIBE_CONFIGS, ResourceType.GROUP, name)
        return None if ok else ErrorCode.group_authorization_failed
    if resource_type == ConfigResourceType.CLIENT_METRICS:
        return (
            None
            if authz.authorize_cluster(ctx, AclOperation.DESCRIBE_CONFIGS)
            else ErrorCode.cluster_authorization_failed
        )
    return None


@handles(ApiKey.DESCRIBE_CONFIGS, 1, 4)
def handle_describe_configs(ctx, req):
    flags = {
        "include_synonyms": bool(req.include_synonyms),
        "include_documentation": bool(getattr(req, "include_documentation", False)),
    }
    if any(int(r.resource_type) not in RESOURCE_TYPE_NAMES or int(r.resource_type) == 0 for r in req.resources):
        return {
            "throttle_time": 0,
            "results": [
                {
                    "error_code": ErrorCode.invalid_request,
                    "error_message": INVALID_REQUEST_MESSAGE,
                    "resource_type": r.resource_type,
                    "resource_name": r.resource_name,
                    "configs": [],
                }
                for r in req.resources
            ],
        }
    results = []
    for r in req.resources:
        denied = _denied(ctx, int(r.resource_type), r.resource_name)
        if denied is not None:
            results.append(
                {
                    "error_code": denied,
                    "error_message": _DENIED_MESSAGES[denied],
                    "resource_type": r.resource_type,
                    "resource_name": r.resource_name,
                    "configs": [],
                }
            )
            continue
        try:
            if int(r.resource_type) == ConfigResourceType.GROUP:
                configs = _describe_group(ctx.broker, r.resource_name, r.configuration_keys, **flags)
            else:
                configs = describe_resource(
                    ctx.broker, int(r.resource_type), r.resource_name, r.configuration_keys, **flags
                )
            code, message = 0, None
        except AdminError as e:
            configs, code, message = [], e.code, e.message
        # Kafka sends "" rather than null when there is no message, on success too.
        results.append(
            {
                "error_code": code,
                "error_message": message or "",
                "resource_type": r.resource_type,
                "resource_name": r.resource_name,
                "configs": configs,
            }
        )
    return {"throttle_time": 0, "results": results}
