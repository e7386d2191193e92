"""Payment service (group ``pay-group``): charges an order once its stock is reserved.

``InventoryReserved`` -> ``PaymentProcessed`` {amount}, or ``PaymentFailed`` {reason} when the card is
declined (`events.DECLINED_CARD`, the failure the order driver injects by seed). The decision depends
on the event alone, so a redelivered event would be decided the same way; the handled event ids are
read back from ``payment-events`` at start, so it is not charged twice either.
"""

from __future__ import annotations

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.service import Service, service_command


class Payment(Service):
    name = "payment"
    inputs = (ev.INVENTORY_EVENTS,)
    output = ev.PAYMENT_EVENTS

    def handle(self, event: ev.Event) -> list[ev.Event]:
        if event.type != ev.INVENTORY_RESERVED:
            return []
        if event.data.get("card") == ev.DECLINED_CARD:
            return [event.follow(ev.PAYMENT_FAILED, reason="card declined")]
        return [event.follow(ev.PAYMENT_PROCESSED, amount=event.data.get("amount", 0))]


cli = service_command(Payment)


if __name__ == "__main__":
    cli()
