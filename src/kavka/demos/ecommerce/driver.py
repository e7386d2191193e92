"""Orders for the demo, from a seed, and posting them to the gateway.

`make_orders` is deterministic in its seed: which users order what, and which orders carry the failures
it injects (a sold-out SKU: out of stock; the declined test card: payment declined). `post_orders`
sends one user's orders one after the other (each waits for the gateway's 202), users concurrently,
so one user's orders reach ``order-events`` in the order they were made.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from kavka.demos.ecommerce import events as ev
from kavka.demos.ecommerce.setup import SOLD_OUT


@dataclass
class Order:
    index: int
    user_id: str
    items: list[dict[str, Any]]
    amount: int
    card: str
    injected: str | None = None  # "out-of-stock", "declined" or None
    response: dict[str, Any] = field(default_factory=dict)

    def body(self) -> dict[str, Any]:
        return {"userId": self.user_id, "items": self.items, "amount": self.amount, "card": self.card}


def make_orders(
    seed: int,
    count: int,
    catalog: dict[str, int],
    users: int = 50,
    out_of_stock_rate: float = 0.05,
    decline_rate: float = 0.1,
) -> list[Order]:
    rng = random.Random(f"orders-{seed}")
    skus = sorted(s for s, n in catalog.items() if n > 0)
    orders = []
    for i in range(count):
        user = f"user-{rng.randrange(users)}"
        items = [{"sku": sku, "qty": rng.randint(1, 3)} for sku in rng.sample(skus, rng.randint(1, min(3, len(skus))))]
        injected = None
        roll = rng.random()
        if roll < out_of_stock_rate:
            items.append({"sku": SOLD_OUT, "qty": 1})
            injected = "out-of-stock"
        elif roll < out_of_stock_rate + decline_rate:
            injected = "declined"
        card = ev.DECLINED_CARD if injected == "declined" else ev.GOOD_CARD
        orders.append(Order(i, user, items, rng.randint(500, 20_000), card, injected))
    return orders


async def post_orders(
    url: str,
    orders: list[Order],
    concurrency: int = 16,
    on_placed: Callable[[Order], None] | None = None,
    rate: float = 0.0,
) -> list[Order]:
    """POST each order to ``url`` (the gateway's /orders); fill ``order.response``. ``rate``: at most that
    many orders a second (0: as fast as the gateway answers). Raises RuntimeError on an answer other
    than 202."""
    by_user: dict[str, list[Order]] = {}
    for order in orders:
        by_user.setdefault(order.user_id, []).append(order)
    slots = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()
    start = loop.time()
    tickets = itertools.count()

    async def user(session: aiohttp.ClientSession, user_orders: list[Order]) -> None:
        for order in user_orders:  # the next order of a user only after the gateway took the last
            if rate > 0:  # pacing, so that a person can watch the demo
                await asyncio.sleep(max(0.0, start + next(tickets) / rate - loop.time()))
            async with slots, session.post(url, json=order.body()) as resp:
                body = await resp.json()
                if resp.status != 202:
                    raise RuntimeError(f"POST {url}: {resp.status} {body.get('error', body)}")
                order.response = body
            if on_placed is not None:
                on_placed(order)

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        await asyncio.gather(*(user(session, user_orders) for user_orders in by_user.values()))
    return orders
