"""The saga checker fails on the histories it is meant to catch (no broker: records made by hand)."""

from __future__ import annotations

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.driver import Order
from tests.examples.ecommerce_check import Record, check

CATALOG = {"SKU-A": 10, "SKU-B": 5}


def order(index: int, user: str, *, declined: bool = False) -> Order:
    o = Order(index, user, [{"sku": "SKU-A", "qty": 2}], 100, ev.DECLINED_CARD if declined else ev.GOOD_CARD)
    o.response = {"orderId": f"o{index}", "correlationId": f"c{index}"}
    return o


class History:
    """Records as the services would write them, with offsets per topic partition."""

    def __init__(self) -> None:
        self.records: list[Record] = []

    def add(self, topic: str, o: Order, type: str, partition: int = 0, correlation: str | None = "", **data) -> None:
        offset = sum(1 for r in self.records if (r.topic, r.partition) == (topic, partition))
        value = {"type": type, "orderId": o.response["orderId"], **data}
        corr = o.response["correlationId"] if correlation == "" else correlation
        self.records.append(Record(topic, partition, offset, o.user_id, value, corr))

    def completed(self, o: Order) -> None:
        self.add(ev.ORDER_EVENTS, o, ev.ORDER_PLACED)
        self.add(ev.INVENTORY_EVENTS, o, ev.INVENTORY_RESERVED)
        self.add(ev.PAYMENT_EVENTS, o, ev.PAYMENT_PROCESSED)
        self.add(ev.FULFILLMENT_EVENTS, o, ev.ORDER_FULFILLED)
        self.add(ev.NOTIFICATIONS, o, ev.ORDER_NOTIFICATION, state=ev.COMPLETED)

    def declined(self, o: Order) -> None:
        self.add(ev.ORDER_EVENTS, o, ev.ORDER_PLACED)
        self.add(ev.INVENTORY_EVENTS, o, ev.INVENTORY_RESERVED)
        self.add(ev.PAYMENT_EVENTS, o, ev.PAYMENT_FAILED)
        self.add(ev.INVENTORY_EVENTS, o, ev.INVENTORY_RELEASED)
        self.add(ev.NOTIFICATIONS, o, ev.ORDER_NOTIFICATION, state=ev.CANCELLED)


def good() -> tuple[History, list[Order], dict[str, int]]:
    h = History()
    orders = [order(0, "u1"), order(1, "u1", declined=True), order(2, "u2")]
    h.completed(orders[0])
    h.declined(orders[1])
    h.completed(orders[2])
    return h, orders, {"SKU-A": 6, "SKU-B": 5}  # two completed orders took 2 units each


def test_a_correct_history_passes():
    h, orders, stock = good()
    assert check(h.records, stock, CATALOG, orders) == []


def test_a_double_reservation_breaks_conservation_and_is_reported():
    h, orders, stock = good()
    h.add(ev.INVENTORY_EVENTS, orders[0], ev.INVENTORY_RESERVED)
    problems = check(h.records, {**stock, "SKU-A": 4}, CATALOG, orders)
    assert any("2 inventory decisions" in p for p in problems)
    assert any("SKU-A: stock not conserved" in p for p in problems)


def test_a_cancelled_order_keeping_its_stock_is_reported():
    h, orders, stock = good()
    h.records = [r for r in h.records if r.value["type"] != ev.INVENTORY_RELEASED]
    problems = check(h.records, {**stock, "SKU-A": 4}, CATALOG, orders)
    assert any("0 releases for 1 failed payments" in p for p in problems)
    assert any("SKU-A: stock not conserved: initial 10 != remaining 4 + completed 4" in p for p in problems)


def test_two_final_states_or_none_are_reported():
    h, orders, stock = good()
    h.add(ev.NOTIFICATIONS, orders[0], ev.ORDER_NOTIFICATION, state=ev.CANCELLED)
    h.records = [r for r in h.records if not (r.topic == ev.NOTIFICATIONS and r.value["orderId"] == "o2")]
    problems = check(h.records, stock, CATALOG, orders)
    assert any("order o0" in p and "final states ['COMPLETED', 'CANCELLED']" in p for p in problems)
    assert any("order o2" in p and "final states []" in p for p in problems)


def test_a_missing_or_foreign_correlation_id_is_reported():
    h, orders, stock = good()
    h.add(ev.ORDER_EVENTS, orders[2], "Audit", correlation=None)
    h.add(ev.ORDER_EVENTS, orders[2], "Audit", correlation="c0")
    problems = check(h.records, stock, CATALOG, orders)
    assert sum("order o2" in p and "has correlation-id" in p for p in problems) == 2


def test_a_user_whose_orders_are_out_of_order_or_split_is_reported():
    h = History()
    orders = [order(0, "u1"), order(1, "u1"), order(2, "u1")]
    for o in (orders[1], orders[0]):  # placed 0 then 1, but 1 is first in the log
        h.completed(o)
    h.add(ev.ORDER_EVENTS, orders[2], ev.ORDER_PLACED, partition=1)
    problems = check(h.records, {"SKU-A": 6, "SKU-B": 5}, CATALOG, orders)
    assert any("u1: orders on partitions [0, 1]" in p for p in problems)
    assert any("u1: offsets [1, 0, 0] in order-events do not increase" in p for p in problems)


def test_a_service_that_reorders_a_users_events_is_reported():
    h = History()
    orders = [order(0, "u1"), order(1, "u1"), order(2, "u2")]
    for o in orders:
        h.add(ev.ORDER_EVENTS, o, ev.ORDER_PLACED)
    for o in orders:
        h.add(ev.INVENTORY_EVENTS, o, ev.INVENTORY_RESERVED)
    for o in (orders[1], orders[0], orders[2]):  # payment decided u1's second order before its first
        h.add(ev.PAYMENT_EVENTS, o, ev.PAYMENT_PROCESSED)
    for o in orders:
        h.add(ev.FULFILLMENT_EVENTS, o, ev.ORDER_FULFILLED, partition=1 if o is orders[1] else 0)
        h.add(ev.NOTIFICATIONS, o, ev.ORDER_NOTIFICATION, state=ev.COMPLETED)
    problems = check(h.records, {"SKU-A": 4, "SKU-B": 5}, CATALOG, orders)
    assert problems == [
        "u1: orders ['o1', 'o0'] on payment-events, not in the order placed ['o0', 'o1']",
        "u1: events on partitions [0, 1] of fulfillment-events",
    ]
