"""``kavka serve`` as an operator runs it: ready message, config file, overrides, signals, exit codes."""

from __future__ import annotations

import re
import signal
import subprocess
import sys

import pytest

from kavka.testing.process import BrokerProcess, free_port, wait_until
from tests.clients.clientlib import Out, ck_produce, ck_read_all


def test_prints_listener_and_data_dir_once_ready(broker_factory):
    b = broker_factory()
    text = wait_until(lambda: "listening" in b.log_text() and b.log_text(), 10, message="ready line")
    assert re.search(rf"Kavka .*listening on {re.escape(b.bootstrap)}", text), text
    assert str(b.data_dir) in text


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_cleanly(broker_factory, sig):
    b = broker_factory()
    b.popen.send_signal(sig)
    assert b.popen.wait(20) == 0, b.diagnostics()


def test_start_to_ready_is_fast(broker_factory):
    b = broker_factory()
    # Issue 2 target: < 0.5 s for a user's install (bench/produce_consume.py measures it). With the
    # test extras installed, kio's Hypothesis hook adds about 1.2 s (docs/benchmarks.md), and CI
    # machines may be loaded: this only catches gross regressions.
    assert b.ready_seconds < 5.0, b.ready_seconds


def test_config_file_and_override(tmp_path, topic_name):
    port = free_port()
    data = tmp_path / "data"
    props = tmp_path / "server.properties"
    props.write_text(
        "# a Kafka server.properties\n"
        "node.id=1\n"
        "process.roles=broker,controller\n"
        f"listeners=PLAINTEXT://127.0.0.1:{port}\n"
        f"log.dirs={data}\n"
        "num.partitions=2\n"
        "some.unknown.key=whatever\n"
    )
    # BrokerProcess adds --override for listeners/log.dirs (same values) and here num.partitions=4,
    # which must win over the file.
    with BrokerProcess(data, port=port, config=props, overrides={"num.partitions": 4}) as b:
        ck_produce(b.bootstrap, topic_name, [Out(None, b"v")])
        from confluent_kafka.admin import AdminClient

        md = AdminClient({"bootstrap.servers": b.bootstrap}).list_topics(timeout=10)
        assert len(md.topics[topic_name].partitions) == 4
        assert "some.unknown.key" in b.log_text(), "unknown keys are warned about"
    assert data.is_dir()


def _serve_refused(tmp_path, *overrides: str) -> str:
    """Run ``kavka serve`` with ``overrides``; assert it exits 2 with one line on stderr, and return it."""
    args = [f"log.dirs={tmp_path / 'data'}", f"listeners=PLAINTEXT://127.0.0.1:{free_port()}", *overrides]
    command = [sys.executable, "-m", "kavka", "serve", "--no-console"]
    for arg in args:
        command += ["--override", arg]
    proc = subprocess.run(command, capture_output=True, timeout=30, text=True)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    err_lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(err_lines) == 1, proc.stderr
    return err_lines[0]


@pytest.mark.parametrize(
    "override", ["num.partitions=zero", "node.id=-x", "log.segment.bytes=1kb", "auto.create.topics.enable=maybe"]
)
def test_bad_config_value_exits_2_with_one_line_error(tmp_path, override):
    assert override.split("=")[0] in _serve_refused(tmp_path, override)


def test_restart_finds_data_in_same_dir(broker_factory, topic_name):
    b = broker_factory()
    ck_produce(b.bootstrap, topic_name, [Out(b"k", b"v")])
    b.restart()
    assert [(r.key, r.value) for r in ck_read_all(b.bootstrap, topic_name, 1)] == [(b"k", b"v")]


def test_port_in_use_fails_fast(broker_factory, tmp_path):
    first = broker_factory()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "kavka",
            "serve",
            "--override",
            f"listeners=PLAINTEXT://{first.bootstrap}",
            "--override",
            f"log.dirs={tmp_path / 'other'}",
            "--no-console",
        ],
        capture_output=True,
        timeout=30,
        text=True,
    )
    assert proc.returncode != 0
    assert "listen" in proc.stderr.lower() or "address" in proc.stderr.lower(), proc.stderr
    assert first.is_running()


def test_a_dynamic_quorum_is_refused_with_one_line(tmp_path):
    # KIP-853's bootstrap servers without static voters: not supported yet, and said so, rather than a
    # node that silently runs as a quorum of one
    controller = free_port()
    line = _serve_refused(
        tmp_path,
        f"listeners=PLAINTEXT://127.0.0.1:{free_port()},CONTROLLER://127.0.0.1:{controller}",
        "node.id=1",
        "controller.listener.names=CONTROLLER",
        f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
    )
    assert "controller.quorum.voters" in line
