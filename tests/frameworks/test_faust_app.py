"""faust-streaming (aiokafka underneath) against Kavka.

``faust_app.py`` beside this file is a faust app as its users write it: an agent over a topic of orders,
a Table of running totals per customer (faust creates its compacted changelog topic), and an output
topic with each new total. The test runs it as a real worker (``python faust_app.py worker``, the
faust CLI) in a subprocess, waits for the totals, stops it with SIGTERM as an operator would, then
starts a second worker that must rebuild the Table from the changelog before it adds new orders.
Skipped when faust-streaming is not installed (the ``frameworks`` extra).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytest.importorskip("faust")

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402

from kavka.testing.process import wait_until  # noqa: E402

APP = Path(__file__).with_name("faust_app.py")


def _produce(bootstrap: str, topic: str, orders: list[tuple[str, float]]) -> None:
    p = Producer({"bootstrap.servers": bootstrap})
    for customer, amount in orders:
        p.produce(topic, key=customer.encode(), value=json.dumps({"customer": customer, "amount": amount}).encode())
    assert p.flush(15) == 0


class _Reader:
    """A plain consumer on partition 0 of a topic, accumulating (key, value) as it goes."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.records: list[tuple[bytes, bytes]] = []
        self._c = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"check-{uuid.uuid4().hex[:6]}",
                "auto.offset.reset": "earliest",
                "enable.auto.commit": False,
                "isolation.level": "read_committed",
            }
        )
        self._c.assign([TopicPartition(topic, 0, 0)])

    def poll(self) -> list[tuple[bytes, bytes]]:
        self.records.extend((m.key(), m.value()) for m in self._c.consume(100, 0.2) if not m.error())
        return self.records

    def close(self) -> None:
        self._c.close()


class _Worker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.log = log
        self._out = open(log, "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(APP),
                "worker",
                "--loglevel",
                os.environ.get("KAVKA_FAUST_LOGLEVEL", "info"),
                "--without-web",
            ],
            env=env,
            stdout=self._out,
            stderr=subprocess.STDOUT,
            cwd=log.parent,
        )

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> int:
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._out.close()
        return self.proc.returncode

    def tail(self, n: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


def _end_offset(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"wm-{uuid.uuid4().hex[:6]}"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def _totals(records: list[tuple[bytes, bytes]]) -> list[tuple[str, float]]:
    return [(json.loads(v)["customer"], json.loads(v)["total"]) for _, v in records]


def test_faust_agent_table_changelog(bootstrap, create_topic, tmp_path):
    orders = create_topic()
    totals = create_topic()
    app_id = f"faust-orders-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "FAUST_APP_ID": app_id,
        "FAUST_BOOTSTRAP": bootstrap,
        "FAUST_ORDERS": orders,
        "FAUST_TOTALS": totals,
        "PYTHONUNBUFFERED": "1",
    }
    _produce(bootstrap, orders, [("ada", 10.0), ("bob", 5.0), ("ada", -1.0), ("ada", 2.5)])

    reader = _Reader(bootstrap, totals)
    worker = _Worker(env, tmp_path / "worker1.log")
    try:
        wait_until(
            lambda: not worker.alive() or len(reader.poll()) >= 3,
            45,
            message=lambda: f"3 totals from the faust worker\n{worker.tail()}",
        )
        assert worker.alive(), worker.tail()
        assert _totals(reader.records) == [("ada", 10.0), ("bob", 5.0), ("ada", 12.5)]
        assert [k for k, _ in reader.records] == [b"ada", b"bob", b"ada"]
    finally:
        rc = worker.stop()
    assert rc == 0, worker.tail()

    changelog = f"{app_id}-totals-changelog"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    res = ConfigResource(ConfigResource.Type.TOPIC, changelog)
    cfg = admin.describe_configs([res])[res].result(15)
    assert cfg["cleanup.policy"].value == "compact"
    log = _Reader(bootstrap, changelog)
    try:
        wait_until(
            lambda: {k: json.loads(v) for k, v in log.poll()} == {b'"ada"': 12.5, b'"bob"': 5.0},
            15,
            message=lambda: f"changelog contents {log.records}",
        )
    finally:
        log.close()

    # A new worker (the memory store starts empty) restores the Table from the changelog, then goes on.
    # The new orders go in once it is ready: records that arrive while faust is still recovering can be
    # processed twice (faust's own at-least-once start-up race, whatever the broker).
    worker2 = _Worker(env, tmp_path / "worker2.log")
    try:
        wait_until(
            lambda: not worker2.alive() or "Worker ready" in worker2.log.read_text(errors="replace"),
            45,
            message=lambda: f"the second worker to recover\n{worker2.tail()}",
        )
        assert worker2.alive(), worker2.tail()
        _produce(bootstrap, orders, [("bob", 1.0), ("ada", 0.5)])
        wait_until(
            lambda: not worker2.alive() or len(reader.poll()) >= 5,
            45,
            message=lambda: f"2 more totals from the second worker\n{worker2.tail()}",
        )
        assert worker2.alive(), worker2.tail()
        assert _totals(reader.records[3:]) == [("bob", 6.0), ("ada", 13.0)]
    finally:
        rc2 = worker2.stop()
    assert rc2 == 0, worker2.tail()
    # Nothing more: the second worker resumed from the committed offsets (no totals recomputed twice).
    try:
        end = _end_offset(bootstrap, totals)
        wait_until(lambda: len(reader.poll()) >= end, 15, message="the totals topic read to its end")
        assert len(reader.records) == 5
    finally:
        reader.close()
