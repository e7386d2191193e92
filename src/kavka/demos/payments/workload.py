"""A seeded stream of payments for the demo and its test, and an HTTP client that retries like a
careful mobile app: same Idempotency-Key until it gets an answer.

`make_workload` mixes ordinary transfers (a share of them paid from or to the hot account), payments too large
for any balance (more than all the money in the bank, under the fraud limit: always
INSUFFICIENT_FUNDS), payments over the fraud limit, and resends of earlier requests with their key
(the duplicates the API must answer without publishing).
"""

from __future__ import annotations

import json
import random
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["PaymentRequest", "Answer", "make_workload", "post_payment", "send_until_answered"]


@dataclass(frozen=True)
class PaymentRequest:
    key: str
    source: str
    target: str
    amount: int
    kind: str  # "transfer", "overdraw", "fraud" or "resend" (a repeat of an earlier key); tests add others

    def body(self) -> dict[str, Any]:
        return {"from": self.source, "to": self.target, "amount": self.amount}


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]
    replayed: bool


def make_workload(
    seed: int,
    count: int,
    accounts: Mapping[str, int],
    *,
    fraud_limit: int,
    hot: Sequence[str] = ("ACC-007",),
    key_prefix: str = "pay",
    resend_share: float = 0.15,
    overdraw_share: float = 0.08,
    fraud_share: float = 0.05,
    hot_share: float = 0.4,
) -> list[PaymentRequest]:
    rng = random.Random(seed)
    names = sorted(accounts)
    supply = sum(accounts.values())
    if supply >= fraud_limit:
        raise ValueError("an overdraw payment must be under the fraud limit: lower the balances or raise the limit")
    hot_names = [a for a in hot if a in accounts]
    typical = max(1, min(accounts.values()) // 3)
    out: list[PaymentRequest] = []
    for i in range(count):
        roll = rng.random()
        if out and roll < resend_share:
            first = rng.choice([r for r in out if r.kind != "resend"])
            out.append(PaymentRequest(first.key, first.source, first.target, first.amount, "resend"))
            continue
        source = rng.choice(names)
        target = rng.choice([a for a in names if a != source])
        if hot_names and rng.random() < hot_share:  # the hot account pays or is paid, half and half
            hot_one = rng.choice(hot_names)
            other = rng.choice([a for a in names if a != hot_one])
            source, target = (hot_one, other) if rng.random() < 0.5 else (other, hot_one)
        key = f"{key_prefix}-{i:05d}"
        roll -= resend_share
        if roll < overdraw_share:
            out.append(PaymentRequest(key, source, target, rng.randint(supply + 1, fraud_limit), "overdraw"))
        elif roll < overdraw_share + fraud_share:
            out.append(PaymentRequest(key, source, target, rng.randint(fraud_limit + 1, 2 * fraud_limit), "fraud"))
        else:
            out.append(PaymentRequest(key, source, target, rng.randint(1, typical), "transfer"))
    return out


def post_payment(url: str, request: PaymentRequest, timeout: float = 90.0) -> Answer:
    """One POST; raises `OSError` when the API cannot be reached."""
    http = urllib.request.Request(
        url,
        data=json.dumps(request.body()).encode(),
        headers={"Idempotency-Key": request.key, "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as response:
            return Answer(
                response.status, json.loads(response.read()), response.headers.get("Idempotent-Replayed") == "true"
            )
    except urllib.error.HTTPError as e:
        return Answer(e.code, json.loads(e.read() or b"{}"), e.headers.get("Idempotent-Replayed") == "true")


def send_until_answered(url: str, request: PaymentRequest, timeout: float = 120.0) -> Answer:
    """Retry (same key) while the API is unreachable or answers 503; return the first other answer."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            answer = post_payment(url, request, timeout=max(1.0, deadline - time.monotonic()))
        except OSError as e:
            last: object = e
        else:
            if answer.status != 503:
                return answer
            last = answer.body
        if time.monotonic() > deadline:
            raise TimeoutError(f"payment {request.key} got no answer within {timeout:.0f}s (last: {last})")
        time.sleep(0.05)  # a client's retry back-off
