"""Inventory service (group ``inv-group``): reserves stock for an order, or fails it; releases the
reservation when the payment fails (the saga's compensating step).

- ``OrderPlaced`` -> ``InventoryReserved`` {items, amount, card} when every item is in stock (all or
  nothing), else ``InventoryFailed`` {reason}.
- ``PaymentFailed`` -> ``InventoryReleased`` {items, reason} for the reservation it made.

State, all in Kafka: the initial stock per SKU (compacted ``inventory-catalog``) and this service's
own ``inventory-events``; the stock level of a SKU is its initial stock minus what reservations took
plus what releases gave back, a sum, so it does not depend on the order the partitions are replayed
in. After each batch the levels that changed are published to the compacted ``inventory-stock`` (a
view for others; on start every level is published again, which repairs a view a kill left stale).

One instance owns all the stock (orders are keyed by user, not SKU): run one inventory process.
"""

from __future__ import annotations

import json

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.service import Service, read_log, service_command


class Inventory(Service):
    name = "inventory"
    inputs = (ev.ORDER_EVENTS, ev.PAYMENT_EVENTS)
    output = ev.INVENTORY_EVENTS

    def __init__(self, bootstrap: str, crash_after: int | None = None) -> None:
        super().__init__(bootstrap, crash_after)
        self.level: dict[str, int] = {}
        self.reservations: dict[str, list[dict[str, object]]] = {}  # orderId -> items reserved
        self.released: set[str] = set()
        self.changed: set[str] = set()
        for msg in read_log(bootstrap, [ev.CATALOG]):
            key, value = msg.key(), msg.value()
            if key is not None and value is not None:
                self.level[key.decode()] = int(json.loads(value)["initial"])

    def restore(self, event: ev.Event) -> None:
        if event.type == ev.INVENTORY_RESERVED:
            self._take(event.order_id, event.data["items"])
        elif event.type == ev.INVENTORY_RELEASED:
            self._give_back(event.order_id)

    def start(self) -> None:
        self.changed = set(self.level)
        self.after_batch()

    def handle(self, event: ev.Event) -> list[ev.Event]:
        if event.type == ev.ORDER_PLACED:
            return [self._reserve(event)]
        if event.type == ev.PAYMENT_FAILED:
            if event.order_id not in self.reservations or event.order_id in self.released:
                return []  # nothing reserved, or released already
            items = self.reservations[event.order_id]
            self._give_back(event.order_id)
            reason = f"payment failed: {event.data.get('reason', '')}"
            return [event.follow(ev.INVENTORY_RELEASED, items=items, reason=reason)]
        return []

    def _reserve(self, order: ev.Event) -> ev.Event:
        items = order.data.get("items") or []
        wanted: dict[str, int] = {}
        for item in items:
            wanted[item["sku"]] = wanted.get(item["sku"], 0) + int(item["qty"])
        for sku, qty in sorted(wanted.items()):
            if sku not in self.level:
                return order.follow(ev.INVENTORY_FAILED, reason=f"unknown SKU {sku}")
            if self.level[sku] < qty:
                return order.follow(ev.INVENTORY_FAILED, reason=f"out of stock: {sku}")
        self._take(order.order_id, items)
        return order.follow(
            ev.INVENTORY_RESERVED, items=items, amount=order.data.get("amount", 0), card=order.data.get("card", "")
        )

    def _take(self, order_id: str, items: list[dict[str, object]]) -> None:
        self.reservations[order_id] = items
        for item in items:
            sku = str(item["sku"])
            self.level[sku] = self.level.get(sku, 0) - int(str(item["qty"]))
            self.changed.add(sku)

    def _give_back(self, order_id: str) -> None:
        self.released.add(order_id)
        for item in self.reservations.get(order_id, []):
            sku = str(item["sku"])
            self.level[sku] = self.level.get(sku, 0) + int(str(item["qty"]))
            self.changed.add(sku)

    def after_batch(self) -> None:
        for sku in sorted(self.changed):
            self.publish(ev.STOCK, sku, json.dumps({"sku": sku, "quantity": self.level[sku]}).encode())
        self.changed.clear()


cli = service_command(Inventory)


if __name__ == "__main__":
    cli()
