"""Connection counts against ``max.connections``, ``max.connections.per.ip`` and its overrides.

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
from collections.abc import Callable
from typing import Any

__all__ = ["ConnectionQuotas", "parse_overrides"]

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
