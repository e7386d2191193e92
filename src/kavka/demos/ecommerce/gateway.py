"""API gateway: ``POST /orders`` publishes ``OrderPlaced`` on ``order-events``.

Request body (JSON)::

    {"userId": "user-7", "items": [{"sku": "SKU-003", "qty": 2}], "amount": 1999, "card": "4242..."}

The event is keyed by userId (one user's orders stay in order on one partition), produced with acks=all
and idempotence, and carries a new ``correlation-id`` header. The answer waits for the broker's
acknowledgement: 202 ``{"orderId", "correlationId", "partition", "offset"}``; 400 ``{"error"}`` for a
body that is not an order; 503 ``{"error"}`` when the broker did not take the event.
``GET /healthz`` answers 200 once the gateway is up.
"""

from __future__ import annotations

import asyncio
import json
import signal
import threading
import uuid
from typing import Any

import click
from aiohttp import web
from confluent_kafka import KafkaError, Message, Producer

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.service import bootstrap_option


def parse_order(body: Any) -> tuple[str, list[dict[str, Any]], int, str]:
    """(userId, items, amount, card) from a request body; ValueError with the reason otherwise."""
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    user = body.get("userId")
    if not isinstance(user, str) or not user:
        raise ValueError("userId must be a non-empty string")
    items = body.get("items")
    if not isinstance(items, list) or not items:
        raise ValueError("items must be a non-empty list")
    clean = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("sku"), str):
            raise ValueError("each item needs a sku (string)")
        qty = item.get("qty")
        if not isinstance(qty, int) or isinstance(qty, bool) or qty <= 0:
            raise ValueError(f"qty of {item['sku']} must be a positive integer")
        clean.append({"sku": item["sku"], "qty": qty})
    amount = body.get("amount", 0)
    if not isinstance(amount, int) or isinstance(amount, bool) or amount < 0:
        raise ValueError("amount must be a non-negative integer (cents)")
    card = body.get("card", "")
    if not isinstance(card, str):
        raise ValueError("card must be a string")
    return user, clean, amount, card


class Gateway:
    """The HTTP app and its producer. A thread serves the producer's delivery callbacks."""

    def __init__(self, bootstrap: str) -> None:
        self.producer = Producer(ev.producer_config(bootstrap, "api-gateway"))
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, name="producer-poll", daemon=True)

    def _poll(self) -> None:
        while not self._stop.is_set():
            self.producer.poll(0.1)

    async def place_order(self, request: web.Request) -> web.Response:
        try:
            user, items, amount, card = parse_order(await request.json())
        except json.JSONDecodeError:
            return web.json_response({"error": "the body is not JSON"}, status=400)
        except ValueError as e:
            return web.json_response({"error": str(e)}, status=400)
        order_id = str(uuid.uuid4())
        event = ev.Event(
            ev.ORDER_PLACED, order_id, user, str(uuid.uuid4()), data={"items": items, "amount": amount, "card": card}
        )
        loop = asyncio.get_running_loop()
        done: asyncio.Future[Message] = loop.create_future()

        def delivered(err: KafkaError | None, msg: Message) -> None:
            def settle() -> None:
                if done.done():
                    return
                if err is not None:
                    done.set_exception(RuntimeError(err.str()))
                else:
                    done.set_result(msg)

            loop.call_soon_threadsafe(settle)

        # produce() is called here, on the event loop, in the order the requests arrive: the
        # idempotent producer keeps that order within the user's partition
        self.producer.produce(
            ev.ORDER_EVENTS, key=user.encode(), value=event.value(), headers=event.headers(), on_delivery=delivered
        )
        try:
            msg = await done
        except RuntimeError as e:
            return web.json_response({"error": f"order not accepted: {e}"}, status=503)
        return web.json_response(
            {
                "orderId": order_id,
                "correlationId": event.correlation_id,
                "eventId": event.event_id,
                "partition": msg.partition(),
                "offset": msg.offset(),
            },
            status=202,
        )

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/orders", self.place_order)
        app.router.add_get("/healthz", self.healthz)
        app.on_startup.append(self._on_startup)
        app.on_cleanup.append(self._on_cleanup)
        return app

    async def _on_startup(self, app: web.Application) -> None:
        self._poller.start()

    async def _on_cleanup(self, app: web.Application) -> None:
        self._stop.set()
        await asyncio.to_thread(self._poller.join)
        await asyncio.to_thread(self.producer.flush, 10)


async def serve(gateway: Gateway, host: str, port: int) -> None:
    """Serve until SIGINT or SIGTERM (a second signal while stopping changes nothing)."""
    runner = web.AppRunner(gateway.app())
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        print(f"gateway: ready on http://{host}:{port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


@click.command()
@bootstrap_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8088, show_default=True, help="Port to listen on.")
def cli(bootstrap: str, host: str, port: int) -> None:
    """The API gateway of the e-commerce saga: POST /orders."""
    try:
        asyncio.run(serve(Gateway(bootstrap), host, port))
    except OSError as e:
        raise click.ClickException(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    print("gateway: stopped", flush=True)


if __name__ == "__main__":
    cli()
