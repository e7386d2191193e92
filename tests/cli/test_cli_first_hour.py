"""Issue 18, the first hour with the CLI: `kavka serve` when its ports are taken, a broker that is not
running, and `kavka --help` that reads whole.

Every test runs the real ``kavka`` entry point in a subprocess; a port is "taken" by a real listening
socket on a free port, and `kavka serve` is pointed at it with its options.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from confluent_kafka import Consumer, Producer

from kavka.testing.certs import make_pki
from kavka.testing.process import BrokerProcess, wait_until
from tests.security.tlsenv import TlsPorts, tls_settings

KAVKA = str(Path(sys.executable).with_name("kavka"))


@contextmanager
def taken_port() -> Iterator[int]:
    """A free loopback port with a real listener on it that never accepts (as another program would)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        yield sock.getsockname()[1]


def kavka(*args: str, timeout: float = 60, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([KAVKA, *args], capture_output=True, text=True, timeout=timeout, cwd=cwd)


# ------------------------------------------------------------------------------- serve: ports taken


def test_serve_with_the_console_port_taken_runs_the_broker(tmp_path):
    out = tmp_path / "serve.out"
    with taken_port() as console_port, open(out, "w") as sink:
        proc = subprocess.Popen(
            [KAVKA, "serve", "--port", "0", "--console-port", str(console_port)],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_until(lambda: "the broker runs without it" in out.read_text(), 30)
            text = out.read_text()
            lines = text.splitlines()
            address = re.search(r"listening on (\S+):(\d+);", text)
            assert address, text
            assert lines[0].startswith("Kavka ") and "listening on" in lines[0], text
            assert lines[1:] == [
                f"kavka: the console is not running: cannot listen on http://127.0.0.1:{console_port} "
                "(Address already in use); the broker runs without it (choose another port with --console-port)"
            ], text
            bootstrap = f"{address[1]}:{address[2]}"
            topic = f"t-{uuid.uuid4().hex[:8]}"
            producer = Producer({"bootstrap.servers": bootstrap})
            producer.produce(topic, b"still serving")
            assert producer.flush(30) == 0
            consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
            try:
                consumer.subscribe([topic])
                values: list[bytes] = []

                def received() -> bool:
                    msg = consumer.poll(0.5)
                    if msg is not None and not msg.error():
                        values.append(msg.value())
                    return bool(values)

                wait_until(received, 30)
                assert values == [b"still serving"]
            finally:
                consumer.close()
            assert proc.poll() is None
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0


def test_serve_with_the_broker_port_taken_says_which_and_how_and_leaves_no_data_dir(tmp_path):
    with taken_port() as port:
        t0 = time.monotonic()
        r = kavka("serve", "--port", str(port), "--no-console", cwd=tmp_path)
    assert r.returncode == 1
    assert r.stderr == (
        f"kavka: cannot listen on 127.0.0.1:{port} (PLAINTEXT): Address already in use; is another broker "
        f"running? Choose another port: kavka serve --port {port + 1}\n"
    )
    assert r.stdout == ""
    assert not (tmp_path / "kavka-data").exists()
    assert time.monotonic() - t0 < 30


def test_serve_with_the_broker_port_taken_names_the_listeners_override(tmp_path):
    data = tmp_path / "a" / "b"
    with taken_port() as port:
        r = kavka(
            "serve",
            "--no-console",
            "--override",
            f"listeners=PLAINTEXT://127.0.0.1:{port},EXTERNAL://127.0.0.1:0",
            "--override",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "--override",
            f"advertised.listeners=PLAINTEXT://localhost:{port},EXTERNAL://localhost:9999",
            "--override",
            f"log.dirs={data}",
            cwd=tmp_path,
        )
    assert r.returncode == 1
    assert r.stderr == (
        f"kavka: cannot listen on 127.0.0.1:{port} (PLAINTEXT): Address already in use; is another broker "
        f"running? Choose another port: --override listeners=PLAINTEXT://127.0.0.1:{port + 1},"
        "EXTERNAL://127.0.0.1:0 (and advertised.listeners to match)\n"
    )
    assert not (tmp_path / "a").exists()  # neither the data dir nor its parents are left behind


def test_serve_with_the_broker_port_taken_leaves_an_existing_data_dir_untouched(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "notes.txt").write_text("mine")
    with taken_port() as port:
        r = kavka("serve", "--port", str(port), "--no-console", "--override", f"log.dirs={data}")
    assert r.returncode == 1 and f"cannot listen on 127.0.0.1:{port}" in r.stderr
    assert sorted(p.name for p in data.iterdir()) == ["notes.txt"]
    assert (data / "notes.txt").read_text() == "mine"


def test_serve_port_option_moves_the_broker_and_what_it_advertises(tmp_path):
    """--port is the listener clients bootstrap from and the one Metadata hands back."""
    with taken_port() as port:
        pass  # free again: a port known to be bindable
    out = tmp_path / "serve.out"
    with open(out, "w") as sink:
        proc = subprocess.Popen(
            [KAVKA, "serve", "--port", str(port), "--no-console"],
            cwd=tmp_path,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            wait_until(lambda: "listening on" in out.read_text(), 30)
            assert f"listening on 127.0.0.1:{port};" in out.read_text()
            r = kavka("topics", "list", "-b", f"127.0.0.1:{port}")
            assert r.returncode == 0, r.stderr
            metadata = Producer({"bootstrap.servers": f"127.0.0.1:{port}"}).list_topics(timeout=10)
            assert [(b.host, b.port) for b in metadata.brokers.values()] == [("127.0.0.1", port)]
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(30) == 0


def test_cluster_up_with_a_port_taken_says_which_and_starts_nothing(tmp_path):
    with taken_port() as port:
        if port > 65535 - 300:  # --base-port leaves room for the controller and console offsets
            pytest.skip("the free port the system gave is too high for a --base-port")
        r = kavka("cluster", "up", "--nodes", "1", "--base-port", str(port), "--dir", str(tmp_path / "c"))
    assert r.returncode == 1
    assert r.stderr == (f"Error: 127.0.0.1:{port} (node 1's broker listener) is in use: choose another --base-port\n")
    assert not (tmp_path / "c").exists()


# ------------------------------------------------------------------------- no broker: fail at once


def _refused_port() -> int:
    with taken_port() as port:
        pass
    return port  # nothing listens there any more: a connection is refused


@pytest.mark.parametrize(
    "command",
    [
        ["topics", "list"],
        ["topics", "create", "t"],
        ["configs", "describe", "--topic", "t"],
        [
            "configs",
            "describe",
            "--entity-type",
            "clients",
            "--entity-default",
        ],  # client quotas: the CLI's own wire client
        ["produce", "t"],
        ["consume", "t"],
        ["groups", "list"],
        ["offsets", "t"],
        ["delete-records", "t", "--partition", "0", "--offset", "1"],
        ["bench", "produce", "t", "--num-records", "1"],
    ],
    ids=" ".join,
)
def test_no_broker_listening_fails_at_once(command):
    port = _refused_port()
    t0 = time.monotonic()
    r = subprocess.run(
        [KAVKA, *command, "--bootstrap-server", f"127.0.0.1:{port}"],
        input="x\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    elapsed = time.monotonic() - t0
    assert r.returncode == 1, r.stderr
    assert r.stderr == (
        f"Error: Cannot connect to 127.0.0.1:{port}: connection refused "
        "(is `kavka serve` running? check --bootstrap-server).\n"
    )
    assert elapsed < 3, elapsed  # the default --timeout is 10 s


def test_no_broker_listening_fails_at_once_with_sasl_plaintext(tmp_path):
    props = tmp_path / "client.properties"
    props.write_text("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.username=u\nsasl.password=p\n")
    port = _refused_port()
    t0 = time.monotonic()
    r = kavka("topics", "list", "-b", f"127.0.0.1:{port}", "--command-config", str(props))
    assert r.returncode == 1 and r.stderr.startswith(f"Error: Cannot connect to 127.0.0.1:{port}: connection refused")
    assert time.monotonic() - t0 < 3


def test_no_probe_connection_reaches_a_tls_broker(tmp_path):
    """Over SSL the CLI opens no bare TCP connection first: a TLS broker would log it as a failed
    handshake on every command."""
    pki = make_pki(tmp_path / "pki")
    ports = TlsPorts.free()
    broker = BrokerProcess(tmp_path / "data", port=ports.plaintext, overrides=tls_settings(pki, ports))
    broker.start()
    try:
        props = tmp_path / "client.properties"
        props.write_text(f"security.protocol=SSL\nssl.truststore.type=PEM\nssl.truststore.location={pki.ca_pem}\n")
        r = kavka("topics", "list", "-b", f"127.0.0.1:{ports.ssl}", "--command-config", str(props))
        assert r.returncode == 0, r.stderr
        # the broker handled a probe's closed connection before it answered the command's Metadata
        assert "Failed authentication" not in broker.log_text()
    finally:
        broker.stop()
        broker.cleanup()


def test_a_listener_that_does_not_answer_is_still_given_the_timeout():
    with taken_port() as port:  # accepts TCP connections (the backlog) but never answers
        t0 = time.monotonic()
        r = kavka("topics", "list", "-b", f"127.0.0.1:{port}", "--timeout", "2")
        elapsed = time.monotonic() - t0
    assert r.returncode == 1
    assert r.stderr == (
        f"Error: Could not reach a broker at 127.0.0.1:{port} within 2s "
        "(check --bootstrap-server and that the broker is running).\n"
    )
    assert elapsed >= 2


def test_one_listening_bootstrap_server_is_enough_to_wait():
    """Refused at one address, but another accepts: the client is given its chance (and its timeout)."""
    with taken_port() as port:
        r = kavka("topics", "list", "-b", f"127.0.0.1:{_refused_port()},127.0.0.1:{port}", "--timeout", "1")
    assert r.returncode == 1 and r.stderr.startswith("Error: Could not reach a broker"), r.stderr


# ------------------------------------------------------------------------------------- --help lists

GROUPS = [
    pytest.param((), id="kavka"),
    pytest.param(("groups",), id="groups"),
    *[pytest.param((g,), id=g) for g in ("bench", "cluster", "configs", "demo", "storage", "topics")],
]


def _commands_list(path: tuple[str, ...]) -> list[tuple[str, str]]:
    """(command, short help) of each line of the Commands section of ``kavka <path> --help`` ([] if none)."""
    r = kavka(*path, "--help")
    assert r.returncode == 0, r.stderr
    section = r.stdout.partition("\nCommands:\n")[2]
    rows = []
    for line in section.splitlines():
        if not line.startswith("  "):
            break
        name, _, text = line.strip().partition(" ")
        rows.append((name, text.strip()))
    return rows


def test_every_group_is_checked():
    groups = {path[0] for param in GROUPS for path in [param.values[0]] if path}
    found = set()
    for name, _ in _commands_list(()):
        if _commands_list((name,)):
            found.add(name)
    assert found == groups


@pytest.mark.parametrize("path", GROUPS)
def test_help_lists_each_command_with_a_whole_sentence(path):
    rows = _commands_list(path)
    assert rows
    for name, text in rows:
        assert not text.endswith("..."), (name, text)
        assert text[:1].isupper() and text.endswith("."), (name, text)  # one whole sentence
