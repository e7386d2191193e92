"""The broker process's network shell: listeners, connections, lifecycle.

:class:`KavkaServer` starts a :class:`~kavka.broker.broker.Broker` (loading logs and the metadata
image), binds every ``listeners`` entry, and serves connections until :meth:`stop`, which stops
accepting, closes connections and shuts the broker down cleanly (flush, checkpoints, the clean-shutdown
marker). A listener with port 0 binds a free port; the advertised address then uses the bound port.

Each listener has an :class:`~kavka.server.acceptor.Acceptor` (TLS on SSL and SASL_SSL listeners,
kavka.server.tls) (``max.connections``,
``max.connections.per.ip[.overrides]``, back-off when the file limit is hit); every connection takes its
requests' bytes from one :class:`~kavka.server.memory_pool.RequestMemoryPool`
(``queued.max.request.bytes``).
"""

from __future__ import annotations

import asyncio
import copy
import logging
import os
import socket
import time

from kavka.broker.broker import Broker
from kavka.broker.dispatch import Dispatcher
from kavka.metadata.config import LISTENER_PREFIX
from kavka.metadata.configtypes import ConfigError
from kavka.security.scram import MECHANISM_IDS, ScramCredential
from kavka.server.acceptor import Acceptor
from kavka.server.broker_channel import BrokerChannel
from kavka.server.connection import KafkaConnection
from kavka.server.controller_channel import ControllerChannel
from kavka.server.memory_pool import RequestMemoryPool
from kavka.server.quotas import ConnectionQuotas, parse_overrides
from kavka.server.raft_driver import RaftDriver
from kavka.server.replica_fetcher import ReplicaFetcherManager
from kavka.server.sasl import SASL_PROTOCOLS, SaslAuthenticator, SaslSettings
from kavka.server.sasl_client import authenticator, client_settings
from kavka.server.tls import ListenerTls, link_context, listener_tls, server_context

log = logging.getLogger(__name__)

__all__ = ["KavkaServer", "ListenError"]


class ListenError(OSError):
    """A listener could not be bound: the OSError (errno, strerror) plus which listener and address."""

    def __init__(self, listener: str, host: str, port: int, cause: OSError) -> None:
        # socket.create_server rewrites strerror to name the address; keep the system's own words
        super().__init__(cause.errno, os.strerror(cause.errno) if cause.errno else str(cause))
        self.listener, self.host, self.port = listener, host, port


