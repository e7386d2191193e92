"""The ``kavka_broker`` pytest fixture (entry point ``kavka`` -> ``kavka.testing.plugin``) as a user
of Kavka would use it: no Docker, a real broker, any client."""

from __future__ import annotations

import subprocess
import sys

from tests.clients.clientlib import Out, ck_produce, ck_read_all, kp_produce


def test_kavka_broker_fixture_serves_clients(kavka_broker, topic_name):
    assert kavka_broker.bootstrap.startswith("127.0.0.1:")
    ck_produce(kavka_broker.bootstrap, topic_name, [Out(b"k", b"from confluent")])
    kp_produce(kavka_broker.bootstrap, topic_name, [Out(b"k", b"from kafka-python")], enable_idempotence=False)
    got = ck_read_all(kavka_broker.bootstrap, topic_name, 1)
    assert [r.value for r in got] == [b"from confluent", b"from kafka-python"]


PROBE = """
import importlib

def test_probe():
    module = importlib.import_module("kavka.storage.segment")
    print("LOADER", type(module.__loader__).__name__)
"""


def _loader_of_a_kavka_module(tmp_path, *pytest_args: str) -> str:
    (tmp_path / "test_probe.py").write_text(PROBE)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider", *pytest_args, "test_probe.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    [line] = [line for line in done.stdout.splitlines() if line.startswith("LOADER")]
    return line.split()[1]


def test_kavka_modules_are_imported_without_assertion_rewriting(tmp_path):
    # pytest would rewrite (ast.parse) every kavka module the in-process broker imports from its threads,
    # which CPython 3.11 can fail when two threads parse at once; with the plugin loaded it does not.
    assert _loader_of_a_kavka_module(tmp_path) != "AssertionRewritingHook"
    # the check sees the difference: without the plugin, pytest rewrites kavka's modules
    assert _loader_of_a_kavka_module(tmp_path, "-p", "no:kavka") == "AssertionRewritingHook"
