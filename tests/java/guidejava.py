"""The guide's Java examples (interop/java/guide), built once and run one JVM per program.

`build` runs ``interop/guide.sh``, which builds the Maven project once per hash of its sources (offline
from a warm ~/.m2, else online) and caches ``kavka-guide.jar`` and its dependencies under
``$KAVKA_MAVEN_CACHE`` (default ``interop/.cache``); an unchanged checkout reuses the jar. `unavailable_reason`
says in one line why the programs cannot run here (no Java 17+, no Maven for a first build, a failed build).

`Guide.run(main, *args)` runs one program to completion; `Guide.start(...)` starts one with a pipe on
stdin (for `OrderConsumer`'s ``hold`` mode, which stays in its group until stdin closes). The JVMs run
with C1 only, the serial collector and a small heap: they are short-lived and share two cores.

The ``guide`` fixture (session scoped) builds the jar and skips with the reason when it cannot, except
under ``CI=true``, where it fails (CI installs Java and Maven); test modules import it.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kavka.testing.apache_kafka import java_executable

_REPO_ROOT = Path(__file__).resolve().parents[2]
_SCRIPT = _REPO_ROOT / "interop" / "guide.sh"
_MIN_JAVA = 17  # the pom compiles with --release 17


def _java_major(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else 0


class GuideBuildError(RuntimeError):
    """The guide's Java project could not be built; the message carries Maven's output."""


def build(timeout: float = 900.0) -> Path:
    """The directory holding kavka-guide.jar and lib/, built now unless cached for these sources."""
    done = subprocess.run(["bash", str(_SCRIPT)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise GuideBuildError(f"interop/guide.sh failed (exit {done.returncode})\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def unavailable_reason() -> tuple[str | None, Path | None]:
    """(None, the build directory) when the programs can run here, else (why not in one line, None)."""
    java = java_executable()
    if java is None:
        return "the guide's Java examples need Java: no $JAVA_HOME/bin/java and no java on PATH", None
    major = _java_major(java)
    if major < _MIN_JAVA:
        return f"the guide's Java examples need Java {_MIN_JAVA}+; {java} is Java {major}", None
    try:
        return None, build()
    except GuideBuildError as exc:
        return str(exc).splitlines()[0], None


@dataclass(frozen=True)
class Guide:
    java: str
    home: Path

    def command(self, main: str, args: tuple[str, ...]) -> list[str]:
        classpath = f"{self.home / 'kavka-guide.jar'}{os.pathsep}{self.home / 'lib' / '*'}"
        return [
            self.java,
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-Xmx256m",
            "-Djava.awt.headless=true",
            "-cp",
            classpath,
            main,
            *args,
        ]

    def run(self, main: str, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run one program to the end; stdout and stderr are captured."""
        return subprocess.run(
            self.command(main, args), capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
        )

    def start(self, main: str, *args: str) -> subprocess.Popen[str]:
        """Start one program with stdin and stdout as pipes (stderr is captured too)."""
        return subprocess.Popen(
            self.command(main, args),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


def ran(done: subprocess.CompletedProcess[str]) -> str:
    """Both streams of a finished program, for assertion messages."""
    return f"exit {done.returncode}\n--- stdout\n{done.stdout[-4000:]}\n--- stderr\n{done.stderr[-4000:]}"


@pytest.fixture(scope="session")
def guide() -> Iterator[Guide]:
    """The guide's programs, built. Skips with the reason when they cannot be, except under CI=true."""
    reason, home = unavailable_reason()
    if reason is not None or home is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true but the guide's Java examples cannot run: {reason}")
        pytest.skip(reason or "no build")
    java = java_executable()
    assert java is not None
    yield Guide(java, home)
