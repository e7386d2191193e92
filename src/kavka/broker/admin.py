"""What the admin API handlers share: config resources, the broker-side checks Kafka makes before a
config change reaches the controller, and applying committed metadata to the live broker.

Kafka splits a config change in two (``ConfigAdminManager``): the broker that receives the request
"preprocesses" it, and the controller validates and persists what is left. Kavka does the same, so the
codes and messages are Kafka's:

- a resource given twice: INVALID_REQUEST ``Each resource must appear at most once.`` (both copies);
- a key given twice in one resource: INVALID_REQUEST ``Error due to duplicate config keys``;
- a null value (except for DELETE): INVALID_REQUEST ``Null value not supported for : a, b``;
- BROKER resources: the name is ``""`` (cluster default) or this node's id (INVALID_REQUEST
  ``Node id must be an integer, but it is: x`` / ``Unexpected broker id, expected 1, but received 2``),
  and the resulting dynamic set must validate as Kafka's ``DynamicBrokerConfig.validate`` does
  (``kavka.metadata.dynamicconfig``) -- ``Cannot update these configs dynamically: [log.dirs]``, a bad
  value's ``ConfigException`` text, ``Cannot update these configs at default cluster level, broker id
  must be specified: [listeners]`` -- all INVALID_REQUEST (Kafka maps them so, KAFKA-13609).
  APPEND/SUBTRACT on a broker config that is not a LIST: INVALID_CONFIG ``Config value append is not
  allowed for config key: x``.
- other resource types than TOPIC and BROKER (and BROKER_LOGGER for IncrementalAlterConfigs):
  INVALID_REQUEST ``Unknown resource type N``.

Topic resources go to the controller untouched (it checks names, existence and values, and answers
INVALID_CONFIG ``Unknown topic config name: foo`` and the like).

DescribeConfigs follows Kafka's ``ConfigHelper``: a topic shows every topic config with its winning
source; broker ``"1"`` (this node) every broker config; broker ``""`` only the cluster-wide dynamic
defaults that are set; another broker id is INVALID_REQUEST ``Unexpected broker id, expected 1 or
empty string, but received 2``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from kavka.controller.configs import AlterableConfig, AlterConfigOp, AlterConfigsResource
from kavka.controller.topics import topic_name_error
from kavka.metadata.config import ConfigEntry, ConfigSource
from kavka.metadata.configdefs import BROKER_CONFIGS
from kavka.metadata.configtypes import ConfigError, ConfigType
from kavka.metadata.dynamicconfig import validate_dynamic_broker_configs
from kavka.metadata.records import ConfigResourceType
from kavka.protocol.api import ErrorCode

__all__ = [
    "AdminError",
    "INVALID_REQUEST_MESSAGE",
    "RESOURCE_TYPE_NAMES",
    "describe_resource",
    "alter_configs",
    "incremental_alter_configs",
]

TOPIC, BROKER, BROKER_LOGGER = ConfigResourceType.TOPIC, ConfigResourceType.BROKER, ConfigResourceType.BROKER_LOGGER

# ConfigResource.Type names, for Kafka's messages.
RESOURCE_TYPE_NAMES = {0: "UNKNOWN", 2: "TOPIC", 4: "BROKER", 8: "BROKER_LOGGER", 16: "CLIENT_METRICS", 32: "GROUP"}

# Errors.INVALID_REQUEST.message(): what Kafka answers for every resource when a whole request fails.
INVALID_REQUEST_MESSAGE = (
    "This most likely occurs because of a request being malformed by the client library or the "
    "message was sent to an incompatible broker. See the broker logs for more details."
)


class AdminError(Exception):
    """A resource answered on the broker: Kafka error code (0 when it was handled here) and message."""

    def __init__(self, code: int, message: str | None = None) -> None:
        super().__init__(message)
        self.code = int(code)
        self.message = message


# --- DescribeConfigs ------------------------------------------------------------------------------


def _entry_dict(e: ConfigEntry) -> dict:
    return {
        "name": e.name,
        "value": e.value,
        "read_only": e.read_only,
        "config_source": int(e.source),
        "is_sensitive": e.is_sensitive,
        "synonyms": [{"name": s.name, "value": s.value, "source": int(s.source)} for s in e.synonyms],
        "config_type": e.type.id if isinstance(e.type, ConfigType) else 0,
        "documentation": e.documentation,
    }


def _broker_id(name: str, message: str) -> int:
    try:
        return int(name, 10)
    except ValueError:
        raise AdminError(ErrorCode.invalid_request, message.format(name=name)) from None


def describe_resource(
    broker,
    resource_type: int,
    name: str,
    keys: Sequence[str] | None,
    *,
    include_synonyms: bool,
    include_documentation: bool,
) -> list[dict]:
    """DescribeConfigs entries of one resource (as response dicts); raises AdminError."""
    names = list(keys) if keys else None  # null or empty: every config
    image = broker.image
    layers = {"dynamic_broker": image.broker_configs(broker.node_id), "dynamic_default": image.broker_configs(None)}
    cfg = broker.config
    if resource_type == TOPIC:
        error = topic_name_error(name)
        if error:
            raise AdminError(ErrorCode.invalid_topic_exception, error)
        topic = broker.topic(name)
        if topic is None:
            raise AdminError(ErrorCode.unknown_topic_or_partition, None)
        entries = cfg.describe_topic(
            topic.configs,
            names,
            include_synonyms=include_synonyms,
            include_documentation=include_documentation,
            **layers,
        )
        return [_entry_dict(e) for e in entries]
    if resource_type == BROKER:
        if not name:
            # The cluster-wide dynamic defaults that are set, each with only that layer as synonym.
            defaults = layers["dynamic_default"]
            wanted = [n for n in defaults if names is None or n in names]
            entries = cfg.describe_broker(
                wanted,
                include_synonyms=include_synonyms,
                include_documentation=include_documentation,
                dynamic_broker={},
                dynamic_default=defaults,
            )
            out = []
            for e in entries:
                syns = [s for s in e.synonyms if s.source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG]
                out.append(_entry_dict(e._replace(source=ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, synonyms=syns)))
            return out
        if _broker_id(name, "Broker id must be an integer, but it is: {name}") != broker.node_id:
            raise AdminError(
                ErrorCode.invalid_request,
                f"Unexpected broker id, expected {broker.node_id} or empty string, but received {name}",
            )
        entries = cfg.describe_broker(
            names, include_synonyms=include_synonyms, include_documentation=include_documentation, **layers
        )
        return [_entry_dict(e) for e in entries]
    if resource_type == BROKER_LOGGER:
        if not name:
            raise AdminError(ErrorCode.invalid_request, "Broker id must not be empty")
        if _broker_id(name, "Broker id must be an integer, but it is: {name}") != broker.node_id:
            raise AdminError(
                ErrorCode.invalid_request, f"Unexpected broker id, expected {broker.node_id} but received {name}"
            )
        return [
            {
                "name": logger_name,
                "value": level,
                "read_only": False,
                "config_source": int(ConfigSource.DYNAMIC_BROKER_LOGGER_CONFIG),
                "is_sensitive": False,
                "synonyms": [],
                "config_type": 0,
                "documentation": None,
            }
            for logger_name, level in _loggers()
            if names is None or logger_name in names
        ]
    raise AdminError(
        ErrorCode.invalid_request, f"Unsupported resource type: {RESOURCE_TYPE_NAMES.get(resource_type, 'UNKNOWN')}"
    )


def _loggers() -> list[tuple[str, str]]:
    """Python's configured loggers and their effective levels, root first (Kafka lists log4j's)."""
    root = logging.getLogger()
    out = [("root", logging.getLevelName(root.getEffectiveLevel()))]
    for name in sorted(logging.root.manager.loggerDict):
        lg = logging.root.manager.loggerDict[name]
        if isinstance(lg, logging.Logger) and name.startswith("kavka"):
            out.append((name, logging.getLevelName(lg.getEffectiveLevel())))
    return out


# --- AlterConfigs / IncrementalAlterConfigs -------------------------------------------------------


def _duplicates(items: Iterable) -> bool:
    items = list(items)
    return len(set(items)) != len(items)


def _check_broker_name(broker, name: str) -> None:
    if name:
        node = _broker_id(name, "Node id must be an integer, but it is: {name}")
        if node != broker.node_id:
            raise AdminError(
                ErrorCode.invalid_request, f"Unexpected broker id, expected {broker.node_id}, but received {name}"
            )


def _validate_broker_props(broker, props: Mapping[str, str], per_broker: bool) -> None:
    """Kafka's ``DynamicBrokerConfig.validate``: every failure is INVALID_REQUEST."""
    try:
        validate_dynamic_broker_configs(props, per_broker, broker.dynamic_config)
    except ConfigError as e:
        raise AdminError(ErrorCode.invalid_request, str(e)) from None


