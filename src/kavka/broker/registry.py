"""The API registry: which API keys and versions the broker serves, and the handler for each.

Each module in ``kavka.broker.handlers`` registers itself with :func:`handles`. ApiVersions is built
from this table, so what is advertised is exactly what is implemented.

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

__all__ = ["ApiHandler", "handles", "REGISTRY", "lookup"]


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


REGISTRY: dict[int, ApiHandler] = {}


def handles(
    api_key: ApiKey, min_version: int, max_version: int, *, raw: bool = False, advertised_min: int | None = None
):
    """Register ``func`` as the handler of ``api_key`` for versions min..max inclusive."""

    def register(func):
        if api_key in REGISTRY:
            raise RuntimeError(f"two handlers for {api_key.name}")
        REGISTRY[int(api_key)] = ApiHandler(
            int(api_key),
            min_version,
            max_version,
            func,
            raw,
            min_version if advertised_min is None else advertised_min,
        )
        return func

    return register


def lookup(api_key: int, api_version: int) -> ApiHandler | None:
    """The handler for this key and version, or None when either is not served."""
    h = REGISTRY.get(api_key)
    if h is None or not (h.min_version <= api_version <= h.max_version):
        return None
    return h
