"""The guide's e-commerce order processing design: a choreographed saga over Kafka topics.

Processes (each ``python -m kavka.demos.ecommerce.<service> --bootstrap-servers HOST:PORT``):

- ``gateway``: HTTP ``POST /orders`` -> ``OrderPlaced`` on ``order-events`` (key userId, acks=all,
  idempotent), with a fresh ``correlation-id`` header per order.
- ``inventory`` (group ``inv-group``): ``OrderPlaced`` -> ``InventoryReserved`` | ``InventoryFailed``;
  ``PaymentFailed`` -> ``InventoryReleased`` (the compensating event). Publishes stock levels to the
  compacted ``inventory-stock``.
- ``payment`` (``pay-group``): ``InventoryReserved`` -> ``PaymentProcessed`` | ``PaymentFailed``.
- ``fulfillment`` (``ful-group``): ``PaymentProcessed`` -> ``OrderFulfilled``.
- ``notification`` (``notif-group``): ``OrderFulfilled`` / ``InventoryFailed`` / ``InventoryReleased`` ->
  the order's final state (COMPLETED or CANCELLED) on ``notifications``.
- ``analytics`` (``analytics-group``): counts final states from ``notifications``.

Every event is keyed by userId, so one user's events stay in order on every topic, and carries the
``correlation-id`` header of the order it belongs to. Services are at-least-once (offsets committed
after the outputs of a batch are acknowledged) and idempotent: what a service has done is read back
from its own output topic when it starts, so a redelivered event is recognised and not acted on twice.
"""
