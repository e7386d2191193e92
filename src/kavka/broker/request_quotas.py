"""Request-time client quotas (``request_percentage``, KIP-124): Kafka's ``ClientRequestQuotaManager``.

A client's quota is a share of one request-handler thread: ``request_percentage=50`` lets it use
half a second of handler time per second. What is recorded per request is the time the broker spent
handling it (from dispatch until the handler returned, not the time it waited in a purgatory), as a
percentage: 1 s of handler time counts 100 (``RequestContext.handled_ns``, or the time so far while the
handler runs). The rate and the entity precedence are the byte-rate
quotas' (``ByteRateQuotas``: ``quota.window.num`` samples of ``quota.window.size.seconds``), and the
throttle time is Kafka's formula bounded by one window (``QuotaUtils.boundedThrottleTime``).

Exempt, as in Kafka: requests on the controller listener and the inter-broker APIs Kafka answers with
``sendResponseExemptThrottle`` (replication, transaction markers, AlterPartition, registrations).
Produce and Fetch record their request time themselves (``byte_rate_quotas``), since their throttle
time is the larger of the two quotas'; every other answer with a ``throttle_time`` field gets this
one's, and the connection is muted that long (KIP-219).
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from kavka.protocol.api import ApiKey

if TYPE_CHECKING:  # byte_rate_quotas imports this module for the Produce and Fetch glue
    from kavka.broker.byte_rate_quotas import ByteRateQuotas

__all__ = ["REQUEST_PERCENTAGE", "RequestQuotas", "after_handler", "quota_user", "record_request", "mute"]

REQUEST_PERCENTAGE = "request_percentage"
_PERCENT_PER_NANO = 100.0 / 1e9

# Not recorded by `after_handler`: the inter-broker APIs Kafka answers with sendResponseExemptThrottle
# (never throttled), and the APIs whose handlers record their own time because their throttle time is
# the larger of two quotas' (Produce, Fetch: byte rates; the topic mutations: controller_mutation_rate).
_NOT_GENERIC = frozenset(
    {
        ApiKey.WRITE_TXN_MARKERS,
        ApiKey.ALTER_PARTITION,
        ApiKey.BROKER_REGISTRATION,
        ApiKey.BROKER_HEARTBEAT,
        ApiKey.ALLOCATE_PRODUCER_IDS,
        ApiKey.PRODUCE,
        ApiKey.FETCH,
        ApiKey.CREATE_TOPICS,
        ApiKey.CREATE_PARTITIONS,
        ApiKey.DELETE_TOPICS,
    }
)


def quota_user(conn: Any) -> str:
    """The quota user of a connection: its principal's name (Kafka's default quota callback uses
    ``KafkaPrincipal.getName``), ``ANONYMOUS`` before authentication."""
    principal: str = conn.principal
    return principal.partition(":")[2] if ":" in principal else principal


class RequestQuotas:
    """``request_percentage`` per (user, client id), as Kafka's ``ClientRequestQuotaManager``; ``rates``
    is a ``ByteRateQuotas`` of its own (the rate arithmetic is the same, per quota key)."""

    def __init__(self, rates: ByteRateQuotas) -> None:
        self._rates = rates

    def record(self, user: str, client_id: str, handler_nanos: int, now_ms: int) -> int:
        """Record ``handler_nanos`` of handler time; the throttle time in ms (0 within the quota),
        at most one window (Kafka bounds the request quota's throttle time)."""
        if self._rates.quota(REQUEST_PERCENTAGE, user, client_id) is None:
            return 0
        ms = self._rates.record(REQUEST_PERCENTAGE, user, client_id, handler_nanos * _PERCENT_PER_NANO, now_ms)
        return min(ms, self._rates.window_ms)


def mute(conn: Any, ms: int) -> None:
    """KIP-219: the client is told ``ms`` in ``throttle_time_ms`` and nothing more is read from it meanwhile."""
    if ms > 0:
        conn.throttled_until = max(conn.throttled_until, time.monotonic() + ms / 1000)


def record_request(ctx: Any) -> int:
    """Record the handler time of the request ``ctx`` (since it was dispatched) against the client's
    ``request_percentage``; the throttle time (the connection muted that long when > 0). 0 for exempt
    requests and when no request quota is set."""
    quotas: RequestQuotas | None = getattr(ctx.broker, "request_quotas", None)
    if quotas is None or ctx.listener != "broker":
        return 0
    # inside the handler: the time so far; after it returned (a long-poll Fetch answering): its time
    nanos = ctx.handled_ns or time.monotonic_ns() - ctx.received_ns
    ms = quotas.record(quota_user(ctx.conn), ctx.header.client_id or "", nanos, ctx.broker.clock_ms())
    mute(ctx.conn, ms)
    return ms


def after_handler(ctx: Any) -> int:
    """Called by the dispatcher once a handler returned: the throttle time for an answer with a
    ``throttle_time`` field (0 for the APIs that record their own time or are exempt)."""
    if ctx.header.api_key in _NOT_GENERIC:
        return 0
    return record_request(ctx)
