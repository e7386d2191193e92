"""The Spring Boot order service of examples/spring-boot, built once and run as a real JVM process.

The ``order_service_jar`` fixture (session scoped) builds ``order-service.jar`` with
``examples/spring-boot/build.sh`` through `tests.javabuild.built`.

`OrderService` is one run of the application (``java -jar order-service.jar``) against a broker, with its
own HTTP port and a log file; it is stopped with SIGTERM (Spring's graceful shutdown: the listener
containers stop and the consumers leave the group). What it did is read from its log, whose lines are
Spring Boot's console format::

    2026-12-05T17:05:37.088Z  INFO 24177 --- [ntainer#0-0-C-1] com.example.kafka.OrderEventConsumer : Processing order o1 from P:0 O:0
"""

from __future__ import annotations

import json
import re
import subprocess
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from kavka.testing.process import ChildProcess, free_port, wait_until
from tests.javabuild import REPO_ROOT, built, jvm_command

_SCRIPT = REPO_ROOT / "examples" / "spring-boot" / "build.sh"

STARTED = re.compile(r"Started OrderServiceApplication in ")
# spring-kafka's lines on a rebalance, per listener thread: "<group>: partitions assigned: [orders-0]".
REBALANCED = re.compile(r"partitions (assigned|revoked): \[([^\]]*)\]")
PROCESSING = re.compile(r"Processing order (\S+) from P:(\d+) O:(\d+)")
# A log line's level: Spring Boot's console pattern puts it after the ISO timestamp.
LEVEL = re.compile(r"^\S+T\S+\s+(TRACE|DEBUG|INFO|WARN|ERROR)\s+\d+\s+---\s+\[[^\]]*\]\s+(\S+)\s*:\s?(.*)$")


@dataclass(frozen=True)
class OrderServiceJar:
    java: str
    jar: Path


@pytest.fixture(scope="session")
def order_service_jar() -> Iterator[OrderServiceJar]:
    """The built application (`tests.javabuild.built`: skips without Java 17+ or Maven, except under
    CI=true; a failed build fails)."""
    java, jar = built(_SCRIPT, "the Spring Boot example")
    yield OrderServiceJar(java, jar)


@dataclass(frozen=True)
class LogLine:
    level: str
    logger: str
    message: str


class OrderService(ChildProcess):
    """One run of the order service against ``bootstrap``; ``args`` are extra Spring properties
    (``--name=value``). Start with `start`, which waits for the listener to own every partition."""

    what = "Spring Boot order service"
    error = RuntimeError
    stop_timeout = 30.0

    def __init__(self, app: OrderServiceJar, bootstrap: str, log_path: Path, args: Sequence[str] = ()) -> None:
        self.app = app
        self.bootstrap = bootstrap
        self.log_path = log_path
        self.args = list(args)
        self.port = free_port()
        self.popen = None
        self._owned_dir = None

    def command(self) -> list[str]:
        return jvm_command(
            self.app.java,
            [],
            [
                "-jar",
                str(self.app.jar),
                f"--spring.kafka.bootstrap-servers={self.bootstrap}",
                f"--server.port={self.port}",
                *self.args,
            ],
        )

    def start(self, partitions: int = 3, timeout: float = 90.0) -> OrderService:
        """Spawn the JVM and wait until Spring has started and the group has given one partition of the
        orders topic to each of the listener's ``partitions`` consumers (its concurrency is 3)."""
        with open(self.log_path, "ab") as log:
            self.popen = subprocess.Popen(
                self.command(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT
            )

        def ready() -> bool:
            if not self.is_running():
                raise AssertionError(f"{self.what} exited ({self.returncode})\n{self.log_tail()}")
            # Every listener thread owns exactly one partition: all three consumers are in the group (one
            # owning everything for a moment, before the others join, is not yet ready).
            owned = [parts for parts in self.assigned().values() if parts]
            return (
                STARTED.search(self.log_text()) is not None
                and len(owned) == partitions
                and all(len(parts) == 1 for parts in owned)
            )

        wait_until(ready, timeout, interval=0.1, message=lambda: f"{self.what} to start\n{self.log_tail()}")
        return self

    def assigned(self) -> dict[str, set[str]]:
        """The partitions each listener thread owns now, by the assigned / revoked lines of this run."""
        owned: dict[str, set[str]] = {}
        for line in self.log_text().splitlines():
            m = REBALANCED.search(line)
            if m:
                thread = line.split("[", 1)[1].split("]", 1)[0]
                parts = {p.strip() for p in m.group(2).split(",") if p.strip()}
                mine = owned.setdefault(thread, set())
                if m.group(1) == "assigned":
                    mine |= parts
                else:
                    mine -= parts
        return owned

    def processing(self) -> list[tuple[str, int, int]]:
        """(order id, partition, offset) of every "Processing order" line: one per delivery attempt."""
        return [(m.group(1), int(m.group(2)), int(m.group(3))) for m in PROCESSING.finditer(self.log_text())]

    def lines(self, *levels: str) -> list[LogLine]:
        """The log lines at these levels (all if none), with their logger and message."""
        out = []
        for line in self.log_text().splitlines():
            m = LEVEL.match(line)
            if m and (not levels or m.group(1) in levels):
                out.append(LogLine(m.group(1), m.group(2), m.group(3)))
        return out

    def post_order(self, order_id: str, user_id: str, amount: float) -> tuple[int, int]:
        """POST /orders; returns the (partition, offset) the order was written at."""
        body = json.dumps({"id": order_id, "userId": user_id, "amount": amount}).encode()
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/orders", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            sent = json.load(response)
        assert sent["orderId"] == order_id, sent
        return int(sent["partition"]), int(sent["offset"])

    def processed_counter(self) -> float:
        """The Micrometer counter kafka.orders.processed, read from /actuator/metrics."""
        url = f"http://127.0.0.1:{self.port}/actuator/metrics/kafka.orders.processed"
        with urllib.request.urlopen(url, timeout=30) as response:
            metric = json.load(response)
        return float(next(m["value"] for m in metric["measurements"] if m["statistic"] == "COUNT"))

    def diagnostics(self, lines: int = 80) -> str:
        return self.log_tail(lines)
