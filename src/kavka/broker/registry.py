"""The API registry: which API keys and versions the broker serves, on which listeners, and the
handler for each.

Each module in ``kavka.broker.handlers`` registers itself with :func:`handles`. ApiVersions is built
from this table, so what is advertised is exactly what is implemented.

Kafka serves two API sets (``ApiMessageType.listeners`` in its message specs): the broker listeners'
(clients, inter-broker) and the controller listener's (KRaft's Vote, BeginQuorumEpoch, EndQuorumEpoch,
FetchSnapshot, Fetch of ``__cluster_metadata``, broker registration and heartbeats, and the admin
requests a controller answers). :data:`KAFKA_LISTENERS` holds Kafka 4.4's sets (read from the
ApiVersions answers of its two listeners), so each handler is served where Kafka serves its API; a
handler may say otherwise with ``listeners=`` (``BROKER``, ``CONTROLLER`` or ``BOTH``). :func:`lookup`
and ApiVersions answer for one listener kind, so an API outside a listener's set is neither advertised
nor served there (the connection is closed, as Kafka closes it). The versions of an API are the same
on both sets, as in Kafka 4.4.

A handler is called as ``handler(ctx, request)`` where ``request`` is the decoded kio request (or, for
``raw=True`` handlers, a ``memoryview`` of the body). It returns one of:

- a ``dict`` (or kio entity): the response body, encoded with kio for the request's version;
- a ``list`` of buffers: an already-encoded response *body* (hot paths: Produce, Fetch);
- ``None``: no response at all (Produce with acks=0);
- an awaitable of any of the above (long polls, acks=all waits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kavka.protocol.api import ApiKey

__all__ = [
    "ApiHandler",
    "handles",
    "REGISTRY",
    "lookup",
    "served",
    "BROKER",
    "CONTROLLER",
    "BOTH",
    "LISTENER_KINDS",
    "KAFKA_LISTENERS",
]

BROKER = frozenset({"broker"})
CONTROLLER = frozenset({"controller"})
BOTH = BROKER | CONTROLLER
LISTENER_KINDS = ("broker", "controller")

# Kafka 4.4's listener sets by API key, for the APIs its controller listener serves; every other API
# is served on broker listeners only.
_CONTROLLER_ONLY = (52, 53, 54, 56, 58, 59, 62, 63, 67, 70, 73, 82)
_ON_BOTH = (1, 17, 18, 19, 20, 29, 30, 31, 32, 33, 36, 37, 38, 39, 40, 41, 43, 44, 45, 46, 49, 50, 51, 55, 57, 60, 64)
_ON_BOTH += (80, 81, 94)
KAFKA_LISTENERS: dict[int, frozenset[str]] = {
    **{k: CONTROLLER for k in _CONTROLLER_ONLY},
    **{k: BOTH for k in _ON_BOTH},
}


@dataclass(frozen=True, slots=True)
class ApiHandler:
    api_key: int
    min_version: int
    max_version: int
    func: Callable[..., Any]
    raw: bool
    # Versions advertised below min_version but refused when sent (Kafka keeps Produce v0 advertised
    # for librdkafka's feature detection, KAFKA-18659).
    advertised_min: int
    # The listener kinds ("broker", "controller") that serve it.
    listeners: frozenset[str] = BROKER


REGISTRY: dict[int, ApiHandler] = {}


def handles(
    api_key: ApiKey | int,
    min_version: int,
    max_version: int,
    *,
    raw: bool = False,
    advertised_min: int | None = None,
    listeners: frozenset[str] | None = None,
):
    """Register ``func`` as the handler of ``api_key`` for versions min..max inclusive, served on the
    ``listeners`` kinds (by default where Kafka serves the API: :data:`KAFKA_LISTENERS`)."""
    if listeners is None:
        listeners = KAFKA_LISTENERS.get(int(api_key), BROKER)
    unknown = set(listeners) - set(LISTENER_KINDS)
    if unknown or not listeners:
        raise ValueError(f"listener kinds must be among {LISTENER_KINDS}, not {sorted(listeners)}")

    def register(func):
        if api_key in REGISTRY:
            raise RuntimeError(f"two handlers for api key {int(api_key)}")
        REGISTRY[int(api_key)] = ApiHandler(
            int(api_key),
            min_version,
            max_version,
            func,
            raw,
            min_version if advertised_min is None else advertised_min,
            frozenset(listeners),
        )
        return func

    return register


def lookup(api_key: int, api_version: int, listener: str = "broker") -> ApiHandler | None:
    """The handler for this key and version on a ``listener`` kind, or None when it is not served there."""
    h = REGISTRY.get(api_key)
    if h is None or listener not in h.listeners or not (h.min_version <= api_version <= h.max_version):
        return None
    return h


def served(listener: str = "broker") -> list[ApiHandler]:
    """The handlers a ``listener`` kind serves, by API key."""
    return [h for _, h in sorted(REGISTRY.items()) if listener in h.listeners]
