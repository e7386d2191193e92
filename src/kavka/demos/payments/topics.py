"""The payment design's topics, how they are created, and where an account's records go.

Topics (all keyed; every per-account topic is placed by `AccountPartitioner`):

========================== ========== ===================================================================
topic                      cleanup    key -> value (JSON)
========================== ========== ===================================================================
payment-initiated          delete     accountId (the debited account) -> the payment request
payment-completed          delete     accountId -> the payment with both balances after it
payment-failed             delete     accountId -> the payment with a ``reason``
balance-events             delete     accountId -> one DEBIT / CREDIT / OPEN of one account (the ledger)
account-balances           compact    accountId -> the account's balance and version (processor state)
payment-audit              compact    ``account:<id>`` / ``payment:<id>`` -> latest state of each
payment-idempotency-keys   compact    Idempotency-Key -> the API's first answer to it
========================== ========== ===================================================================

The append-only topics keep every event forever (``retention.ms=-1``), as a bank's audit trail must.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

__all__ = [
    "PAYMENT_INITIATED",
    "PAYMENT_COMPLETED",
    "PAYMENT_FAILED",
    "BALANCE_EVENTS",
    "ACCOUNT_BALANCES",
    "PAYMENT_AUDIT",
    "IDEMPOTENCY_KEYS",
    "ACCOUNT_TOPICS",
    "AccountPartitioner",
    "TopicPlan",
    "ensure_topics",
]

PAYMENT_INITIATED = "payment-initiated"
PAYMENT_COMPLETED = "payment-completed"
PAYMENT_FAILED = "payment-failed"
BALANCE_EVENTS = "balance-events"
ACCOUNT_BALANCES = "account-balances"
PAYMENT_AUDIT = "payment-audit"
IDEMPOTENCY_KEYS = "payment-idempotency-keys"

# Topics keyed by accountId: each is placed by the same AccountPartitioner, so one account's records
# sit in the same-numbered partition of every one of them.
ACCOUNT_TOPICS = (PAYMENT_INITIATED, PAYMENT_COMPLETED, PAYMENT_FAILED, BALANCE_EVENTS, ACCOUNT_BALANCES)

_FOREVER = {"retention.ms": "-1", "retention.bytes": "-1"}
_COMPACT = {"cleanup.policy": "compact"}


class AccountPartitioner:
    """The hot-account fix: high-volume accounts get a partition of their own.

    With ``partitions`` partitions and ``hot`` = [h0, h1, ...] (accounts found to be high-volume at
    onboarding), hot account ``h_i`` always goes to partition ``partitions - len(hot) + i``, a partition
    no other account uses; every other account goes to ``crc32(accountId) % (partitions - len(hot))``,
    the shared pool. Either way one account maps to exactly one partition, so its records keep their
    order (a debit is always processed before the next one of the same account), while a hot account no
    longer slows down the accounts that used to share its partition.
    """

    def __init__(self, partitions: int, hot: Sequence[str] = ()) -> None:
        if len(set(hot)) != len(hot):
            raise ValueError(f"hot accounts listed twice: {list(hot)}")
        if partitions <= len(hot):
            raise ValueError(f"{partitions} partitions leave no shared pool beside {len(hot)} hot account(s)")
        self.partitions = partitions
        self.hot = {account: partitions - len(hot) + i for i, account in enumerate(hot)}
        self.pool = partitions - len(hot)

    def __call__(self, account: str) -> int:
        dedicated = self.hot.get(account)
        if dedicated is not None:
            return dedicated
        return zlib.crc32(account.encode()) % self.pool


@dataclass(frozen=True)
class TopicPlan:
    """How many partitions each topic gets, which accounts are hot, and extra topic configs.

    ``extra_configs`` maps a topic to configs laid over the defaults (the test shrinks the audit log's
    segments so that the cleaner compacts it within seconds).
    """

    partitions: int = 6
    hot_accounts: tuple[str, ...] = ("ACC-007",)
    extra_configs: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def partitioner(self) -> AccountPartitioner:
        return AccountPartitioner(self.partitions, self.hot_accounts)

    def specs(self) -> dict[str, tuple[int, dict[str, str]]]:
        """``{topic: (partitions, configs)}``."""
        specs = {
            PAYMENT_INITIATED: (self.partitions, dict(_FOREVER)),
            PAYMENT_COMPLETED: (self.partitions, dict(_FOREVER)),
            PAYMENT_FAILED: (self.partitions, dict(_FOREVER)),
            BALANCE_EVENTS: (self.partitions, dict(_FOREVER)),
            ACCOUNT_BALANCES: (self.partitions, dict(_COMPACT)),
            PAYMENT_AUDIT: (3, dict(_COMPACT)),
            IDEMPOTENCY_KEYS: (3, dict(_COMPACT)),
        }
        for topic, configs in self.extra_configs.items():
            specs[topic][1].update(configs)
        return specs


def ensure_topics(bootstrap: str, plan: TopicPlan, timeout: float = 30.0) -> list[str]:
    """Create the topics of ``plan`` that do not exist yet; return the names created.

    A topic that exists already is kept as it is, but its partition count must match the plan (the
    partitioner depends on it): a mismatch raises `ValueError` naming the topic.
    """
    from confluent_kafka import KafkaError, KafkaException
    from confluent_kafka.admin import AdminClient, NewTopic  # type: ignore[attr-defined]

    admin = AdminClient({"bootstrap.servers": bootstrap})
    existing = admin.list_topics(timeout=timeout).topics
    created: list[str] = []
    wanted = plan.specs()
    for topic, (partitions, _) in wanted.items():
        if topic in existing and len(existing[topic].partitions) != partitions:
            raise ValueError(
                f"topic {topic} has {len(existing[topic].partitions)} partitions, the payment design needs {partitions}"
            )
    new = [
        NewTopic(topic, num_partitions=partitions, replication_factor=-1, config=configs)
        for topic, (partitions, configs) in wanted.items()
        if topic not in existing
    ]
    if new:
        for topic, future in admin.create_topics(new, operation_timeout=timeout).items():
            try:
                future.result(timeout)
            except KafkaException as e:
                if e.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
            else:
                created.append(topic)
    return created
