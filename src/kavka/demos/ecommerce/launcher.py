"""Starting the demo's processes: each service, the gateway, and (when no broker is given) a broker.

Each process is a `kavka.demos.process.Service` with its log in ``run_dir``; readiness is a line the
process prints ("<name>: ready").
"""

from __future__ import annotations

import signal
from collections.abc import Mapping, Sequence
from pathlib import Path

from kavka.demos.process import Service, ServiceError, free_port

SERVICES = ("inventory", "payment", "fulfillment", "notification", "analytics")


def service(name: str, bootstrap: str, run_dir: Path, extra_args: Sequence[str] = ()) -> Service:
    args = ["--bootstrap-servers", bootstrap, *extra_args]
    return Service(name, f"kavka.demos.ecommerce.{name}", args, run_dir / f"{name}.log", f"{name}: ready")


def gateway(bootstrap: str, run_dir: Path, port: int) -> Service:
    args = ["--bootstrap-servers", bootstrap, "--port", str(port)]
    return Service("gateway", "kavka.demos.ecommerce.gateway", args, run_dir / "gateway.log", "gateway: ready")


def broker(run_dir: Path, port: int, console_port: int, partitions: int = 3) -> Service:
    """A ``kavka serve`` with its console on, data under ``run_dir``; ready when it prints the console's URL."""
    settings = {
        "listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "log.dirs": str(run_dir / "kavka-data"),
        "console.listener": f"http://127.0.0.1:{console_port}",
        "num.partitions": str(partitions),
        # a demo's groups start at once, not after Kafka's 3 s wait for more members
        "group.initial.rebalance.delay.ms": "0",
    }
    args = ["serve"]
    for key, value in settings.items():
        args += ["--override", f"{key}={value}"]
    return Service("broker", "kavka", args, run_dir / "broker.log", "Kavka console on")


class Deployment:
    """The gateway and the five services against ``bootstrap``, logs in ``run_dir``."""

    def __init__(
        self,
        bootstrap: str,
        run_dir: Path,
        gateway_port: int | None = None,
        extra_args: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.bootstrap = bootstrap
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        port = gateway_port or free_port()
        self.gateway_url = f"http://127.0.0.1:{port}/orders"
        extra = extra_args or {}
        self.processes = {name: service(name, bootstrap, run_dir, extra.get(name, ())) for name in SERVICES}
        self.processes["gateway"] = gateway(bootstrap, run_dir, port)

    def __getitem__(self, name: str) -> Service:
        return self.processes[name]

    def start(self, timeout: float = 60.0) -> None:
        for p in self.processes.values():
            p.start(wait=False)
        for p in self.processes.values():
            p.wait_ready(timeout)

    def dead(self) -> list[Service]:
        return [p for p in self.processes.values() if p.popen is not None and not p.is_running()]

    def stop(self) -> None:
        """SIGTERM to every process at once, then wait for each; a process that does not stop in time
        is killed and reported (after the others were stopped)."""
        for p in self.processes.values():
            if p.is_running():
                assert p.popen is not None
                p.popen.send_signal(signal.SIGTERM)
        failures = []
        for p in self.processes.values():
            try:
                p.stop()
            except ServiceError as exc:
                failures.append(exc)
        if failures:
            raise failures[0]


__all__ = ["SERVICES", "Deployment", "Service", "broker", "free_port", "gateway", "service"]
