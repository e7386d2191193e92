"""`kavka serve` starts the console (unless --no-console) and stops it on SIGTERM.

These tests drive the real command.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

KAVKA = str(Path(sys.executable).with_name("kavka"))


def _serve(tmp_path, *extra) -> subprocess.Popen:
    proc = subprocess.Popen(
        [
            KAVKA,
            "serve",
            "--override",
            "listeners=PLAINTEXT://127.0.0.1:0",
            "--override",
            f"log.dirs={tmp_path / 'data'}",
            *extra,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    proc.lines = queue.Queue()

    def pump():
        for line in proc.stdout:
            proc.lines.put(line.rstrip("\n"))
        proc.lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    return proc


def _lines_until(proc, pattern: str, timeout: float = 30.0) -> list[str]:
    """Output lines up to the first matching ``pattern`` (or what came before the deadline / exit)."""
    seen = []
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        try:
            line = proc.lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if re.search(pattern, line):
            break
    return seen


def _stop(proc) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(20)
    finally:
        if proc.poll() is None:
            proc.kill()


def test_serve_starts_the_console(tmp_path):
    proc = _serve(tmp_path, "--override", "console.listener=http://127.0.0.1:0")
    try:
        lines = _lines_until(proc, r"listening on")
        assert any("listening on" in line for line in lines), lines
        more = _lines_until(proc, r"console on", timeout=3)
        found = [m for line in lines + more for m in re.findall(r"console on (http://\S+)", line)]
        assert found, lines + more
        with urllib.request.urlopen(found[0] + "/api/overview", timeout=10) as resp:
            assert resp.status == 200
    finally:
        assert _stop(proc) == 0


def test_serve_refuses_an_open_console_on_all_interfaces(tmp_path):
    proc = _serve(tmp_path, "--override", "console.listener=http://0.0.0.0:0")
    try:
        lines = _lines_until(proc, r"listening on|console\.auth")
        assert proc.wait(20) != 0 and any("console.auth" in line for line in lines), lines
    finally:
        if proc.poll() is None:
            _stop(proc)


def test_no_console_serves_no_console(tmp_path):
    proc = _serve(tmp_path, "--no-console", "--override", "console.listener=http://0.0.0.0:0")
    try:
        lines = _lines_until(proc, r"listening on")
        assert any("listening on" in line for line in lines), lines
        assert not any("console on" in line for line in lines)
    finally:
        assert _stop(proc) == 0
