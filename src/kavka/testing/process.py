"""A Kavka broker in a subprocess, for tests and benchmarks that need a real process.

`BrokerProcess` runs ``python -m kavka serve`` with its own data directory on a free loopback port, and
waits until the broker is *ready*: the port accepts TCP connections and an ApiVersions round trip
succeeds. It can be stopped cleanly (SIGTERM, as an operator would), killed (SIGKILL, as a crash
would) and restarted on the same port with the same data directory.

The broker's stdout and stderr go to a log file (``log_path``) rather than a pipe, so a chatty broker
never blocks on a full pipe and the whole output survives for diagnostics: `BrokerProcess.log_tail`
returns its end, and every error raised here includes it.

Waiting is always a condition polled with a deadline (`wait_until`), never a bare sleep.

Example::

    with BrokerProcess(overrides={"num.partitions": "3"}) as broker:
        producer = confluent_kafka.Producer({"bootstrap.servers": broker.bootstrap})
        ...
        broker.kill()
        broker.restart()
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TypeVar

__all__ = [
    "BrokerProcess",
    "BrokerProcessError",
    "ChildProcess",
    "api_versions_round_trip",
    "create_topic",
    "free_port",
    "wait_until",
]

T = TypeVar("T")


class BrokerProcessError(RuntimeError):
    """The broker process did not start, exited early, or did not stop in time."""


_RECENT_PORTS: collections.deque[int] = collections.deque(maxlen=2048)
_RECENT_LOCK = threading.Lock()


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that was free a moment ago (bind port 0, read it, release it), and none of the
    last 2048 this process was given: the kernel may hand the same free port to two binds in a row, and
    a node's two listeners on one port fail its start (fault-run seed 209)."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind((host, 0))
            port = int(s.getsockname()[1])
        with _RECENT_LOCK:
            if port not in _RECENT_PORTS:
                _RECENT_PORTS.append(port)
                return port


def wait_until(
    condition: Callable[[], T],
    timeout: float,
    *,
    interval: float = 0.02,
    message: str | Callable[[], str] = "condition",
) -> T:
    """Call ``condition`` until it returns a truthy value, and return that value.

    Exceptions from ``condition`` count as "not yet"; the last one is chained to the
    `TimeoutError` raised when ``timeout`` seconds pass.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            result = condition()
        except Exception as exc:  # noqa: BLE001 - "not yet"; reported on timeout
            last_exc = exc
        else:
            if result:
                return result
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {text}") from last_exc
        time.sleep(interval)


def api_versions_round_trip(host: str, port: int, timeout: float = 2.0) -> dict[int, tuple[int, int]]:
    """Send ApiVersions v0 on a fresh connection and return ``{api_key: (min, max)}``.

    Raises `OSError` on a connection failure and `ValueError` on a malformed or error response.
    Only the standard library is used, so this works whatever else is broken.
    """
    correlation_id = 0x4B41564B  # "KAVK"
    client_id = b"kavka-testing"
    # Request header v1: api_key, api_version, correlation_id, client_id (nullable string); empty v0 body.
    body = struct.pack(">hhih", 18, 0, correlation_id, len(client_id)) + client_id
    payload = request_response(host, port, body, timeout, min_size=10, what="ApiVersions response")
    got_corr, error_code, count = struct.unpack_from(">ihi", payload, 0)
    if got_corr != correlation_id:
        raise ValueError(f"correlation id {got_corr} != {correlation_id}")
    if error_code != 0:
        raise ValueError(f"ApiVersions error code {error_code}")
    versions: dict[int, tuple[int, int]] = {}
    pos = 10
    for _ in range(count):
        key, lo, hi = struct.unpack_from(">hhh", payload, pos)
        versions[key] = (lo, hi)
        pos += 6
    return versions


def create_topic(
    bootstrap: str,
    name: str,
    partitions: int = 1,
    configs: Mapping[str, str] | None = None,
    replication_factor: int = 1,
    timeout: float = 30.0,
) -> str:
    """Create a topic with confluent-kafka's AdminClient; wait until Metadata shows a leader per partition."""
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics(
        [NewTopic(name, partitions, replication_factor, config=dict(configs or {}))],
        operation_timeout=timeout,
        request_timeout=timeout,
    )
    futures[name].result(timeout=timeout)

    def ready() -> bool:
        md = admin.list_topics(topic=name, timeout=5).topics.get(name)
        return (
            md is not None
            and md.error is None
            and len(md.partitions) == partitions
            and all(p.leader >= 0 for p in md.partitions.values())
        )

    wait_until(ready, timeout, message=f"topic {name} with {partitions} partitions and leaders")
    return name


