"""The broker config catalogue: Kafka's facts about every broker config, and what Kavka does with each.

Kafka's facts (name, type, default, update mode, valid values) are generated from a running Kafka into
``kafkabrokerconfigs`` (``tools/gen_broker_catalogue.py``). This module turns the ones Kavka has no
hand-written definition for into :class:`ConfigDef` s -- so they parse, validate, describe and can be
altered as in Kafka -- and holds the rules that follow from the update modes (Kafka's
``DynamicBrokerConfig``):

- ``read-only``: only ``server.properties``; AlterConfigs refuses it (``Cannot update these configs
  dynamically``) and DescribeConfigs reports ``read_only``;
- ``per-broker``: dynamic for one broker id only (``Cannot update these configs at default cluster
  level, broker id must be specified``);
- ``cluster-wide``: dynamic per broker and for the cluster default (resource name ``""``).

``configeffects.NOT_ACTED_ON`` names the configs Kavka accepts, validates, stores and describes but does
not act on (docs/configuration.md lists them): every config of a feature Kavka lacks, plus the tuning
knobs of parts Kavka builds differently (thread pools, socket buffers).
"""

from __future__ import annotations

import re
from typing import Any

from .configtypes import (
    AtLeast,
    Between,
    ConfigDef,
    ConfigError,
    ConfigType,
    Importance,
    NoDuplicates,
    NonNull,
    Validator,
    ValidList,
    ValidString,
    parse_value,
)
from .kafkabrokerconfigs import KAFKA_BROKER_CONFIGS, KafkaBrokerConfig

__all__ = [
    "CaseInsensitiveValidString",
    "GzipLevel",
    "NonEmptyString",
    "READ_ONLY",
    "PER_BROKER",
    "CLUSTER_WIDE",
    "catalogue_def",
    "update_mode",
    "LISTENER_ONLY",
]

READ_ONLY, PER_BROKER, CLUSTER_WIDE = "read-only", "per-broker", "cluster-wide"

# Security configs Kafka changes dynamically only with a listener prefix (listener.name.x.ssl...).
LISTENER_ONLY: frozenset[str] = frozenset(c.name for c in KAFKA_BROKER_CONFIGS.values() if c.listener_only)


class CaseInsensitiveValidString:
    """Kafka's ``CaseInsensitiveValidString.in``: ``String must be one of (case insensitive): a, b``."""

    def __init__(self, valid: tuple[str, ...]) -> None:
        self.valid = valid

    def ensure_valid(self, name: str, value: object) -> None:
        if str(value).lower() not in {v.lower() for v in self.valid}:
            raise ConfigError.invalid(name, value, "String must be one of (case insensitive): " + ", ".join(self.valid))

    def __str__(self) -> str:
        return "(case insensitive) [" + ", ".join(self.valid) + "]"


class GzipLevel:
    """Kafka's gzip level: -1 (the codec's default) or 1..9."""

    def ensure_valid(self, name: str, value: int) -> None:
        if value != -1 and not 1 <= value <= 9:
            raise ConfigError.invalid(name, value, "Value must be between 1 and 9 or equal to -1")

    def __str__(self) -> str:
        return "[1,...,9] or -1"


class NonEmptyString:
    """Kafka's ``NonEmptyString``: ``String must be non-empty``."""

    def ensure_valid(self, name: str, value: object) -> None:
        if value is None or not str(value).strip():
            raise ConfigError.invalid(name, value, "String must be non-empty")

    def __str__(self) -> str:
        return "non-empty string"


class NonEmptyList:
    """A list that must have at least one element (Kafka's "non-empty list")."""

    def ensure_valid(self, name: str, value: object) -> None:
        if not value:
            raise ConfigError.invalid(name, value, "Value must not be empty")

    def __str__(self) -> str:
        return "non-empty list"


_AT_LEAST = re.compile(r"\[(-?[0-9.E]+),\.\.\.\]")
_BETWEEN = re.compile(r"\[(-?[0-9.E]+),\.\.\.,(-?[0-9.E]+)\]")
_ONE_OF = re.compile(r"\[(.+)\]")
_CASE_INSENSITIVE = re.compile(r"\(case insensitive\) \[(.+)\]")


def _number(text: str) -> int | float:
    # Kafka's Range keeps the Number it was given: between(0, 1) on a DOUBLE prints (and says) "0".
    return int(text) if re.fullmatch(r"-?[0-9]+", text) else float(text)


