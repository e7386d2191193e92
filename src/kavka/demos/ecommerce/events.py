"""Topics, events and client settings shared by the e-commerce services.

An event is a JSON object, the record's value::

    {"eventId": "<uuid>", "type": "OrderPlaced", "orderId": "<uuid>", "userId": "user-7",
     "causationId": "<eventId of the event that caused it, null for OrderPlaced>", ...type's fields}

The record key is the userId (``catalog`` topics: the SKU) and the ``correlation-id`` header (UTF-8)
is the order's correlation id, copied from the event a service consumed onto each event it publishes.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

ORDER_EVENTS = "order-events"
INVENTORY_EVENTS = "inventory-events"
PAYMENT_EVENTS = "payment-events"
FULFILLMENT_EVENTS = "fulfillment-events"
NOTIFICATIONS = "notifications"
CATALOG = "inventory-catalog"  # compacted: SKU -> initial stock
STOCK = "inventory-stock"  # compacted: SKU -> current stock level (inventory's published view)

EVENT_TOPICS = (ORDER_EVENTS, INVENTORY_EVENTS, PAYMENT_EVENTS, FULFILLMENT_EVENTS, NOTIFICATIONS)
COMPACTED_TOPICS = (CATALOG, STOCK)

GROUPS = {
    "inventory": "inv-group",
    "payment": "pay-group",
    "fulfillment": "ful-group",
    "notification": "notif-group",
    "analytics": "analytics-group",
}

CORRELATION_HEADER = "correlation-id"

# Event types
ORDER_PLACED = "OrderPlaced"
INVENTORY_RESERVED = "InventoryReserved"
INVENTORY_FAILED = "InventoryFailed"
INVENTORY_RELEASED = "InventoryReleased"
PAYMENT_PROCESSED = "PaymentProcessed"
PAYMENT_FAILED = "PaymentFailed"
ORDER_FULFILLED = "OrderFulfilled"
ORDER_NOTIFICATION = "OrderNotification"

COMPLETED = "COMPLETED"
CANCELLED = "CANCELLED"

# A card number the payment service always declines (the failure the driver injects by seed).
DECLINED_CARD = "4000000000000002"
GOOD_CARD = "4242424242424242"


@dataclass
class Event:
    """One saga event; ``data`` holds the fields particular to its type."""

    type: str
    order_id: str
    user_id: str
    correlation_id: str
    causation_id: str | None = None
    data: dict[str, Any] = field(default_factory=dict)
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def value(self) -> bytes:
        body = {
            "eventId": self.event_id,
            "type": self.type,
            "orderId": self.order_id,
            "userId": self.user_id,
            "causationId": self.causation_id,
            **self.data,
        }
        return json.dumps(body, separators=(",", ":")).encode()

    def headers(self) -> list[tuple[str, str | bytes | None]]:
        return [(CORRELATION_HEADER, self.correlation_id.encode())]

    def follow(self, type: str, **data: Any) -> Event:
        """The event this one causes: same order, user and correlation id, caused by this event."""
        return Event(type, self.order_id, self.user_id, self.correlation_id, self.event_id, data)


# what confluent-kafka takes and gives as a record's headers
Headers = list[tuple[str, str | bytes | None]] | dict[str, str | bytes | None] | None


def decode(value: bytes | None, headers: Headers) -> Event:
    """Parse a record of an event topic. Raises ValueError on a record that is not an event."""
    if value is None:
        raise ValueError("event record has no value")
    body = json.loads(value)
    if not isinstance(body, dict):
        raise ValueError("event value is not a JSON object")
    correlation = header(headers, CORRELATION_HEADER)
    if correlation is None:
        raise ValueError(f"event {body.get('eventId')} has no {CORRELATION_HEADER} header")
    known = ("eventId", "type", "orderId", "userId", "causationId")
    return Event(
        type=str(body["type"]),
        order_id=str(body["orderId"]),
        user_id=str(body["userId"]),
        correlation_id=correlation,
        causation_id=body.get("causationId"),
        data={k: v for k, v in body.items() if k not in known},
        event_id=str(body["eventId"]),
    )


def header(headers: Headers, name: str) -> str | None:
    """The last value of header ``name`` as text, or None."""
    found = None
    pairs = list(headers.items()) if isinstance(headers, dict) else headers or []
    for key, value in pairs:
        if key == name and value is not None:
            found = value.decode() if isinstance(value, bytes) else value
    return found


def producer_config(bootstrap: str, client_id: str) -> dict[str, Any]:
    """acks=all and idempotence, as the guide asks for orders: no loss, no duplicates from retries,
    and one user's events stay in the order they were produced."""
    return {
        "bootstrap.servers": bootstrap,
        "client.id": client_id,
        "acks": "all",
        "enable.idempotence": True,
        "linger.ms": 5,
    }
