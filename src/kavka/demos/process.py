"""The demos' processes: each service (and the broker a demo starts) runs as its own process, the way an
operator would run it: ``python -m <module> ...``.

`Service` sends the process's output to a log file (never a pipe that could fill up and block it), waits
for the line the service prints when it is ready, and stops it with SIGTERM (or SIGKILL, for a crash).
The process runs in a session of its own, so Ctrl-C in a terminal reaches only the demo, which stops its
services in order (the broker last); Linux sends it SIGTERM if its parent dies.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["Service", "ServiceError", "free_port"]


class ServiceError(RuntimeError):
    """A service exited before it was ready, or did not get ready in time."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def _find_prctl() -> Callable[[int, int], int] | None:
    try:
        prctl: Callable[[int, int], int] = ctypes.CDLL(None).prctl
    except (OSError, AttributeError):
        return None
    return prctl


# looked up once, here: the child calls it between fork and exec, where importing (and so taking the
# import lock another thread of the parent may hold) is not safe
_PRCTL = _find_prctl()


def _terminate_with_parent() -> None:
    """Runs in the child before exec: Linux sends it SIGTERM when its parent dies, even by SIGKILL
    (prctl PR_SET_PDEATHSIG = 1), so no service outlives the demo that started it. A no-op elsewhere."""
    if _PRCTL is not None:
        _PRCTL(1, signal.SIGTERM)


class Service:
    """One process: ``python -m module *args``, its output appended to ``log_path``; ready once it has
    printed ``ready_line`` since its last start. `start` may be called again after `kill` or `stop`."""

    def __init__(self, name: str, module: str, args: Sequence[str], log_path: Path, ready_line: str) -> None:
        self.name = name
        self.module = module
        self.args = list(args)
        self.log_path = log_path
        self.ready_line = ready_line
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self._log_start = 0

    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", self.module, *self.args]

    def start(self, *, wait: bool = True, timeout: float = 60.0) -> Service:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.starts += 1
        with open(self.log_path, "ab") as log:
            log.write(f"---- start #{self.starts}: {' '.join(self.command)}\n".encode())
            log.flush()
            self._log_start = log.tell()
            env = {**os.environ, "PYTHONUNBUFFERED": "1"}
            # a session of its own: Ctrl-C in a terminal reaches only the parent, which stops its services
            # in order (the broker last), instead of every process at once
            self.popen = subprocess.Popen(
                self.command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
                preexec_fn=_terminate_with_parent,
            )
        if wait:
            self.wait_ready(timeout)
        return self

    def output(self) -> str:
        """What the service printed since its last start."""
        try:
            with open(self.log_path, "rb") as f:
                f.seek(self._log_start)
                return f.read().decode(errors="replace")
        except OSError:
            return ""

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while self.ready_line not in self.output():
            code = self.returncode
            if code is not None:
                raise ServiceError(f"{self.name} exited with code {code} before it was ready:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise ServiceError(f"{self.name} not ready after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(0.02)

    @property
    def returncode(self) -> int | None:
        return None if self.popen is None else self.popen.poll()

    def is_running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> int:
        """SIGKILL: a crash, no shutdown code runs."""
        if self.popen is None:
            return 0
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        return self.popen.wait()

    def stop(self, timeout: float = 20.0) -> int:
        """SIGTERM and wait; SIGKILL if it does not exit within ``timeout`` seconds."""
        if self.popen is None:
            return 0
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGTERM)
            try:
                return self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise ServiceError(f"{self.name} did not stop within {timeout:.0f}s of SIGTERM; killed") from None
        return self.popen.returncode

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])
