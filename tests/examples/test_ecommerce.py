"""The guide's e-commerce saga (examples/ecommerce): real service processes against a Kavka broker,
with injected failures and a service killed -9 and restarted mid-run; then the checker's properties
(tests/examples/ecommerce_check.py) over every topic, and each group's lag back to zero."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
from confluent_kafka import Producer

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce import launcher, setup
from kavka.demos.ecommerce.analytics import last_counts
from kavka.demos.ecommerce.driver import make_orders, post_orders
from kavka.demos.ecommerce.service import read_log
from kavka.testing.process import wait_until
from tests.examples import ecommerce_check as checker

SEED = 16
ORDERS = 3000


def analytics_summary(deployment: launcher.Deployment) -> dict:
    return last_counts(deployment["analytics"].output())


@pytest.fixture(params=["kavka", "kafka"])
def saga_broker(request: pytest.FixtureRequest, broker_factory) -> str:
    """A broker of its own for Kavka; for Apache Kafka, the session's node (the topics are the guide's
    fixed names, so the Kafka run is the only user of them there)."""
    if request.param == "kafka":
        return request.getfixturevalue("apache_kafka").bootstrap
    return broker_factory(overrides={"num.partitions": "3", "group.initial.rebalance.delay.ms": "0"}).bootstrap


def test_saga_survives_killed_services_with_every_order_final_and_stock_conserved(saga_broker, tmp_path):
    bootstrap = saga_broker
    setup.ensure_topics(bootstrap)
    catalog = setup.seed_catalog(bootstrap, setup.make_catalog(SEED, ORDERS))
    # inventory kills itself (-9) after publishing a third of its events, between acknowledged outputs
    # and the offset commit: the restarted one gets that batch again and must not reserve twice
    crash = ["--crash-after-events", str(ORDERS // 3)]
    deployment = launcher.Deployment(bootstrap, tmp_path / "run", extra_args={"inventory": crash})
    orders = make_orders(SEED, ORDERS, catalog)
    placed = 0
    lock = threading.Lock()
    failure: list[BaseException] = []

    def count(_order) -> None:
        nonlocal placed
        with lock:
            placed += 1

    def drive() -> None:
        try:
            asyncio.run(post_orders(deployment.gateway_url, orders, on_placed=count))
        except BaseException as e:  # reported by the test thread below
            failure.append(e)

    try:
        deployment.start()
        driver = threading.Thread(target=drive, name="order-driver")
        driver.start()
        inventory, payment = deployment["inventory"], deployment["payment"]
        # payment is killed -9 from outside while orders flow, and restarted after more have piled up
        wait_until(lambda: placed >= ORDERS // 4 or failure, 60, message="a quarter of the orders placed")
        payment.kill()
        wait_until(
            lambda: not inventory.is_running(), 60, message=lambda: f"inventory to crash:\n{inventory.log_tail()}"
        )
        assert "crashing after" in inventory.output()
        inventory.args = inventory.args[: -len(crash)]
        inventory.start()
        wait_until(lambda: placed >= ORDERS // 2 or failure, 60, message="half of the orders placed")
        payment.start()
        driver.join(90)
        assert not driver.is_alive() and not failure, failure
        wait_until(
            lambda: analytics_summary(deployment).get("orders") == ORDERS or deployment.dead(),
            60,
            message=lambda: f"analytics to count {ORDERS} final orders (last: {analytics_summary(deployment)})",
        )
        assert not deployment.dead(), [f"{p.name}: {p.log_tail()}" for p in deployment.dead()]
        wait_until(
            lambda: not any(checker.lags(bootstrap).values()),
            30,
            message=lambda: f"every group's lag to return to zero ({checker.lags(bootstrap)})",
        )
        records, stock = checker.read_history(bootstrap)
        assert checker.check(records, stock, catalog, orders) == []
        # the restarted inventory was handed events it had handled before its crash, and skipped them
        assert "redelivered events already handled, skipped" in inventory.output()
        counts = checker.final_counts(records)
        summary = analytics_summary(deployment)
        assert (summary[ev.COMPLETED], summary[ev.CANCELLED]) == (counts[ev.COMPLETED], counts[ev.CANCELLED])
        # the injected failures happened, and both kinds of cancellation
        assert counts[ev.COMPLETED] > ORDERS // 4 and set(summary["cancelled_by"]) == {"out of stock", "payment failed"}
    finally:
        deployment.stop()


# Starts a command with SIGINT ignored, as a non-interactive shell starts a background job (`cmd &` in a
# script, or a CI runner's): the ignored disposition survives exec.
SIGINT_IGNORED = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"
)


def test_kavka_demo_ecommerce_starts_a_broker_shows_its_console_and_stops_on_ctrl_c(tmp_path):
    """Also where it was started with SIGINT ignored: the demo takes Ctrl-C all the same (it stopped
    nothing, and the test timed out, when the suite itself ran as a background job)."""
    run_dir = tmp_path / "demo"
    out = tmp_path / "demo.out"
    with open(out, "wb") as f:
        demo = subprocess.Popen(
            [
                sys.executable,
                "-c",
                SIGINT_IGNORED,
                sys.executable,
                "-m",
                "kavka",
                "demo",
                "ecommerce",
                "--orders",
                "60",
                "--rate",
                "0",
                "--run-dir",
                str(run_dir),
            ],
            stdout=f,
            stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,  # a process group of its own, as in a terminal
        )
    try:
        text = wait_until(
            lambda: demo.poll() is not None or ("press Ctrl-C" in out.read_text() and out.read_text()),
            90,
            message=lambda: f"the demo to place its orders:\n{out.read_text()}",
        )
        assert demo.poll() is None, text
        assert "All 60 orders are final" in text
        console = re.search(r"Watch it in the console: (http://\S+)/topics", text).group(1)

        def group(name: str) -> dict:
            with urllib.request.urlopen(f"{console}/api/groups/{name}", timeout=10) as resp:
                return json.load(resp)

        # the console the demo points at shows each service's group, its member and its lag
        for service, name in ev.GROUPS.items():
            wait_until(lambda: group(name)["total_lag"] == 0, 30, message=lambda: f"{name} lag 0: {group(name)}")
            assert [m["client_id"] for m in group(name)["members"]] == [f"{service}-service"]
        # a bad request gets a 400 with the reason; a record that is not an event goes to the dead letters
        gateway = re.search(r"POST orders to (http://\S+)", text).group(1)
        bad = urllib.request.Request(gateway, data=b'{"userId": "u1", "items": []}', method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(bad, timeout=10)
        assert refused.value.code == 400
        assert json.load(refused.value) == {"error": "items must be a non-empty list"}
        bootstrap = re.search(r"Started kavka serve on (\S+) ", text).group(1)
        producer = Producer({"bootstrap.servers": bootstrap})
        producer.produce(ev.ORDER_EVENTS, key=b"u1", value=b"not an event")
        assert producer.flush(10) == 0
        del producer  # closed now, not after the broker has gone
        dead = wait_until(lambda: list(read_log(bootstrap, [f"{ev.ORDER_EVENTS}.DLT"])), 30, message="a dead letter")
        assert [m.value() for m in dead] == [b"not an event"]
        assert ev.header(dead[0].headers(), "dlt-original-topic") == ev.ORDER_EVENTS
        # Ctrl-C in a terminal: SIGINT to the whole process group
        os.killpg(demo.pid, signal.SIGINT)
        assert demo.wait(30) == 0, out.read_text()
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert "Stopped." in out.read_text()
    for name in launcher.SERVICES:  # each service shut down cleanly, and so did the broker
        assert f"{name}: stopped" in (run_dir / f"{name}.log").read_text()
    assert "gateway: stopped" in (run_dir / "gateway.log").read_text()
    assert "Kavka shutting down" in (run_dir / "broker.log").read_text()


def test_kavka_demo_ecommerce_uses_a_running_broker_and_leaves_it_running(broker_factory, tmp_path):
    """``-b``: the demo's services run on a broker the user already has; run twice there, each run
    reports its own orders (the second counts from where the first left the analytics), and the broker
    is still serving after both (the demo stops only what it started)."""
    broker = broker_factory(overrides={"group.initial.rebalance.delay.ms": "0"})
    for run in (1, 2):
        run_dir = tmp_path / f"run-{run}"
        done = subprocess.run(
            [sys.executable, "-m", "kavka", "demo", "ecommerce", "-b", broker.bootstrap, "--orders", "40"]
            + ["--rate", "0", "--seed", str(run), "--exit-when-done", "--run-dir", str(run_dir)],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"Using the broker at {broker.bootstrap}" in done.stdout
        assert "Started kavka serve" not in done.stdout
        final = re.search(r"All 40 orders are final: (\d+) completed, (\d+) cancelled\.", done.stdout)
        assert final is not None and int(final.group(1)) + int(final.group(2)) == 40, done.stdout
        assert f"kavka groups describe inv-group -b {broker.bootstrap}" in done.stdout
        for name in launcher.SERVICES:
            assert f"{name}: stopped" in (run_dir / f"{name}.log").read_text()
    assert broker.is_running()
    placed = [m for m in read_log(broker.bootstrap, [ev.ORDER_EVENTS]) if m.value() and b"OrderPlaced" in m.value()]
    assert len(placed) == 80
