"""``kavka demo payments``: the guide's Payment & Banking design, running.

Starts a broker (``kavka serve`` on free ports) unless ``--bootstrap-servers`` names one, creates the
topics, starts the Payment API and the payment processor as their own processes, sends ``--payments``
seeded payments over HTTP (with resent Idempotency-Keys, overdrawing and fraudulent payments, and a hot
account), and prints a live summary. Then it keeps serving until Ctrl-C (or exits at once with
``--once``); Ctrl-C stops every process it started, cleanly.
"""

from __future__ import annotations

import shutil
import signal
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import click

from kavka.demos.payments.fraud import DEFAULT_FRAUD_LIMIT
from kavka.demos.payments.ledger import DEFAULT_ACCOUNTS
from kavka.demos.payments.topics import (
    ACCOUNT_BALANCES,
    PAYMENT_COMPLETED,
    PAYMENT_FAILED,
    TopicPlan,
    ensure_topics,
)
from kavka.demos.process import Service, ServiceError, free_port

__all__ = ["payments"]


@dataclass
class _Tally:
    """What the watcher has seen (under ``lock``): outcomes by payment id and the latest balances."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (status, reason kind)
    balances: dict[str, int] = field(default_factory=dict)
    # A transfer changes two accounts, maybe in two partitions, read one after the other: the sum of
    # the balances is shown only when no transfer is seen half (``half``: payments seen on one side).
    half: set[str] = field(default_factory=set)
    total: int = 0
    error: str | None = None


def _watch(bootstrap: str, tally: _Tally, stop: threading.Event) -> None:
    from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

    from kavka.demos.payments.kafkaio import decode

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kavka-demo-payments-watcher",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    plan = TopicPlan()
    consumer.assign(
        [
            TopicPartition(topic, p, OFFSET_BEGINNING)
            for topic in (PAYMENT_COMPLETED, PAYMENT_FAILED, ACCOUNT_BALANCES)
            for p in range(plan.partitions)
        ]
    )
    try:
        while not stop.is_set():
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.fatal():
                    tally.error = err.str()
                    return
                continue
            value = decode(msg.value())
            with tally.lock:
                if msg.topic() == ACCOUNT_BALANCES:
                    tally.balances[value["accountId"]] = value["balance"]
                    payment = value["lastPaymentId"]
                    if payment is not None:
                        tally.half ^= {payment}
                    if not tally.half:
                        tally.total = sum(tally.balances.values())
                else:
                    reason = (value.get("reason") or "").split(":")[0]
                    tally.outcomes[value["paymentId"]] = (value["status"], reason)
    finally:
        consumer.close()


def _money(cents: int) -> str:
    return f"{cents / 100:,.2f}"


def _summary(sent: int, total: int, ids: set[str], replayed: int, tally: _Tally) -> str:
    with tally.lock:
        mine = [tally.outcomes[i] for i in ids if i in tally.outcomes]
        balance = tally.total
    completed = sum(1 for status, _ in mine if status == "COMPLETED")
    reasons: dict[str, int] = {}
    for status, reason in mine:
        if status == "FAILED":
            reasons[reason] = reasons.get(reason, 0) + 1
    failed = ", ".join(f"{n} {r.lower()}" for r, n in sorted(reasons.items())) or "none"
    return (
        f"sent {sent}/{total} · accepted {len(ids)} · duplicates answered from the key store {replayed} · "
        f"completed {completed} · failed {sum(reasons.values())} ({failed}) · money in the bank {_money(balance)}"
    )


@click.command()
@click.option(
    "--bootstrap-servers",
    "--bootstrap-server",
    "bootstrap",
    default=None,
    help="A running broker; without it a `kavka serve` is started on free ports for the demo.",
)
@click.option(
    "--payments", "count", type=click.IntRange(min=1), default=200, show_default=True, help="How many payments to send."
)
@click.option("--seed", default=None, type=int, help="Seed of the payment stream (random if omitted).")
@click.option("--api-port", default=0, help="Port of the Payment API (a free one if 0).")
@click.option("--once", is_flag=True, help="Exit after the summary instead of serving until Ctrl-C.")
def payments(bootstrap: str | None, count: int, seed: int | None, api_port: int, once: bool) -> None:
    """The guide's payments design, exactly-once.

    An idempotent Payment API, a fraud check, a transactional processor, a compacted audit log, and a
    hot account on a partition of its own."""
    workdir = Path(tempfile.mkdtemp(prefix="kavka-demo-payments-"))
    services: list[Service] = []
    console: str | None = None
    stop = threading.Event()
    ok = False
    # SIGTERM and SIGHUP stop the demo as Ctrl-C does (and SIGINT even where a shell started it with
    # SIGINT ignored, as a non-interactive shell does for a background job)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)
    try:
        if bootstrap is None:
            port, console_port = free_port(), free_port()
            broker = Service(
                "broker",
                "kavka",
                [
                    "serve",
                    "--override",
                    f"listeners=PLAINTEXT://127.0.0.1:{port}",
                    "--override",
                    f"log.dirs={workdir / 'data'}",
                    "--override",
                    f"console.listener=http://127.0.0.1:{console_port}",
                ],
                workdir / "broker.log",
                "Kavka console on",
            )
            services.append(broker.start())
            bootstrap = f"127.0.0.1:{port}"
            console = f"http://127.0.0.1:{console_port}"
            click.echo(f"started a broker: kavka serve on {bootstrap}, console {console}")
        created = _topics(bootstrap)
        click.echo(f"topics: {len(created)} created, {7 - len(created)} already there")
        api_port = api_port or free_port()
        url = f"http://127.0.0.1:{api_port}/payments"
        for name, module, args, ready in (
            ("payment API", "kavka.demos.payments.api", ["--port", str(api_port)], "payment API ready"),
            ("payment processor", "kavka.demos.payments.processor", [], "payment processor ready"),
        ):
            log = workdir / f"{module.rsplit('.', 1)[1]}.log"
            services.append(Service(name, module, ["--bootstrap-servers", bootstrap, *args], log, ready))
            services[-1].start(wait=False)
        for service in services:
            service.wait_ready(60)
        click.echo(f"Payment API on {url}; processor transactional.id payment-service-1")
        _run(bootstrap, url, count, seed, stop)
        click.echo(
            "watch it: "
            + (
                f"{console} (topics payment-*, balance-events, account-balances)"
                if console
                else "the broker's web console (kavka serve: http://127.0.0.1:8080 unless console.listener says "
                f"otherwise), or kavka consume payment-completed --bootstrap-server {bootstrap} --from-beginning"
            )
        )
        click.echo(
            f"try it: curl -X POST {url} -H 'Idempotency-Key: my-key-1' "
            '-H \'Content-Type: application/json\' -d \'{"from": "ACC-001", "to": "ACC-002", "amount": 2500}\''
        )
        base = url.removesuffix("/payments")
        click.echo(f"        curl {base}/payments/<paymentId>   curl {base}/accounts/ACC-007")
        if not once:
            click.echo("serving; press Ctrl-C to stop")
            while all(s.is_running() for s in services):
                stop.wait(0.5)
            stopped = [s for s in services if not s.is_running()]
            raise click.ClickException(
                f"{stopped[0].name} exited with code {stopped[0].returncode}:\n{stopped[0].log_tail()}"
            )
        ok = True
    except KeyboardInterrupt:
        click.echo("\nstopping")
        ok = True
    except ServiceError as e:
        raise click.ClickException(str(e)) from None
    finally:
        stop.set()
        for service in reversed(services):
            try:
                service.stop()
            except ServiceError as e:
                click.echo(f"kavka demo payments: {e}", err=True)
                ok = False
        if ok or not services:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            click.echo(f"logs kept in {workdir}", err=True)
    click.echo("stopped")


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _topics(bootstrap: str) -> list[str]:
    from confluent_kafka import KafkaException

    try:
        return ensure_topics(bootstrap, TopicPlan(), timeout=15)
    except KafkaException as e:
        raise click.ClickException(f"cannot create the topics on {bootstrap}: {e.args[0].str()}") from None
    except ValueError as e:
        raise click.ClickException(str(e)) from None


def _run(bootstrap: str, url: str, count: int, seed: int | None, stop: threading.Event) -> None:
    from kavka.demos.payments.workload import make_workload, send_until_answered

    seed = seed if seed is not None else int.from_bytes(uuid.uuid4().bytes[:4], "big")
    run = uuid.uuid4().hex[:8]
    workload = make_workload(seed, count, DEFAULT_ACCOUNTS, fraud_limit=DEFAULT_FRAUD_LIMIT, key_prefix=f"demo-{run}")
    tally = _Tally()
    watcher = threading.Thread(target=_watch, args=(bootstrap, tally, stop), name="payments-watcher", daemon=True)
    watcher.start()
    click.echo(
        f"sending {count} payments (seed {seed}); ACC-007 is hot: partition {TopicPlan().partitioner()('ACC-007')} is its own"
    )
    ids: set[str] = set()
    replayed = 0
    shown = started = time.monotonic()
    for i, request in enumerate(workload, 1):
        answer = send_until_answered(url, request, timeout=60)
        if answer.status != 202:
            raise click.ClickException(f"payment {request.key}: the API answered {answer.status} {answer.body}")
        ids.add(answer.body["paymentId"])
        replayed += answer.replayed
        if time.monotonic() - shown >= 1.0:
            click.echo(_summary(i, count, ids, replayed, tally))
            shown = time.monotonic()
    answered = time.monotonic()
    deadline = answered + 60
    while time.monotonic() < deadline and tally.error is None:
        with tally.lock:
            if ids <= tally.outcomes.keys():
                break
        stop.wait(0.02)
    decided = time.monotonic()
    if tally.error is not None:
        raise click.ClickException(f"reading the outcomes failed: {tally.error}")
    with tally.lock:  # every payment is decided: the balances are settled (whatever compaction left half)
        tally.total = sum(tally.balances.values())
    click.echo(_summary(count, count, ids, replayed, tally))
    with tally.lock:
        if not ids <= tally.outcomes.keys():
            raise click.ClickException(f"{len(ids - tally.outcomes.keys())} payments not decided after 60 s")
        click.echo(
            f"{count} requests answered in {answered - started:.1f} s ({count / (answered - started):.0f}/s, "
            f"one at a time, one transaction per new payment); all decided {decided - answered:.2f} s after the last"
        )
        partitioner = TopicPlan().partitioner()
        for account, balance in sorted(tally.balances.items()):
            click.echo(f"  {account}  {_money(balance):>12}  partition {partitioner(account)}")
