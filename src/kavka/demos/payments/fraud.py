"""Fraud detection, the stage before the balance check.

The guide's design puts a real-time ML model here; the demo's rule is a single-payment amount limit. A
payment it refuses ends in ``payment-failed`` with the reason, and no balance changes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_FRAUD_LIMIT", "fraud_reason"]

DEFAULT_FRAUD_LIMIT = 2_000_000  # cents: a single payment above 20,000.00 is held as suspected fraud


def fraud_reason(payment: Mapping[str, Any], limit: int) -> str | None:
    """A reason to refuse ``payment`` (``FRAUD_SUSPECTED: ...``), or None to let it through."""
    if payment["amount"] > limit:
        return f"FRAUD_SUSPECTED: amount {payment['amount']} is over the single-payment limit {limit}"
    return None
