"""Produce and fetch byte-rate client quotas: Kafka's ``ClientQuotaManager`` arithmetic (KIP-13, KIP-55).

In the broker layer because Kafka applies them where it answers Produce and Fetch (``KafkaApis``): the
handler records the bytes, puts the throttle time in the response's ``throttle_time_ms``, and the
connection is muted for that long after the response is sent (KIP-219). The quotas themselves are the
metadata image's ``client_quotas`` (AlterClientQuotas). A connection's user is its principal's name
(``ConnectionInfo.principal``: ``ANONYMOUS`` until it authenticates, as in Kafka on a PLAINTEXT
listener); the client id is the request header's.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from kavka.broker.request_quotas import mute, quota_user, record_request
from kavka.metadata.client_quotas import QuotaEntity
from kavka.protocol.fetch import encode_fetch_response
from kavka.protocol.primitives import Chunk, response_size

__all__ = ["ANONYMOUS", "ByteRateQuotas", "fetch_answer", "record_produce"]


_MAX_TRACKED = 10_000  # clients whose quota or rate is remembered before forgetting idle ones
ANONYMOUS = "ANONYMOUS"  # the user of a connection without authentication, as Kafka names it

# Kafka's DefaultQuotaCallback precedence: (user part, client-id part) of the entity to look up, where
# "name" is the connection's own value, None the default entity and "-" no such part; and which of the
# two the rate is measured per (the metric tags: clients matched by a default share nothing).
_PRECEDENCE: tuple[tuple[str, str, bool, bool], ...] = (
    ("name", "name", True, True),  # /config/users/<user>/clients/<client-id>
    ("name", "default", True, True),  # /config/users/<user>/clients/<default>
    ("name", "-", True, False),  # /config/users/<user>
    ("default", "name", True, True),  # /config/users/<default>/clients/<client-id>
    ("default", "default", True, True),  # /config/users/<default>/clients/<default>
    ("default", "-", True, False),  # /config/users/<default>
    ("-", "name", False, True),  # /config/clients/<client-id>
    ("-", "default", False, True),  # /config/clients/<default>
)


def _part(kind: str, name: str) -> str | None:
    return name if kind == "name" else None


class _Rate:
    """Kafka's ``Rate`` over a ``SampledStat``: ``samples`` windows of ``window_ms``; the rate divides
    the retained total by the time since the oldest window started, counted as at least
    ``samples - 1`` full windows (so a first burst is not measured over a few milliseconds)."""

    __slots__ = ("samples",)

    def __init__(self) -> None:
        self.samples: list[list[float]] = []  # [window start ms, total]

    def record(self, value: float, now_ms: int, samples: int, window_ms: int) -> None:
        self._purge(now_ms, samples, window_ms)
        if not self.samples or now_ms >= self.samples[-1][0] + window_ms:
            self.samples.append([now_ms, 0.0])
            if len(self.samples) > samples:
                del self.samples[0]
        self.samples[-1][1] += value

    def _purge(self, now_ms: int, samples: int, window_ms: int) -> None:
        expire = samples * window_ms
        while self.samples and now_ms - self.samples[0][0] >= expire:
            del self.samples[0]

    def window_ms(self, now_ms: int, samples: int, window_ms: int) -> int:
        self._purge(now_ms, samples, window_ms)
        elapsed = now_ms - self.samples[0][0] if self.samples else 0
        full = elapsed // window_ms
        if full < samples - 1:
            elapsed += (samples - 1 - full) * window_ms
        return max(elapsed, 1)

    def per_second(self, now_ms: int, samples: int, window_ms: int) -> float:
        total = sum(s[1] for s in self.samples)
        return total * 1000.0 / self.window_ms(now_ms, samples, window_ms)


class ByteRateQuotas:
    """Produce and fetch byte-rate quotas, as Kafka's ``ClientQuotaManager`` with its default callback.

    ``quotas()`` returns the metadata image's client quotas (entity -> {key: value}); ``key`` is
    ``producer_byte_rate`` (recorded: the size of each Produce request) or ``consumer_byte_rate`` (the
    size of each Fetch response). The quota of a (user, client id) is the first entity of Kafka's
    precedence (`_PRECEDENCE`) that sets ``key``; the rate is measured per the parts that entity names
    (a user quota is shared by all its clients, a default one is per client). `record` adds ``value``
    and returns the throttle time in ms (0 when within the quota): ``(rate - quota) / quota`` times
    the measured window, rounded, as Kafka's ``QuotaUtils.throttleTime``.

    ``quota.window.num`` (11) and ``quota.window.size.seconds`` (1) are Kafka's defaults. Pure: the
    caller passes the time; `record_produce` and `fetch_answer` are how Produce and Fetch use it.
    """

    def __init__(
        self,
        quotas: Callable[[], Mapping[QuotaEntity, Mapping[str, float]]],
        window_num: int = 11,
        window_size_seconds: int = 1,
    ) -> None:
        self._quotas = quotas
        self.samples = window_num
        self.window_ms = window_size_seconds * 1000
        self._rates: dict[tuple[str, str, str], _Rate] = {}
        # quota() answers for the quotas mapping they were computed from (a new image, a new mapping)
        self._resolved_for: object = None
        self._resolved: dict[tuple[str, str, str], tuple[float, tuple[str, str]] | None] = {}

    def quota(self, key: str, user: str, client_id: str) -> tuple[float, tuple[str, str]] | None:
        """(quota in bytes/s, (user tag, client-id tag)) for this client, or None when unlimited."""
        quotas = self._quotas()
        if not quotas:
            return None
        if quotas is not self._resolved_for or len(self._resolved) > _MAX_TRACKED:
            self._resolved_for, self._resolved = quotas, {}
        try:
            return self._resolved[(key, user, client_id)]
        except KeyError:
            found = self._resolved[(key, user, client_id)] = self._resolve(quotas, key, user, client_id)
            return found

    @staticmethod
    def _resolve(
        quotas: Mapping[QuotaEntity, Mapping[str, float]], key: str, user: str, client_id: str
    ) -> tuple[float, tuple[str, str]] | None:
        for user_kind, client_kind, by_user, by_client in _PRECEDENCE:
            parts: list[tuple[str, str | None]] = []
            if user_kind != "-":
                parts.append(("user", _part(user_kind, user)))
            if client_kind != "-":
                parts.append(("client-id", _part(client_kind, client_id)))
            entity: QuotaEntity = tuple(sorted(parts))
            value = quotas.get(entity, {}).get(key)
            if value is not None:
                return value, (user if by_user else "", client_id if by_client else "")
        return None

    def record(self, key: str, user: str, client_id: str, value: float, now_ms: int) -> int:
        found = self.quota(key, user, client_id)
        if found is None:
            return 0
        bound, (user_tag, client_tag) = found
        rate = self._rates.get((key, user_tag, client_tag))
        if rate is None:
            if len(self._rates) > _MAX_TRACKED:  # Kafka expires idle quota sensors; drop the idle ones
                expire = self.samples * self.window_ms
                self._rates = {k: r for k, r in self._rates.items() if r.samples and now_ms - r.samples[-1][0] < expire}
            rate = self._rates[(key, user_tag, client_tag)] = _Rate()
        rate.record(value, now_ms, self.samples, self.window_ms)
        observed = rate.per_second(now_ms, self.samples, self.window_ms)
        if observed <= bound:
            return 0
        return round((observed - bound) / bound * rate.window_ms(now_ms, self.samples, self.window_ms))


PRODUCER_BYTE_RATE, CONSUMER_BYTE_RATE = "producer_byte_rate", "consumer_byte_rate"


def _bandwidth(ctx: Any, key: str, size: int) -> int:
    quotas: ByteRateQuotas | None = getattr(ctx.broker, "byte_rate_quotas", None)
    if quotas is None:
        return 0
    return quotas.record(key, quota_user(ctx.conn), ctx.header.client_id or "", size, ctx.broker.clock_ms())


def record_produce(ctx: Any, request_size: int) -> int:
    """Record a Produce request of ``request_size`` bytes against the client's ``producer_byte_rate``
    and its handler time so far against its ``request_percentage``; return the larger throttle time
    for the response, as Kafka's ``handleProduceRequest`` (and mute the connection that long)."""
    ms = max(_bandwidth(ctx, PRODUCER_BYTE_RATE, request_size), record_request(ctx))
    mute(ctx.conn, ms)
    return ms


def fetch_answer(ctx: Any, topics: Any, release: Callable[[Any], None], session_id: int = 0) -> list[Chunk]:
    """The Fetch response body for ``topics``, after the client's ``consumer_byte_rate`` and
    ``request_percentage``: the response size and the handler time are recorded, and when either
    throttles the client Kafka answers with no data instead (and takes the size back off the byte
    rate, since nothing was sent): ``release`` frees the read's file regions."""
    out = encode_fetch_response(ctx.version, session_id=session_id, topics=topics)
    size = response_size(out)
    ms = max(_bandwidth(ctx, CONSUMER_BYTE_RATE, size), record_request(ctx))
    if ms <= 0:
        return out
    mute(ctx.conn, ms)
    quotas: ByteRateQuotas = ctx.broker.byte_rate_quotas
    quotas.record(CONSUMER_BYTE_RATE, quota_user(ctx.conn), ctx.header.client_id or "", -size, ctx.broker.clock_ms())
    release(topics)
    return encode_fetch_response(ctx.version, throttle_time_ms=ms, session_id=session_id, topics=[])
