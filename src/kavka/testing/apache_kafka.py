"""Apache Kafka itself in a subprocess: the oracle that Kavka's differential tests compare against.

`ApacheKafka` runs one KRaft node in combined mode (``process.roles=broker,controller``) from the jars
that ``interop/kafka.sh`` resolves with Maven (pinned in ``interop/java/pom.xml``):

1. writes ``server.properties`` with a PLAINTEXT listener and a CONTROLLER listener on free loopback
   ports, one data directory, replication factors of 1 for the internal topics, plus ``overrides``;
2. formats the directory (``kafka.tools.StorageTool format --standalone -t <cluster id>``);
3. starts ``kafka.Kafka server.properties`` with ``-Xmx512m``, stdout and stderr to ``kafka.log``;
4. waits (a polled condition with a deadline, never a sleep) until Metadata v4 on the PLAINTEXT
   port lists at least one broker: the node is registered and serves clients.

`run_tool` runs one of Kafka's command-line tools by its main class on the same class path (one JVM
per call, about a second of start-up).

Where the jars come from (`kafka_lib`): ``$KAVKA_KAFKA_LIB`` if set (``.ci/run`` sets it), else the
checkout's ``interop/.cache/kafka-<version>/lib`` once complete, else ``interop/kafka.sh`` is run to
resolve it (Maven, once). `unavailable_reason` says, in one line, why Kafka cannot run here (no Java 17+,
no Maven, a failed resolve); the pytest fixtures skip with that reason, or fail when ``CI=true``.

Only tests import this module; it uses the standard library alone.
"""

from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kavka.metadata.ids import new_cluster_id
from kavka.testing.process import ChildProcess, free_port, request_response, wait_until

__all__ = [
    "ApacheKafka",
    "ApacheKafkaError",
    "java_executable",
    "kafka_lib",
    "unavailable_reason",
]

_REPO_ROOT = Path(__file__).resolve().parents[3]
_INTEROP = _REPO_ROOT / "interop"
_MIN_JAVA = 17


class ApacheKafkaError(RuntimeError):
    """Kafka could not be resolved, formatted, started or stopped; the message carries its log tail."""


