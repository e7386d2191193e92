"""The checker for the e-commerce saga: reads every topic back and lists what is wrong.

`read_history` collects the records of the event topics and the stock view; `check` returns one line
per violated property (empty when all hold):

- every order the gateway accepted has one ``OrderPlaced`` and ends in exactly one final state
  (one notification, COMPLETED or CANCELLED), and the state agrees with the saga's events: one
  inventory decision; a payment only after a reservation; a release exactly when the payment failed;
  a shipment exactly when it succeeded; COMPLETED exactly when shipped;
- stock is conserved: for each SKU, initial = remaining (the last ``inventory-stock`` value) + the units
  of the COMPLETED orders, and nothing is negative (so a cancelled order holds no stock);
- one user's orders sit on one partition of ``order-events`` with offsets increasing in the order the
  user placed them, and each service downstream keeps that order: on ``inventory-events`` (its
  decisions, reserved or failed), ``payment-events`` and ``fulfillment-events`` a user's events sit on
  one partition in the order the user placed the orders (``inventory-events``' releases answer
  ``payment-events`` and ``notifications`` merges two topics, so neither has an order of its own);
- every event of an order carries the order's ``correlation-id`` (the one the gateway answered with),
  and no two orders share one.

`lags` gives each consumer group's lag per input topic.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass

from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.analytics import Analytics
from kavka.demos.ecommerce.driver import Order
from kavka.demos.ecommerce.fulfillment import Fulfillment
from kavka.demos.ecommerce.inventory import Inventory
from kavka.demos.ecommerce.notification import Notification
from kavka.demos.ecommerce.payment import Payment
from kavka.demos.ecommerce.service import read_log, watermarks


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: str
    value: dict
    correlation_id: str | None


def read_history(bootstrap: str) -> tuple[list[Record], dict[str, int]]:
    """(the records of every event topic, SKU -> last stock level published by inventory)."""
    records = []
    for msg in read_log(bootstrap, list(ev.EVENT_TOPICS)):
        records.append(
            Record(
                str(msg.topic()),
                int(msg.partition() or 0),
                int(msg.offset() or 0),
                (msg.key() or b"").decode(),
                json.loads(msg.value() or b"null"),
                ev.header(msg.headers(), ev.CORRELATION_HEADER),
            )
        )
    stock = {}
    for msg in read_log(bootstrap, [ev.STOCK]):
        stock[(msg.key() or b"").decode()] = int(json.loads(msg.value() or b"{}")["quantity"])
    return records, stock


def check(records: list[Record], stock: dict[str, int], catalog: dict[str, int], orders: list[Order]) -> list[str]:
    problems: list[str] = []
    by_order: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        by_order[r.value.get("orderId", "?")].append(r)

    accepted = {o.response["orderId"]: o for o in orders}
    for order_id in by_order:
        if order_id not in accepted:
            problems.append(f"events for an order the gateway never accepted: {order_id}")

    completed_units: Counter[str] = Counter()
    correlation_owner: dict[str, str] = {}
    for order_id, order in accepted.items():
        evs = by_order.get(order_id, [])
        types = Counter(r.value["type"] for r in evs)
        states = [r.value.get("state") for r in evs if r.value["type"] == ev.ORDER_NOTIFICATION]
        where = f"order {order_id} ({order.user_id})"
        if types[ev.ORDER_PLACED] != 1:
            problems.append(f"{where}: {types[ev.ORDER_PLACED]} OrderPlaced events")
        if len(states) != 1 or states[0] not in (ev.COMPLETED, ev.CANCELLED):
            problems.append(f"{where}: final states {states}, expected exactly one")
        decided = types[ev.INVENTORY_RESERVED] + types[ev.INVENTORY_FAILED]
        if decided != 1:
            problems.append(f"{where}: {decided} inventory decisions")
        paid = types[ev.PAYMENT_PROCESSED] + types[ev.PAYMENT_FAILED]
        if paid != types[ev.INVENTORY_RESERVED]:
            problems.append(f"{where}: {paid} payment events for {types[ev.INVENTORY_RESERVED]} reservations")
        if types[ev.INVENTORY_RELEASED] != types[ev.PAYMENT_FAILED]:
            problems.append(
                f"{where}: {types[ev.INVENTORY_RELEASED]} releases for {types[ev.PAYMENT_FAILED]} failed payments"
            )
        if types[ev.ORDER_FULFILLED] != types[ev.PAYMENT_PROCESSED]:
            problems.append(
                f"{where}: {types[ev.ORDER_FULFILLED]} shipments for {types[ev.PAYMENT_PROCESSED]} payments"
            )
        shipped = types[ev.ORDER_FULFILLED] > 0
        if states and (states[0] == ev.COMPLETED) != shipped:
            problems.append(f"{where}: final state {states[0]} but {'shipped' if shipped else 'not shipped'}")
        if states and states[0] == ev.COMPLETED:
            for item in order.items:
                completed_units[item["sku"]] += item["qty"]
        expected = order.response.get("correlationId")
        for r in evs:
            if r.correlation_id is None or r.correlation_id != expected:
                problems.append(
                    f"{where}: {r.value['type']} on {r.topic} has correlation-id {r.correlation_id!r}, not {expected!r}"
                )
            if r.key != order.user_id:
                problems.append(f"{where}: {r.value['type']} on {r.topic} keyed {r.key!r}, not by its user")
        if expected in correlation_owner:
            problems.append(f"{where}: correlation-id {expected} also used by order {correlation_owner[expected]}")
        correlation_owner[expected] = order_id

    for sku, initial in sorted(catalog.items()):
        remaining = stock.get(sku, initial)
        if remaining < 0:
            problems.append(f"{sku}: negative stock {remaining}")
        if initial != remaining + completed_units[sku]:
            problems.append(
                f"{sku}: stock not conserved: initial {initial} != remaining {remaining} + completed {completed_units[sku]}"
            )

    placed = {
        r.value["orderId"]: r for r in records if r.topic == ev.ORDER_EVENTS and r.value["type"] == ev.ORDER_PLACED
    }
    by_user: dict[str, list[Order]] = defaultdict(list)
    for order in sorted(orders, key=lambda o: o.index):
        by_user[order.user_id].append(order)
    for user, user_orders in by_user.items():
        found = [placed[o.response["orderId"]] for o in user_orders if o.response["orderId"] in placed]
        if len({r.partition for r in found}) > 1:
            problems.append(f"{user}: orders on partitions {sorted({r.partition for r in found})} of {ev.ORDER_EVENTS}")
        offsets = [r.offset for r in found]
        if offsets != sorted(offsets) or len(set(offsets)) != len(offsets):
            problems.append(f"{user}: offsets {offsets} in {ev.ORDER_EVENTS} do not increase in the order placed")
    problems += downstream_order_problems(records, by_user)
    return problems


# The topics a service writes in the order of one input partition, and the event types of that order.
IN_ORDER = {
    ev.INVENTORY_EVENTS: (ev.INVENTORY_RESERVED, ev.INVENTORY_FAILED),
    ev.PAYMENT_EVENTS: (ev.PAYMENT_PROCESSED, ev.PAYMENT_FAILED),
    ev.FULFILLMENT_EVENTS: (ev.ORDER_FULFILLED,),
}


def downstream_order_problems(records: list[Record], by_user: dict[str, list[Order]]) -> list[str]:
    """Each user's events on the topics of ``IN_ORDER``: one partition, in the order the user placed
    the orders (an order decided twice is reported by `check` already; its first event counts here)."""
    problems = []
    for topic, types in IN_ORDER.items():
        seen: dict[str, list[Record]] = defaultdict(list)
        for r in sorted(records, key=lambda r: (r.topic, r.partition, r.offset)):
            if r.topic == topic and r.value["type"] in types:
                seen[r.key].append(r)
        for user, user_orders in by_user.items():
            placed_order = [o.response["orderId"] for o in user_orders]
            found = seen.get(user, [])
            if len({r.partition for r in found}) > 1:
                problems.append(f"{user}: events on partitions {sorted({r.partition for r in found})} of {topic}")
                continue
            in_log = list(dict.fromkeys(r.value["orderId"] for r in found))
            expected = [o for o in placed_order if o in set(in_log)]
            if in_log != expected:
                problems.append(f"{user}: orders {in_log} on {topic}, not in the order placed {expected}")
    return problems


def final_counts(records: list[Record]) -> Counter[str]:
    return Counter(r.value["state"] for r in records if r.value.get("type") == ev.ORDER_NOTIFICATION)


def lags(bootstrap: str) -> dict[str, int]:
    """Group -> total lag (high watermark - committed offset, a partition with no commit counting
    from its log start) over its service's input topics."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    probe = Consumer({"bootstrap.servers": bootstrap, "group.id": "kavka-demo-lag-probe"})
    try:
        metadata = admin.list_topics(timeout=10)
        result = {}
        for service in (Inventory, Payment, Fulfillment, Notification, Analytics):
            group = ev.GROUPS[service.name]
            partitions = [TopicPartition(t, p) for t in service.inputs for p in metadata.topics[t].partitions]
            answer = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group, partitions)])
            committed = {(tp.topic, tp.partition): tp.offset for tp in answer[group].result(10).topic_partitions}
            total = 0
            for tp in partitions:
                low, high = watermarks(probe, tp)
                offset = committed.get((tp.topic, tp.partition), -1)
                total += high - (offset if offset >= 0 else low)
            result[group] = total
        return result
    finally:
        probe.close()
