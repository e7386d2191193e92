"""Connection limits, as Kafka applies them:

- ``max.connections``: at the limit the broker accepts nothing more; a new connection waits (in the
  listen backlog, unanswered) until an open one closes, and is then served;
- ``max.connections.per.ip`` / ``max.connections.per.ip.overrides``: a new connection from an address
  at its limit is closed at once; other addresses are unaffected;
- when ``accept`` fails because the process is out of file descriptors, the broker backs off and logs
  the failure once per interval (not once per attempt), and serves again once descriptors are free.
"""

from __future__ import annotations

import os
import resource

from kavka.testing.process import wait_until
from tests.server.rawwire import api_versions, connect, read_frame, readable_within, round_trip


def _served(s) -> bool:
    s.sendall(api_versions(5))
    return len(read_frame(s)) > 0


def test_max_connections_blocks_new_connections_until_one_closes(broker_factory):
    broker = broker_factory(overrides={"max.connections": 3})
    held = [connect(broker.bootstrap) for _ in range(3)]
    try:
        assert all(_served(s) for s in held)
        waiting = connect(broker.bootstrap)  # completes in the kernel's backlog, not accepted
        waiting.sendall(api_versions(6))
        assert not readable_within(waiting, 0.5), "a connection over max.connections was served"
        held.pop().close()
        assert len(read_frame(waiting)) > 0  # accepted once a slot freed, then answered
        held.append(waiting)
    finally:
        for s in held:
            s.close()


def test_max_connections_per_ip_override_closes_new_connections_from_that_address(broker_factory):
    broker = broker_factory(
        overrides={"max.connections.per.ip": 100, "max.connections.per.ip.overrides": "127.0.0.1:2"}
    )
    held = [connect(broker.bootstrap) for _ in range(2)]
    try:
        assert all(_served(s) for s in held)
        extra = connect(broker.bootstrap)
        extra.sendall(api_versions(7))
        try:
            closed = extra.recv(1) == b""
        except ConnectionResetError:
            closed = True
        assert closed, "a third connection from 127.0.0.1 was not closed"
        extra.close()
        # another address (any 127/8 address is loopback on Linux) has its own count
        with connect(broker.bootstrap, source="127.0.0.2") as other:
            assert _served(other)
        assert all(_served(s) for s in held)
    finally:
        for s in held:
            s.close()


def test_max_connections_per_ip_default_applies(broker_factory):
    broker = broker_factory(overrides={"max.connections.per.ip": 2})
    wait_until(lambda: round_trip(broker.bootstrap), 10)  # the readiness probe's connection is gone
    held = [connect(broker.bootstrap) for _ in range(2)]
    try:
        assert all(_served(s) for s in held)
        extra = connect(broker.bootstrap)
        extra.sendall(api_versions(7))
        try:
            closed = extra.recv(1) == b""
        except ConnectionResetError:
            closed = True
        assert closed
        extra.close()
    finally:
        for s in held:
            s.close()


def _accept_failure_lines(broker) -> int:
    text = broker.log_path.read_text(errors="replace")
    return sum(1 for line in text.splitlines() if "accept" in line and ("out of" in line or "failed" in line))


def test_accept_out_of_file_descriptors_backs_off_and_logs_once(broker_factory):
    broker = broker_factory()
    pid = broker.pid
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    in_use = len(os.listdir(f"/proc/{pid}/fd"))
    resource.prlimit(pid, resource.RLIMIT_NOFILE, (in_use, hard))  # no descriptor left for accept()
    pending = []
    try:
        for _ in range(20):
            s = connect(broker.bootstrap)
            s.sendall(api_versions(8))
            pending.append(s)
        wait_until(lambda: _accept_failure_lines(broker) >= 1, 10, message="an accept failure logged")
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
        for s in pending:  # once descriptors are free again, the waiting connections are served
            assert len(read_frame(s)) > 0
        lines = _accept_failure_lines(broker)
        assert lines <= 2, f"{lines} log lines for one episode of accept failures"
    finally:
        for s in pending:
            s.close()
    assert broker.is_running()


def test_idle_connections_are_closed_after_connections_max_idle_ms(broker_factory):
    broker = broker_factory(overrides={"connections.max.idle.ms": 500})
    idle = connect(broker.bootstrap)
    assert _served(idle)
    assert readable_within(idle, 10) and idle.recv(1) == b"", "an idle connection was not closed"
    idle.close()
    assert round_trip(broker.bootstrap)


def test_dynamic_max_connections_per_ip_applies_to_new_connections(broker_factory):
    from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource

    broker = broker_factory()
    held = [connect(broker.bootstrap) for _ in range(2)]
    try:
        assert all(_served(s) for s in held)
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        # the admin client holds connections from 127.0.0.1 too; the limit counts them as well
        resource_ = ConfigResource(
            ConfigResource.Type.BROKER,
            "1",
            incremental_configs=[
                ConfigEntry(
                    "max.connections.per.ip.overrides", "127.0.0.1:2", incremental_operation=AlterConfigOpType.SET
                )
            ],
        )
        for fut in admin.incremental_alter_configs([resource_]).values():
            fut.result(10)

        def refused() -> bool:
            with connect(broker.bootstrap) as extra:
                extra.sendall(api_versions(9))
                try:
                    return extra.recv(1) == b""
                except ConnectionResetError:
                    return True

        wait_until(refused, 10, message="a connection over the new per-ip limit closed")
        with connect(broker.bootstrap, source="127.0.0.2") as other:
            assert _served(other)
    finally:
        for s in held:
            s.close()
