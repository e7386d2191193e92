"""``BrokerLifecycleManager`` against a real Kavka broker process acting as the active controller: the
manager's requests go over a socket (a tiny ``send`` built on tests.clients.adminwire, one connection
per request) to the broker's BrokerRegistration / BrokerHeartbeat handlers, which run the controller's
rules and commit their records. Heartbeats every 50 ms and a 1.5 s session keep it quick."""

from __future__ import annotations

import asyncio
import time
import uuid

from kavka.broker.lifecycle import BrokerLifecycleManager, LifecycleState
from kavka.controller.features import SUPPORTED_FEATURES
from kavka.testing.process import free_port
from tests.clients import adminwire

SESSION_MS = 1500


def _sender(bootstrap: str):
    async def send(api_key: int, version: int, body: dict):
        return await asyncio.to_thread(adminwire.call, bootstrap, api_key, version, body, timeout=10)

    return send


def _manager(bootstrap: str, cluster_id: str, node_id: int, offset, rack="r1", **kw) -> BrokerLifecycleManager:
    return BrokerLifecycleManager(
        _sender(bootstrap),
        node_id=node_id,
        cluster_id=cluster_id,
        listeners=[("PLAINTEXT", "localhost", 19000 + node_id, 0)],
        rack=rack,
        features=SUPPORTED_FEATURES,
        log_dirs=[uuid.uuid4()],
        metadata_offset=offset,
        heartbeat_interval_ms=50,
        session_timeout_ms=SESSION_MS,
        **kw,
    )


def controller_node_settings(port: int, controller_port: int) -> dict[str, str]:
    """Settings of a node that is its quorum's only voter, with a PLAINTEXT listener on ``port`` and a
    CONTROLLER listener on ``controller_port`` (where Kafka's controller serves BrokerRegistration and
    BrokerHeartbeat; a plain `kavka serve` has no network controller listener)."""
    return {
        "node.id": "1",
        "process.roles": "broker,controller",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
    }


def controller_node(broker_factory, overrides=None, **kw):
    """A node of :func:`controller_node_settings`; returns (broker, its controller endpoint)."""
    port, controller_port = free_port(), free_port()
    settings = {**controller_node_settings(port, controller_port), **(overrides or {})}
    return broker_factory(settings, port=port, **kw), f"127.0.0.1:{controller_port}"


def _cluster_id(bootstrap: str) -> str:
    return adminwire.call(bootstrap, 60, 0, {"include_cluster_authorized_operations": False}).cluster_id


async def _until(condition, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)  # polling a condition, with a deadline


def test_register_catch_up_unfence_and_controlled_shutdown(broker_factory):
    b, controller = controller_node(broker_factory, {"broker.session.timeout.ms": str(SESSION_MS)})
    cluster_id = _cluster_id(b.bootstrap)
    applied = {"offset": -1}

    async def scenario():
        m = _manager(controller, cluster_id, 2, lambda: applied["offset"], ready_to_unfence=False)
        m.start()
        try:
            await asyncio.wait_for(m.registered.wait(), 10)
            assert m.broker_epoch > 0
            # behind the log: registered, fenced, still starting
            await _until(lambda: m.caught_up is False and m.fenced)
            assert m.state is LifecycleState.STARTING and not m.unfenced.is_set()
            applied["offset"] = m.broker_epoch  # caught up with its own registration record
            await _until(lambda: m.state is LifecycleState.RECOVERY)
            # still recovering its logs: it asks to stay fenced, and the controller keeps it so
            await _until(lambda: m.caught_up and m.fenced)
            assert not m.unfenced.is_set()
            m.set_ready_to_unfence()
            await asyncio.wait_for(m.unfenced.wait(), 10)
            assert (m.state, m.fenced, m.caught_up) == (LifecycleState.RUNNING, False, True)
            assert await m.controlled_shutdown(timeout_s=10)
            assert m.state is LifecycleState.SHUTTING_DOWN and m.fenced
        finally:
            await m.close()

    asyncio.run(scenario())


def test_a_second_process_with_the_same_id_waits_for_the_first_session_to_expire(broker_factory):
    b, controller = controller_node(broker_factory, {"broker.session.timeout.ms": str(SESSION_MS)})
    cluster_id = _cluster_id(b.bootstrap)

    async def scenario():
        first = _manager(controller, cluster_id, 3, lambda: 2**40)
        second = _manager(controller, cluster_id, 3, lambda: 2**40)
        first.start()
        try:
            await asyncio.wait_for(first.unfenced.wait(), 10)
            second.start()
            # DUPLICATE_BROKER_REGISTRATION while the first heartbeats: the second keeps retrying
            await _until(lambda: second._failures >= 3)
            assert not second.registered.is_set()
            await first.close()  # the first process dies: its session expires, the second gets in
            stopped = time.monotonic()
            await asyncio.wait_for(second.unfenced.wait(), 10)
            assert time.monotonic() - stopped >= SESSION_MS / 1000 - 0.1
            assert second.broker_epoch > first.broker_epoch and second.state is LifecycleState.RUNNING
        finally:
            await first.close()
            await second.close()

    asyncio.run(scenario())


def test_registration_is_retried_until_the_controller_answers(broker_factory):
    b, controller = controller_node(broker_factory, start=False)
    b.start()
    cluster_id = _cluster_id(b.bootstrap)
    b.stop()

    async def scenario():
        m = _manager(controller, cluster_id, 4, lambda: 2**40)
        m.start()
        try:
            await _until(lambda: m._failures >= 2)  # connection refused, retried with backoff
            await asyncio.to_thread(b.start)
            await asyncio.wait_for(m.unfenced.wait(), 15)
            assert m.state is LifecycleState.RUNNING
        finally:
            await m.close()

    asyncio.run(scenario())
