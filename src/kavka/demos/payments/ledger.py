"""The processor's decisions, with no Kafka in sight: balance check, fraud rule, debit and credit.

`Ledger` holds every account's balance and version and the ids of the payments already decided. It
works in *batches*: `begin` opens one, `decide` applies payments to it, and `commit` keeps the changes
or `rollback` forgets them, so the processor can undo exactly what an aborted Kafka transaction did
not write. `decide` returns a `Decision` listing the records to write for the payment; it never lets
a balance go below zero (a payment larger than the balance fails with INSUFFICIENT_FUNDS) and never
decides one payment id twice.

A payment (the value of a ``payment-initiated`` record) is
``{"paymentId", "idempotencyKey", "from", "to", "amount", "initiatedAt"}``; ``amount`` is a positive
integer (cents).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from kavka.demos.payments.fraud import DEFAULT_FRAUD_LIMIT, fraud_reason

__all__ = ["Account", "Decision", "Ledger", "DEFAULT_ACCOUNTS", "malformed"]

# The demo's bank (amounts are cents): eight accounts with 1,000.00 each, but ACC-007, the guide's
# high-volume account, with 5,000.00.
DEFAULT_ACCOUNTS = {f"ACC-{i:03d}": 500_000 if i == 7 else 100_000 for i in range(1, 9)}


@dataclass
class Account:
    balance: int
    version: int  # how many balance events this account has had (OPEN is version 1)


@dataclass
class Decision:
    """What a payment came to. ``status`` is COMPLETED, FAILED or DUPLICATE (already decided: nothing to
    write). ``balances`` maps each account whose balance changed to its `Account` after the payment, and
    ``events`` lists the balance events (``{"type", "accountId", "paymentId", "amount", "balanceAfter",
    "version"}``), debit first."""

    status: str
    reason: str | None = None
    balances: dict[str, Account] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)


class Ledger:
    def __init__(self, fraud_limit: int = DEFAULT_FRAUD_LIMIT) -> None:
        self.fraud_limit = fraud_limit
        self.accounts: dict[str, Account] = {}
        self.decided: set[str] = set()
        self._undo: list[tuple[str, Account | None]] | None = None
        self._decided_in_batch: set[str] = set()

    # -- batches -----------------------------------------------------------------------------------

    def begin(self) -> None:
        if self._undo is not None:
            raise RuntimeError("a batch is already open")
        self._undo = []
        self._decided_in_batch = set()

    def commit(self) -> None:
        self._batch()
        self._undo = None

    def rollback(self) -> None:
        undo = self._batch()
        for account_id, before in reversed(undo):
            if before is None:
                del self.accounts[account_id]
            else:
                self.accounts[account_id] = before
        self.decided -= self._decided_in_batch
        self._undo = None

    def _batch(self) -> list[tuple[str, Account | None]]:
        if self._undo is None:
            raise RuntimeError("no batch is open")
        return self._undo

    def _set(self, account_id: str, account: Account) -> None:
        old = self.accounts.get(account_id)
        self._batch().append((account_id, None if old is None else Account(old.balance, old.version)))
        self.accounts[account_id] = account

    def _mark_decided(self, payment_id: str) -> None:
        self.decided.add(payment_id)
        self._decided_in_batch.add(payment_id)

    # -- operations --------------------------------------------------------------------------------

    def open(self, account_id: str, balance: int) -> dict[str, Any] | None:
        """Open ``account_id`` with ``balance``; return its OPEN event, or None if it exists already."""
        if account_id in self.accounts:
            return None
        if balance < 0:
            raise ValueError(f"{account_id}: an opening balance cannot be negative ({balance})")
        account = Account(balance, 1)
        self._set(account_id, account)
        return {
            "type": "OPEN",
            "accountId": account_id,
            "paymentId": None,
            "amount": balance,
            "balanceAfter": balance,
            "version": 1,
        }

    def decide(self, payment: Mapping[str, Any]) -> Decision:
        """Decide a well-formed payment (see `malformed`)."""
        payment_id = payment["paymentId"]
        if payment_id in self.decided:
            return Decision("DUPLICATE")
        source, target, amount = payment["from"], payment["to"], payment["amount"]
        reason = None
        if amount <= 0 or source == target:
            reason = "INVALID_PAYMENT: the amount must be positive and the accounts different"
        if reason is None:
            reason = fraud_reason(payment, self.fraud_limit)
        if reason is None and (source not in self.accounts or target not in self.accounts):
            missing = source if source not in self.accounts else target
            reason = f"UNKNOWN_ACCOUNT: {missing}"
        if reason is None and self.accounts[source].balance < amount:
            reason = f"INSUFFICIENT_FUNDS: {source} has {self.accounts[source].balance}, the payment needs {amount}"
        self._mark_decided(payment_id)
        if reason is not None:
            return Decision("FAILED", reason)
        debit = self.accounts[source]
        credit = self.accounts[target]
        after_debit = Account(debit.balance - amount, debit.version + 1)
        after_credit = Account(credit.balance + amount, credit.version + 1)
        self._set(source, after_debit)
        self._set(target, after_credit)
        return Decision(
            "COMPLETED",
            balances={source: after_debit, target: after_credit},
            events=[
                _event("DEBIT", source, payment_id, amount, after_debit),
                _event("CREDIT", target, payment_id, amount, after_credit),
            ],
        )


def malformed(payment: Any) -> str | None:
    """Why ``payment`` (a decoded ``payment-initiated`` value) cannot be decided at all, or None."""
    if not isinstance(payment, dict):
        return "not a JSON object"
    for name, kind in (("paymentId", str), ("from", str), ("to", str), ("amount", int)):
        value = payment.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{name!r} is missing or not a {kind.__name__}"
    return None


def _event(kind: str, account_id: str, payment_id: str, amount: int, after: Account) -> dict[str, Any]:
    return {
        "type": kind,
        "accountId": account_id,
        "paymentId": payment_id,
        "amount": amount,
        "balanceAfter": after.balance,
        "version": after.version,
    }
