"""faststream's Kafka broker (aiokafka underneath) against Kavka.

A small order-pricing service as a faststream user writes it: a subscriber in a consumer group reads
JSON orders (validated into a pydantic model), drops the cancelled ones, prices the rest and publishes
an invoice keyed by customer; a second subscriber (another group) collects the invoices. It runs
through faststream's own test client against the real broker (``TestKafkaBroker(..., with_real=True)``),
so every message crosses Kavka. Skipped when faststream is not installed (the ``frameworks`` extra).
"""

from __future__ import annotations

import asyncio
import json
import threading
import uuid

import pytest

pytest.importorskip("faststream.kafka")
pytest.importorskip("pydantic")

from confluent_kafka import Consumer, TopicPartition  # noqa: E402
from faststream.kafka import KafkaBroker, KafkaMessage, TestKafkaBroker  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from kavka.testing.process import wait_until  # noqa: E402


class Order(BaseModel):
    order_id: int
    customer: str
    qty: int
    unit_price: float
    status: str = "new"


class Invoice(BaseModel):
    order_id: int
    customer: str
    total: float


ORDERS = [
    Order(order_id=1, customer="ada", qty=2, unit_price=10.0),
    Order(order_id=2, customer="bob", qty=1, unit_price=99.5, status="cancelled"),
    Order(order_id=3, customer="ada", qty=3, unit_price=1.5),
    Order(order_id=4, customer="cy", qty=10, unit_price=0.25),
]
EXPECTED = {1: ("ada", 20.0), 3: ("ada", 4.5), 4: ("cy", 2.5)}


def _run_bounded(coro, timeout: float) -> None:  # noqa: ANN001
    """``asyncio.run(coro)`` in a daemon thread, failing the test after ``timeout`` seconds.

    aiokafka retries without end when the broker goes away (as against Kafka), and faststream's shutdown
    waits for it, so a broker crash would otherwise hang the test rather than fail it.
    """
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            asyncio.run(coro)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            outcome.append(exc)
        else:
            outcome.append(None)

    t = threading.Thread(target=run, name="faststream-app", daemon=True)
    t.start()
    t.join(timeout)
    if not outcome:
        pytest.fail(f"the faststream app did not finish within {timeout:.0f} s")
    if outcome[0] is not None:
        raise outcome[0]


def _committed(bootstrap: str, group: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        return c.committed([TopicPartition(topic, 0)], timeout=10)[0].offset
    finally:
        c.close()


def test_faststream_subscriber_publisher_pipeline(bootstrap, create_topic):
    orders_topic = create_topic()
    invoices_topic = create_topic()
    pricing_group = f"pricing-{uuid.uuid4().hex[:8]}"

    broker = KafkaBroker(bootstrap, client_id="faststream-kavka-test")
    invoices: list[tuple[bytes | None, Invoice]] = []
    got_all = asyncio.Event()

    invoices_out = broker.publisher(invoices_topic)

    @broker.subscriber(orders_topic, group_id=pricing_group, auto_offset_reset="earliest")
    async def price(order: Order, msg: KafkaMessage) -> None:
        if order.status == "cancelled":
            return
        invoice = Invoice(order_id=order.order_id, customer=order.customer, total=order.qty * order.unit_price)
        await invoices_out.publish(invoice, key=msg.raw_message.key)

    @broker.subscriber(invoices_topic, group_id=f"billing-{uuid.uuid4().hex[:8]}", auto_offset_reset="earliest")
    async def collect(invoice: Invoice, msg: KafkaMessage) -> None:
        invoices.append((msg.raw_message.key, invoice))
        if len(invoices) >= len(EXPECTED):
            got_all.set()

    async def scenario() -> None:
        async with TestKafkaBroker(broker, with_real=True) as br:
            for order in ORDERS:
                await br.publish(order, orders_topic, key=order.customer.encode())
            await asyncio.wait_for(got_all.wait(), timeout=30)

    _run_bounded(scenario(), 60)

    assert {inv.order_id: (inv.customer, inv.total) for _, inv in invoices} == EXPECTED
    assert len(invoices) == len(EXPECTED)
    # Invoices keep the order's key (the customer), so one customer's invoices stay in one partition.
    assert all(key == inv.customer.encode() for key, inv in invoices)
    # The pricing group committed past every order (aiokafka auto-commit on close).
    assert wait_until(
        lambda: _committed(bootstrap, pricing_group, orders_topic) == len(ORDERS),
        15,
        message="pricing group's committed offset",
    )

    # The invoices on the wire are plain JSON any Kafka consumer can read.
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        c.assign([TopicPartition(invoices_topic, 0, 0)])
        seen = []
        wait_until(
            lambda: seen.extend(m.value() for m in c.consume(10, 0.5) if not m.error()) or len(seen) >= 3,
            15,
            message="invoices via confluent-kafka",
        )
        assert sorted(json.loads(v)["order_id"] for v in seen) == [1, 3, 4]
    finally:
        c.close()
