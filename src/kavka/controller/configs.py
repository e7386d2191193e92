"""Config changes: IncrementalAlterConfigs and legacy AlterConfigs (Kafka's ``ConfigurationControlManager``).

Both read the image and return ``(results, records)``; each change is a ``ConfigRecord`` (``value=None``
deletes). Rules and messages are Kafka's:

- TOPIC resources: the name must be a legal topic name (INVALID_TOPIC_EXCEPTION) and not empty
  (INVALID_REQUEST ``Default topic resources are not allowed.``); the topic must exist
  (UNKNOWN_TOPIC_OR_PARTITION ``The topic 'x' does not exist.``); the resulting set of overrides must
  validate (INVALID_CONFIG, e.g. ``Unknown topic config name: foo``). Unchanged values write no record.
- BROKER resources: ``""`` is the cluster-wide default, else a broker id that is registered or this
  controller (``Unable to parse broker name as a base 10 number.`` / ``No node with id 5 found.``).
  Known names must be broker configs that Kafka updates dynamically, with valid values (INVALID_CONFIG
  otherwise; the broker has checked Kafka's finer rules first); unknown names are custom configs, stored
  as given. Broker changes always write a record (Kafka does, to trigger reloads: KAFKA-14136).
- APPEND/SUBTRACT only apply to LIST configs (``Can't APPEND to key x because its type is not LIST.``).
- Legacy AlterConfigs replaces the whole set: keys not given are deleted.
- Other resource types -> INVALID_REQUEST ``Unknown resource type N``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kavka.metadata.config import BrokerConfig, validate_topic_configs
from kavka.metadata.configdefs import BROKER_CONFIGS
from kavka.metadata.configtypes import ConfigError, ConfigType
from kavka.metadata.dynamicconfig import java_set
from kavka.metadata.image import MetadataImage
from kavka.metadata.records import ConfigRecord, ConfigResourceType, MetadataRecord
from kavka.metadata.topicconfigs import TOPIC_CONFIGS

from .errors import NONE, ApiError, ErrorCode
from .topics import topic_name_error

__all__ = [
    "AlterConfigOp",
    "AlterableConfig",
    "AlterConfigsResource",
    "AlterConfigsResult",
    "incremental_alter_configs",
    "alter_configs",
]


class AlterConfigOp(enum.IntEnum):
    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


@dataclass(frozen=True)
class AlterableConfig:
    name: str
    op: AlterConfigOp = AlterConfigOp.SET
    value: str | None = None


@dataclass(frozen=True)
class AlterConfigsResource:
    """``configs``: ``AlterableConfig`` list (incremental) or ``{name: value}`` (legacy AlterConfigs)."""

    resource_type: int
    resource_name: str
    configs: Sequence[AlterableConfig] | Mapping[str, str | None] = field(default_factory=list)


@dataclass(frozen=True)
class AlterConfigsResult:
    resource_type: int
    resource_name: str
    error_code: int
    error_message: str | None


class _Reject(Exception):
    def __init__(self, code: ErrorCode, message: str | None = None) -> None:
        super().__init__(message)
        self.error = ApiError.of(code, message)


def _check_resource(image: MetadataImage, config: BrokerConfig, rtype: int, name: str) -> None:
    if rtype == ConfigResourceType.TOPIC:
        if not name:
            raise _Reject(ErrorCode.INVALID_REQUEST, "Default topic resources are not allowed.")
        error = topic_name_error(name)
        if error:
            raise _Reject(ErrorCode.INVALID_TOPIC_EXCEPTION, error)
        if image.topic(name) is None:
            raise _Reject(ErrorCode.UNKNOWN_TOPIC_OR_PARTITION, f"The topic '{name}' does not exist.")
    elif rtype == ConfigResourceType.BROKER:
        if name:
            try:
                broker_id = int(name, 10)
            except ValueError:
                raise _Reject(ErrorCode.INVALID_REQUEST, "Unable to parse broker name as a base 10 number.") from None
            if broker_id < 0:
                raise _Reject(ErrorCode.INVALID_REQUEST, "Invalid negative broker ID.")
            if broker_id not in image.brokers and broker_id != config.node_id:
                raise _Reject(ErrorCode.BROKER_ID_NOT_REGISTERED, f"No node with id {broker_id} found.")
    else:
        raise _Reject(ErrorCode.INVALID_REQUEST, f"Unknown resource type {rtype}")


def _validate(config: BrokerConfig, rtype: int, new_configs: Mapping[str, str]) -> None:
    try:
        if rtype == ConfigResourceType.TOPIC:
            validate_topic_configs(new_configs, config)
            return
        read_only = [k for k in new_configs if k in BROKER_CONFIGS and BROKER_CONFIGS[k].read_only]
        if read_only:
            raise ConfigError(f"Cannot update these configs dynamically: {java_set(read_only)}")
        for key, value in new_configs.items():
            definition = BROKER_CONFIGS.get(key)
            if definition is not None:  # other names are custom configs, kept as given (as in Kafka)
                definition.parse(value)
    except ConfigError as e:
        raise _Reject(ErrorCode.INVALID_CONFIG, str(e)) from None


def _config_type(rtype: int, key: str) -> ConfigType | None:
    table = TOPIC_CONFIGS if rtype == ConfigResourceType.TOPIC else BROKER_CONFIGS
    definition = table.get(key)
    return definition.type if definition else None


def _records_for(
    rtype: int, name: str, current: Mapping[str, str], new: Mapping[str, str | None]
) -> list[ConfigRecord]:
    records = []
    for key, value in new.items():
        if current.get(key) != value or rtype == ConfigResourceType.BROKER:
            records.append(ConfigRecord(rtype, name, key, value))
    return records


def _current(image: MetadataImage, rtype: int, name: str) -> Mapping[str, str]:
    return image.configs.get((rtype, name), {})


def incremental_alter_configs(
    image: MetadataImage,
    config: BrokerConfig,
    resources: Sequence[AlterConfigsResource],
    validate_only: bool = False,
) -> tuple[list[AlterConfigsResult], list[MetadataRecord]]:
    return _alter_each(image, config, resources, validate_only, _incremental_changes)


def _incremental_changes(
    config: BrokerConfig, res: AlterConfigsResource, current: Mapping[str, str]
) -> dict[str, str | None]:
    changes: dict[str, str | None] = {}
    seen = set()
    for item in res.configs:
        assert isinstance(item, AlterableConfig)
        if item.name in seen:
            raise _Reject(ErrorCode.INVALID_REQUEST, f"Error due to duplicate config keys : {item.name}")
        seen.add(item.name)
        value = changes.get(item.name, current.get(item.name))
        op = AlterConfigOp(item.op)
        if op is AlterConfigOp.SET:
            value = item.value
        elif op is AlterConfigOp.DELETE:
            value = None
        else:
            if _config_type(res.resource_type, item.name) is not ConfigType.LIST:
                raise _Reject(
                    ErrorCode.INVALID_CONFIG,
                    f"Can't {op.name} to key {item.name} because its type is not LIST.",
                )
            parts = [p for p in (value or _default_list(res.resource_type, item.name)).split(",") if p]
            for v in (item.value or "").split(","):
                if op is AlterConfigOp.APPEND and v not in parts:
                    parts.append(v)
                elif op is AlterConfigOp.SUBTRACT and v in parts:
                    parts.remove(v)
            value = ",".join(parts)
        changes[item.name] = value
    merged = {k: v for k, v in {**current, **changes}.items() if v is not None}
    _validate(
        config,
        res.resource_type,
        {k: v for k, v in changes.items() if v is not None}
        if res.resource_type == ConfigResourceType.BROKER
        else merged,
    )
    return changes


def _alter_each(
    image: MetadataImage,
    config: BrokerConfig,
    resources: Sequence[AlterConfigsResource],
    validate_only: bool,
    changes_for: Callable[[BrokerConfig, AlterConfigsResource, Mapping[str, str]], dict[str, str | None]],
) -> tuple[list[AlterConfigsResult], list[MetadataRecord]]:
    """What both AlterConfigs APIs share: per resource, check it exists, compute and validate its
    changes (``changes_for(config, resource, current overrides)``, key -> new value or None to
    remove; `_Reject` refuses the resource), and one result each; records only when not ``validate_only``."""
    results: list[AlterConfigsResult] = []
    records: list[MetadataRecord] = []
    for res in resources:
        try:
            _check_resource(image, config, res.resource_type, res.resource_name)
            current = _current(image, res.resource_type, res.resource_name)
            changes = changes_for(config, res, current)
            records.extend(_records_for(res.resource_type, res.resource_name, current, changes))
            error = NONE
        except _Reject as e:
            error = e.error
        results.append(AlterConfigsResult(res.resource_type, res.resource_name, int(error.code), error.message))
    return results, ([] if validate_only else records)


def _default_list(rtype: int, key: str) -> str:
    table = TOPIC_CONFIGS if rtype == ConfigResourceType.TOPIC else BROKER_CONFIGS
    default = table[key].default
    return ",".join(default or [])


def alter_configs(
    image: MetadataImage,
    config: BrokerConfig,
    resources: Sequence[AlterConfigsResource],
    validate_only: bool = False,
) -> tuple[list[AlterConfigsResult], list[MetadataRecord]]:
    """Legacy AlterConfigs: the given map becomes the resource's complete set of overrides."""
    return _alter_each(image, config, resources, validate_only, _replacing_changes)


def _replacing_changes(
    config: BrokerConfig, res: AlterConfigsResource, current: Mapping[str, str]
) -> dict[str, str | None]:
    assert isinstance(res.configs, Mapping)
    new = dict(res.configs)
    nulls = [k for k, v in new.items() if v is None]
    if nulls and res.resource_type == ConfigResourceType.TOPIC:
        raise _Reject(ErrorCode.INVALID_CONFIG, "Null value not supported for topic configs: " + ",".join(nulls))
    values = {k: v for k, v in new.items() if v is not None}
    _validate(config, res.resource_type, values)
    changes: dict[str, str | None] = dict(values)
    for key in current:
        if key not in values:
            changes[key] = None
    return changes
