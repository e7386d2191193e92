"""Fixtures for the ``kavka`` command-line tests: run a command in-process (click's CliRunner) against
the session broker of ``tests/conftest.py``."""

from __future__ import annotations

import shlex
from collections.abc import Callable

import pytest
from click.testing import CliRunner, Result

from kavka.cli.main import main


@pytest.fixture
def kavka(bootstrap: str) -> Callable[..., Result]:
    """``kavka("topics create x --partitions 3", input=None, connect=True)`` -> click Result.

    The command is a string (split like a shell) or a list; ``--bootstrap-server`` of the test broker
    is appended unless ``connect=False``.
    """

    def run(command: str | list[str], *, input: str | bytes | None = None, connect: bool = True) -> Result:
        args = shlex.split(command) if isinstance(command, str) else list(command)
        if connect:
            args += ["--bootstrap-server", bootstrap]
        return CliRunner().invoke(main, args, input=input, catch_exceptions=False, prog_name="kavka")

    return run
