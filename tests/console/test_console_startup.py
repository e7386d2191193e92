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
            except OSError:
                pass
            ended.set()

        threading.Thread(target=listen, daemon=True).start()
        with urllib.request.urlopen(f"{env.url}/api/events", timeout=30) as events:
            events.readline()
            env.run(runner.stop(), timeout=30)
        assert ended.wait(10)
        sim = runner.console.simulator
        assert all(not c.thread.is_alive() for c in [*sim.producers.values(), *sim.consumers.values()])
