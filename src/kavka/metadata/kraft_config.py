"""KRaft's rules for a node's static configuration, with Kafka 4.4's messages (``KafkaConfig`` and its
``validateValues``), checked by ``kavka storage format`` always and by ``kavka serve`` when the
configuration describes a cluster node (``cli.serve``: a quorum setting, or roles other than the single
node's ``broker,controller``); otherwise ``kavka serve`` is the single combined node it always was.

The rules, in the order Kafka applies them (the first one broken is the error):

1. ``process.roles``, ``node.id`` (at least 0) and ``controller.listener.names`` are required;
   ``broker.id``, when set, equals ``node.id``.
2. ``listeners`` parse, and every listener has a security protocol in the effective
   ``listener.security.protocol.map`` (Kafka adds ``NAME:PLAINTEXT`` for each controller listener
   name only while the map is left at its default and no SSL/SASL name is in sight).
3. ``controller.quorum.voters`` entries are ``id@host:port``; it or
   ``controller.quorum.bootstrap.servers`` is set.
4. By role: a broker alone is not a voter, binds no controller listener, and finds each controller
   listener in the map; a controller alone binds only controller listeners; a controller is a voter
   (when voters are static) and binds a listener named in ``controller.listener.names``, and every
   such name is among ``listeners``.
5. A broker has an advertised (non-controller) listener, ``inter.broker.listener.name`` is one of
   them, and they are all among ``listeners``; nothing is advertised on 0.0.0.0.

Kafka's ``require`` failures print ``requirement failed: `` before the text; the messages here are
the text alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .configtypes import ConfigError

__all__ = ["Voter", "check_required", "effective_protocol_map", "parse_voters", "validate_kraft"]

_SECURE = ("SSL", "SASL_SSL", "SASL_PLAINTEXT")
_VOTER = re.compile(r"^(-?[0-9]+)@(.*):([0-9]+)$")
_LISTENER_NAME = re.compile(r"^(.*)://")


@dataclass(frozen=True)
class Voter:
    """One ``controller.quorum.voters`` entry: ``id@host:port``."""

    node_id: int
    host: str
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.node_id}@{host}:{self.port}"


def parse_voters(entries: list[str]) -> list[Voter]:
    """``controller.quorum.voters`` as Kafka's ``QuorumConfig.parseVoterConnections`` reads it."""
    voters: list[Voter] = []
    for entry in entries:
        m = _VOTER.match(entry.strip())
        if m is None:
            raise ConfigError(
                "Invalid configuration value for controller.quorum.voters. Each entry should be in the form "
                "`{id}@{host}:{port}`.",
                "controller.quorum.voters",
            )
        host = m.group(2)
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        voters.append(Voter(int(m.group(1)), host, int(m.group(3))))
    return voters


