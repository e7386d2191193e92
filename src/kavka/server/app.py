"""The broker process's network shell: listeners, connections, lifecycle.

:class:`KavkaServer` starts a :class:`~kavka.broker.broker.Broker` (loading logs and the metadata
image), binds every ``listeners`` entry, and serves connections until :meth:`stop`, which stops
accepting, closes connections and shuts the broker down cleanly (flush, checkpoints, the clean-shutdown
marker). A listener with port 0 binds a free port; the advertised address then uses the bound port.
"""

from __future__ import annotations

import asyncio
import logging
import time

from kavka.broker.broker import Broker
from kavka.broker.dispatch import Dispatcher
from kavka.server.connection import KafkaConnection

log = logging.getLogger(__name__)

__all__ = ["KavkaServer"]


class KavkaServer:
    def __init__(self, config, *, fs=None, clock_ms=None):
        self.config = config
        self._fs = fs
        self._clock_ms = clock_ms
        self.broker: Broker | None = None
        self.dispatcher: Dispatcher | None = None
        self._servers: list[asyncio.AbstractServer] = []
        self._connections: set[KafkaConnection] = set()
        self._tasks: list[asyncio.Task] = []
        self.bound: list[tuple[str, str, int]] = []  # (listener name, host, port)
        self.started_at: float | None = None

    @property
    def connection_count(self) -> int:
        """Open client connections."""
        return len(self._connections)

    @property
    def bootstrap(self) -> str:
        name, host, port = self.bound[0]
        return f"{host}:{port}"

    async def start(self) -> None:
        t0 = time.perf_counter()
        loop = asyncio.get_running_loop()
        self.broker = broker = Broker(self.config, fs=self._fs, clock_ms=self._clock_ms)
        broker.startup()
        self.dispatcher = dispatcher = Dispatcher(broker)
        max_request = self.config["socket.request.max.bytes"]

        def factory():
            conn = KafkaConnection(dispatcher, max_request, on_close=self._connections.discard)
            self._connections.add(conn)
            return conn

        try:
            for listener in self.config.listeners:
                if listener.name.upper().startswith("CONTROLLER"):
                    continue  # combined mode: the local quorum needs no network listener
                server = await loop.create_server(
                    factory, listener.host or None, listener.port, reuse_address=True, backlog=1024,
                )
                self._servers.append(server)
                sock = server.sockets[0]
                host, port = sock.getsockname()[:2]
                self.bound.append((listener.name, listener.host or host, port))
        except OSError:
            for server in self._servers:
                server.close()
            broker.shutdown()
            raise
        broker.set_bound_listeners(self.bound)
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        self.started_at = time.time()
        log.info("started in %.0f ms", (time.perf_counter() - t0) * 1000)

    async def _housekeeping(self) -> None:
        """Periodic work: flush.ms, recovery-point checkpoints."""
        interval = max(0.05, self.broker.housekeeping_interval_ms / 1000)
        while True:
            await asyncio.sleep(interval)
            try:
                self.broker.tick()
            except Exception:  # keep serving; the failure is logged with its stack
                log.exception("housekeeping failed")

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for server in self._servers:
            server.close()
        for conn in list(self._connections):
            conn.close()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self.broker is not None:
            self.broker.shutdown()
