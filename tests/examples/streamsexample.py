"""The Kafka Streams example (examples/kafka-streams), built once per session and run as real JVMs.

``examples/kafka-streams/build.sh`` builds ``kavka-streams-example.jar`` and its lib/ (`tests.javabuild`).

`StreamsApp` is one run of ``OrderAnalytics``: a subprocess whose stdout and stderr go to a log file (a
chatty JVM never blocks on a full pipe), stopped with SIGTERM (Kafka Streams closes cleanly) or killed
with SIGKILL (a crash). The application prints ``state <NEW>`` at every KafkaStreams state change;
`StreamsApp.wait_running` waits for the next ``state RUNNING`` of the current run.

The ``streams_example`` fixture (session scoped) builds it through `tests.javabuild.built`; test modules
import it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from kavka.testing.apache_kafka import kafka_lib
from kavka.testing.process import ChildProcess, wait_until
from tests.javabuild import REPO_ROOT, built, jvm_command

BUILD_SCRIPT = REPO_ROOT / "examples" / "kafka-streams" / "build.sh"
_MAIN = "dev.kavka.examples.streams.OrderAnalytics"


class StreamsExampleError(RuntimeError):
    """The example could not be built, or a run did not reach the state waited for."""


@dataclass(frozen=True)
class StreamsExample:
    """The built example: ``java`` to run it with and ``home``, the directory of the jar and lib/."""

    java: str
    home: Path

    def command(self, args: list[str]) -> list[str]:
        return jvm_command(
            self.java, [self.home / "kavka-streams-example.jar", self.home / "lib" / "*"], [_MAIN, *args]
        )


class StreamsApp(ChildProcess):
    """One ``OrderAnalytics`` process: ``bootstrap``, ``application_id``, ``topic_prefix``, ``state_dir``
    and extra Streams configs (``configs``, passed as ``key=value``) are fixed; `start` may be called
    again after `kill` or `stop` (a restart on the same state directory, as an operator would)."""

    what = "Kafka Streams application"
    error = StreamsExampleError
    stop_timeout = 40.0

    def __init__(
        self,
        example: StreamsExample,
        bootstrap: str,
        application_id: str,
        topic_prefix: str,
        state_dir: Path,
        log_path: Path,
        configs: Mapping[str, object] | None = None,
    ) -> None:
        self.example = example
        self.bootstrap = bootstrap
        self.application_id = application_id
        self.topic_prefix = topic_prefix
        self.state_dir = state_dir
        self.log_path = log_path
        self.configs = {k: str(v) for k, v in (configs or {}).items()}
        self.popen = None
        self._owned_dir = None
        self._run_start = 0  # offset in the log where the current run's output begins

    def start(self, configs: Mapping[str, object] | None = None) -> StreamsApp:
        """Start a run; ``configs`` override this run's Streams configs on top of the fixed ones."""
        if self.is_running():
            raise StreamsExampleError("the application is already running")
        args = [
            "--bootstrap-servers",
            self.bootstrap,
            "--application-id",
            self.application_id,
            "--state-dir",
            str(self.state_dir),
            "--topic-prefix",
            self.topic_prefix,
        ]
        merged = {**self.configs, **{k: str(v) for k, v in (configs or {}).items()}}
        args += [f"{k}={v}" for k, v in merged.items()]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("ab") as log:
            log.write(f"---- start: {' '.join(args)}\n".encode())
            self._run_start = log.tell()
            self.popen = subprocess.Popen(
                self.example.command(args), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
        return self

    def run_output(self) -> str:
        """What the current (or last) run has written so far."""
        try:
            with self.log_path.open("rb") as f:
                f.seek(self._run_start)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def states(self) -> list[str]:
        """The KafkaStreams states of the current run, in order."""
        return re.findall(r"^state (\w+)$", self.run_output(), re.MULTILINE)

    def wait_running(self, timeout: float = 60.0) -> None:
        """Wait until this run reports RUNNING; raise with the log tail if it exits or takes too long."""

        # wait_until takes an exception from the condition for "not yet": an exit ends the wait instead.
        try:
            wait_until(
                lambda: not self.is_running() or "RUNNING" in self.states(),
                timeout,
                interval=0.1,
                message="the Kafka Streams application to be RUNNING",
            )
        except TimeoutError as exc:
            raise StreamsExampleError(f"{exc}\n{self.log_tail()}") from exc
        if not self.is_running():
            raise StreamsExampleError(f"the application exited ({self.returncode})\n{self.log_tail()}")

    def kill(self) -> int:
        """SIGKILL, as a crash would; return the exit status."""
        if self.popen is None:
            return 0
        self.popen.kill()
        return self.popen.wait()

    def diagnostics(self, lines: int = 60) -> str:
        return self.log_tail(lines)


def run_streams_resetter(
    java: str, bootstrap: str, application_id: str, input_topics: list[str]
) -> subprocess.CompletedProcess[str]:
    """Kafka's application reset tool, ``kafka-streams-application-reset.sh`` (its class
    ``org.apache.kafka.tools.StreamsResetter`` from Kafka's jars, `kafka_lib`), with ``--force`` (a closed
    Kafka Streams client does not leave its group, so its member is still there)."""
    cmd = [
        java,
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        "-Xmx256m",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        str(kafka_lib() / "*"),
        "org.apache.kafka.tools.StreamsResetter",
        "--bootstrap-server",
        bootstrap,
        "--application-id",
        application_id,
        "--input-topics",
        ",".join(input_topics),
        "--force",
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def streams_example() -> Iterator[StreamsExample]:
    """The example, built (`tests.javabuild.built`: skips without Java 17+ or Maven, except under CI=true)."""
    java, home = built(BUILD_SCRIPT, "the Kafka Streams example")
    yield StreamsExample(java, home)
