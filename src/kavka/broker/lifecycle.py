"""The broker's side of joining a cluster: Kafka's ``BrokerLifecycleManager`` (KIP-631).

A broker registers with the active controller (BrokerRegistration) and then heartbeats every
``broker.heartbeat.interval.ms`` (BrokerHeartbeat), reporting the highest metadata offset it has
applied. The controller answers whether it has caught up and whether it is fenced; the manager walks
Kafka's states:

    STARTING                 registering, then heartbeating until the controller says it caught up
    RECOVERY                 caught up, still fenced: heartbeats ask to be unfenced
    RUNNING                  unfenced (the ``unfenced`` event is set while it is)
    PENDING_CONTROLLED_SHUTDOWN  heartbeats ask to shut down until the controller says it may
    SHUTTING_DOWN            the controller let it go (or the manager was closed)

Every request goes through ``send(api_key, version, body) -> Awaitable[response]`` (to whichever node is
the active controller; it raises on a failed exchange), so the manager holds no socket. A failed
registration or heartbeat (an error code, or ``send`` raising) is logged and retried with exponential
backoff (100 ms doubling up to the session timeout, 2% jitter, as Kafka's), and a later heartbeat goes
on from where the broker is. As in Kafka, the heartbeat after a registration goes at once, one in
STARTING after 10 ms, the first in PENDING_CONTROLLED_SHUTDOWN after 50 ms, the others every interval.
Until ``set_ready_to_unfence()`` (when the broker has recovered its logs) heartbeats ask to stay fenced
(``want_fence``), so the controller does not send clients to a broker that cannot serve yet. A broker the controller fences (its heartbeats stopped reaching it) is
unfenced again by the next heartbeats that arrive. ``controlled_shutdown()`` asks to shut down and waits
for the controller's ``should_shut_down`` (with a timeout), as Kafka's broker does before it stops.

Responses may be kio entities or dicts with kio's field names.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import random
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from kavka.protocol.api import ApiKey, ErrorCode

__all__ = ["BrokerLifecycleManager", "LifecycleState", "REGISTRATION_VERSION", "HEARTBEAT_VERSION"]

log = logging.getLogger(__name__)

REGISTRATION_VERSION = 4
HEARTBEAT_VERSION = 1
Send = Callable[[int, int, dict[str, Any]], Awaitable[Any]]


class LifecycleState(enum.Enum):
    STARTING = "STARTING"
    RECOVERY = "RECOVERY"
    RUNNING = "RUNNING"
    PENDING_CONTROLLED_SHUTDOWN = "PENDING_CONTROLLED_SHUTDOWN"
    SHUTTING_DOWN = "SHUTTING_DOWN"


def _field(response: Any, name: str) -> Any:
    return response[name] if isinstance(response, Mapping) else getattr(response, name)


def _error(response: Any) -> ErrorCode:
    code = _field(response, "error_code")
    return code if isinstance(code, ErrorCode) else ErrorCode(int(code))


class BrokerLifecycleManager:
    """Registers this broker and keeps its session alive; see the module docstring.

    ``listeners``: ``(name, host, port, security protocol id)`` of every advertised listener;
    ``features``: feature name -> (min, max) supported; ``metadata_offset()``: the highest metadata
    offset this broker has applied (-1 for none); ``log_dirs``: the ``directory.id`` of each log dir.
    """

    def __init__(
        self,
        send: Send,
        *,
        node_id: int,
        cluster_id: str,
        incarnation_id: uuid.UUID | None = None,
        listeners: Sequence[tuple[str, str, int, int]],
        rack: str | None = None,
        features: Mapping[str, tuple[int, int]],
        log_dirs: Sequence[uuid.UUID] = (),
        metadata_offset: Callable[[], int],
        heartbeat_interval_ms: int = 2000,
        session_timeout_ms: int = 9000,
        initial_backoff_ms: int = 100,
        ready_to_unfence: bool = True,
    ) -> None:
        self._send = send
        self.node_id = node_id
        self.cluster_id = cluster_id
        self.incarnation_id = incarnation_id or uuid.uuid4()
        self.listeners = list(listeners)
        self.rack = rack
        self.features = dict(features)
        self.log_dirs = list(log_dirs)
        self.metadata_offset = metadata_offset
        self.heartbeat_interval_s = heartbeat_interval_ms / 1000
        self.initial_backoff_s = initial_backoff_ms / 1000
        self.max_backoff_s = max(initial_backoff_ms, session_timeout_ms) / 1000
        self.ready_to_unfence = ready_to_unfence

        self.state = LifecycleState.STARTING
        self.broker_epoch = -1
        self.fenced = True
        self.caught_up = False
        self.unfenced = asyncio.Event()  # set while the controller has this broker unfenced
        self.registered = asyncio.Event()
        self._shut_down = asyncio.Event()  # the controller said should_shut_down
        self._wake = asyncio.Event()  # heartbeat now (a controlled shutdown was asked for)
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        self._next_pause_s = 0.0
        self._shutdown_answered = False

    # ---- control ----------------------------------------------------------------------------

    def start(self) -> None:
        """Start registering and heartbeating, in a task of the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"broker-lifecycle-{self.node_id}")

    def set_ready_to_unfence(self) -> None:
        """The broker can serve now: heartbeats stop asking to stay fenced."""
        self.ready_to_unfence = True
        self._wake.set()

    async def controlled_shutdown(self, timeout_s: float = 30.0) -> bool:
        """Ask the controller to let this broker go and wait for ``should_shut_down``: True when it
        did within ``timeout_s``, False otherwise (Kafka's broker then stops anyway)."""
        if self.state is not LifecycleState.SHUTTING_DOWN:
            self.state = LifecycleState.PENDING_CONTROLLED_SHUTDOWN
            self._wake.set()
        try:
            async with asyncio.timeout(timeout_s):
                await self._shut_down.wait()
        except TimeoutError:
            log.warning(
                "broker %d: the controller did not allow a controlled shutdown within %.1f s", self.node_id, timeout_s
            )
            return False
        return True

    async def close(self) -> None:
        """Stop heartbeating (the controller fences the broker once its session times out)."""
        self.state = LifecycleState.SHUTTING_DOWN
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            try:
                await task
            except asyncio.CancelledError:
                pass

    # ---- the loop ---------------------------------------------------------------------------

    async def _run(self) -> None:
        while self.broker_epoch < 0:
            if self.state is LifecycleState.SHUTTING_DOWN:
                return  # stopped before the controller ever answered
            if not await self._register():
                await self._pause(self._backoff())
        while self.state is not LifecycleState.SHUTTING_DOWN:
            ok = await self._heartbeat()
            if self.state is LifecycleState.SHUTTING_DOWN:
                break
            await self._pause(self._next_pause_s if ok else self._backoff())

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        self._wake.clear()

    def _backoff(self) -> float:
        """Kafka's ``ExponentialBackoff(100, 2, session timeout, 0.02)`` after the n-th failure."""
        delay = min(self.max_backoff_s, self.initial_backoff_s * 2 ** max(0, self._failures - 1))
        return delay * random.uniform(0.98, 1.02)

    async def _exchange(self, api_key: ApiKey, version: int, body: dict[str, Any]) -> Any | None:
        try:
            response = await self._send(int(api_key), version, body)
        except asyncio.CancelledError:
            raise
        except Exception as e:  # the controller is unreachable or changed: retried after a backoff
            self._failures += 1
            log.warning("broker %d: %s to the controller failed: %s", self.node_id, api_key.name, e)
            return None
        error = _error(response)
        if error is not ErrorCode.none:
            self._failures += 1
            log.warning("broker %d: the controller answered %s with %s", self.node_id, api_key.name, error.name)
            return None
        self._failures = 0
        return response

    async def _register(self) -> bool:
        body = {
            "broker_id": self.node_id,
            "cluster_id": self.cluster_id,
            "incarnation_id": self.incarnation_id,
            "listeners": [
                {"name": name, "host": host, "port": port, "security_protocol": protocol}
                for name, host, port, protocol in self.listeners
            ],
            "features": [
                {"name": name, "min_supported_version": lo, "max_supported_version": hi}
                for name, (lo, hi) in self.features.items()
            ],
            "rack": self.rack,
            "is_migrating_zk_broker": False,
            "log_dirs": self.log_dirs,
            "previous_broker_epoch": -1,
        }
        response = await self._exchange(ApiKey.BROKER_REGISTRATION, REGISTRATION_VERSION, body)
        if response is None:
            return False
        self.broker_epoch = int(_field(response, "broker_epoch"))
        self.registered.set()
        log.info("broker %d registered with broker epoch %d", self.node_id, self.broker_epoch)
        return True

    async def _heartbeat(self) -> bool:
        shutting_down = self.state is LifecycleState.PENDING_CONTROLLED_SHUTDOWN
        body = {
            "broker_id": self.node_id,
            "broker_epoch": self.broker_epoch,
            "current_metadata_offset": self.metadata_offset(),
            "want_fence": not self.ready_to_unfence,
            "want_shut_down": shutting_down,
            "offline_log_dirs": [],
        }
        response = await self._exchange(ApiKey.BROKER_HEARTBEAT, HEARTBEAT_VERSION, body)
        if response is None:
            return False
        self.caught_up = bool(_field(response, "is_caught_up"))
        self.fenced = bool(_field(response, "is_fenced"))
        self._next_pause_s = self.heartbeat_interval_s
        if self.state is LifecycleState.STARTING:
            if self.caught_up:
                log.info("broker %d has caught up with the metadata log: RECOVERY", self.node_id)
                self.state = LifecycleState.RECOVERY
            self._next_pause_s = 0.01  # no recovery work to do: on quickly
        if self.state is LifecycleState.RECOVERY and not self.fenced:
            self.state = LifecycleState.RUNNING
            log.info("broker %d is unfenced: RUNNING", self.node_id)
        elif self.state is LifecycleState.PENDING_CONTROLLED_SHUTDOWN:
            if _field(response, "should_shut_down"):
                self.state = LifecycleState.SHUTTING_DOWN
                self._shut_down.set()
                log.info("broker %d: the controller allowed the controlled shutdown", self.node_id)
            elif not self._shutdown_answered:
                self._next_pause_s = 0.05
            self._shutdown_answered = True
        if self.fenced:
            self.unfenced.clear()
        else:
            self.unfenced.set()
        return True
