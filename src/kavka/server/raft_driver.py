"""The network and clock shell of a node's metadata quorum (``raft.quorum.RaftMetadataQuorum``).

The Raft core only queues messages addressed to node ids; this driver carries them:

- a *request* the node sends (Vote, BeginQuorumEpoch, EndQuorumEpoch, Fetch, FetchSnapshot) goes to
  that voter's CONTROLLER endpoint through a :class:`~kavka.server.peer_client.PeerClient` in its own
  task; the answer, decoded by ``raft.wire``, goes back into the node. A request that fails or times
  out is dropped: the node's own timers send again (that is how Raft copes with a lossy network).
- a *response* the node queues answers a request that came in through a handler
  (:meth:`exchange`), which waits for it: the first waiting request from that sender of the matching
  kind gets it (the node answers a sender's requests of one kind in order). A request the node never
  answers (a parked fetch it dropped when it stopped leading, a message it ignores) resolves to None
  after ``answer_timeout``, well inside the requester's timeout: one unanswered request must not time
  out the connection and every request pipelined behind it.

A timer task ticks the node at its next deadline (at least every 50 ms, so clock jumps are seen soon),
and any append or message wakes it through ``quorum.on_output``; after each tick ``on_tick`` runs the
active controller's timers (``QuorumController.tick``). Everything runs on the event loop
thread, as the rest of the broker does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from kavka.raft import wire
from kavka.raft.messages import (
    BeginQuorumEpoch,
    BeginQuorumEpochResponse,
    FetchRequest,
    FetchResponse,
    FetchSnapshotRequest,
    FetchSnapshotResponse,
    Message,
    VoteRequest,
    VoteResponse,
)
from kavka.raft.quorum import RaftMetadataQuorum
from kavka.server.peer_client import PeerClient, PeerError

log = logging.getLogger(__name__)

__all__ = ["RaftDriver"]

_ANSWER_KIND: dict[type, type] = {
    VoteRequest: VoteResponse,
    BeginQuorumEpoch: BeginQuorumEpochResponse,
    FetchRequest: FetchResponse,
    FetchSnapshotRequest: FetchSnapshotResponse,
}
_RESPONSES = tuple(_ANSWER_KIND.values())
_MAX_SLEEP = 0.05


class RaftDriver:
    # SASL login run on each new connection (kavka.server.sasl_client); set by the server
    authenticate: Any = None

    def __init__(
        self,
        quorum: RaftMetadataQuorum,
        cluster_id: str,
        voters: dict[int, tuple[str, int]],
        clock_ms: Callable[[], int],
        request_timeout_ms: int,
    ) -> None:
        self.quorum = quorum
        self.cluster_id = cluster_id
        self.voters = voters
        self.clock_ms = clock_ms
        self.request_timeout = request_timeout_ms / 1000
        fetch_wait = quorum.node.config.fetch_max_wait / 1000
        self.answer_timeout = min(self.request_timeout / 2, fetch_wait + 0.25)
        self._peers: dict[int, PeerClient] = {}
        self._waiting: dict[tuple[int, type], deque[asyncio.Future]] = defaultdict(deque)
        self._tasks: set[asyncio.Task] = set()
        self._wake: asyncio.Event | None = None
        self._runner: asyncio.Task | None = None
        self._flush_scheduled = False
        # (listener name, host, port) of this node's CONTROLLER listener, named in BeginQuorumEpoch
        self.leader_endpoints: list[tuple[str, str, int]] = []
        # called when the quorum fails (a broken Raft invariant, a metadata record that cannot apply)
        self.on_fatal: Callable[[], None] = lambda: None
        # called after each tick of the node (at least every 50 ms): the active controller's timers
        # (broker sessions, the automatic elections; QuorumController.tick, on the controller's own clock)
        self.on_tick: Callable[[], object] = lambda: None
        # TLS for the links to the voters when the controller listener is SSL (kavka.server.tls)
        self.ssl: ssl.SSLContext | None = None

    # -- lifecycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        self._wake = asyncio.Event()
        self.quorum.on_output = self._schedule_flush
        self._runner = asyncio.create_task(self._run(), name="raft-driver")
        self._schedule_flush()

    async def stop(self) -> None:
        """Stop the node's timers and sends and close its links; nothing of the quorum runs after it
        returns (the runner and every send have ended, not just been asked to)."""
        self.quorum.on_output = None
        runner, self._runner = self._runner, None
        stopping = [t for t in (runner, *self._tasks) if t is not None]
        for task in stopping:
            task.cancel()
        # their own failures were logged (and a fatal one halted the node) where they happened
        await asyncio.gather(*stopping, return_exceptions=True)
        for peer in self._peers.values():
            await peer.close()
        self._peers.clear()
        for waiters in self._waiting.values():
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)

    def peer(self, node_id: int) -> PeerClient | None:
        """The quorum's own client to a voter's CONTROLLER endpoint. Nothing else may use its connection:
        responses come back in request order, so a controller request waiting for a commit ahead of a
        fetch would hold back the very fetch the commit needs."""
        client = self._peers.get(node_id)
        if client is None and node_id in self.voters:
            host, port = self.voters[node_id]
            client = self._peers[node_id] = PeerClient(
                host, port, client_id=f"raft-{self.quorum.node.node_id}", ssl=self.ssl, authenticate=self.authenticate
            )
        return client

    # -- inbound ----------------------------------------------------------------------------------

    async def exchange(self, sender: int, msg: Message) -> Message | None:
        """Feed a request that came in from ``sender`` to the node; its answer, or None."""
        kind = _ANSWER_KIND.get(type(msg))
        fut: asyncio.Future | None = None
        if kind is not None:
            fut = asyncio.get_running_loop().create_future()
            self._waiting[(sender, kind)].append(fut)
        try:
            self.quorum.receive(sender, msg, self.clock_ms())
        except Exception:
            log.exception("the metadata quorum failed on %s from node %d", type(msg).__name__, sender)
            self.on_fatal()
            raise
        self._flush()
        if fut is None:
            return None
        try:
            # well inside the requester's own timeout, so that an unanswered request (a parked fetch the
            # node dropped when it stopped leading) gets an empty answer rather than a dropped connection
            async with asyncio.timeout(self.answer_timeout):
                return await asyncio.shield(fut)
        except TimeoutError:
            waiters = self._waiting.get((sender, kind))  # type: ignore[arg-type]
            if waiters is not None and fut in waiters:
                waiters.remove(fut)
            return None

    # -- outbound ---------------------------------------------------------------------------------

    def _schedule_flush(self) -> None:
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        out, self.quorum.outbox = self.quorum.outbox, []
        for dest, msg in out:
            if isinstance(msg, _RESPONSES):
                waiters = self._waiting.get((dest, type(msg)))
                while waiters:
                    fut = waiters.popleft()
                    if not fut.done():
                        fut.set_result(msg)
                        break
            else:
                task = asyncio.create_task(self._send(dest, msg))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
        if self._wake is not None and self.quorum.node.next_deadline() <= self.clock_ms():
            self._wake.set()  # the node has something to do now (a fetch to send after an answer)

    async def _send(self, dest: int, msg: Message) -> None:
        peer = self.peer(dest)
        if peer is None:
            log.debug("no endpoint for node %d; dropping %s", dest, type(msg).__name__)
            return
        api_key, version, body = wire.request_for(
            msg, self.cluster_id, dest=dest, leader_endpoints=self.leader_endpoints
        )
        try:
            response = await peer.request(api_key, version, body, timeout=self.request_timeout)
            answer = wire.decode_response(api_key, version, response, request=msg)
        except (OSError, TimeoutError, PeerError, wire.RaftWireError) as e:
            # the node's timers send again; one line, no traceback: peers come and go
            log.debug("%s to node %d failed: %s", type(msg).__name__, dest, e)
            return
        if answer is not None:
            try:
                self.quorum.receive(dest, answer, self.clock_ms())
            except Exception:
                log.exception("the metadata quorum failed on %s from node %d", type(answer).__name__, dest)
                self.on_fatal()
                raise
            self._flush()

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            now = self.clock_ms()
            delay = max(0.0, min(_MAX_SLEEP, (self.quorum.node.next_deadline() - now) / 1000))
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            self._wake.clear()
            try:
                self.quorum.tick(self.clock_ms())
            except Exception:
                # A broken invariant is fatal to the quorum: Kafka halts the process, and so does the server
                log.exception("the metadata quorum failed; this node stops")
                self.on_fatal()
                raise
            try:
                self.on_tick()
            except Exception:
                # a controller timer that failed is retried at the next tick; Kafka logs a failed periodic
                # task the same way (its records were not appended)
                log.exception("the controller's timers failed")
            self._flush()
