"""Starting the demo's processes: each service, the gateway, and (when no broker is given) a broker.

Each process is ``python -m <module> ...`` with stdout and stderr in its own log file under ``run_dir``
(never a pipe, so a chatty process cannot block); readiness is a line the process prints ("<name>:
ready"), polled with a deadline. `ServiceProcess.kill` is SIGKILL, a crash; `stop` is SIGTERM.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

SERVICES = ("inventory", "payment", "fulfillment", "notification", "analytics")


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


class ServiceProcess:
    """One process of the demo; ``ready_text`` is what it prints once it serves."""

    def __init__(self, name: str, args: list[str], run_dir: Path, ready_text: str, env: dict[str, str] | None = None):
        self.name = name
        self.args = args
        self.log_path = run_dir / f"{name}.log"
        self.ready_text = ready_text
        self.env = env
        self.popen: subprocess.Popen[bytes] | None = None
        self._log_start = 0

    def start(self) -> ServiceProcess:
        env = {**os.environ, **(self.env or {}), "PYTHONUNBUFFERED": "1"}
        self._log_start = self.log_path.stat().st_size if self.log_path.exists() else 0
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                [sys.executable, *self.args], stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        return self

    def output(self) -> str:
        """What this run of the process printed (since its last start)."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_start)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ready_text not in self.output():
            if not self.is_running():
                raise RuntimeError(f"{self.name} exited before it was ready:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not ready after {timeout:.0f} s:\n{self.tail()}")
            time.sleep(0.05)

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def kill(self) -> None:
        """SIGKILL: a crash, no shutdown code runs."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
            self.popen.wait()

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM and wait; SIGKILL if it does not exit in ``timeout`` seconds."""
        if self.popen is None or self.popen.poll() is not None:
            return
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()


def service(name: str, bootstrap: str, run_dir: Path, extra_args: Sequence[str] = ()) -> ServiceProcess:
    args = ["-m", f"kavka.demos.ecommerce.{name}", "--bootstrap-servers", bootstrap, *extra_args]
    return ServiceProcess(name, args, run_dir, f"{name}: ready")


def gateway(bootstrap: str, run_dir: Path, port: int) -> ServiceProcess:
    args = ["-m", "kavka.demos.ecommerce.gateway", "--bootstrap-servers", bootstrap, "--port", str(port)]
    return ServiceProcess("gateway", args, run_dir, "gateway: ready")


def broker(run_dir: Path, port: int, console_port: int, partitions: int = 3) -> ServiceProcess:
    """A ``kavka serve`` with its console on, data under ``run_dir``; ready when it prints the console's URL."""
    settings = {
        "listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "log.dirs": str(run_dir / "kavka-data"),
        "console.listener": f"http://127.0.0.1:{console_port}",
        "num.partitions": str(partitions),
        # a demo's groups start at once, not after Kafka's 3 s wait for more members
        "group.initial.rebalance.delay.ms": "0",
    }
    args = ["-m", "kavka", "serve"]
    for key, value in settings.items():
        args += ["--override", f"{key}={value}"]
    return ServiceProcess("broker", args, run_dir, "Kavka console on")


class Deployment:
    """The gateway and the five services against ``bootstrap``, logs in ``run_dir``."""

    def __init__(
        self,
        bootstrap: str,
        run_dir: Path,
        gateway_port: int | None = None,
        extra_args: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        port = gateway_port or free_port()
        self.gateway_url = f"http://127.0.0.1:{port}/orders"
        extra = extra_args or {}
        self.processes = {name: service(name, bootstrap, run_dir, extra.get(name, ())) for name in SERVICES}
        self.processes["gateway"] = gateway(bootstrap, run_dir, port)

    def __getitem__(self, name: str) -> ServiceProcess:
        return self.processes[name]

    def start(self, timeout: float = 60.0) -> None:
        for p in self.processes.values():
            p.start()
        for p in self.processes.values():
            p.wait_ready(timeout)

    def dead(self) -> list[ServiceProcess]:
        return [p for p in self.processes.values() if p.popen is not None and not p.is_running()]

    def stop(self) -> None:
        for p in self.processes.values():
            if p.popen is not None and p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in self.processes.values():
            p.stop()


__all__ = ["SERVICES", "Deployment", "ServiceProcess", "broker", "free_port", "gateway", "service"]
