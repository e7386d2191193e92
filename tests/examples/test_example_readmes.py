"""The examples' READMEs run as written: the commands of a "Run it" block do not contradict each other.

Found by following examples/spring-boot/README.md by hand: ``kavka serve &`` takes 127.0.0.1:8080 for
its web console, so an order service also listening on 8080 stopped at once with Spring Boot's "Port
8080 was already in use". These checks read the block as a user copies it (no broker, no Java).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from tests.javabuild import REPO_ROOT

SPRING = REPO_ROOT / "examples" / "spring-boot"


def run_it_block(readme: Path) -> list[str]:
    """The lines of the first ```sh block under "## Run it", continuation lines joined."""
    text = readme.read_text()
    section = text.split("## Run it", 1)[1]
    block = section.split("```sh\n", 1)[1].split("```", 1)[0]
    return [line.split("#", 1)[0].strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def console_port_of(serve_line: str) -> int | None:
    """The port ``kavka serve`` gives its web console on this command line (None: no console)."""
    if "--no-console" in serve_line:
        return None
    given = re.search(r"--console-port[ =](\d+)", serve_line)
    if given:
        return int(given.group(1))
    # the default, as `kavka serve --help` states it
    helptext = subprocess.run(
        [sys.executable, "-m", "kavka", "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    return int(re.search(r"--console-port PORT\s+Port for the web console \(default (\d+)\)", helptext).group(1))


def app_port_of(java_line: str) -> int:
    """The HTTP port the order service listens on: ``--server.port`` on its command line, else its
    application.yml's ``server.port``."""
    given = re.search(r"--server\.port=(\d+)", java_line)
    if given:
        return int(given.group(1))
    yml = (SPRING / "src" / "main" / "resources" / "application.yml").read_text()
    return int(re.search(r"^server:\n\s+port:\s*(\d+)", yml, re.M).group(1))


def test_spring_boot_run_it_block_gives_the_app_and_the_console_different_ports():
    lines = run_it_block(SPRING / "README.md")
    [serve] = [line for line in lines if line.startswith("kavka serve")]
    [java] = [line for line in lines if line.startswith("java -jar")]
    app = app_port_of(java)
    assert console_port_of(serve) != app, f"`{serve}` and `{java}` both take port {app}"
    curls = [line for line in lines if line.startswith("curl")]
    assert curls, lines
    for curl in curls:  # each request goes to the order service, not to the console
        assert re.search(rf"localhost:{app}/", curl), f"`{curl}` does not reach the app on port {app}"