def _split(value: str | None) -> list[str]:
    return [v for v in (value or "").split(",") if v]


def _incremental_broker_props(current: Mapping[str, str], ops: Sequence[AlterableConfig]) -> dict[str, str]:
    """Kafka's ``prepareIncrementalConfigs`` over the persisted dynamic set (validation only: the
    controller computes the stored value)."""
    props = dict(current)
    for op in ops:
        if op.op == AlterConfigOp.SET:
            props[op.name] = op.value
        elif op.op == AlterConfigOp.DELETE:
            props.pop(op.name, None)
        else:
            verb = "append" if op.op == AlterConfigOp.APPEND else "subtract"
            definition = BROKER_CONFIGS.get(op.name)
            if definition is None:
                raise AdminError(ErrorCode.invalid_config, f"Unknown config name: {op.name}")
            if definition.type is not ConfigType.LIST:
                raise AdminError(
                    ErrorCode.invalid_config, f"Config value {verb} is not allowed for config key: {op.name}"
                )
            old = props.get(op.name)
            parts = _split(old) if old is not None else list(definition.default or [])
            if op.op == AlterConfigOp.APPEND:
                parts += _split(op.value)
            else:
                drop = set(_split(op.value))
                parts = [p for p in parts if p not in drop]
            props[op.name] = ",".join(parts)
    return props


