"""Connection counts against ``max.connections``, ``max.connections.per.ip`` and its overrides; and the
byte-rate client quotas (`ByteRateQuotas`).

Kafka's ``ConnectionQuotas``, for one broker:

- ``max.connections`` (default 2147483647): connections open on the broker at any time. At the limit
  Kafka's acceptor *blocks*: it accepts nothing more (new connections wait in the listen backlog) until
  a connection closes.
- ``max.connections.per.ip`` (default 2147483647) and ``max.connections.per.ip.overrides``
  (``"host:limit,ip:limit"``, default empty; a host name is resolved to its address): a connection from
  an address already at its limit is accepted and closed at once (Kafka logs "Rejected connection from
  ..."), so clients from other addresses are unaffected.

All three are dynamic broker configs in Kafka; :class:`ConnectionQuotas` takes a ``config`` callable that
returns the current value of a config, so a change applies to the next accept. This module does no I/O
except resolving override host names (once per distinct overrides value).
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from kavka.metadata.client_quotas import QuotaEntity

__all__ = ["ByteRateQuotas", "ConnectionQuotas", "parse_overrides", "ANONYMOUS"]

log = logging.getLogger(__name__)


def parse_overrides(value: str | None) -> dict[str, int]:
    """``"hostName:100,127.0.0.1:200"`` -> ``{"hostName": 100, "127.0.0.1": 200}``.

    Raises ValueError for an entry that is not ``host:count`` with a non-negative count (Kafka refuses
    such a config). The host part may itself contain colons (an IPv6 address): the count is after the
    last one.
    """
    out: dict[str, int] = {}
    for entry in (value or "").split(","):
        entry = entry.strip()
        if not entry:
            continue
        host, sep, count = entry.rpartition(":")
        if not sep or not host or not count.strip().isdigit():
            raise ValueError(f"Invalid max.connections.per.ip.overrides entry {entry!r}: expected host:count")
        out[host.strip().strip("[]")] = int(count)
    return out


def _resolve(host: str) -> str:
    try:
        return socket.gethostbyname(host)
    except OSError:
        return host


class ConnectionQuotas:
    def __init__(self, config: Callable[[str], Any]):
        self._config = config
        self.total = 0
        self._per_ip: Counter[str] = Counter()
        self._overrides_raw: str | None = None
        self._overrides: dict[str, int] = {}

    def count(self, ip: str) -> int:
        return self._per_ip[ip]

    def broker_full(self) -> bool:
        """True while ``max.connections`` are open: the acceptor must wait for one to close."""
        return self.total >= int(self._config("max.connections"))

    def ip_limit(self, ip: str) -> int:
        raw = self._config("max.connections.per.ip.overrides") or ""
        if raw != self._overrides_raw:
            self._overrides_raw = raw
            try:
                self._overrides = {_resolve(h): n for h, n in parse_overrides(raw).items()}
            except ValueError as e:  # a dynamic update Kafka would have refused: keep serving, say why
                log.error("ignoring max.connections.per.ip.overrides: %s", e)
                self._overrides = {}
        return self._overrides.get(ip, int(self._config("max.connections.per.ip")))

    def try_open(self, ip: str) -> bool:
        """Count a new connection from ``ip``; False (nothing counted) if ``ip`` is at its limit."""
        if self._per_ip[ip] >= self.ip_limit(ip):
            return False
        self._per_ip[ip] += 1
        self.total += 1
        return True

    def closed(self, ip: str) -> None:
        self.total -= 1
        self._per_ip[ip] -= 1
        if self._per_ip[ip] <= 0:
            del self._per_ip[ip]


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
    caller passes the time. NOT wired to Produce and Fetch yet: the handlers do not call `record`, so
    ``throttle_time_ms`` is still 0 and no channel is muted (docs/compatibility.md).
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

    def quota(self, key: str, user: str, client_id: str) -> tuple[float, tuple[str, str]] | None:
        """(quota in bytes/s, (user tag, client-id tag)) for this client, or None when unlimited."""
        quotas = self._quotas()
        if not quotas:
            return None
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
            rate = self._rates[(key, user_tag, client_tag)] = _Rate()
        rate.record(value, now_ms, self.samples, self.window_ms)
        observed = rate.per_second(now_ms, self.samples, self.window_ms)
        if observed <= bound:
            return 0
        return round((observed - bound) / bound * rate.window_ms(now_ms, self.samples, self.window_ms))
