"""An in-process broker on its own event loop thread, for tests and embedding.

``with EmbeddedBroker(data_dir) as b: b.bootstrap`` starts a broker on a free loopback port with the
given data directory and stops it cleanly on exit. Configs are Kafka's names, given as overrides.
"""

from __future__ import annotations

import asyncio
import threading

from kavka.metadata.config import BrokerConfig
from kavka.server.app import KavkaServer


class EmbeddedBroker:
    def __init__(self, data_dir: str, overrides: dict[str, str] | None = None, port: int = 0, *, console: bool = False):
        props = dict(BrokerConfig.serve_defaults())
        props["listeners"] = f"PLAINTEXT://127.0.0.1:{port}"
        props["log.dirs"] = str(data_dir)
        props["console.listener"] = "http://127.0.0.1:0"  # a free port; overrides may say otherwise
        props.update(overrides or {})
        self.config = BrokerConfig.from_properties(props)
        self.data_dir = str(data_dir)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.server: KavkaServer | None = None
        self.console = console
        self.console_runner = None

    @property
    def console_url(self) -> str | None:
        return self.console_runner.url if self.console_runner is not None else None

    @property
    def bootstrap(self) -> str:
        return self.server.bootstrap

    def start(self) -> EmbeddedBroker:
        started = threading.Event()
        error: list[BaseException] = []

        def run():
            loop = asyncio.new_event_loop()
            self._loop = loop
            asyncio.set_event_loop(loop)
            self.server = KavkaServer(self.config)
            try:
                loop.run_until_complete(self.server.start())
                if self.console:
                    from kavka.console.app import start_console

                    self.console_runner = loop.run_until_complete(start_console(self.server, self.config))
            except BaseException as e:  # reported to the starting thread
                error.append(e)
                if self.server.started_at is not None:
                    loop.run_until_complete(self.server.stop())
                started.set()
                loop.close()
                return
            started.set()
            loop.run_forever()
            if self.console_runner is not None:
                loop.run_until_complete(self.console_runner.stop())
            loop.run_until_complete(self.server.stop())
            loop.close()

        self._thread = threading.Thread(target=run, name="kavka-broker", daemon=True)
        self._thread.start()
        started.wait(30)
        if error:
            raise error[0]
        return self

    def stop(self) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(30)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
