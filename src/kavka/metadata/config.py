"""``BrokerConfig``: the typed broker configuration, effective topic configs, and DescribeConfigs entries.

A ``BrokerConfig`` is built once from ``server.properties`` (static configs). Dynamic configs live in
the metadata image (``ConfigRecord``s) and are passed in where they matter:

- the value of a topic config is, in order: the topic's override (``DYNAMIC_TOPIC_CONFIG``), else the
  first broker synonym that is set (per-broker dynamic, then cluster-default dynamic, then
  ``server.properties``), converted to the topic unit (``log.retention.hours`` * 3 600 000), else the
  topic config's own default (``DEFAULT_CONFIG``) -- Kafka's ``ServerTopicConfigSynonyms`` order;
- DescribeConfigs shows the winning value and its source, and with ``include_synonyms`` every layer
  that has a value, highest priority first, ending with the broker synonyms' defaults
  (``DEFAULT_CONFIG:log.retention.hours=168``), as Kafka's ``kafka-configs --describe --all`` does.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

from .configdefs import BROKER_CONFIGS, BROKER_SYNONYMS, TOPIC_CONFIG_SYNONYMS, TOPIC_CONFIGS
from .configeffects import NOT_ACTED_ON
from .configtypes import ConfigDef, ConfigError, ConfigType, to_string
from .kraft_config import check_required, effective_protocol_map, validate_kraft
from .properties import parse_properties
from .topicconfigs import topic_config_def

__all__ = [
    "BrokerConfig",
    "ConfigEntry",
    "ConfigLookup",
    "ConfigSource",
    "ConfigSynonym",
    "consumer_timing_problem",
    "Listener",
    "parse_listeners",
    "parse_properties",
    "validate_topic_configs",
]

# StandardAuthorizer's settings: not broker configs in Kafka (DescribeConfigs does not list them), read by
# the authorizer from the server properties (kavka.broker.authz).
AUTHORIZER_CONFIGS = frozenset({"super.users", "allow.everyone.if.no.acl.found"})

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
# Kafka's EndPoint uriParseExp: NAME://host:port, host may be empty or a bracketed IPv6 literal.
_LISTENER = re.compile(r"^(.*)://\[?([0-9a-zA-Z\-%._:]*)\]?:(-?[0-9]+)$")


class ConfigSource(enum.IntEnum):
    """DescribeConfigs ``config_source`` (Kafka's ``DescribeConfigsResponse.ConfigSource`` ids)."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6
    CLIENT_METRICS_CONFIG = 7
    GROUP_CONFIG = 8


class ConfigSynonym(NamedTuple):
    name: str
    value: str | None
    source: ConfigSource


class ConfigEntry(NamedTuple):
    """One DescribeConfigs result entry. ``value`` is ``None`` for sensitive configs and unset ones."""

    name: str
    value: str | None
    source: ConfigSource
    is_sensitive: bool
    read_only: bool
    synonyms: list[ConfigSynonym]
    type: ConfigType | None  # None: a custom config (UNKNOWN on the wire)
    documentation: str | None


@dataclass(frozen=True)
class Listener:
    """One ``NAME://host:port`` endpoint. ``host == ""`` means all interfaces / the machine's hostname."""

    name: str
    host: str
    port: int
    security_protocol: str = "PLAINTEXT"

    @property
    def bind_host(self) -> str:
        return self.host or "0.0.0.0"

    def advertised(self, hostname: str) -> Listener:
        """This endpoint as published to clients: an empty host becomes ``hostname``."""
        if self.host:
            return self
        return Listener(self.name, hostname, self.port, self.security_protocol)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.name}://{host}:{self.port}"


def parse_listeners(
    value: str | None, protocol_map: Mapping[str, str] | None = None, config_name: str = "listeners"
) -> list[Listener]:
    """Parse a listeners string. Names are upper-cased (Kafka's ``ListenerName.normalised``)."""
    if not value or not value.strip():
        return []
    protocol_map = protocol_map or {}
    result: list[Listener] = []
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        m = _LISTENER.match(part)
        if not m:
            raise ConfigError(f"Unable to parse {part} to a broker endpoint", config_name)
        name = m.group(1).upper()
        port = int(m.group(3))
        if not 0 <= port <= 65535:
            raise ConfigError.invalid(config_name, value, f"Invalid port in {part}")
        protocol = protocol_map.get(name, name if name in SECURITY_PROTOCOLS else None)
        if protocol is None:
            raise ConfigError(f"No security protocol defined for listener {name}", "listener.security.protocol.map")
        result.append(Listener(name, m.group(2), port, protocol))
    names = [lst.name for lst in result]
    if len(set(names)) != len(names):
        raise ConfigError.invalid(config_name, value, "Each listener must have a different name")
    return result


