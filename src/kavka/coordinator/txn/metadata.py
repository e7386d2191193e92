"""One transactional id's state (Kafka's ``TransactionMetadata``) and the state machine's rules.

States, with Kafka's ids (written in ``__transaction_state``) and the states each may follow::

    Empty              0   <- Empty, CompleteCommit, CompleteAbort        (InitProducerId)
    Ongoing            1   <- Ongoing, Empty, CompleteCommit, CompleteAbort (AddPartitions/AddOffsets)
    PrepareCommit      2   <- Ongoing                                      (EndTxn commit)
    PrepareAbort       3   <- Ongoing, PrepareEpochFence                   (EndTxn abort, timeout, fence)
    CompleteCommit     4   <- PrepareCommit                                (markers written)
    CompleteAbort      5   <- PrepareAbort                                 (markers written)
    Dead               6   <- Empty, CompleteCommit, CompleteAbort        (expired: tombstone)
    PrepareEpochFence  7   <- Ongoing          (never written: the fence is a PrepareAbort at epoch + 1)

Rules (Kafka's; transaction version 0/1 is what librdkafka, kafka-python and aiokafka speak, version 2
(KIP-890 part 2) what the Java client 4.x speaks when the broker finalizes ``transaction.version`` 2):

- Every record is appended first and applied by replay; the metadata below is what replay yields,
  plus ``last_producer_epoch`` (not in the record: -1 after a load, as in Kafka).
- The producer epoch changes on InitProducerId (bump; a new producer id when the epoch is exhausted)
  and on a fence (timeout, or InitProducerId while a transaction is Ongoing). EndTxn keeps it for a
  version 0/1 client; for a version 2 client (EndTxn v5) PrepareCommit/PrepareAbort carries epoch + 1,
  so the markers fence every late write of the transaction, and when the epoch is exhausted the
  next producer id goes into ``next_producer_id`` and becomes the producer id (epoch 0) on completion.
- Partitions are cleared when a transaction completes; ``txn_start_ms`` is set when the first
  partition is added after Empty/Complete*.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import TypedDict, Unpack

from kavka.coordinator.txn.records import TransactionLogValue

__all__ = [
    "TxnState",
    "TxnMetadata",
    "TxnChanges",
    "VALID_PREVIOUS",
    "NO_PRODUCER_ID",
    "NO_PRODUCER_EPOCH",
    "is_epoch_exhausted",
]

NO_PRODUCER_ID = -1
NO_PRODUCER_EPOCH = -1
_SHORT_MAX = 32767


class TxnState(IntEnum):
    EMPTY = 0
    ONGOING = 1
    PREPARE_COMMIT = 2
    PREPARE_ABORT = 3
    COMPLETE_COMMIT = 4
    COMPLETE_ABORT = 5
    DEAD = 6
    PREPARE_EPOCH_FENCE = 7

    @property
    def display(self) -> str:
        """The name DescribeTransactions / ListTransactions use (Kafka's ``TransactionState.name``)."""
        return _NAMES[self]

    @classmethod
    def from_display(cls, name: str) -> TxnState | None:
        return _BY_NAME.get(name)

    @property
    def expiration_allowed(self) -> bool:
        return self in (TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT)


_NAMES = {
    TxnState.EMPTY: "Empty",
    TxnState.ONGOING: "Ongoing",
    TxnState.PREPARE_COMMIT: "PrepareCommit",
    TxnState.PREPARE_ABORT: "PrepareAbort",
    TxnState.COMPLETE_COMMIT: "CompleteCommit",
    TxnState.COMPLETE_ABORT: "CompleteAbort",
    TxnState.DEAD: "Dead",
    TxnState.PREPARE_EPOCH_FENCE: "PrepareEpochFence",
}
_BY_NAME = {v: k for k, v in _NAMES.items()}

VALID_PREVIOUS: dict[TxnState, frozenset[TxnState]] = {
    TxnState.EMPTY: frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
    TxnState.ONGOING: frozenset({TxnState.ONGOING, TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
    TxnState.PREPARE_COMMIT: frozenset({TxnState.ONGOING}),
    TxnState.PREPARE_ABORT: frozenset({TxnState.ONGOING, TxnState.PREPARE_EPOCH_FENCE}),
    TxnState.COMPLETE_COMMIT: frozenset({TxnState.PREPARE_COMMIT}),
    TxnState.COMPLETE_ABORT: frozenset({TxnState.PREPARE_ABORT}),
    TxnState.DEAD: frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
    TxnState.PREPARE_EPOCH_FENCE: frozenset({TxnState.ONGOING}),
}


def is_epoch_exhausted(epoch: int) -> bool:
    return epoch >= _SHORT_MAX - 1


class TxnChanges(TypedDict, total=False):
    """The fields :meth:`TxnMetadata.transition` may change besides the state."""

    producer_id: int
    producer_epoch: int
    txn_timeout_ms: int
    partitions: set[tuple[str, int]]
    txn_start_ms: int
    txn_last_update_ms: int
    previous_producer_id: int
    next_producer_id: int
    last_producer_epoch: int
    client_transaction_version: int


@dataclass(slots=True)
class TxnMetadata:
    transactional_id: str
    producer_id: int
    producer_epoch: int
    txn_timeout_ms: int
    state: TxnState
    partitions: set[tuple[str, int]] = field(default_factory=set)
    txn_start_ms: int = -1
    txn_last_update_ms: int = -1
    previous_producer_id: int = NO_PRODUCER_ID
    next_producer_id: int = NO_PRODUCER_ID
    last_producer_epoch: int = NO_PRODUCER_EPOCH
    # 2 once a client of transaction version 2 (KIP-890 part 2) ran the transaction: EndTxn then bumps
    # the epoch, and its retries are told apart by that bump
    client_transaction_version: int = 0

    def transition(self, state: TxnState, **changes: Unpack[TxnChanges]) -> TxnMetadata:
        """A copy in ``state`` with ``changes``; ValueError for a transition the table forbids."""
        if self.state not in VALID_PREVIOUS[state]:
            raise ValueError(f"{self.transactional_id}: illegal transition {self.state.display} -> {state.display}")
        new = TxnMetadata(
            self.transactional_id,
            self.producer_id,
            self.producer_epoch,
            self.txn_timeout_ms,
            state,
            set(self.partitions),
            self.txn_start_ms,
            self.txn_last_update_ms,
            self.previous_producer_id,
            self.next_producer_id,
            self.last_producer_epoch,
            self.client_transaction_version,
        )
        for name, value in changes.items():
            setattr(new, name, value)
        return new

    def to_value(self) -> TransactionLogValue:
        topics: dict[str, list[int]] = {}
        if self.state != TxnState.EMPTY:
            for topic, partition in self.partitions:
                topics.setdefault(topic, []).append(partition)
        return TransactionLogValue(
            producer_id=self.producer_id,
            producer_epoch=self.producer_epoch,
            transaction_timeout_ms=self.txn_timeout_ms,
            transaction_status=int(self.state),
            transaction_partitions=tuple((t, tuple(sorted(ps))) for t, ps in sorted(topics.items())),
            transaction_last_update_timestamp_ms=self.txn_last_update_ms,
            transaction_start_timestamp_ms=self.txn_start_ms,
            previous_producer_id=self.previous_producer_id,
            next_producer_id=self.next_producer_id,
            client_transaction_version=self.client_transaction_version,
        )

    @classmethod
    def from_value(cls, transactional_id: str, v: TransactionLogValue) -> TxnMetadata:
        state = TxnState(v.transaction_status)
        partitions = set()
        if state != TxnState.EMPTY:
            partitions = {(t, p) for t, ps in v.transaction_partitions for p in ps}
        return cls(
            transactional_id,
            v.producer_id,
            v.producer_epoch,
            v.transaction_timeout_ms,
            state,
            partitions,
            v.transaction_start_timestamp_ms,
            v.transaction_last_update_timestamp_ms,
            v.previous_producer_id,
            v.next_producer_id,
            NO_PRODUCER_EPOCH,
            v.client_transaction_version,
        )
