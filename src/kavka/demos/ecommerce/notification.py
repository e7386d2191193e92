"""Notification service (group ``notif-group``): tells the user how the order ended.

The saga's terminal events become one ``OrderNotification`` {state, reason} on ``notifications``:
``OrderFulfilled`` -> COMPLETED; ``InventoryFailed`` (out of stock) and ``InventoryReleased`` (payment
failed, stock given back) -> CANCELLED. Handled event ids are read back from ``notifications`` at
start, so a redelivered event does not notify twice.
"""

from __future__ import annotations

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.service import Service, service_command


class Notification(Service):
    name = "notification"
    inputs = (ev.INVENTORY_EVENTS, ev.FULFILLMENT_EVENTS)
    output = ev.NOTIFICATIONS

    def handle(self, event: ev.Event) -> list[ev.Event]:
        if event.type == ev.ORDER_FULFILLED:
            return [event.follow(ev.ORDER_NOTIFICATION, state=ev.COMPLETED, reason="")]
        if event.type in (ev.INVENTORY_FAILED, ev.INVENTORY_RELEASED):
            return [event.follow(ev.ORDER_NOTIFICATION, state=ev.CANCELLED, reason=event.data.get("reason", ""))]
        return []


cli = service_command(Notification)


if __name__ == "__main__":
    cli()
