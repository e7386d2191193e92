"""The guide's Java examples (interop/java/guide), built once and run one JVM per program.

``interop/guide.sh`` builds ``kavka-guide.jar`` and its lib/ (`tests.javabuild`); an unchanged checkout
reuses the jar.

`Guide.run(main, *args)` runs one program to completion; `Guide.start(...)` starts one with a pipe on
stdin (for `OrderConsumer`'s ``hold`` mode, which stays in its group until stdin closes). The JVMs run
with C1 only, the serial collector and a small heap: they are short-lived and share two cores.

The ``guide`` fixture (session scoped) builds it through `tests.javabuild.built`; test modules import it.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.javabuild import REPO_ROOT, built, jvm_command

_SCRIPT = REPO_ROOT / "interop" / "guide.sh"


@dataclass(frozen=True)
class Guide:
    java: str
    home: Path

    def command(self, main: str, args: tuple[str, ...]) -> list[str]:
        return jvm_command(self.java, [self.home / "kavka-guide.jar", self.home / "lib" / "*"], [main, *args])

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
    """The guide's programs, built (`tests.javabuild.built`: skips without Java 17+ or Maven, except
    under CI=true; a failed build fails)."""
    java, home = built(_SCRIPT, "the guide's Java examples")
    yield Guide(java, home)
