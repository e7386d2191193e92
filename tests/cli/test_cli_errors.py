"""The CLI's contract beyond each command: one-line errors and exit codes, an unreachable broker reported
in time, --help with examples, and `kavka serve` not paying for the client libraries."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from kavka.cli.main import main


@pytest.mark.parametrize(
    "command",
    [
        ["topics", "list"],
        ["topics", "describe"],
        ["configs", "describe", "--topic", "t"],
        ["offsets", "t"],
        ["produce", "t"],
        ["consume", "t"],
        ["groups", "list"],
    ],
)
def test_unreachable_broker_is_one_line_within_timeout(command):
    # a listener that never answers (a refused connection fails at once: test_cli_first_hour.py)
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        t0 = time.monotonic()
        r = CliRunner().invoke(
            main, [*command, "--bootstrap-server", f"127.0.0.1:{port}", "--timeout", "2"], input="x\n"
        )
        elapsed = time.monotonic() - t0
    assert r.exit_code == 1, r.output
    assert r.stderr.strip() == (
        f"Error: Could not reach a broker at 127.0.0.1:{port} within 2s "
        "(check --bootstrap-server and that the broker is running)."
    )
    assert elapsed < 6


def test_default_timeout_reports_within_ten_seconds():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        t0 = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "kavka", "topics", "list", "-b", f"127.0.0.1:{silent.getsockname()[1]}"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert r.returncode == 1
    assert r.stderr.startswith("Error: Could not reach a broker") and "Traceback" not in r.stderr
    assert time.monotonic() - t0 < 12  # 10 s default plus interpreter start


def test_debug_shows_the_traceback():
    with socket.create_server(("127.0.0.1", 0)) as silent:
        address = f"127.0.0.1:{silent.getsockname()[1]}"
        r = CliRunner().invoke(main, ["topics", "list", "-b", address, "--timeout", "1", "--debug"])
    assert r.exit_code == 1
    assert r.exception is not None  # raised, so click would print the trace


def test_command_config_file(kavka, tmp_path):
    props = tmp_path / "client.properties"
    props.write_text("# comment\nclient.id=cli-test\nsocket.timeout.ms=5000\n")
    assert kavka(f"topics list --command-config {props}").exit_code == 0
    props.write_text("no.such.property=1\n")
    r = kavka(f"topics list --command-config {props}")
    assert r.exit_code == 1 and r.stderr.startswith("Error: Invalid client configuration")
    r = kavka(f"topics list --command-config {tmp_path / 'missing'}")
    assert r.exit_code == 1 and "Cannot read --command-config" in r.stderr


@pytest.mark.parametrize(
    "command",
    [
        [],
        ["topics"],
        ["topics", "create"],
        ["configs", "alter"],
        ["produce"],
        ["consume"],
        ["groups", "reset-offsets"],
        ["offsets"],
        ["delete-records"],
        ["bench", "produce"],
        ["dump-log"],
        ["completion"],
    ],
)
def test_help_everywhere(command):
    r = CliRunner().invoke(main, [*command, "--help"], prog_name="kavka")
    assert r.exit_code == 0, r.output
    assert "Usage: kavka" in r.stdout


def test_help_has_examples_and_bootstrap_default():
    r = CliRunner().invoke(main, ["topics", "create", "--help"])
    assert "localhost:9092" in r.stdout
    assert "Examples:" in CliRunner().invoke(main, ["topics", "--help"]).stdout


def test_completion_script():
    r = CliRunner().invoke(main, ["completion", "bash"])
    assert r.exit_code == 0 and "_KAVKA_COMPLETE" in r.stdout


def test_serve_path_does_not_import_client_libraries():
    code = (
        "import sys, kavka.cli.main as m; m.main.get_command(None, 'serve'); "
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('confluent_kafka', 'rich') "
        "or k.startswith('kavka.cli.') and k not in ('kavka.cli.main',)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_reset_offsets_usage_errors():
    for args in (
        ["g", "--topic", "t"],
        ["g", "--to-earliest"],
        ["g", "--topic", "t", "--to-earliest", "--to-latest"],
        ["g", "--topic", "t", "--to-earliest", "--dry-run", "--execute"],
    ):
        r = CliRunner().invoke(main, ["groups", "reset-offsets", *args])
        assert r.exit_code == 2, (args, r.output)
