"""Fulfillment service (group ``ful-group``): ships a paid order.

``PaymentProcessed`` -> ``OrderFulfilled`` {shipmentId}. Handled event ids are read back from
``fulfillment-events`` at start, so a redelivered payment does not ship twice.
"""

from __future__ import annotations

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.service import Service, service_command


class Fulfillment(Service):
    name = "fulfillment"
    inputs = (ev.PAYMENT_EVENTS,)
    output = ev.FULFILLMENT_EVENTS

    def handle(self, event: ev.Event) -> list[ev.Event]:
        if event.type != ev.PAYMENT_PROCESSED:
            return []
        return [event.follow(ev.ORDER_FULFILLED, shipmentId=f"ship-{event.order_id[:8]}")]


cli = service_command(Fulfillment)


if __name__ == "__main__":
    cli()