def java_executable() -> str | None:
    """``$JAVA_HOME/bin/java`` when set, else ``java`` on PATH; None when neither exists."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").is_file():
        return str(Path(home) / "bin" / "java")
    return shutil.which("java")


def _java_major(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    m = re.search(r'version "(\d+)(?:\.(\d+))?', out)
    if not m:
        return 0
    major = int(m.group(1))
    return int(m.group(2) or 0) if major == 1 else major


def kafka_lib(resolve: bool = True) -> Path:
    """The directory of Kafka's jars; resolve it with ``interop/kafka.sh`` when missing and ``resolve``.

    Raises `ApacheKafkaError` (one line, then Maven's output) when it cannot be had.
    """
    env = os.environ.get("KAVKA_KAFKA_LIB")
    if env:
        lib = Path(env)
        if not (lib / ".complete").is_file():
            raise ApacheKafkaError(f"KAVKA_KAFKA_LIB={env} is not a complete jar directory (run interop/kafka.sh)")
        return lib
    cached = sorted(_INTEROP.glob(".cache/kafka-*/lib/.complete"))
    if cached:
        return cached[-1].parent
    script = _INTEROP / "kafka.sh"
    if not script.is_file():
        raise ApacheKafkaError("no Kafka jars: set KAVKA_KAFKA_LIB (interop/kafka.sh is not in this install)")
    if not resolve:
        raise ApacheKafkaError("no Kafka jars yet: run interop/kafka.sh")
    if shutil.which("mvn") is None:
        raise ApacheKafkaError("no Kafka jars and no Maven (mvn) to resolve them with interop/kafka.sh")
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=1800)
    if done.returncode != 0:
        raise ApacheKafkaError(f"interop/kafka.sh failed (exit {done.returncode})\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def unavailable_reason() -> str | None:
    """None when Java 17+ and Kafka's jars are here (resolving them if need be), else why not, in one line."""
    java = java_executable()
    if java is None:
        return "Apache Kafka needs Java: no $JAVA_HOME/bin/java and no java on PATH"
    major = _java_major(java)
    if major < _MIN_JAVA:
        return f"Apache Kafka 4 needs Java {_MIN_JAVA}+; {java} is Java {major}"
    try:
        kafka_lib()
    except ApacheKafkaError as exc:
        return str(exc).splitlines()[0]
    return None


def _metadata_broker_count(host: str, port: int, timeout: float = 2.0) -> int:
    """Metadata v4 for no topics; return how many brokers the answer lists.

    Request body v4: topics (nullable array, int32 count, 0 = none), allow_auto_topic_creation (bool).
    Response v4: correlation id, throttle_time_ms (int32), brokers (int32 count, ...).
    """
    client_id = b"kavka-oracle"
    body = struct.pack(">hhih", 3, 4, 7, len(client_id)) + client_id + struct.pack(">ib", 0, 0)
    payload = request_response(host, port, body, timeout, min_size=12, what="Metadata response")
    corr, _throttle, brokers = struct.unpack_from(">iii", payload, 0)
    if corr != 7:
        raise ValueError(f"correlation id {corr} != 7")
    return brokers


class ApacheKafka(ChildProcess):
    """One Apache Kafka KRaft node (broker and controller) on free loopback ports.

    ``bootstrap`` is "127.0.0.1:PORT" of the PLAINTEXT listener; ``node_id`` is 1; ``cluster_id`` is
    random per instance. ``start_seconds`` is the time from launching the JVM to serving Metadata.
    """

    host = "127.0.0.1"
    node_id = 1
    what = "Kafka"
    error = ApacheKafkaError
    stop_timeout = 60.0

    def __init__(
        self,
        base_dir: str | os.PathLike[str] | None = None,
        overrides: Mapping[str, object] | None = None,
        *,
        heap: str = "512m",
        ready_timeout: float = 90.0,
    ) -> None:
        self._owned_dir: Path | None = None
        if base_dir is None:
            base_dir = tempfile.mkdtemp(prefix="apache-kafka-")
            self._owned_dir = Path(base_dir)
        self.base_dir = Path(base_dir)
        self.data_dir = self.base_dir / "data"
        self.log_path = self.base_dir / "kafka.log"
        self.config_path = self.base_dir / "server.properties"
        self.overrides = {k: str(v) for k, v in (overrides or {}).items()}
        self.heap = heap
        self.ready_timeout = ready_timeout
        # JVM system properties (-Dname=value) for the node and its tools: settings Kafka reads from
        # the JVM rather than server.properties, e.g. org.apache.kafka.sasl.oauthbearer.allowed.urls
        self.system_properties: dict[str, str] = {}
        self.port = free_port()
        self.controller_port = free_port()
        self.cluster_id = new_cluster_id()
        self.popen: subprocess.Popen[bytes] | None = None
        self.start_seconds: float | None = None
        self._java = java_executable() or "java"
        self._lib: Path | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def lib(self) -> Path:
        if self._lib is None:
            self._lib = kafka_lib()
        return self._lib

    def classpath(self) -> str:
        return str(self.lib / "*")

    def properties(self) -> dict[str, str]:
        """The node's server.properties: a combined KRaft node, internal topics at replication factor 1."""
        return {
            "process.roles": "broker,controller",
            "node.id": str(self.node_id),
            "controller.quorum.bootstrap.servers": f"{self.host}:{self.controller_port}",
            "listeners": f"PLAINTEXT://{self.host}:{self.port},CONTROLLER://{self.host}:{self.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir),
            "offsets.topic.replication.factor": "1",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            **self.overrides,
        }

    def _jvm(self, main: str, args: Sequence[str], *, heap: str, log_level: str) -> list[str]:
        return [
            self._java,
            f"-Xmx{heap}",
            "-XX:+UseSerialGC",  # two cores are shared with the tests and Kavka: no parallel GC threads
            "-Djava.awt.headless=true",
            f"-Dorg.slf4j.simpleLogger.defaultLogLevel={log_level}",
            *(f"-D{k}={v}" for k, v in self.system_properties.items()),
            "-cp",
            self.classpath(),
            main,
            *args,
        ]

    # -- lifecycle ---------------------------------------------------------------------------------

    def format(self) -> None:
        """Write server.properties and format the data directory as a standalone KRaft quorum."""
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text("".join(f"{k}={v}\n" for k, v in self.properties().items()))
        cmd = self._jvm(
            "kafka.tools.StorageTool",
            ["format", "--standalone", "-t", self.cluster_id, "-c", str(self.config_path)],
            heap="256m",
            log_level="warn",
        )
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise ApacheKafkaError(
                f"kafka-storage format failed (exit {done.returncode})\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )

    def start(self) -> ApacheKafka:
        """Format (first start only), launch the JVM and wait until the node serves Metadata.

        A free port can be taken by another process between `free_port` and the JVM's bind: when the
        node exits with "Address already in use" before its first start, it is formatted again on new
        ports and started once more.
        """
        try:
            return self._start()
        except ApacheKafkaError as exc:
            if "Address already in use" not in str(exc) or self.start_seconds is not None:
                raise
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.port, self.controller_port = free_port(), free_port()
        return self._start()

    def _start(self) -> ApacheKafka:
        if self.is_running():
            raise ApacheKafkaError(f"Kafka already running (pid {self.popen.pid})")  # type: ignore[union-attr]
        if not (self.data_dir / "meta.properties").is_file():
            self.format()
        cmd = self._jvm("kafka.Kafka", [str(self.config_path)], heap=self.heap, log_level="info")
        t0 = time.monotonic()
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=str(self.base_dir)
            )
        try:
            wait_until(
                lambda: self.returncode is not None or self._serving(),
                self.ready_timeout,
                interval=0.05,
                message=f"Apache Kafka serving on {self.bootstrap}",
            )
        except TimeoutError as exc:
            self._reap()
            raise ApacheKafkaError(f"Apache Kafka not serving after {self.ready_timeout}s\n{self.log_tail()}") from exc
        if self.returncode is not None:
            raise ApacheKafkaError(
                f"Apache Kafka exited with code {self.returncode} before serving\n{self.log_tail(200)}"
            )
        self.start_seconds = time.monotonic() - t0
        return self

    def _serving(self) -> bool:
        try:
            return _metadata_broker_count(self.host, self.port) > 0
        except (OSError, ValueError, struct.error):
            return False

    def __enter__(self) -> ApacheKafka:
        return self.start()

    # -- tools and diagnostics ---------------------------------------------------------------------

    def run_tool(
        self, main: str, args: Sequence[str], *, timeout: float = 120.0, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run one of Kafka's tools by main class (e.g. ``org.apache.kafka.tools.TopicCommand``).

        The tool runs with C1 only and a small heap (it is short-lived) and logs warnings and up to stderr.
        """
        cmd = self._jvm(main, args, heap="256m", log_level="warn")
        cmd.insert(1, "-XX:TieredStopAtLevel=1")
        return subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)

    def log_tail(self, lines: int = 60) -> str:
        return super().log_tail(lines) if self.log_path.is_file() else "(no Kafka log)"

    def __repr__(self) -> str:
        state = "running" if self.is_running() else "stopped"
        return f"ApacheKafka({self.bootstrap}, {state}, dir={self.base_dir})"
