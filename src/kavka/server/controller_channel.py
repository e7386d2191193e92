"""Requests from this node to the active controller (Kafka's NodeToControllerChannelManager).

The active controller is the metadata quorum's leader, reached on its CONTROLLER endpoint from
``controller.quorum.voters``. A request waits while no leader is known, is sent again to the new
leader when the one it went to answers NOT_CONTROLLER or cannot be reached, and gives up after
``timeout_ms`` with the last error (TimeoutError when no controller was ever reachable).

A request in flight to a node the quorum no longer names as its leader is not waited on: as soon as
the quorum knows another leader (or none), the connection to the old one is closed, which fails the
request, and it is sent again to the new one. Otherwise a broker's heartbeat sent to a controller that
was just cut off waits out the whole timeout, and the new controller fences the broker a session after
it took over (fault-run seeds 1002 and 252: every broker fenced at once, Metadata listing none).
Kafka gets there another way: its broker's lifecycle requests go through a channel whose requests time
out after half of ``broker.session.timeout.ms`` (KAFKA-14392), and a timed-out request is sent again to
whoever is the controller then. A caller bounds its request the same way with ``timeout_s`` (the
broker's lifecycle manager does, with Kafka's bound); a request that times out drops its connection
(`PeerClient`), so the next one does not queue behind it on a dead link.
"""

from __future__ import annotations

import asyncio
import logging
import ssl as ssl_module
from typing import Any

from kavka.raft.quorum import RaftMetadataQuorum
from kavka.server.peer_client import PeerClient, PeerError

log = logging.getLogger(__name__)

__all__ = ["ControllerChannel"]

NOT_CONTROLLER = 41
_RETRY_BACKOFF = 0.05  # retry.backoff.ms's spirit: a short pause before asking again
_LEADER_CHECK = 0.05  # how often a request in flight looks whether the quorum's leader changed


class ControllerChannel:
    # SASL login run on each new connection (kavka.server.sasl_client); set by the server
    authenticate: Any = None

    def __init__(
        self,
        quorum: RaftMetadataQuorum,
        voters: dict[int, tuple[str, int]],
        client_id: str,
        timeout_ms: int = 30000,
        *,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        self.ssl = ssl  # TLS when the controller listener is SSL
        self.quorum = quorum
        self.voters = voters
        self.client_id = client_id
        self.timeout = timeout_ms / 1000
        self._clients: dict[int, PeerClient] = {}

    def peer(self, node_id: int) -> PeerClient | None:
        """This channel's own connection to a voter (never the Raft driver's: see RaftDriver.peer)."""
        client = self._clients.get(node_id)
        if client is None and node_id in self.voters:
            host, port = self.voters[node_id]
            client = self._clients[node_id] = PeerClient(
                host, port, client_id=self.client_id, ssl=self.ssl, authenticate=self.authenticate
            )
        return client

    async def close(self) -> None:
        for client in self._clients.values():
            await client.close()
        self._clients.clear()

    def _leader(self) -> int:
        """The voter to send to: the quorum's leader, except this node when it does not lead. A node
        restarted after leading knows itself as the leader of its last epoch while it is Resigned (as
        in Kafka) until an election ends; asking itself then would be forwarded back to itself, so it
        waits for the election like any node that knows no leader."""
        quorum = self.quorum
        leader = quorum.leader_id
        if leader == quorum.node.node_id and not quorum.is_leader:
            return -1
        return leader

    async def __call__(self, api_key: int, version: int, body, *, timeout_s: float | None = None):
        """The controller's answer to one request, within ``timeout_s`` (the channel's timeout when
        None or larger); raises the last error (or TimeoutError) when none came in time."""
        loop = asyncio.get_running_loop()
        timeout = self.timeout if timeout_s is None else min(self.timeout, timeout_s)
        deadline = loop.time() + timeout
        last: Exception | None = None
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise last or TimeoutError(f"no active controller answered within {timeout:g} s")
            target = self._leader()
            client = self.peer(target)
            if client is not None:
                try:
                    response = await self._request_while_leader(client, target, api_key, version, body, remaining)
                except (OSError, TimeoutError, PeerError) as e:
                    last = e
                else:
                    if getattr(response, "error_code", 0) != NOT_CONTROLLER:
                        return response
                    last = ConnectionError(f"node {self.quorum.leader_id} is no longer the active controller")
            await asyncio.sleep(min(_RETRY_BACKOFF, max(0.0, deadline - loop.time())))

    async def _request_while_leader(
        self, client: PeerClient, target: int, api_key: int, version: int, body, timeout: float
    ) -> Any:
        """``client.request(...)`` to voter ``target``; if the quorum stops naming ``target`` its leader
        before the answer, the connection is closed and PeerDisconnected raised (see the module)."""
        task = asyncio.ensure_future(client.request(api_key, version, body, timeout=timeout))
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=_LEADER_CHECK)
                if done:
                    return task.result()
                if self._leader() != target:
                    log.info(
                        "node %d is no longer the quorum's leader: its request in flight goes to the next one",
                        target,
                    )
                    await client.close()  # fails the request in flight: PeerDisconnected
                    return await task
        finally:
            if not task.done():
                task.cancel()