def _run(broker, resources: list, preprocess, submit, validate_only: bool) -> list[dict]:
    """Preprocess each resource on the broker, send the rest to the controller, answer in order."""
    errors: dict[int, AdminError] = {}
    seen: dict[tuple[int, str], int] = {}
    for i, res in enumerate(resources):
        key = (res.resource_type, res.resource_name)
        if key in seen:
            for j in (seen[key], i):
                errors[j] = AdminError(ErrorCode.invalid_request, "Each resource must appear at most once.")
        seen[key] = i
    todo = []
    for i, res in enumerate(resources):
        if i in errors:
            continue
        try:
            preprocess(res)
        except AdminError as e:
            errors[i] = e
            continue
        todo.append(i)
    results = {}
    if todo:
        answered, _ = submit([resources[i] for i in todo], validate_only)
        for i, r in zip(todo, answered):
            results[i] = (r.error_code, r.error_message)
    out = []
    for i, res in enumerate(resources):
        code, message = (errors[i].code, errors[i].message) if i in errors else results[i]
        out.append(
            {
                "error_code": int(code),
                "error_message": message,
                "resource_type": res.resource_type,
                "resource_name": res.resource_name,
            }
        )
    return out


def incremental_alter_configs(broker, req_resources, validate_only: bool) -> list[dict]:
    """IncrementalAlterConfigs over kio request resources; response dicts in request order."""
    resources = []
    for r in req_resources:
        ops = [int(c.config_operation) for c in r.configs]
        resources.append(
            AlterConfigsResource(
                int(r.resource_type),
                r.resource_name,
                [
                    AlterableConfig(c.name, AlterConfigOp(op) if op in (0, 1, 2, 3) else op, c.value)
                    for c, op in zip(r.configs, ops)
                ],
            )
        )
    image = broker.image

    def preprocess(res: AlterConfigsResource) -> None:
        if _duplicates(c.name for c in res.configs):
            raise AdminError(ErrorCode.invalid_request, "Error due to duplicate config keys")
        nulls = [c.name for c in res.configs if c.op != AlterConfigOp.DELETE and c.value is None]
        if nulls:
            raise AdminError(ErrorCode.invalid_request, "Null value not supported for : " + ", ".join(nulls))
        bad = [c.op for c in res.configs if not isinstance(c.op, AlterConfigOp)]
        if res.resource_type == BROKER:
            _check_broker_name(broker, res.resource_name)
            if bad:
                raise AdminError(ErrorCode.invalid_request, f"Unknown operations type {bad[0]}")
            current = image.configs.get((BROKER, res.resource_name), {})
            props = _incremental_broker_props(current, res.configs)
            _validate_broker_props(broker, props, per_broker=bool(res.resource_name))
        elif res.resource_type == TOPIC:
            if bad:
                raise AdminError(ErrorCode.invalid_request, f"Unknown operations type {bad[0]}")
        elif res.resource_type == BROKER_LOGGER:
            _alter_loggers(broker, res, validate_only)
            raise AdminError(ErrorCode.none)  # done on this broker; nothing for the controller
        else:
            raise AdminError(ErrorCode.invalid_request, f"Unknown resource type {res.resource_type}")

    return _run(broker, resources, preprocess, broker.controller.incremental_alter_configs, validate_only)


