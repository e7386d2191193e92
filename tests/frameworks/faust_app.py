"""A small faust-streaming app, run as a worker by ``test_faust_app.py`` (``python faust_app.py worker``).

Orders keyed by customer come in on ``FAUST_ORDERS``; the agent adds each amount to a per-customer
running total in a Table (backed by faust's compacted changelog topic) and sends the new total to
``FAUST_TOTALS``. Configuration comes from the environment so the test can point it at its broker.
"""

from __future__ import annotations

import os

import faust

APP_ID = os.environ["FAUST_APP_ID"]
BOOTSTRAP = os.environ["FAUST_BOOTSTRAP"]

app = faust.App(
    APP_ID,
    broker=f"kafka://{BOOTSTRAP}",
    store="memory://",
    topic_partitions=1,
    topic_replication_factor=1,
    web_enabled=False,
    processing_guarantee=os.environ.get("FAUST_GUARANTEE", "at_least_once"),
    consumer_auto_offset_reset="earliest",
    broker_commit_every=1,
)


class Order(faust.Record, serializer="json"):
    customer: str
    amount: float


orders = app.topic(os.environ["FAUST_ORDERS"], key_type=str, value_type=Order)
totals_topic = app.topic(os.environ["FAUST_TOTALS"], key_type=str, value_serializer="json")
totals = app.Table("totals", default=float, partitions=1)


@app.agent(orders)
async def add_up(stream):
    async for customer, order in stream.items():
        if order.amount <= 0:
            continue
        totals[customer] += order.amount
        await totals_topic.send(key=customer, value={"customer": customer, "total": totals[customer]})


if __name__ == "__main__":
    app.main()
