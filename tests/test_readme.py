"""The README, followed as a newcomer follows it: every command and snippet after "Set up" runs as it
is written, against a real broker.

The only edits the test makes are the ones a reader's machine makes for them: the broker listens on a
free port instead of 9092 (the snippets' ``127.0.0.1:9092`` and the CLI's default bootstrap, through
``KAVKA_BOOTSTRAP_SERVER``, point at it), and ``kavka`` is the venv's (the README activates the venv).
The benchmark line writes 20,000 records instead of a million: the command is the same, the figure is
not what this checks. Blocks run elsewhere: "Set up" is what ``.ci/run`` itself runs, ``kavka cluster
up`` is tests/cli/test_cluster_cli.py, ``kavka demo`` and the examples' ``demo.sh`` are tests/examples.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kavka.testing.process import BrokerProcess, free_port

README = Path(__file__).resolve().parents[1] / "README.md"
KCAT = shutil.which("kcat") or shutil.which("kafkacat")
DEFAULT = "127.0.0.1:9092"


def blocks() -> list[tuple[str, str, str]]:
    """(section heading, language, code) of each fenced block, in order."""
    out, heading = [], ""
    for m in re.finditer(r"^(#{2,3} [^\n]+)$|^```(\w*)\n(.*?)^```$", README.read_text(), re.M | re.S):
        if m.group(1):
            heading = m.group(1).lstrip("#").strip()
        else:
            out.append((heading, m.group(2), m.group(3)))
    return out


def section(heading: str, lang: str) -> list[str]:
    found = [code for h, lg, code in blocks() if h == heading and lg == lang]
    assert found, f"README has no {lang} block under {heading!r}"
    return found


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with BrokerProcess(tmp_path_factory.mktemp("readme-broker"), overrides={"console.listener": ""}) as b:
        yield b


@pytest.fixture
def shell_env(broker):
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    env["KAVKA_BOOTSTRAP_SERVER"] = broker.bootstrap
    return env


def run_python(code: str, broker, cwd: Path, timeout: float = 60) -> str:
    path = cwd / "snippet.py"
    path.write_text(code.replace(DEFAULT, broker.bootstrap))
    done = subprocess.run([sys.executable, str(path)], cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{code}\n--- stderr:\n{done.stderr[-3000:]}"
    return done.stdout


def test_the_quickstart_activates_the_venv_before_bare_commands():
    text = README.read_text()
    quick = text.index("## Quickstart")
    assert ". .venv/bin/activate" in text[quick : text.index("### ", quick)]
    for heading, lang, code in blocks():
        if lang == "sh" and heading != "Set up":
            for line in code.splitlines():
                assert not line.startswith(".venv/bin/"), f"{heading}: {line} (the venv is active here)"


@pytest.fixture(scope="module")
def quickstart_python(broker, tmp_path_factory):
    """The Quickstart's three Python snippets run in order, as a reader runs them: their outputs and
    the group snippet's stderr after Ctrl-C."""
    tmp_path = tmp_path_factory.mktemp("readme-python")
    first, group, transactions = section("Python (confluent-kafka)", "python")
    out = run_python(first, broker, tmp_path)

    # The group snippet runs until stopped: it prints the ten records, then Ctrl-C (SIGINT) ends it.
    path = tmp_path / "group.py"
    path.write_text(group.replace(DEFAULT, broker.bootstrap))
    proc = subprocess.Popen(
        [sys.executable, "-u", str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    lines: list[str] = []
    try:
        deadline = time.monotonic() + 60
        while len(lines) < 10 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
    stderr = proc.stderr.read()
    run_python(transactions, broker, tmp_path)
    return out, lines, stderr


def test_the_python_snippets_run_as_they_are(broker, quickstart_python, tmp_path):
    out, group_lines, group_stderr = quickstart_python
    assert len(out.splitlines()) == 10 and "clicked 9" in out and "'source'" in out, out
    assert len(group_lines) == 10, (group_lines, group_stderr)
    assert {line.split()[0] for line in group_lines} <= {"0", "1", "2"}
    assert "KeyboardInterrupt" in group_stderr  # Ctrl-C, after the consumer left the group
    check = f"""
from confluent_kafka import Consumer, TopicPartition
c = Consumer({{"bootstrap.servers": "{DEFAULT}", "group.id": "readme-check", "isolation.level": "read_committed"}})
for topic, value in (("debits", b"-100"), ("credits", b"+100")):
    c.assign([TopicPartition(topic, 0, 0)])
    msg = c.poll(20)
    assert msg is not None and not msg.error() and msg.value() == value, (topic, msg and msg.error())
c.close()
"""
    run_python(check, broker, tmp_path)


def test_the_command_line_block_runs_line_by_line(broker, quickstart_python, shell_env, tmp_path):
    # after the Python snippets, as in the README: `kavka groups describe billing` describes their group
    (code,) = section("The command line and the console", "sh")
    for line in code.splitlines():
        command = line.split("  #")[0].strip()
        if not command:
            continue
        command = command.replace("--num-records 1000000", "--num-records 20000")
        done = subprocess.run(
            ["bash", "-c", command], cwd=tmp_path, env=shell_env, capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        if command.startswith("kavka consume"):
            assert done.stdout.strip() == "k1\thello", done.stdout


@pytest.mark.skipif(KCAT is None, reason="kcat is not installed (apt-get install kcat; .ci/run does)")
def test_the_kcat_block_runs_line_by_line(broker, shell_env, tmp_path):
    (code,) = section("kcat", "sh")
    outputs = []
    for line in code.splitlines():
        command = line.split("  #")[0].strip().replace(DEFAULT, broker.bootstrap)
        if command.startswith("kcat") or command.startswith("printf"):
            done = subprocess.run(
                ["bash", "-c", command], cwd=tmp_path, env=shell_env, capture_output=True, text=True, timeout=60
            )
            assert done.returncode == 0, f"{command}\n{done.stderr[-2000:]}"
            outputs.append(done.stdout)
    assert outputs[-1] == "k1=hello @0\nk2=world @1\n", outputs[-1]


def test_the_configuration_example_serves(tmp_path):
    (code,) = section("Configuration", "sh")
    command = code.strip()
    assert command.startswith("kavka serve --config config/server.properties"), command
    port, console = free_port(), free_port()
    args = command.split()[1:] + [
        f"--override=listeners=PLAINTEXT://127.0.0.1:{port}",
        f"--override=advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
        f"--override=console.listener=http://127.0.0.1:{console}",
        f"--override=log.dirs={tmp_path / 'data'}",
    ]
    kavka = os.path.join(os.path.dirname(sys.executable), "kavka")
    proc = subprocess.Popen(
        [kavka, *args], cwd=README.parent, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        first = proc.stdout.readline()
        assert f"listening on 127.0.0.1:{port}" in first, first + (
            proc.stdout.read() if proc.poll() is not None else ""
        )
    finally:
        proc.terminate()
        assert proc.wait(30) == 0
    assert (tmp_path / "data" / "meta.properties").exists()


def test_the_testing_snippets_run_as_they_are(tmp_path):
    fixture, process = section("Testing your application against Kavka", "python")
    (tmp_path / "test_orders.py").write_text(fixture)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_orders.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout[-3000:] + done.stderr[-2000:]
    path = tmp_path / "process.py"
    path.write_text(process)
    done = subprocess.run([sys.executable, str(path)], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
