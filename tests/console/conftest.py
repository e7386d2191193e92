"""Fixtures for the console tests: an in-process broker with the console on a free loopback port.

``console_env`` (one per test module) is a ``consolelib.ConsoleEnv``: ``url``, ``bootstrap``, the
``EmbeddedBroker``, ``get``/``send`` over real HTTP, ``on_loop(fn)`` and ``create_topic``.
"""

from __future__ import annotations

import pytest

from kavka.testing.embedded import EmbeddedBroker
from tests.console.consolelib import ConsoleEnv, start_console_for


@pytest.fixture(scope="module")
def console_env(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("kavka-console")
    with EmbeddedBroker(str(data_dir)) as broker:
        runner = start_console_for(broker)
        env = ConsoleEnv(broker, runner)
        try:
            yield env
        finally:
            env.run(runner.stop())


# The browser fixtures (Playwright on Debian's Chromium), for the browser test modules.
from tests.console.browserlib import artifacts, browser, console_url, page  # noqa: E402, F401