def request_response(
    host: str, port: int, body: bytes, timeout: float, *, min_size: int = 0, what: str = "response"
) -> bytes:
    """Send one request (``body``: header and payload, framed here with its int32 size) on a fresh
    connection and return the response that comes back, without its int32 size.

    Raises `OSError` on a connection failure and `ValueError` when the size is below ``min_size`` or
    above 1 MiB (then the payload is not read).
    """
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.settimeout(timeout)
        s.sendall(struct.pack(">i", len(body)) + body)
        size = struct.unpack(">i", _recv_exactly(s, 4))[0]
        if size < min_size or size > 1 << 20:
            raise ValueError(f"implausible {what} size {size}")
        return _recv_exactly(s, size)


def _recv_exactly(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


class ChildProcess:
    """What `BrokerProcess` and `kavka.testing.apache_kafka.ApacheKafka` share: one server subprocess
    (``popen``) whose output goes to ``log_path``, stopped with SIGTERM (a controlled shutdown) and killed
    on `cleanup`, which also removes the directory the object created (``_owned_dir``).

    A subclass names what it runs (``what``, for messages), the error it raises (``error``), how long
    `stop` waits by default (``stop_timeout``) and what an error message ends with (`diagnostics`).
    """

    what = "process"
    error: type[Exception] = RuntimeError
    stop_timeout = 20.0
    popen: subprocess.Popen[bytes] | None
    log_path: Path
    _owned_dir: Path | None

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, timeout: float | None = None) -> int:
        """SIGTERM and wait for exit; return the exit code. SIGKILL and raise if it does not exit within
        ``timeout`` seconds (``stop_timeout`` if None)."""
        if self.popen is None:
            return 0
        timeout = self.stop_timeout if timeout is None else timeout
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._reap()
                raise self.error(
                    f"{self.what} did not exit within {timeout}s of SIGTERM; killed\n{self.diagnostics()}"
                ) from None
        return int(self.popen.returncode)

    def cleanup(self) -> None:
        """Kill the process if still running and remove the directory this object created."""
        self._reap()
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)

    def _reap(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.stop()
        finally:
            self.cleanup()

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def diagnostics(self, lines: int = 60) -> str:
        return self.log_tail(lines)


class BrokerProcess(ChildProcess):
    """One ``kavka serve`` subprocess with its own port and data directory.

    - ``data_dir``: the broker's ``log.dirs``; a temporary directory (removed by `cleanup`) if omitted.
    - ``port``: fixed across restarts; a free port if omitted.
    - ``overrides``: extra ``--override key=value`` settings (Kafka config names).
    - ``config``: path of a ``server.properties`` passed as ``--config``.
    - ``log_path``: where stdout and stderr go (appended across restarts); beside the data dir if omitted.
    - ``ready_timeout``: seconds `start` waits for readiness.
    - ``python``: the interpreter to run Kavka with (default: this one), e.g. another venv's.

    Attributes after `start`: ``bootstrap`` ("127.0.0.1:PORT"), ``pid``, ``popen``, ``ready_seconds``
    (time from spawn to ready).
    """

    host = "127.0.0.1"
    what = "broker"
    error = BrokerProcessError

    def __init__(
        self,
        data_dir: str | os.PathLike[str] | None = None,
        *,
        port: int | None = None,
        overrides: Mapping[str, object] | None = None,
        config: str | os.PathLike[str] | None = None,
        log_path: str | os.PathLike[str] | None = None,
        ready_timeout: float = 30.0,
        extra_args: Iterable[str] = (),
        env: Mapping[str, str] | None = None,
        python: str | None = None,
    ) -> None:
        self._owned_dir: Path | None = None
        if data_dir is None:
            self._owned_dir = Path(tempfile.mkdtemp(prefix="kavka-broker-"))
            data_dir = self._owned_dir / "data"
        self.data_dir = Path(data_dir).resolve()
        self.log_path = (
            Path(log_path).resolve()
            if log_path is not None
            else self.data_dir.with_name(self.data_dir.name + "-broker.log")
        )
        self.port = port if port is not None else free_port(self.host)
        self.overrides = {k: str(v) for k, v in (overrides or {}).items()}
        self.config = Path(config) if config is not None else None
        self.ready_timeout = ready_timeout
        self.extra_args = list(extra_args)
        self.env = dict(env) if env is not None else None
        self.python = python or sys.executable
        self.popen: subprocess.Popen[bytes] | None = None
        self.ready_seconds: float | None = None
        self.starts = 0

    # -- addresses -------------------------------------------------------------------------------

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        if self.popen is None:
            raise BrokerProcessError("broker not started")
        return self.popen.pid

    def command(self) -> list[str]:
        """The exact command line used to start the broker."""
        cmd = [self.python, "-m", "kavka", "serve"]
        if self.config is not None:
            cmd += ["--config", str(self.config)]
        settings = {
            "listeners": f"PLAINTEXT://{self.host}:{self.port}",
            "log.dirs": str(self.data_dir),
            **self.overrides,
        }
        for key, value in settings.items():
            cmd += ["--override", f"{key}={value}"]
        cmd += ["--no-console", *self.extra_args]
        return cmd

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self, wait: bool = True) -> BrokerProcess:
        """Spawn the broker and (by default) wait until it is ready."""
        if self.is_running():
            raise BrokerProcessError(f"broker already running (pid {self.pid})")
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ if self.env is None else self.env)
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"---- start #{self.starts}: {' '.join(self.command())}\n".encode())
            log.flush()
            t0 = time.monotonic()
            self.popen = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(self.data_dir.parent),
                env=env,
            )
        if wait:
            try:
                self.wait_ready(start_time=t0)
            except BaseException:
                self._reap()
                raise
        return self

    def wait_ready(self, timeout: float | None = None, *, start_time: float | None = None) -> None:
        """Wait until the port accepts connections and ApiVersions answers; fail fast if the broker exits."""
        t0 = start_time if start_time is not None else time.monotonic()
        timeout = self.ready_timeout if timeout is None else timeout
        deadline = t0 + timeout
        last_error: BaseException | None = None
        while True:
            code = self.returncode
            if code is not None:
                raise BrokerProcessError(f"broker exited with code {code} before becoming ready\n{self.diagnostics()}")
            try:
                api_versions_round_trip(self.host, self.port, timeout=1.0)
            except (OSError, ValueError, struct.error) as exc:
                last_error = exc
            else:
                self.ready_seconds = time.monotonic() - t0
                return
            if time.monotonic() >= deadline:
                raise BrokerProcessError(
                    f"broker not ready after {timeout:.1f}s (last error: {last_error!r})\n{self.diagnostics()}"
                )
            time.sleep(0.01)

    def kill(self) -> int:
        """SIGKILL (a crash: no shutdown code runs) and reap; return the exit code."""
        if self.popen is None:
            return 0
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        return int(self.popen.wait())

    def restart(self, *, clean: bool = True) -> BrokerProcess:
        """Stop (SIGTERM if ``clean``, else SIGKILL) and start again on the same port and data dir."""
        if clean:
            self.stop()
        else:
            self.kill()
        return self.start()

    def __enter__(self) -> BrokerProcess:
        if not self.is_running():
            self.start()
        return self

    # -- diagnostics -----------------------------------------------------------------------------

    def diagnostics(self, lines: int = 60) -> str:
        state = "running" if self.is_running() else f"exited with {self.returncode}"
        return (
            f"kavka broker {self.bootstrap} ({state}), data dir {self.data_dir}, log {self.log_path}\n"
            f"---- last {lines} lines of broker output ----\n{self.log_tail(lines)}"
        )

    def cpu_seconds(self) -> float:
        """User + system CPU seconds used so far by the broker process (Linux /proc)."""
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return (int(fields[11]) + int(fields[12])) / ticks

    def memory_kib(self, field: str = "VmRSS") -> int:
        """A memory figure of the broker from /proc/<pid>/status, in KiB (VmRSS, VmHWM, ...)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
        raise KeyError(field)

    def __repr__(self) -> str:
        return f"<BrokerProcess {self.bootstrap} data_dir={self.data_dir} pid={getattr(self.popen, 'pid', None)}>"