def _parse_protocol_map(value: str) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in (p.strip() for p in value.split(",")):
        if not item:
            continue
        name, sep, proto = item.partition(":")
        proto = proto.strip().upper()
        if not sep or proto not in SECURITY_PROTOCOLS:
            raise ConfigError.invalid("listener.security.protocol.map", value, f"Invalid security protocol in {item}")
        result[name.strip().upper()] = proto
    return result


def validate_topic_configs(overrides: Mapping[str, str | None], broker: BrokerConfig | None = None) -> dict[str, Any]:
    """Validate topic config overrides (names, values, cross-checks) and return them typed.

    Raises ``ConfigError``: ``Unknown topic config name: foo``, a value error in Kafka's wording, or
    ``conflict topic config setting min.compaction.lag.ms (x) > max.compaction.lag.ms (y)``.
    A ``None`` value is rejected (``Null value not supported for topic configs: a,b``).
    """
    nulls = [k for k, v in overrides.items() if v is None]
    if nulls:
        raise ConfigError("Null value not supported for topic configs: " + ",".join(nulls))
    for name in overrides:
        topic_config_def(name)
    typed = {name: TOPIC_CONFIGS[name].parse(value) for name, value in overrides.items()}
    effective = (broker or BrokerConfig.from_properties({})).effective_topic_config(
        {k: v for k, v in overrides.items() if v is not None}
    )
    lo, hi = effective["min.compaction.lag.ms"], effective["max.compaction.lag.ms"]
    if lo > hi:
        raise ConfigError(f"conflict topic config setting min.compaction.lag.ms ({lo}) > max.compaction.lag.ms ({hi})")
    return typed


LISTENER_PREFIX = "listener.name."

_Layers = list[tuple[ConfigSource, Mapping[str, str]]]
"""Where broker-level values come from, highest priority first (dynamic broker, dynamic default, static)."""


class ConfigLookup(Protocol):
    """Anything that looks a setting up by Kafka's name: a :class:`BrokerConfig`, or a plain dict of
    properties (tests). ``get(name, None)`` is None when unset; a value has its definition's type (int,
    str, list, ...) or is still the string of a properties file, so readers convert it themselves."""

    def get(self, name: str, default: None, /) -> Any: ...


