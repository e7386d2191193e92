"""Creating the demo's topics and its catalog (the initial stock, from a seed)."""

from __future__ import annotations

import json
import random
import time

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.service import read_log

SOLD_OUT = "SKU-SOLDOUT"  # in the catalog with no stock: ordering it injects an out-of-stock failure


def ensure_topics(bootstrap: str, partitions: int = 3, timeout: float = 30.0) -> None:
    """Create the event topics (``partitions`` each, as the guide's P0..P2) and the compacted ones,
    unless they exist; wait until every partition has a leader."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    wanted = [NewTopic(t, partitions, 1) for t in ev.EVENT_TOPICS]
    wanted += [NewTopic(t, 1, 1, config={"cleanup.policy": "compact"}) for t in ev.COMPACTED_TOPICS]
    existing = admin.list_topics(timeout=timeout).topics
    missing = [t for t in wanted if t.topic not in existing]
    if missing:
        for topic, future in admin.create_topics(missing, request_timeout=timeout).items():
            try:
                future.result(timeout=timeout)
            except KafkaException as e:
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise RuntimeError(f"cannot create topic {topic}: {e.args[0].str()}") from None
    deadline = time.monotonic() + timeout
    names = [t.topic for t in wanted]
    while True:
        topics = admin.list_topics(timeout=timeout).topics
        if all(
            n in topics and topics[n].error is None and all(p.leader >= 0 for p in topics[n].partitions.values())
            for n in names
        ):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"topics {', '.join(names)} have no leaders after {timeout:.0f} s")
        time.sleep(0.05)


def make_catalog(seed: int, orders: int = 1000, skus: int = 12) -> dict[str, int]:
    """SKU -> initial stock, from ``seed``, plus `SOLD_OUT` with none. Each SKU gets between 0.5 and 1.5
    times what ``orders`` orders of `driver.make_orders` ask of it on average (2 items of 2 units), so
    some SKUs run out during the run and their later orders fail: out of stock without injection."""
    rng = random.Random(f"catalog-{seed}")
    demand = max(1, orders * 4 // skus)
    catalog = {f"SKU-{i:03d}": int(demand * rng.uniform(0.5, 1.5)) for i in range(skus)}
    catalog[SOLD_OUT] = 0
    return catalog


def seed_catalog(bootstrap: str, catalog: dict[str, int]) -> dict[str, int]:
    """Publish ``catalog`` to ``inventory-catalog`` unless it already holds one (a rerun against the same
    broker keeps the stock the earlier run started with); return the catalog in effect."""
    current = read_catalog(bootstrap)
    if current:
        return current
    producer = Producer(ev.producer_config(bootstrap, "catalog-loader"))
    for sku, initial in catalog.items():
        producer.produce(ev.CATALOG, key=sku.encode(), value=json.dumps({"sku": sku, "initial": initial}).encode())
    if producer.flush(30):
        raise RuntimeError("the catalog was not acknowledged within 30 s")
    return dict(catalog)


def read_catalog(bootstrap: str) -> dict[str, int]:
    catalog: dict[str, int] = {}
    for msg in read_log(bootstrap, [ev.CATALOG]):
        key, value = msg.key(), msg.value()
        if key is not None and value is not None:
            catalog[key.decode()] = int(json.loads(value)["initial"])
    return catalog