# log4j level names -> Python levels (TRACE has no Python level of its own).
_LEVELS = {
    "TRACE": logging.DEBUG,
    "DEBUG": logging.DEBUG,
    "INFO": logging.INFO,
    "WARN": logging.WARNING,
    "ERROR": logging.ERROR,
    "FATAL": logging.CRITICAL,
}


def _alter_loggers(broker, res: AlterConfigsResource, validate_only: bool) -> None:
    """KIP-412 log levels (Kafka's ``RuntimeLoggerManager``), applied to Python's loggers."""
    _check_broker_name(broker, res.resource_name)
    if not res.resource_name:
        raise AdminError(ErrorCode.invalid_request, "Broker id must not be empty")
    changes = []
    for c in res.configs:
        if c.op in (AlterConfigOp.APPEND, AlterConfigOp.SUBTRACT):
            raise AdminError(
                ErrorCode.invalid_request, f"{c.op.name} operation is not allowed for the BROKER_LOGGER resource"
            )
        if c.op == AlterConfigOp.SET:
            level = _LEVELS.get(c.value or "")
            if level is None:
                raise AdminError(
                    ErrorCode.invalid_config,
                    f"Cannot set the log level of {c.name} to {c.value} as it is not a "
                    f"supported log level. Valid log levels are DEBUG,ERROR,FATAL,INFO,TRACE,WARN",
                )
        elif c.op == AlterConfigOp.DELETE:
            if c.name == "root":
                raise AdminError(ErrorCode.invalid_request, "Removing the log level of the root logger is not allowed")
            level = logging.NOTSET
        else:
            raise AdminError(
                ErrorCode.invalid_request,
                f"Unknown operation type {c.op} is not allowed for the BROKER_LOGGER resource",
            )
        changes.append((c.name, level))
    if not validate_only:
        for name, level in changes:
            (logging.getLogger() if name == "root" else logging.getLogger(name)).setLevel(level)


def alter_configs(broker, req_resources, validate_only: bool) -> list[dict]:
    """Legacy AlterConfigs (the given set replaces the resource's dynamic configs)."""
    resources = [
        AlterConfigsResource(int(r.resource_type), r.resource_name, {c.name: c.value for c in r.configs})
        for r in req_resources
    ]
    names = [[c.name for c in r.configs] for r in req_resources]
    by_id = {id(res): n for res, n in zip(resources, names)}

    def preprocess(res: AlterConfigsResource) -> None:
        if _duplicates(by_id[id(res)]):
            raise AdminError(ErrorCode.invalid_request, "Error due to duplicate config keys")
        nulls = [k for k, v in res.configs.items() if v is None]
        if nulls:
            raise AdminError(ErrorCode.invalid_request, "Null value not supported for : " + ", ".join(nulls))
        if res.resource_type == BROKER:
            _check_broker_name(broker, res.resource_name)
            _validate_broker_props(broker, res.configs, per_broker=bool(res.resource_name))
        elif res.resource_type != TOPIC:
            raise AdminError(ErrorCode.invalid_request, f"Unknown resource type {res.resource_type}")

    return _run(broker, resources, preprocess, broker.controller.alter_configs, validate_only)