class _Endpoint(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def host(self) -> str: ...


class _Config(Protocol):
    """What the rules read from a ``BrokerConfig``."""

    originals: dict[str, str]

    def __getitem__(self, name: str) -> Any: ...

    @property
    def controller_listener_names(self) -> list[str]: ...


def _scala_set(values: list[Any]) -> str:
    """A Scala immutable Set's ``toString`` for the few values a config holds (insertion order)."""
    return "Set(" + ", ".join(str(v) for v in dict.fromkeys(values)) + ")"


def effective_protocol_map(cfg: _Config, parsed: Mapping[str, str]) -> dict[str, str]:
    """Kafka's ``effectiveListenerSecurityProtocolMap``: the configured map, plus ``NAME:PLAINTEXT`` for
    each controller listener name when the map was not set and neither a controller listener name nor a
    listener is named SSL or SASL_*."""
    mapping = dict(parsed)
    if "listener.security.protocol.map" in cfg.originals:
        return mapping
    names = cfg.controller_listener_names
    listener_names = [
        m.group(1).upper() for p in (cfg["listeners"] or "").split(",") if (m := _LISTENER_NAME.match(p.strip()))
    ]
    if any(n in _SECURE for n in [*names, *listener_names]):
        return mapping
    for name in names:
        mapping.setdefault(name, "PLAINTEXT")
    return mapping


def check_required(cfg: _Config) -> None:
    """Rule 1: the settings a KRaft node cannot do without (Kafka checks them before the rest)."""
    originals = cfg.originals
    roles = list(dict.fromkeys(cfg["process.roles"] or []))
    if "process.roles" not in originals:
        raise ConfigError('Missing required configuration "process.roles" which has no default value.', "process.roles")
    if not roles:
        raise ConfigError(
            "Configuration 'process.roles' must not be empty. Valid values include: [broker, controller]",
            "process.roles",
        )
    if "node.id" not in originals:
        raise ConfigError('Missing required configuration "node.id" which has no default value.', "node.id")
    node_id: int = cfg["node.id"]
    if node_id < 0:
        raise ConfigError.invalid("node.id", node_id, "Value must be at least 0")
    if not originals.get("controller.listener.names", "").strip():
        raise ConfigError(
            'Missing required configuration "controller.listener.names" which has no default value.',
            "controller.listener.names",
        )
    if "broker.id" in originals and cfg["broker.id"] != node_id:
        raise ConfigError(
            "`node.id` and `broker.id` must be set to the same value. `broker.id` is deprecated, please use "
            "`node.id` instead.",
            "broker.id",
        )


def validate_kraft(
    cfg: _Config,
    listeners: Sequence[_Endpoint],
    advertised: Sequence[_Endpoint] | None,
    protocol_map: Mapping[str, str],
) -> None:
    """Raise ConfigError with Kafka's message for the first KRaft rule ``cfg`` breaks (see the module).

    ``listeners`` and ``advertised`` (None when ``advertised.listeners`` is unset) are the parsed
    endpoints; ``protocol_map`` is the effective map they were parsed with.
    """
    check_required(cfg)
    node_id: int = cfg["node.id"]
    roles = list(dict.fromkeys(cfg["process.roles"]))
    voters = parse_voters(cfg["controller.quorum.voters"] or [])
    voter_ids = [v.node_id for v in voters]
    if not voters and not (cfg["controller.quorum.bootstrap.servers"] or []):
        raise ConfigError(
            "If using process.roles, either controller.quorum.bootstrap.servers must contain the set of bootstrap "
            "controllers or controller.quorum.voters must contain a parseable set of controllers.",
            "controller.quorum.voters",
        )
    controller_names = cfg.controller_listener_names
    listener_names = [lst.name for lst in listeners]
    controller_listeners = [n for n in listener_names if n in controller_names]
    is_broker, is_controller = "broker" in roles, "controller" in roles
    if is_broker and not is_controller:
        if node_id in voter_ids:
            raise ConfigError(
                f"If process.roles contains just the 'broker' role, the node id {node_id} must not be included in "
                f"the set of voters controller.quorum.voters={_scala_set(voter_ids)}",
                "controller.quorum.voters",
            )
        if controller_listeners:
            raise ConfigError(
                "controller.listener.names must not contain a value appearing in the 'listeners' configuration "
                "when running KRaft with just the broker role",
                "controller.listener.names",
            )
        for name in controller_names:
            if name not in protocol_map:
                raise ConfigError(
                    f"Controller listener with name {name} defined in controller.listener.names not found in "
                    "listener.security.protocol.map  (an explicit security mapping for each controller listener is "
                    "required if listener.security.protocol.map is non-empty, or if there are security protocols "
                    "other than PLAINTEXT in use)",
                    "listener.security.protocol.map",
                )
    if is_controller:
        if not is_broker and len(controller_listeners) != len(listener_names):
            raise ConfigError(
                "The listeners config must only contain KRaft controller listeners from controller.listener.names "
                "when process.roles=controller",
                "listeners",
            )
        if voter_ids and node_id not in voter_ids:
            raise ConfigError(
                f"If process.roles contains the 'controller' role, the node id {node_id} must be included in the set "
                f"of voters controller.quorum.voters={_scala_set(voter_ids)}",
                "controller.quorum.voters",
            )
        if not controller_listeners:
            raise ConfigError(
                "controller.listener.names must contain at least one value appearing in the 'listeners' "
                "configuration when running the KRaft controller role",
                "controller.listener.names",
            )
        if any(name not in listener_names for name in controller_names):
            raise ConfigError(
                "controller.listener.names must only contain values appearing in the 'listeners' configuration "
                "when running the KRaft controller role",
                "controller.listener.names",
            )
    effective_advertised = [
        e for e in (listeners if advertised is None else advertised) if e.name not in controller_names
    ]
    if is_broker:
        _check_broker_listeners(cfg, protocol_map, listener_names, [e.name for e in effective_advertised])
    if any(e.host == "0.0.0.0" for e in (advertised or [])):
        raise ConfigError(
            "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address.",
            "advertised.listeners",
        )


def _check_broker_listeners(
    cfg: _Config, protocol_map: Mapping[str, str], listener_names: list[str], advertised_names: list[str]
) -> None:
    if not advertised_names:
        raise ConfigError(
            "There must be at least one broker advertised listener. Perhaps all listeners appear in "
            "controller.listener.names?",
            "advertised.listeners",
        )
    inter_broker = (cfg["inter.broker.listener.name"] or "").strip().upper()
    if inter_broker:
        if inter_broker not in protocol_map:
            raise ConfigError(
                f"Listener with name {inter_broker} defined in inter.broker.listener.name not found in "
                "listener.security.protocol.map.",
                "inter.broker.listener.name",
            )
    else:
        inter_broker = str(cfg["security.inter.broker.protocol"] or "PLAINTEXT").upper()
    shown = ",".join(dict.fromkeys(advertised_names))
    if inter_broker not in advertised_names:
        raise ConfigError(
            "inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options "
            f"based on currently configured listeners are {shown}",
            "inter.broker.listener.name",
        )
    if any(name not in listener_names for name in advertised_names):
        raise ConfigError(
            "advertised.listeners listener names must be equal to or a subset of the ones defined in listeners. "
            f"Found {shown}. The valid options based on the current configuration are "
            + ",".join(dict.fromkeys(listener_names)),
            "advertised.listeners",
        )
