"""Accepting connections on one listener, within the connection quotas and the process's file limit.

An :class:`Acceptor` owns a listening socket and one task that accepts connections one at a time
(``loop.sock_accept``) and hands each to a protocol factory (``loop.connect_accepted_socket``):

- while ``max.connections`` are open it stops accepting (Kafka's acceptor blocks the same way); new
  connections wait in the kernel's listen backlog until a connection closes;
- a connection from an address already at ``max.connections.per.ip`` (or its override) is closed as
  soon as it is accepted;
- when ``accept`` fails for lack of a resource (EMFILE/ENFILE: the open-files limit; ENOBUFS/ENOMEM), it
  backs off (50 ms doubling to 1 s, reset by the next success) and logs once per 10 s with the number of
  failures since the last line. asyncio's own server logs every failure and re-arms its reader once per
  failure, which turns one exhausted file table into millions of log lines and no accepted connection.

On a TLS listener (``ssl_context``) each accepted connection's handshake runs in a task of its own,
so a client that connects and says nothing holds up no other; a failed handshake (a plaintext client
on a TLS port, an untrusted or missing client certificate) closes that connection and is logged as
Kafka logs it, ``Failed authentication with /<ip> (SSL handshake failed)``, at most once per 10 s
with the count of the others.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import ssl
import time
from collections.abc import Callable

from kavka.server.quotas import ConnectionQuotas
from kavka.server.tasks import cancel_and_wait

__all__ = ["Acceptor", "RateLimitedLog"]

log = logging.getLogger(__name__)

RESOURCE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_BACKOFF_MIN = 0.05
_BACKOFF_MAX = 1.0


class RateLimitedLog:
    """Log the first event at once, then at most one line per ``interval`` seconds carrying the count of
    events since the previous line."""

    def __init__(self, logger: logging.Logger, level: int, interval: float = 10.0, clock=time.monotonic):
        self._log = logger
        self._level = level
        self.interval = interval
        self._clock = clock
        self._last: float | None = None
        self._suppressed = 0

    def __call__(self, msg: str, *args) -> None:
        now = self._clock()
        if self._last is not None and now - self._last < self.interval:
            self._suppressed += 1
            return
        if self._suppressed:
            msg += f" ({self._suppressed} more in the last {now - self._last:.0f} s)"
        self._log.log(self._level, msg, *args)
        self._last = now
        self._suppressed = 0


class Acceptor:
    """Accept on ``sock`` (bound, listening, non-blocking) until :meth:`close`.

    ``factory(ip)`` builds the protocol for a connection from ``ip``; that protocol must call
    :meth:`connection_closed` with the same ``ip`` when its connection ends, which frees the quota slot.
    """

    def __init__(
        self,
        sock: socket.socket,
        factory: Callable[[str], asyncio.Protocol],
        quotas: ConnectionQuotas,
        name: str = "PLAINTEXT",
        ssl_context: ssl.SSLContext | None = None,
        handshake_timeout: float = 10.0,
    ):
        self.sock = sock
        self._factory = factory
        self._quotas = quotas
        self._name = name
        self._slot_freed = asyncio.Event()
        self._task: asyncio.Task | None = None
        self._log_resource = RateLimitedLog(log, logging.WARNING)
        self._log_rejected = RateLimitedLog(log, logging.INFO)
        self.resource_failures = 0
        self._ssl = ssl_context
        self._handshake_timeout = handshake_timeout
        self._handshakes: set[asyncio.Task] = set()
        self._log_handshake = RateLimitedLog(log, logging.WARNING)
        self.failed_handshakes = 0

    @property
    def ssl_context(self) -> ssl.SSLContext | None:
        return self._ssl

    @ssl_context.setter
    def ssl_context(self, ctx: ssl.SSLContext) -> None:
        """A new context for the connections accepted from now on (a reloaded key store); a plaintext
        listener stays plaintext."""
        if self._ssl is None:
            raise ValueError(f"listener {self._name} is not a TLS listener")
        self._ssl = ctx

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._serve(), name=f"acceptor-{self._name}")

    def connection_closed(self, ip: str) -> None:
        self._quotas.closed(ip)
        self._slot_freed.set()

    async def close(self) -> None:
        await cancel_and_wait(self._task)
        self._task = None
        for task in list(self._handshakes):
            await cancel_and_wait(task)
        self.sock.close()

    async def _serve(self) -> None:
        loop = asyncio.get_running_loop()
        quotas = self._quotas
        backoff = _BACKOFF_MIN
        while True:
            while quotas.broker_full():
                self._slot_freed.clear()
                await self._slot_freed.wait()
            try:
                conn, addr = await loop.sock_accept(self.sock)
            except OSError as e:
                if e.errno in RESOURCE_ERRNOS:
                    self.resource_failures += 1
                    self._log_resource("listener %s: accept failed: %s; backing off", self._name, e)
                    await asyncio.sleep(backoff)
                    backoff = min(_BACKOFF_MAX, backoff * 2)
                    continue
                if isinstance(e, ConnectionAbortedError) or e.errno in (errno.ECONNABORTED, errno.EPROTO):
                    continue  # the peer gave up before we accepted: nothing to serve
                self._log_resource("listener %s: accept failed: %s", self._name, e)
                await asyncio.sleep(backoff)
                backoff = min(_BACKOFF_MAX, backoff * 2)
                continue
            backoff = _BACKOFF_MIN
            ip = addr[0] if isinstance(addr, tuple) else str(addr)
            if ip.startswith("::ffff:"):  # an IPv4 client on a dual-stack socket: quotas name it as IPv4
                ip = ip[7:]
            if not quotas.try_open(ip):
                self._log_rejected(
                    "Rejected connection from %s, address already has the configured maximum of %d connections.",
                    ip,
                    quotas.ip_limit(ip),
                )
                conn.close()
                continue
            conn.setblocking(False)
            if self._ssl is None:
                await self._set_up(conn, ip)
            else:
                task = loop.create_task(self._set_up(conn, ip))
                self._handshakes.add(task)
                task.add_done_callback(self._handshakes.discard)

    async def _set_up(self, conn: socket.socket, ip: str) -> None:
        """Hand the connection to its protocol (after the TLS handshake on a TLS listener)."""
        made: list[asyncio.Protocol] = []

        def build():
            made.append(self._factory(ip))
            return made[0]

        loop = asyncio.get_running_loop()
        try:
            if self._ssl is None:
                await loop.connect_accepted_socket(build, conn)
            else:
                await loop.connect_accepted_socket(
                    build, conn, ssl=self._ssl, ssl_handshake_timeout=self._handshake_timeout
                )
        except (ssl.SSLError, ConnectionError, TimeoutError, asyncio.CancelledError) as e:
            if self._ssl is None or isinstance(e, asyncio.CancelledError):
                self._abandon(conn, ip, made)
                if isinstance(e, asyncio.CancelledError):
                    raise
                return
            self.failed_handshakes += 1
            reason = getattr(e, "reason", None) or type(e).__name__
            self._log_handshake(
                "listener %s: Failed authentication with /%s (SSL handshake failed: %s)", self._name, ip, reason
            )
            self._abandon(conn, ip, made)
        except Exception:  # the connection is gone (reset during set-up); the listener goes on
            log.exception("listener %s: could not set up the connection from %s", self._name, ip)
            self._abandon(conn, ip, made)

    def _abandon(self, conn: socket.socket, ip: str, made: list[asyncio.Protocol]) -> None:
        """A connection that never reached ``connection_made``: close it and free what it held."""
        conn.close()
        if not made:
            self.connection_closed(ip)
        elif getattr(made[0], "info", None) is None:  # connection_lost will not come: its owner forgets it
            made[0].connection_lost(None)
