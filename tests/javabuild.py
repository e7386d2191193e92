"""The repository's Java programs (the guide's examples, the Spring Boot service, the Kafka Streams
application), built by their Maven projects and run as JVMs.

Each project has a build script (``interop/guide.sh``, ``examples/*/build.sh``) over
``interop/maven-build.sh``: it builds once per hash of the sources (offline from a warm ~/.m2, else
online), caches what it made under ``$KAVKA_MAVEN_CACHE`` (default ``interop/.cache``) and prints its
path on the last line. `built` is what a session fixture calls: Java 17+ and, for a first build, Maven
missing make the tests `unavailable` (skip, or fail under CI=true); a build that fails is a failure.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from kavka.testing.apache_kafka import java_executable
from tests.needs import unavailable

REPO_ROOT = Path(__file__).resolve().parents[1]
MIN_JAVA = 17  # every pom compiles with --release 17 (Spring Boot 3.5 needs it too)
_NO_MAVEN = "mvn (Maven) is not on PATH"


class JavaBuildError(RuntimeError):
    """A Maven project could not be built; the message carries Maven's output."""


def java_major(java: str) -> int:
    out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    m = re.search(r'version "(\d+)', out)
    return int(m.group(1)) if m else 0


def build(script: Path, timeout: float = 900.0) -> Path:
    """What ``script`` built (the last line it prints), built now unless cached for these sources."""
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        name = script.relative_to(REPO_ROOT) if script.is_relative_to(REPO_ROOT) else script
        raise JavaBuildError(f"{name} failed (exit {done.returncode})\n{done.stderr[-4000:]}")
    return Path(done.stdout.strip().splitlines()[-1])


def built(script: Path, what: str) -> tuple[str, Path]:
    """(the java to run with, what ``script`` built) for ``what`` (e.g. "the Kafka Streams example")."""
    java = java_executable()
    if java is None:
        unavailable(f"{what} needs Java: no $JAVA_HOME/bin/java and no java on PATH")
    major = java_major(java)
    if major < MIN_JAVA:
        unavailable(f"{what} needs Java {MIN_JAVA}+; {java} is Java {major}")
    try:
        return java, build(script)
    except JavaBuildError as exc:
        if _NO_MAVEN in str(exc):
            unavailable(f"{what} needs Maven for its first build: mvn is not on PATH")
        pytest.fail(str(exc))  # a broken build is a failure, not a reason to skip


def jvm_command(java: str, classpath: Sequence[Path], main: Sequence[str]) -> list[str]:
    """``java`` running ``main`` (a class and its arguments, or ``-jar`` and a jar): C1 only, the serial
    collector and a small heap, since the JVMs are short-lived and share two cores with the brokers."""
    head = [java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx256m", "-Djava.awt.headless=true"]
    if classpath:
        head += ["-cp", ":".join(str(p) for p in classpath)]
    return [*head, *main]
