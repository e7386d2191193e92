"""Controller mutation quotas (``controller_mutation_rate``, KIP-599): Kafka's
``ControllerMutationQuotaManager``.

What is counted is partitions: created by CreateTopics and CreatePartitions, deleted by DeleteTopics.
Each (user, client id) — resolved by the byte-rate quotas' entity precedence — has a token bucket
that holds at most ``quota × controller.quota.window.num × controller.quota.window.size.seconds``
tokens (the burst), starts full and refills at ``quota`` tokens per second; a topic's partitions are
taken from it.

Two ways of applying it, by request version (Kafka's ``newQuotaFor(request, strictSinceVersion)``):

- strict (CreateTopics v6+, CreatePartitions v3+, DeleteTopics v5+): before each topic, a bucket
  below zero refuses it with THROTTLING_QUOTA_EXCEEDED (the topic is not touched; the client retries
  it after the throttle time); a bucket at zero or above admits the topic whatever its size, and may
  go negative.
- permissive (older versions, whose clients do not know the error): every topic is admitted and
  counted.

Either way the answer's ``throttle_time_ms`` is the time the bucket needs to refill to zero
(``-tokens / quota`` seconds, as Kafka's ``throttleTimeMs`` for a TokenBucket), counted from when it
was measured, and the connection is muted that long (KIP-219). Pure arithmetic: the caller passes the time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kavka.broker.byte_rate_quotas import ByteRateQuotas
from kavka.broker.request_quotas import RequestQuotas, mute, quota_user, record_request
from kavka.metadata.client_quotas import QuotaEntity
from kavka.protocol.api import ApiKey

__all__ = [
    "client_quota_managers",
    "CONTROLLER_MUTATION_RATE",
    "MutationQuotas",
    "MutationQuota",
    "STRICT_SINCE",
    "mutation_quota",
]

CONTROLLER_MUTATION_RATE = "controller_mutation_rate"
# The first version of each API whose clients handle THROTTLING_QUOTA_EXCEEDED (KIP-599).
STRICT_SINCE = {ApiKey.CREATE_TOPICS: 6, ApiKey.CREATE_PARTITIONS: 3, ApiKey.DELETE_TOPICS: 5}
_MAX_TRACKED = 10_000


class _Bucket:
    """Kafka's ``TokenBucket`` stat: ``tokens`` as of ``updated_ms``."""

    __slots__ = ("tokens", "updated_ms")

    def __init__(self, burst: float, now_ms: int) -> None:
        self.tokens = burst
        self.updated_ms = now_ms

    def refill(self, rate: float, burst: float, now_ms: int) -> float:
        self.tokens = min(burst, self.tokens + rate * max(0, now_ms - self.updated_ms) / 1000)
        self.updated_ms = now_ms
        return self.tokens


class MutationQuotas:
    """The token buckets of every (user, client id) with a ``controller_mutation_rate``."""

    def __init__(
        self,
        quotas: Callable[[], Mapping[QuotaEntity, Mapping[str, float]]],
        window_num: int = 11,
        window_size_seconds: int = 1,
    ) -> None:
        self._resolver = ByteRateQuotas(quotas, window_num, window_size_seconds)
        self._window_seconds = window_num * window_size_seconds
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def for_request(self, user: str, client_id: str, strict: bool, now_ms: Callable[[], int]) -> MutationQuota | None:
        """The quota of one request, or None when the client has no ``controller_mutation_rate``."""
        found = self._resolver.quota(CONTROLLER_MUTATION_RATE, user, client_id)
        if found is None:
            return None
        rate, tags = found
        bucket = self._buckets.get(tags)
        if bucket is None:
            if len(self._buckets) > _MAX_TRACKED:  # forget full (idle) buckets, as Kafka expires sensors
                burst = rate * self._window_seconds
                self._buckets = {k: b for k, b in self._buckets.items() if b.tokens < burst}
            bucket = self._buckets[tags] = _Bucket(rate * self._window_seconds, now_ms())
        return MutationQuota(bucket, rate, rate * self._window_seconds, strict, now_ms)


class MutationQuota:
    """One request's view of its client's bucket: `admit` per topic, `throttle_time_ms` for the answer."""

    def __init__(self, bucket: _Bucket, rate: float, burst: float, strict: bool, now_ms: Callable[[], int]) -> None:
        self._bucket, self._rate, self._burst, self.strict, self._now = bucket, rate, burst, strict, now_ms
        self._throttle_ms, self._throttled_at = 0, 0

    def admit(self, partitions: int) -> bool:
        """Take ``partitions`` tokens for one topic; False (nothing taken) when a strict quota is
        already exhausted, so the topic is refused with THROTTLING_QUOTA_EXCEEDED."""
        now = self._now()
        tokens = self._bucket.refill(self._rate, self._burst, now)
        if self.strict and tokens < 0:
            self._throttled(tokens, now)
            return False
        self._bucket.tokens = min(self._burst, tokens - partitions)
        if not self.strict and self._bucket.tokens < 0:
            self._throttled(self._bucket.tokens, now)
        return True

    def _throttled(self, tokens: float, now: int) -> None:
        self._throttle_ms, self._throttled_at = round(-tokens / self._rate * 1000), now

    def throttle_time_ms(self) -> int:
        """The throttle time last measured, less the time since (Kafka's ``throttleTime``)."""
        return max(0, self._throttle_ms - (self._now() - self._throttled_at))


def mutation_quota(ctx: Any) -> MutationQuota | None:
    """The controller mutation quota of the CreateTopics / CreatePartitions / DeleteTopics request
    ``ctx`` (strict or permissive by its version), None when the client has none, and for a request
    another broker forwarded on the controller listener (in a cluster, a client's quota applies when
    the node it is connected to is the active controller)."""
    quotas: MutationQuotas | None = getattr(ctx.broker, "mutation_quotas", None)
    if quotas is None or ctx.listener != "broker":
        # forwarded by another broker (Kavka forwards without Kafka's Envelope): the client is not known
        return None
    strict = ctx.version >= STRICT_SINCE[ctx.header.api_key]
    return quotas.for_request(quota_user(ctx.conn), ctx.header.client_id or "", strict, ctx.broker.clock_ms)


def throttle_time(ctx: Any, quota: MutationQuota | None) -> int:
    """The answer's ``throttle_time_ms``: the larger of the mutation quota's and the request quota's,
    as Kafka's ``sendResponseMaybeThrottleWithControllerQuota``; the connection is muted that long."""
    ms = max(quota.throttle_time_ms() if quota is not None else 0, record_request(ctx))
    mute(ctx.conn, ms)
    return ms


def client_quota_managers(
    quotas: Callable[[], Mapping[QuotaEntity, Mapping[str, float]]], config: Any
) -> tuple[ByteRateQuotas, RequestQuotas, MutationQuotas]:
    """The broker's three client quota managers over the image's quotas, with Kafka's window configs
    (``quota.window.*`` for byte rates and request time, ``controller.quota.window.*`` for mutations)."""
    samples, seconds = int(config["quota.window.num"]), int(config["quota.window.size.seconds"])
    return (
        ByteRateQuotas(quotas, samples, seconds),
        RequestQuotas(ByteRateQuotas(quotas, samples, seconds)),
        MutationQuotas(
            quotas, int(config["controller.quota.window.num"]), int(config["controller.quota.window.size.seconds"])
        ),
    )
