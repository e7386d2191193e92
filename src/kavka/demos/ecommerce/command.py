"""``kavka demo ecommerce``: the whole order saga against a broker, with a live summary.

Against ``--bootstrap-servers`` when a broker answers there, else against a ``kavka serve`` it starts
(free ports, console on, data in the run directory). It creates the topics and the catalog, starts the
gateway and the five services as processes, posts ``--orders`` seeded orders (with injected out-of-stock
and declined-card failures), prints a summary every second and where to watch in the console, then
keeps everything running until Ctrl-C (or exits when done with ``--exit-when-done``).
"""

from __future__ import annotations

import asyncio
import signal
import tempfile
import threading
import time
from pathlib import Path
from types import FrameType

import click
from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce import launcher, setup
from kavka.demos.ecommerce.analytics import last_counts
from kavka.demos.ecommerce.driver import Order, make_orders, post_orders


def reachable(bootstrap: str, timeout: float = 5.0) -> bool:
    try:
        AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=timeout)
    except KafkaException:
        return False
    return True


def analytics_summary(process: launcher.Service) -> dict[str, object]:
    return last_counts(process.output())


def _count(summary: dict[str, object], key: str) -> int:
    value = summary.get(key, 0)
    return value if isinstance(value, int) else 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.command()
@click.option(
    "--bootstrap-servers",
    "--bootstrap-server",
    "-b",
    "bootstrap",
    default=None,
    help="A running broker to use; without it (or when nothing answers there) a kavka serve is started.",
)
@click.option("--orders", default=500, show_default=True, type=click.IntRange(min=1), help="Orders to place.")
@click.option("--seed", default=1, show_default=True, help="Seed of the catalog, the orders and the failures.")
@click.option("--rate", default=100.0, show_default=True, help="Orders a second (0: as fast as possible).")
@click.option(
    "--partitions", default=3, show_default=True, type=click.IntRange(min=1), help="Partitions per event topic."
)
@click.option(
    "--run-dir", type=click.Path(file_okay=False, path_type=Path), help="Where the logs go (default: a temp dir)."
)
@click.option("--exit-when-done", is_flag=True, help="Stop everything once every order is final.")
def ecommerce(
    bootstrap: str | None,
    orders: int,
    seed: int,
    rate: float,
    partitions: int,
    run_dir: Path | None,
    exit_when_done: bool,
) -> None:
    """The guide's e-commerce order saga, one process per service.

    A gateway, inventory, payment, fulfillment, notification and analytics, each its own process and
    consumer group, with injected failures and compensating events.

    \b
    Examples:
      kavka demo ecommerce                       # starts a broker with its console
      kavka demo ecommerce -b localhost:9092 --orders 2000 --rate 0
    """
    run_dir = run_dir or Path(tempfile.mkdtemp(prefix="kavka-demo-ecommerce-"))
    run_dir.mkdir(parents=True, exist_ok=True)
    # SIGTERM and SIGHUP stop the demo as Ctrl-C does, and so does SIGINT where a shell started it with
    # SIGINT ignored (a non-interactive shell does that to a background job, and Python then leaves it
    # ignored: Ctrl-C or kill -INT would do nothing). As `kavka demo payments` does.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    broker: launcher.Service | None = None
    deployment: launcher.Deployment | None = None
    try:
        console = None
        if bootstrap is not None and reachable(bootstrap):
            click.echo(f"Using the broker at {bootstrap}")
        else:
            if bootstrap is not None:
                click.echo(f"No broker answers at {bootstrap}; starting one")
            port, console_port = launcher.free_port(), launcher.free_port()
            broker = launcher.broker(run_dir, port, console_port, partitions).start(timeout=60)
            bootstrap = f"127.0.0.1:{port}"
            console = f"http://127.0.0.1:{console_port}"
            click.echo(f"Started kavka serve on {bootstrap} (data and logs in {run_dir})")
        setup.ensure_topics(bootstrap, partitions)
        catalog = setup.seed_catalog(bootstrap, setup.make_catalog(seed, orders))
        deployment = launcher.Deployment(bootstrap, run_dir)
        deployment.start()
        click.echo(f"Services up: {', '.join(deployment.processes)}; POST orders to {deployment.gateway_url}")
        _where_to_watch(console, bootstrap)
        watched = [*deployment.processes.values(), *([broker] if broker is not None else [])]
        _drive(deployment, make_orders(seed, orders, catalog), rate, watched)
        if not exit_when_done:
            click.echo("Everything keeps running; press Ctrl-C to stop.")
            while True:
                _fail_on_dead(watched)
                time.sleep(0.5)
    except KeyboardInterrupt:
        click.echo("\nStopping...")
    except RuntimeError as e:
        raise click.ClickException(str(e)) from None
    finally:
        if deployment is not None:
            deployment.stop()
        if broker is not None:
            broker.stop()
    click.echo(f"Stopped. Logs in {run_dir}")


def _where_to_watch(console: str | None, bootstrap: str) -> None:
    topics = ", ".join(ev.EVENT_TOPICS)
    groups = ", ".join(ev.GROUPS.values())
    if console is not None:
        click.echo(f"Watch it in the console: {console}/topics ({topics}),")
        click.echo(f"  {console}/groups ({groups}: members, offsets, lag), e.g. {console}/groups/inv-group")
    else:
        click.echo(f"Watch it in the broker's console (Kavka: console.listener) under Topics ({topics})")
        click.echo(f"  and Consumer groups ({groups}), or: kavka groups describe inv-group -b {bootstrap}")


def _drive(deployment: launcher.Deployment, orders: list[Order], rate: float, watched: list[launcher.Service]) -> None:
    baseline = analytics_summary(deployment["analytics"])
    placed = 0
    failure: list[BaseException] = []

    def count(_order: object) -> None:
        nonlocal placed
        placed += 1  # one writer: the driver thread

    def drive() -> None:
        try:
            asyncio.run(post_orders(deployment.gateway_url, orders, on_placed=count, rate=rate))
        except Exception as e:  # reported below, on the main thread
            failure.append(e)

    thread = threading.Thread(target=drive, name="order-driver", daemon=True)
    thread.start()
    total = len(orders)
    while True:
        summary = analytics_summary(deployment["analytics"])
        completed = _count(summary, ev.COMPLETED) - _count(baseline, ev.COMPLETED)
        cancelled = _count(summary, ev.CANCELLED) - _count(baseline, ev.CANCELLED)
        by, before = summary.get("cancelled_by") or {}, baseline.get("cancelled_by") or {}
        assert isinstance(by, dict) and isinstance(before, dict)
        reasons = ", ".join(f"{k} {v - before.get(k, 0)}" for k, v in by.items() if v - before.get(k, 0))
        click.echo(
            f"placed {placed}/{total}  completed {completed}  cancelled {cancelled}"
            + (f" ({reasons})" if reasons else "")
            + f"  in flight {placed - completed - cancelled}"
        )
        if failure:
            raise RuntimeError(f"placing orders failed: {failure[0]}")
        _fail_on_dead(watched)
        if completed + cancelled >= total:
            click.echo(f"All {total} orders are final: {completed} completed, {cancelled} cancelled.")
            return
        time.sleep(1.0)


def _fail_on_dead(processes: list[launcher.Service]) -> None:
    for p in processes:
        if p.popen is not None and p.popen.poll() is not None:
            raise RuntimeError(f"{p.name} exited (code {p.popen.returncode}):\n{p.log_tail(15)}")