class BrokerConfig:
    """Typed, validated static broker configuration.

    ``cfg["num.partitions"]`` is the typed value (the explicit one, else the default). ``originals``
    holds the raw strings that were set; ``unknown_keys`` the keys Kavka does not know (log a warning:
    Kafka itself only warns for them).
    """

    def __init__(self, originals: Mapping[str, str], values: Mapping[str, Any], unknown_keys: list[str]):
        self.originals: dict[str, str] = dict(originals)
        self._values: dict[str, Any] = dict(values)
        self.unknown_keys: list[str] = list(unknown_keys)
        # ``listener.name.<listener>.<setting>`` as set (Kafka's per-listener overrides; see listener_setting)
        self.listener_props: dict[str, str] = {}
        # The authorizer's own settings (AUTHORIZER_CONFIGS), which Kafka hands to the authorizer
        # rather than defining as broker configs.
        self.authorizer_configs: dict[str, str] = {}

    # ---- construction ----

    @classmethod
    def from_properties(cls, props: Mapping[str, str], *, kraft: bool = False) -> BrokerConfig:
        """Parse and validate ``props``. ``kraft``: also apply KRaft's rules for a node of a cluster
        (``metadata.kraft_config``), as ``kavka storage format`` and a ``kavka serve`` that sets
        ``process.roles`` do; without it a missing ``process.roles`` or quorum is the single local node."""
        values: dict[str, Any] = {}
        known: dict[str, str] = {}
        unknown: list[str] = []
        prefixed: dict[str, str] = {}
        authorizer: dict[str, str] = {}
        for key, raw in props.items():
            definition = BROKER_CONFIGS.get(key)
            if definition is None:
                if key.startswith(LISTENER_PREFIX):
                    prefixed[key] = raw
                elif key in AUTHORIZER_CONFIGS:
                    authorizer[key] = raw
                else:
                    unknown.append(key)
                continue
            known[key] = raw
            values[key] = definition.parse(raw)
        for name, definition in BROKER_CONFIGS.items():
            values.setdefault(name, definition.default)
        cfg = cls(known, values, unknown)
        cfg.listener_props = prefixed
        cfg.authorizer_configs = authorizer
        if kraft:
            cfg._validate_kraft()
        cfg._validate()
        return cfg

    @classmethod
    def from_text(cls, text: str, *, kraft: bool = False) -> BrokerConfig:
        return cls.from_properties(parse_properties(text), kraft=kraft)

    @staticmethod
    def serve_defaults() -> dict[str, str]:
        """The properties ``kavka serve`` starts from; user properties override them."""
        return {
            "node.id": "1",
            "process.roles": "broker,controller",
            "listeners": "PLAINTEXT://127.0.0.1:9092",
            "log.dirs": "./kavka-data",
            # One node: the internal topics cannot have Kafka's default three replicas (Kafka's own
            # single-node server.properties sets the same).
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
        }

    @staticmethod
    def cluster_defaults(broker_count: int) -> dict[str, str]:
        """The internal topics' replication for a local cluster of ``broker_count`` brokers: Kafka's
        defaults (three replicas, two in sync) where there are that many brokers, else every broker.
        They replace `serve_defaults`' single-node values, which would leave every consumer group and
        transaction on one broker."""
        replicas = str(min(3, broker_count))
        return {
            "offsets.topic.replication.factor": replicas,
            "transaction.state.log.replication.factor": replicas,
            "transaction.state.log.min.isr": str(min(2, broker_count)),
        }

    @classmethod
    def for_serve(cls, props: Mapping[str, str] | None = None) -> BrokerConfig:
        return cls.from_properties({**cls.serve_defaults(), **(props or {})})

    def _validate_kraft(self) -> None:
        """KRaft's rules (Kafka 4.4's messages); listeners parsed with Kafka's effective protocol map."""
        check_required(self)
        mapping = effective_protocol_map(self, _parse_protocol_map(self._values["listener.security.protocol.map"]))
        parsed = {}
        for name in ("listeners", "advertised.listeners"):
            value = self._values[name]
            try:
                parsed[name] = parse_listeners(value, mapping, name) if value else None
            except ConfigError as e:
                if not str(e).startswith("No security protocol"):
                    raise
                entries = ", ".join(p.strip() for p in value.split(",") if p.strip())
                raise ConfigError(f"Error creating broker listeners from '[{entries}]': {e}", name) from None
        validate_kraft(self, parsed["listeners"] or [], parsed["advertised.listeners"], mapping)

    def _validate(self) -> None:
        node_id, broker_id = self._values["node.id"], self._values["broker.id"]
        if node_id >= 0 and broker_id >= 0 and node_id != broker_id:
            raise ConfigError(
                "`node.id` and `broker.id` must be set to the same value. `broker.id` is deprecated, please use "
                "`node.id` instead.",
                "node.id",
            )
        self.listeners  # noqa: B018 -- parse now so errors surface at startup
        self.advertised_listeners  # noqa: B018
        lo = self._values["group.min.session.timeout.ms"]
        if lo > self._values["group.max.session.timeout.ms"]:
            raise ConfigError(
                "group.max.session.timeout.ms must be greater than or equal to group.min.session.timeout.ms",
                "group.max.session.timeout.ms",
            )
        v = self._values
        if 0 < v["queued.max.request.bytes"] < v["socket.request.max.bytes"]:  # Kafka's KafkaConfig check
            raise ConfigError(
                "queued.max.request.bytes must be larger or equal to socket.request.max.bytes",
                "queued.max.request.bytes",
            )
        problem = consumer_timing_problem(
            v["group.consumer.session.timeout.ms"],
            v["group.consumer.heartbeat.interval.ms"],
            v["group.consumer.min.session.timeout.ms"],
            v["group.consumer.max.session.timeout.ms"],
            v["group.consumer.min.heartbeat.interval.ms"],
            v["group.consumer.max.heartbeat.interval.ms"],
        )
        if problem is not None:
            raise ConfigError(problem, problem.split(" ", 1)[0])

    # ---- typed access ----

    def __getitem__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise KeyError(f"Unknown broker config name: {name}") from None

    def listener_setting(self, listener: str, name: str) -> Any:
        """``name`` for one listener: ``listener.name.<listener lower-cased>.<name>`` when set (Kafka's
        per-listener override), else the broker-wide value; typed by ``name``'s definition."""
        raw = self.listener_props.get(f"{LISTENER_PREFIX}{listener.lower()}.{name}")
        if raw is not None and name in BROKER_CONFIGS:
            return BROKER_CONFIGS[name].parse(raw)
        return self._values[name]

    def has_listener_setting(self, listener: str, name: str) -> bool:
        return f"{LISTENER_PREFIX}{listener.lower()}.{name}" in self.listener_props

    @property
    def inert_keys(self) -> list[str]:
        """Keys set in the properties that Kavka accepts but does not act on (``NOT_ACTED_ON``)."""
        return [key for key in self.originals if key in NOT_ACTED_ON]

    def get(self, name: str, default: Any = None) -> Any:
        return self._values.get(name, default)

    def is_set(self, name: str) -> bool:
        return name in self.originals

    def __contains__(self, name: object) -> bool:
        return name in self._values

    def __repr__(self) -> str:
        shown = {k: ("[hidden]" if BROKER_CONFIGS[k].sensitive else v) for k, v in self.originals.items()}
        return f"BrokerConfig({shown!r})"

    # ---- convenience properties ----

    @property
    def node_id(self) -> int:
        """``node.id``, else ``broker.id``; -1 if neither is set (``for_serve`` sets 1)."""
        node_id: int = self._values["node.id"]
        if node_id >= 0:
            return node_id
        broker_id: int = self._values["broker.id"]
        return broker_id

    @property
    def process_roles(self) -> list[str]:
        return list(self._values["process.roles"])

    @property
    def cluster_id(self) -> str | None:
        cluster_id: str | None = self._values["cluster.id"]
        return cluster_id

    @property
    def log_dirs(self) -> list[str]:
        dirs = self._values["log.dirs"]
        if dirs:
            return [d.strip() for d in dirs.split(",") if d.strip()]
        return [self._values["log.dir"]]

    @property
    def metadata_log_dir(self) -> str:
        return self._values["metadata.log.dir"] or self.log_dirs[0]

    @property
    def protocol_map(self) -> dict[str, str]:
        mapping = _parse_protocol_map(self._values["listener.security.protocol.map"])
        # Kafka 3.x+: a controller listener missing from the map is PLAINTEXT.
        for name in self.controller_listener_names:
            mapping.setdefault(name, "PLAINTEXT")
        return mapping

    @property
    def controller_listener_names(self) -> list[str]:
        value = self._values["controller.listener.names"] or ""
        return [n.strip().upper() for n in value.split(",") if n.strip()]

    @property
    def listeners(self) -> list[Listener]:
        return parse_listeners(self._values["listeners"], self.protocol_map, "listeners")

    @property
    def advertised_listeners(self) -> list[Listener]:
        """``advertised.listeners``, else ``listeners`` minus controller listeners. Hosts may be ``""``:
        the server substitutes the machine's hostname (``Listener.advertised``)."""
        value = self._values["advertised.listeners"]
        if value:
            return parse_listeners(value, self.protocol_map, "advertised.listeners")
        controllers = set(self.controller_listener_names)
        return [lst for lst in self.listeners if lst.name not in controllers]

    @property
    def inter_broker_listener_name(self) -> str:
        name: str | None = self._values["inter.broker.listener.name"]
        if name:
            return name.upper()
        if self.is_set("security.inter.broker.protocol"):  # Kafka: the listener named after the protocol
            return str(self._values["security.inter.broker.protocol"]).upper()
        brokers = self.advertised_listeners
        return brokers[0].name if brokers else "PLAINTEXT"

    # ---- topic configs ----

    def _broker_layers(
        self, dynamic_broker: Mapping[str, str] | None, dynamic_default: Mapping[str, str] | None
    ) -> _Layers:
        return [
            (ConfigSource.DYNAMIC_BROKER_CONFIG, dynamic_broker or {}),
            (ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG, dynamic_default or {}),
            (ConfigSource.STATIC_BROKER_CONFIG, self.originals),
        ]

    def _topic_value(self, name: str, overrides: Mapping[str, str | None], layers: _Layers) -> tuple[Any, ConfigSource]:
        definition = TOPIC_CONFIGS[name]
        if name in overrides and overrides[name] is not None:
            return definition.parse(overrides[name]), ConfigSource.DYNAMIC_TOPIC_CONFIG
        for broker_name, factor in TOPIC_CONFIG_SYNONYMS.get(name, ()):
            for source, layer in layers:
                if broker_name in layer:
                    value = BROKER_CONFIGS[broker_name].parse(layer[broker_name])
                    if value is None:
                        continue
                    return (value * factor if factor != 1 else value), source
        return definition.default, ConfigSource.DEFAULT_CONFIG

    def effective_topic_config(
        self,
        topic_overrides: Mapping[str, str] | None = None,
        *,
        dynamic_broker: Mapping[str, str] | None = None,
        dynamic_default: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Every topic config, typed: overrides over broker synonyms over defaults.

        Unknown override names raise ``ConfigError('Unknown topic config name: x')``.
        """
        overrides = dict(topic_overrides or {})
        for name in overrides:
            topic_config_def(name)
        layers = self._broker_layers(dynamic_broker, dynamic_default)
        return {name: self._topic_value(name, overrides, layers)[0] for name in TOPIC_CONFIGS}

    def describe_topic(
        self,
        topic_overrides: Mapping[str, str] | None = None,
        names: Iterable[str] | None = None,
        *,
        include_synonyms: bool = False,
        include_documentation: bool = False,
        dynamic_broker: Mapping[str, str] | None = None,
        dynamic_default: Mapping[str, str] | None = None,
    ) -> list[ConfigEntry]:
        """DescribeConfigs entries for a topic (all configs when ``names`` is None), sorted by name.

        Names that are not topic configs are skipped, as Kafka does.
        """
        overrides = {k: v for k, v in (topic_overrides or {}).items() if k in TOPIC_CONFIGS}
        layers = self._broker_layers(dynamic_broker, dynamic_default)
        wanted = sorted(TOPIC_CONFIGS if names is None else (n for n in set(names) if n in TOPIC_CONFIGS))
        entries = []
        for name in wanted:
            definition = TOPIC_CONFIGS[name]
            value, source = self._topic_value(name, overrides, layers)
            synonyms: list[ConfigSynonym] = []
            if include_synonyms:
                if name in overrides:
                    synonyms.append(ConfigSynonym(name, _show(definition, value), ConfigSource.DYNAMIC_TOPIC_CONFIG))
                broker_names = [b for b, _ in TOPIC_CONFIG_SYNONYMS.get(name, ())]
                if broker_names:
                    synonyms += self._broker_synonyms(broker_names[0], broker_names, layers)
            # every topic config is writable
            entries.append(_entry(definition, value, source, synonyms, include_documentation, read_only=False))
        return entries

    def _broker_synonyms(self, own: str, broker_names: list[str], layers: _Layers) -> list[ConfigSynonym]:
        """Kafka's ``configSynonyms``: source by source (dynamic broker, dynamic default, static, default),
        each over every name in synonym order; then all entries before the first one named ``own`` are
        dropped. So a topic's list starts at its primary broker name (``retention.ms`` lists nothing
        from the broker while ``log.retention.ms`` is unset, even though ``log.retention.hours`` has a
        default), and ``log.retention.minutes`` never lists ``log.retention.ms``."""
        result = []
        for source, layer in layers:
            for broker_name in broker_names:
                if broker_name in layer:
                    definition = BROKER_CONFIGS[broker_name]
                    result.append(
                        ConfigSynonym(broker_name, _show(definition, definition.parse(layer[broker_name])), source)
                    )
        for broker_name in broker_names:
            definition = BROKER_CONFIGS[broker_name]
            if definition.default is not None:
                result.append(ConfigSynonym(broker_name, _shown_default(definition), ConfigSource.DEFAULT_CONFIG))
        for i, synonym in enumerate(result):
            if synonym.name == own:
                return result[i:]
        return []

    def describe_broker(
        self,
        names: Iterable[str] | None = None,
        *,
        include_synonyms: bool = False,
        include_documentation: bool = False,
        dynamic_broker: Mapping[str, str] | None = None,
        dynamic_default: Mapping[str, str] | None = None,
    ) -> list[ConfigEntry]:
        """DescribeConfigs entries for this broker (resource type BROKER), sorted by name.

        A broker config that is one of several synonyms (``log.retention.ms``) lists the lower-priority
        ones (``log.retention.minutes``, ``log.retention.hours``) as synonyms, like Kafka. Custom
        (unknown) names set dynamically are listed too, as Kafka lists them.
        """
        layers = self._broker_layers(dynamic_broker, dynamic_default)
        names = None if names is None else list(names)
        wanted = sorted(BROKER_CONFIGS if names is None else (n for n in set(names) if n in BROKER_CONFIGS))
        entries = []
        for name in wanted:
            definition = BROKER_CONFIGS[name]
            chain = [name]
            topic = BROKER_SYNONYMS.get(name)
            if topic is not None:
                chain = [b for b, _ in TOPIC_CONFIG_SYNONYMS[topic]]
            value, source = definition.default, ConfigSource.DEFAULT_CONFIG
            for source_, layer in layers:
                if name in layer:
                    value, source = definition.parse(layer[name]), source_
                    break
            synonyms = self._broker_synonyms(name, chain, layers) if include_synonyms else []
            entries.append(_entry(definition, value, source, synonyms, include_documentation))
        entries += _custom_entries(layers[:2], names, include_synonyms)
        return sorted(entries, key=lambda e: e.name)


def _custom_entries(layers: _Layers, names: Iterable[str] | None, include_synonyms: bool) -> list[ConfigEntry]:
    """Dynamic configs Kafka does not define (custom configs, which AlterConfigs accepts): Kafka lists
    them with no value, no type, sensitive and read-only, one synonym per layer that sets them."""
    wanted = None if names is None else set(names)
    custom = [n for _, layer in layers for n in layer if n not in BROKER_CONFIGS]
    entries = []
    for name in dict.fromkeys(custom):
        if wanted is not None and name not in wanted:
            continue
        sources = [source for source, layer in layers if name in layer]
        synonyms = [ConfigSynonym(name, None, source) for source in sources] if include_synonyms else []
        entries.append(ConfigEntry(name, None, sources[0], True, True, synonyms, None, None))
    return entries


def _entry(
    definition: ConfigDef,
    value: Any,
    source: ConfigSource,
    synonyms: list[ConfigSynonym],
    include_documentation: bool,
    read_only: bool | None = None,
) -> ConfigEntry:
    """One DescribeConfigs entry: the value as shown (None when sensitive), read-only as the definition
    says unless ``read_only`` is given, the type it reports (``reported_type`` overrides the parser's)."""
    return ConfigEntry(
        definition.name,
        _show(definition, value),
        source,
        definition.sensitive,
        definition.read_only if read_only is None else read_only,
        synonyms,
        definition.extra.get("reported_type", definition.type),
        definition.doc if include_documentation else None,
    )


def _show(definition: ConfigDef, value: Any) -> str | None:
    if definition.sensitive:
        return None
    if value is definition.default:
        return _shown_default(definition)
    return to_string(value, definition.type)


def _shown_default(definition: ConfigDef) -> str | None:
    """A definition's default as DescribeConfigs shows it, computed once per definition (a broker
    describes ~350) and kept in its ``extra``."""
    if "shown_default" not in definition.extra:
        shown = None if definition.sensitive else to_string(definition.default, definition.type)
        definition.extra["shown_default"] = shown
    shown_default: str | None = definition.extra["shown_default"]
    return shown_default


def consumer_timing_problem(
    session_ms: int,
    heartbeat_ms: int,
    min_session_ms: int,
    max_session_ms: int,
    min_heartbeat_ms: int,
    max_heartbeat_ms: int,
) -> str | None:
    """Kafka's message for the first rule the consumer-group session timeout and heartbeat interval
    break (GroupCoordinatorConfig's checks, in its order), or None when they hold."""
    hb, min_hb, max_hb = (
        "group.consumer.heartbeat.interval.ms",
        "group.consumer.min.heartbeat.interval.ms",
        "group.consumer.max.heartbeat.interval.ms",
    )
    st, min_st, max_st = (
        "group.consumer.session.timeout.ms",
        "group.consumer.min.session.timeout.ms",
        "group.consumer.max.session.timeout.ms",
    )
    rules = (
        (max_heartbeat_ms >= min_heartbeat_ms, f"{max_hb} must be greater than or equal to {min_hb}"),
        (heartbeat_ms >= min_heartbeat_ms, f"{hb} must be greater than or equal to {min_hb}"),
        (heartbeat_ms <= max_heartbeat_ms, f"{hb} must be less than or equal to {max_hb}"),
        (max_session_ms >= min_session_ms, f"{max_st} must be greater than or equal to {min_st}"),
        (session_ms >= min_session_ms, f"{st} must be greater than or equal to {min_st}"),
        (session_ms <= max_session_ms, f"{st} must be less than or equal to {max_st}"),
        (heartbeat_ms < session_ms, f"{hb} must be less than {st}"),
    )
    return next((message for ok, message in rules if not ok), None)