def validator_from_text(text: str, type_: ConfigType) -> Validator | None:
    """The validator whose ``toString`` Kafka printed as ``text``; None for none or a form Kavka does
    not check (then only the type is checked)."""
    if m := _AT_LEAST.fullmatch(text):
        return AtLeast(_number(m.group(1)))
    if m := _BETWEEN.fullmatch(text):
        return Between(_number(m.group(1)), _number(m.group(2)))
    if text == "[1,...,9] or -1":
        return GzipLevel()
    if m := _CASE_INSENSITIVE.fullmatch(text):
        return CaseInsensitiveValidString(tuple(m.group(1).split(", ")))
    if m := _ONE_OF.fullmatch(text):
        values = tuple(m.group(1).split(", "))
        return ValidList(values) if type_ is ConfigType.LIST else ValidString(values)
    if text == "non-empty string":
        return NonEmptyString()
    if text == "non-null string":
        return NonNull()
    if text == "non-empty list":
        return NonEmptyList()
    if not text and type_ is ConfigType.LIST:
        return NoDuplicates()
    return None


# The feature a config belongs to, by name prefix (first match), for its one-line documentation.
_FEATURES = (
    ("ssl.", "TLS listeners"),
    ("sasl.", "SASL authentication"),
    ("security.", "listener security"),
    ("principal.builder", "authentication"),
    ("connections.max.reauth", "SASL re-authentication"),
    ("connection.failed.authentication", "authentication"),
    ("delegation.token", "delegation tokens"),
    ("remote.", "tiered storage"),
    ("log.remote", "tiered storage"),
    ("follower.fetch.last.tiered", "tiered storage"),
    ("group.share", "share groups (KIP-932)"),
    ("share.", "share groups (KIP-932)"),
    ("group.streams", "streams groups (KIP-1071)"),
    ("errors.deadletterqueue", "share groups' dead-letter queues"),
    ("controller.quorum", "the KRaft quorum with more voters"),
    ("controller.quota", "controller mutation quotas"),
    ("quota.", "client quotas"),
    ("client.quota", "client quotas"),
    ("replication.quota", "replication quotas"),
    ("alter.log.dirs", "moving replicas between log directories"),
    ("num.replica.alter.log.dirs", "moving replicas between log directories"),
    ("replica.", "replication between brokers"),
    ("num.replica.fetchers", "replication between brokers"),
    ("metric", "Kafka's metrics reporters"),
    ("kafka.metrics", "Kafka's metrics reporters"),
    ("metadata.", "the metadata log's segments and snapshots"),
    ("group.coordinator", "the group coordinator's threads and buffers"),
    ("group.consumer", "consumer groups (KIP-848) server-side assignment"),
    ("telemetry", "client telemetry (KIP-714)"),
    ("broker.heartbeat", "broker registration with a remote controller"),
    ("broker.session", "broker registration with a remote controller"),
    ("initial.broker.registration", "broker registration with a remote controller"),
    ("config.providers", "config providers"),
    ("create.topic.policy", "topic policies"),
    ("alter.config.policy", "config policies"),
    ("transaction.two.phase", "two-phase commit transactions (KIP-939)"),
)


def _feature(name: str) -> str:
    for prefix, feature in _FEATURES:
        if name.startswith(prefix):
            return feature
    return "broker internals Kavka builds differently"


def update_mode(name: str) -> str:
    """Kafka's update mode of a broker config; Kavka's own configs (not in Kafka) are read-only."""
    fact = KAFKA_BROKER_CONFIGS.get(name)
    return fact.update_mode if fact is not None else READ_ONLY


def catalogue_def(fact: KafkaBrokerConfig) -> ConfigDef:
    """A definition for a Kafka broker config Kavka has no hand-written one for: Kafka's type, default,
    validator and update mode; the documentation is Kavka's (what it is for, and that Kavka does not
    act on it)."""
    type_ = ConfigType[fact.type]
    default: Any = parse_value(fact.name, fact.default, type_) if fact.default is not None else None
    return ConfigDef(
        fact.name,
        type_,
        default,
        Importance[fact.importance],
        f"Kafka's setting for {_feature(fact.name)}; Kavka accepts and stores it but does not act on it.",
        validator_from_text(fact.valid_values, type_),
        read_only=fact.update_mode == READ_ONLY,
    )


def broker_def(
    name: str,
    type_: ConfigType,
    default: Any,  # typed per ``type_`` (int, bool, list[str], ...), as ConfigDef.default
    importance: Importance,
    doc: str,
    validator: Validator | None = None,
    deprecated: bool = False,
) -> ConfigDef:
    """A broker config Kavka reads itself; dynamic or not as Kafka's update mode says."""
    read_only = update_mode(name) == READ_ONLY
    return ConfigDef(name, type_, default, importance, doc, validator, read_only=read_only, deprecated=deprecated)
