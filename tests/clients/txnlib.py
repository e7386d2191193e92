"""Helpers shared by the transaction tests (real clients against a private broker)."""

from __future__ import annotations

import os
import random
import time
import uuid

from confluent_kafka import Consumer, TopicPartition

from tests.clients.adminwire import call as wire_call

# A private broker for transactions: few internal partitions, quick abort of timed-out transactions.
TXN_OVERRIDES = {
    "num.partitions": "1",
    "transaction.state.log.num.partitions": "3",
    "offsets.topic.num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
    "transaction.abort.timed.out.transaction.cleanup.interval.ms": "200",
    "transaction.max.timeout.ms": "60000",
}
LIST_TRANSACTIONS = 66
OPEN_STATES = ["Ongoing", "PrepareCommit", "PrepareAbort", "PrepareEpochFence"]
_PARTITION_EOF = -191


def seeded_rng() -> random.Random:
    """A ``random.Random`` whose seed is printed (``KAVKA_TXN_SEED`` replays it)."""
    seed = int(os.environ.get("KAVKA_TXN_SEED") or random.SystemRandom().randrange(1 << 30))
    print(f"KAVKA_TXN_SEED={seed}")
    return random.Random(seed)


def open_transactions(bootstrap: str) -> list[tuple[str, str]]:
    """(transactional id, state) of every transaction not yet complete (ListTransactions)."""
    res = wire_call(bootstrap, LIST_TRANSACTIONS, 0, {"state_filters": OPEN_STATES, "producer_id_filters": []})
    assert res.error_code == 0, res
    return [(t.transactional_id, t.transaction_state) for t in res.transaction_states]


def read_to_end(
    bootstrap: str, topic: str, isolation: str, partitions: int = 1, timeout: float = 20.0
) -> dict[int, list[tuple[bytes | None, bytes | None]]]:
    """(key, value) of every record per partition, from the start to the end seen with ``isolation``
    (the last stable offset for read_committed); fails if some partition's end is never reached."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
        out: dict[int, list] = {p: [] for p in range(partitions)}
        eof: set[int] = set()
        deadline = time.monotonic() + timeout
        while len(eof) < partitions and time.monotonic() < deadline:
            m = c.poll(0.2)
            if m is None:
                continue
            if m.error():
                if m.error().code() == _PARTITION_EOF:
                    eof.add(m.partition())
                continue
            eof.discard(m.partition())
            out[m.partition()].append((m.key(), m.value()))
        assert len(eof) == partitions, f"{topic}: no end of partition reached with {isolation}"
        return out
    finally:
        c.close()
