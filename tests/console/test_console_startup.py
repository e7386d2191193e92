"""The console stays out of `kavka serve --no-console`'s import path, and shuts down cleanly."""

from __future__ import annotations

import subprocess
import sys


def test_serve_path_does_not_import_the_console():
    code = (
        "import sys, kavka.cli.main, kavka.cli.serve, kavka.server.app, kavka.broker.broker, "
        "kavka.broker.metrics\n"
        "bad = [m for m in sys.modules if m.startswith(('aiohttp', 'prometheus_client', 'kavka.console'))]\n"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_console_stops_with_open_streams_and_running_clients(tmp_path):
    import threading
    import urllib.request

    from kavka.testing.embedded import EmbeddedBroker
    from tests.console.consolelib import ConsoleEnv, start_console_for

    with EmbeddedBroker(str(tmp_path)) as broker:
        runner = start_console_for(broker)
        env = ConsoleEnv(broker, runner)
        topic = env.create_topic(partitions=1)
        env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 5})
        ended = threading.Event()

        def listen():
            try:
                with urllib.request.urlopen(f"{env.url}/api/topics/{topic}/partitions/0/tail", timeout=30) as resp:
                    for _ in resp:
                        pass
            except Exception:  # noqa: BLE001 - refused, reset or cut mid-chunk (IncompleteRead): all end it
                pass
            ended.set()

        threading.Thread(target=listen, daemon=True).start()
        with urllib.request.urlopen(f"{env.url}/api/events", timeout=30) as events:
            events.readline()
            env.run(runner.stop(), timeout=30)
        assert ended.wait(10)
        sim = runner.console.simulator
        assert all(not c.thread.is_alive() for c in [*sim.producers.values(), *sim.consumers.values()])


def test_streams_opened_while_the_console_shuts_down_end_at_once(tmp_path):
    """A stream whose request arrives after shutdown began (the sampler has already told its
    subscribers to end) must end too, not keep the connection open until it is cut."""
    import time
    import urllib.request

    from kavka.console.app import shutdown_console
    from kavka.testing.embedded import EmbeddedBroker
    from tests.console.consolelib import ConsoleEnv, start_console_for

    with EmbeddedBroker(str(tmp_path)) as broker:
        runner = start_console_for(broker)
        env = ConsoleEnv(broker, runner)
        topic = env.create_topic(partitions=1)
        env.run(shutdown_console(runner.console), timeout=30)  # the site still accepts requests
        try:
            for path in (f"/api/topics/{topic}/partitions/0/tail", "/api/events?channels=overview"):
                start = time.monotonic()
                with urllib.request.urlopen(env.url + path, timeout=10) as resp:
                    body = resp.read()  # the whole response: the handler returned
                assert time.monotonic() - start < 5, path
                assert body.startswith((b"event: start", b"retry:")), body[:80]
        finally:
            env.run(runner.stop(), timeout=30)