class KavkaServer:
    def __init__(self, config, *, fs=None, clock_ms=None):
        self.config = config
        self._fs = fs
        self._clock_ms = clock_ms
        self.broker: Broker | None = None
        self.dispatcher: Dispatcher | None = None
        self._acceptors: list[Acceptor] = []
        self.quotas: ConnectionQuotas | None = None
        self.request_pool: RequestMemoryPool | None = None
        self._connections: set[KafkaConnection] = set()
        self._tasks: list[asyncio.Task] = []
        self.bound: list[tuple[str, str, int]] = []  # (listener name, host, port)
        self.started_at: float | None = None
        self.raft_driver: RaftDriver | None = None
        self.controller_channel: ControllerChannel | None = None
        self.broker_channel: BrokerChannel | None = None
        self.replica_fetchers: ReplicaFetcherManager | None = None
        self._tls_acceptors: dict[str, tuple[Acceptor, str]] = {}
        self._tls_dynamic: dict[str, str] = {}

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
        # TLS contexts first: a missing or unreadable key store fails the start (ConfigError) before
        # anything is loaded or bound.
        tls_by_listener = {
            lst.name: listener_tls(self.config, lst.name, lst.security_protocol) for lst in self.config.listeners
        }
        self.broker = broker = Broker(self.config, fs=self._fs, clock_ms=self._clock_ms)
        controller_names = set(self.config.controller_listener_names) or {"CONTROLLER"}
        # Bind every listener before the broker loads or formats its log dirs: a port in use fails the
        # start with nothing written. Connections wait in the backlog until the acceptors start.
        socks: dict[str, socket.socket] = {}
        try:
            for listener in self.config.listeners:
                is_controller = listener.name.upper() in controller_names
                if is_controller and not (broker.cluster_mode and broker.is_controller_role):
                    continue  # a quorum of one needs no network listener
                try:
                    socks[listener.name] = _listen(listener.host or None, listener.port)
                except OSError as e:
                    raise ListenError(listener.name, listener.host, listener.port, e) from e
            broker.startup()
        except BaseException:
            for sock in socks.values():
                sock.close()
            raise
        self.dispatcher = dispatcher = Dispatcher(broker)
        max_request = self.config["socket.request.max.bytes"]
        self.request_pool = pool = RequestMemoryPool(self.config["queued.max.request.bytes"], loop.call_soon)
        parse_overrides(self.config["max.connections.per.ip.overrides"])  # a bad value fails the start
        self.quotas = quotas = ConnectionQuotas(broker.dynamic_config)

        controller_dispatcher = Dispatcher(broker, "controller")

        def factory_for(
            acceptor_ref: list, dispatcher: Dispatcher, name: str, tls: ListenerTls | None, sasl: SaslSettings | None
        ):
            def factory(ip: str):
                acceptor = acceptor_ref[0]

                def on_close(conn):
                    self._connections.discard(conn)
                    acceptor.connection_closed(ip)

                conn = KafkaConnection(
                    dispatcher, max_request, on_close=on_close, pool=pool, listener_name=name, tls=tls
                )
                if sasl is not None:
                    conn.sasl = SaslAuthenticator(sasl, dispatcher, conn.close)
                self._connections.add(conn)
                return conn

            return factory

        def scram_lookup(mechanism: str, user: str) -> ScramCredential | None:
            record = broker.image.scram_credentials.get((user, MECHANISM_IDS[mechanism]))
            if record is None:
                return None
            return ScramCredential(record.salt, record.stored_key, record.server_key, record.iterations)

        try:
            for listener in self.config.listeners:
                if listener.name not in socks:
                    continue
                sock = socks[listener.name]
                is_controller = listener.name.upper() in controller_names
                ref: list = []
                kind = controller_dispatcher if is_controller else dispatcher
                tls = tls_by_listener[listener.name]
                sasl = None
                if listener.security_protocol in SASL_PROTOCOLS:
                    sasl = SaslSettings(self.config, listener.name, scram_lookup)
                acceptor = Acceptor(
                    sock,
                    factory_for(ref, kind, listener.name, tls, sasl),
                    quotas,
                    listener.name,
                    ssl_context=tls.context if tls is not None else None,
                )
                ref.append(acceptor)
                if tls is not None:
                    self._tls_acceptors[listener.name] = (acceptor, tls.protocol)
                self._acceptors.append(acceptor)
                host, port = sock.getsockname()[:2]
                self.bound.append((listener.name, listener.host or ("0.0.0.0" if host == "::" else host), port))
        except BaseException:
            for sock in socks.values():
                sock.close()
            broker.shutdown()
            raise
        self._reload_tls()  # dynamic listener.name.<l>.ssl.* already in the metadata log apply from the start
        for acceptor in self._acceptors:
            acceptor.start()
        broker.set_bound_listeners([b for b in self.bound if b[0].upper() not in controller_names])
        if broker.cluster_mode:
            self._start_cluster(broker)
        self._tasks.append(asyncio.create_task(self._housekeeping()))
        self._tasks.append(asyncio.create_task(self._close_idle()))
        self.started_at = time.time()
        log.info("started in %.0f ms", (time.perf_counter() - t0) * 1000)

    def _start_cluster(self, broker: Broker) -> None:
        """KRaft across processes: carry the quorum's messages, and give the broker its channel to the
        active controller (forwarded writes, registration, heartbeats, producer id blocks)."""
        quorum = broker.quorum
        controller_names = self.config.controller_listener_names or ["CONTROLLER"]
        # Links to other nodes over TLS when their listener is SSL here (this node's settings for that
        # listener give the trust store, a client certificate and hostname verification).
        controller_ssl = link_context(self.config, controller_names[0])
        broker_ssl = link_context(self.config, self.config.inter_broker_listener_name)
        self.raft_driver = driver = RaftDriver(
            quorum,
            broker.cluster_id,
            broker.voters,
            broker.clock_ms,
            self.config["controller.quorum.request.timeout.ms"],
        )
        controller_names = set(self.config.controller_listener_names) or {"CONTROLLER"}
        driver.leader_endpoints = [b for b in self.bound if b[0].upper() in controller_names]
        driver.ssl = controller_ssl
        driver.on_fatal = lambda: broker.halt(1)  # as Kafka's fatal fault handler: stop at once
        driver.on_tick = lambda: (c := broker.controller) is not None and c.tick()
        controller_login = sasl_login(
            self.config,
            (self.config.controller_listener_names or ["CONTROLLER"])[0],
            "sasl.mechanism.controller.protocol",
        )
        driver.authenticate = controller_login
        broker.raft_driver = driver
        driver.start()
        self.controller_channel = ControllerChannel(
            quorum, broker.voters, f"broker-{broker.node_id}-to-controller", ssl=controller_ssl
        )
        self.controller_channel.authenticate = controller_login
        broker.controller_channel = self.controller_channel
        self.broker_channel = BrokerChannel(
            lambda: quorum.image, self.config.inter_broker_listener_name, f"broker-{broker.node_id}", ssl=broker_ssl
        )
        self.broker_channel.authenticate = sasl_login(
            self.config, self.config.inter_broker_listener_name, "sasl.mechanism.inter.broker.protocol"
        )
        broker.broker_channel = self.broker_channel
        self.replica_fetchers = ReplicaFetcherManager(broker, self.broker_channel)
        broker.replication.replica_fetchers = self.replica_fetchers
        broker.replication.assign_fetchers()
        if broker.is_broker_role:
            broker.start_lifecycle()

    async def _housekeeping(self) -> None:
        """Periodic work: flush.ms, recovery-point checkpoints, TLS key store reloads."""
        interval = max(0.05, self.broker.housekeeping_interval_ms / 1000)
        while True:
            await asyncio.sleep(interval)
            try:
                self.broker.tick()
                self._reload_tls()
            except Exception:  # keep serving; the failure is logged with its stack
                log.exception("housekeeping failed")

    def _reload_tls(self) -> None:
        """Kafka's dynamic key and trust store update: ``listener.name.<l>.ssl.*`` set with
        IncrementalAlterConfigs (for this broker, or as the cluster default) rebuilds that listener's
        context; connections accepted from then on use it, open ones keep theirs. A store that cannot
        be loaded is logged and the listener keeps its current context."""
        if not self._tls_acceptors or self.broker is None or self.broker.quorum is None:
            return
        image = self.broker.image
        dynamic = {**image.broker_configs(None), **image.broker_configs(self.broker.node_id)}
        prefixed = {k: v for k, v in dynamic.items() if k.startswith(LISTENER_PREFIX) and ".ssl." in k}
        if prefixed == self._tls_dynamic:
            return
        self._tls_dynamic = prefixed
        config = copy.copy(self.config)
        config.listener_props = {**self.config.listener_props, **prefixed}
        for name, (acceptor, protocol) in self._tls_acceptors.items():
            try:
                acceptor.ssl_context = server_context(config, name, protocol)
            except ConfigError as e:
                log.error("listener %s: keeping the current TLS settings, the new ones do not load: %s", name, e)
                continue
            log.info("listener %s: TLS settings reloaded", name)

    async def _close_idle(self) -> None:
        """``connections.max.idle.ms``: close connections that neither read nor wrote for that long
        (Kafka's idle expiry); a connection waiting on its own request (a long poll) is not idle."""
        while True:
            idle_ms = self.config["connections.max.idle.ms"]
            await asyncio.sleep(max(0.05, min(1.0, idle_ms / 4000)))
            if idle_ms < 0:
                continue
            cutoff = time.monotonic() - idle_ms / 1000
            for conn in list(self._connections):
                since = conn.idle_since()
                if since is not None and since < cutoff:
                    log.debug("closing %s: idle for more than %d ms", conn.info, idle_ms)
                    conn.close()

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self.broker is not None and self.broker.cluster_mode:
            await self.broker.stop_lifecycle()
        if self.controller_channel is not None:
            await self.controller_channel.close()
        if self.replica_fetchers is not None:
            await self.replica_fetchers.stop()
        if self.broker_channel is not None:
            await self.broker_channel.close()
        if self.raft_driver is not None:
            await self.raft_driver.stop()
        for acceptor in self._acceptors:
            await acceptor.close()
        self._acceptors.clear()
        for conn in list(self._connections):
            conn.close()
        if self.broker is not None:
            self.broker.shutdown()


def sasl_login(config, listener: str, mechanism_config: str):
    """The SASL login hook for this node's connections to ``listener`` (None unless it is SASL)."""
    return authenticator(client_settings(config, listener, mechanism_config), f"kavka-{config.node_id}")


def _listen(host: str | None, port: int) -> socket.socket:
    """A non-blocking listening TCP socket (SO_REUSEADDR, backlog 1024); no host binds every interface."""
    if host is None:
        if socket.has_dualstack_ipv6():
            sock = socket.create_server(("", port), family=socket.AF_INET6, backlog=1024, dualstack_ipv6=True)
        else:
            sock = socket.create_server(("", port), backlog=1024)
    else:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        sock = socket.create_server((host, port), family=family, backlog=1024)
    sock.setblocking(False)
    return sock
