"""The transaction coordinator inside the broker: ``__transaction_state`` logs, markers, timers.

:class:`kavka.coordinator.txn.TransactionCoordinator` is a synchronous state machine; this module gives
it what it needs from the broker. Appends, loading, timers and shutdown are
:class:`~kavka.broker.coordinator_service.CoordinatorService`'s; this module adds:

- **The log.** ``__transaction_state`` is an ordinary compacted topic, created through the controller
  the first time a client looks for a transaction coordinator (FindCoordinator key type 1), with
  ``transaction.state.log.num.partitions`` partitions (replication factor capped by the live brokers,
  as the group service does for ``__consumer_offsets``); its batches are not compressed.
- **Loading.** The partition's leader epoch is the coordinator epoch written into markers.
- **Markers.** After every coordinator call and timer tick, the marker jobs are written here: for each
  partition of the transaction, ``PartitionLog.append_control_marker`` on the local replica (Kafka's
  WriteTxnMarkers, in process), then the high watermark moves and fetchers wake. For
  ``__consumer_offsets`` partitions the group coordinator is told once the marker is in the log
  (:meth:`on_offsets_marker`): the offsets the transaction wrote there (TxnOffsetCommit, a
  transactional batch of the producer) become visible on commit and are dropped on abort. A partition
  of a deleted topic counts as done (Kafka skips it too); a partition that refuses is retried.
- **Producer ids** come from the broker's blocks (``Broker.next_producer_id``).
- **Verification** (KIP-890 part 1, :mod:`kavka.coordinator.txn.verification`): before the first
  transactional batch of a producer goes into a partition (Produce), or its offsets into
  ``__consumer_offsets`` (TxnOffsetCommit), :meth:`check_produce` / :meth:`check_txn_offset_commit`
  ask the coordinator whether that partition is in the producer's ongoing transaction -- Kafka's
  AddPartitionsToTxn ``verifyOnly`` round trip, here a synchronous read on the event loop right before
  the append, so no marker can slip in between and Kafka's VerificationGuard is not needed.

Everything here runs on the event loop thread.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kavka.broker.coordinator_service import CoordinatorService
from kavka.broker.log_reading import iter_log_records
from kavka.coordinator.runtime import CoordinatorError
from kavka.coordinator.txn import TransactionCoordinator, TxnConfig
from kavka.coordinator.txn.verification import VERIFICATION_ENABLE_CONFIG, produce_error, txn_offset_commit_error
from kavka.coordinator.txn.versions import TV2_PRODUCE_VERSION, TV2_TXN_OFFSET_COMMIT_VERSION
from kavka.metadata.internal_topics import OFFSETS_TOPIC, TXN_TOPIC
from kavka.protocol.api import ErrorCode
from kavka.protocol.batch import CONTROL_BIT

__all__ = ["TxnService", "txn_service_of"]

log = logging.getLogger(__name__)


class TxnService(CoordinatorService):
    topic = TXN_TOPIC

    def __init__(self, broker):
        super().__init__(broker)
        self.config = TxnConfig.from_broker_config(broker.config)
        self.coordinator = TransactionCoordinator(self.config, self._append, broker.clock_ms, self._allocate)

    def tick(self) -> int | None:
        """Fire the coordinator's due timers and write the markers they asked for."""
        deadline = super().tick()
        if not self._closed:
            self.write_markers()
        return deadline

    # --- the transaction state topic ---------------------------------------------------------

    def _allocate(self) -> int:
        try:
            return self.broker.next_producer_id()
        except Exception as e:  # the controller could not hand out a block
            raise CoordinatorError(ErrorCode.coordinator_not_available, str(e)) from e

    def ensure_txn_topic(self) -> int:
        """Create ``__transaction_state`` if missing and load its partitions; NONE or an error code."""
        cfg = self.broker.config
        return self._ensure_topic(
            self.config.transaction_state_log_num_partitions,
            int(cfg.get("transaction.state.log.replication.factor", 3) or 3),
            {
                "cleanup.policy": "compact",
                "compression.type": "uncompressed",
                "min.insync.replicas": str(int(cfg.get("transaction.state.log.min.isr", 2) or 2)),
                "segment.bytes": str(cfg.get("transaction.state.log.segment.bytes", 104857600)),
            },
        )

    def load_led_partitions(self) -> None:
        super().load_led_partitions()
        self.write_markers()

    def _begin_load(self, index: int, partition) -> None:
        self.coordinator.begin_load(index, coordinator_epoch=int(partition.leader_epoch))

    def _replay(self, index: int, plog) -> int:
        n = 0
        for key, value in _read_records(plog):
            self.coordinator.replay(index, key, value)
            n += 1
        return n

    # --- markers -----------------------------------------------------------------------------

    def write_markers(self) -> None:
        """Write every marker job the coordinator has, and report each back."""
        for _ in range(100):
            jobs = self.coordinator.take_marker_jobs()
            if not jobs:
                return
            for job in jobs:
                failed, fenced = set(), False
                for topic, index in sorted(job.partitions):
                    code = self._write_marker(topic, index, job)
                    if code in (ErrorCode.invalid_producer_epoch, ErrorCode.transaction_coordinator_fenced):
                        log.warning(
                            "marker for %s on %s-%d refused: %s",
                            job.transactional_id,
                            topic,
                            index,
                            ErrorCode(code).name,
                        )
                        fenced = True
                    elif code:
                        failed.add((topic, index))
                self.coordinator.markers_written(job, failed, fenced)

    def _write_marker(self, topic: str, index: int, job) -> int:
        if self.broker.replica_manager.get(topic, index) is None:
            if self.broker.topic(topic) is None:
                return ErrorCode.none  # deleted topic: nothing to mark
            return ErrorCode.not_leader_or_follower
        return self.write_marker(topic, index, job.producer_id, job.producer_epoch, job.commit, job.coordinator_epoch)

    def write_marker(
        self, topic: str, index: int, producer_id: int, producer_epoch: int, commit: bool, coordinator_epoch: int
    ) -> int:
        """One marker into one partition (the coordinator's, or an admin's WriteTxnMarkers), then, for a
        ``__consumer_offsets`` partition, the group coordinator applies or drops the producer's offsets."""
        code = self.broker.replica_manager.write_txn_marker(
            topic, index, producer_id, producer_epoch, commit, coordinator_epoch
        )
        if code == ErrorCode.none and topic == OFFSETS_TOPIC:
            self.on_offsets_marker(index, producer_id, commit)
        return code

    # --- transactional offsets ---------------------------------------------------------------

    def on_offsets_marker(self, offsets_partition: int, producer_id: int, commit: bool) -> None:
        """The marker of ``producer_id`` is in ``__consumer_offsets-<offsets_partition>``: the group
        coordinator applies (commit) or drops (abort) the offsets that producer has pending there."""
        gs = self.broker.group_service
        if gs is not None:  # None only once the broker has shut down
            gs.coordinator.complete_transaction(offsets_partition, producer_id, commit)

    # --- transaction partition verification (KIP-890 part 1) ---------------------------------

    def verification_enabled(self) -> bool:
        """``transaction.partition.verification.enable`` (dynamic in Kafka too)."""
        return bool(self.broker.dynamic_config(VERIFICATION_ENABLE_CONFIG))

    def _needs_verification(
        self, topic: str, index: int, producer_id: int, producer_epoch: int, adds: bool = False
    ) -> bool:
        """True unless the partition is not hosted here (the append reports that), the producer already
        has a transaction open on it at this epoch (Kafka's ``hasOngoingTransaction(producerId,
        producerEpoch)``: only the first batch of a transaction on a partition is verified; one dict
        lookup), or verification is off -- which does not apply when the check ``adds`` the partition
        (transaction version 2: nothing else adds it)."""
        p = self.broker.replica_manager.get(topic, index)
        if p is None:
            return False
        entry = p.log.producer_state.producers.get(producer_id)
        if entry is not None and entry.current_txn_first_offset >= 0 and entry.epoch == producer_epoch:
            return False
        return adds or self.verification_enabled()

    def verify(self, transactional_id: str, producer_id: int, producer_epoch: int, topic: str, index: int) -> ErrorCode:
        """The coordinator's answer for one partition (NONE: it is in the producer's ongoing transaction).
        No ``__transaction_state`` at all: COORDINATOR_NOT_AVAILABLE, as a leader finding no coordinator."""
        if transactional_id and self.broker.topic(TXN_TOPIC) is None:
            return ErrorCode.coordinator_not_available
        return self.coordinator.verify_partition(
            transactional_id=transactional_id,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            topic=topic,
            partition=index,
        )

    def add_implicitly(
        self, transactional_id: str, producer_id: int, producer_epoch: int, topic: str, index: int
    ) -> ErrorCode:
        """Transaction version 2 (KIP-890 part 2): add the partition to the producer's transaction, as
        Kafka's partition leader does for a Produce v12+ or TxnOffsetCommit v5+ (AddPartitionsToTxn v5,
        not verify-only); a transaction in Empty/Complete* begins. NONE, or the coordinator's error."""
        if self.broker.topic(TXN_TOPIC) is None:
            return ErrorCode.coordinator_not_available
        return ErrorCode(
            self.call(
                self.coordinator.add_partitions_to_txn,
                transactional_id=transactional_id,
                producer_id=producer_id,
                producer_epoch=producer_epoch,
                partitions=[(topic, index)],
                client_transaction_version=2,
            )
        )

    def check_produce(
        self, transactional_id: str | None, producer_id: int, producer_epoch: int, topic: str, index: int, version: int
    ) -> tuple[int, str | None] | None:
        """Before appending a transactional batch of ``producer_id`` to ``topic-index`` from a Produce of
        ``version``: None to go ahead, else the (error code, message) that partition gets. From v12
        (transaction version 2) the partition is added to the transaction instead of verified."""
        if not self._needs_verification(topic, index, producer_id, producer_epoch, version >= TV2_PRODUCE_VERSION):
            return None
        if transactional_id is None:
            # Kafka's log refuses it: nothing could verify the batch
            return ErrorCode.invalid_txn_state, "Record was not part of an ongoing transaction"
        if version >= TV2_PRODUCE_VERSION:
            code = self.add_implicitly(transactional_id, producer_id, producer_epoch, topic, index)
        else:
            code = self.verify(transactional_id, producer_id, producer_epoch, topic, index)
        if code == ErrorCode.none:
            return None
        log.debug(
            "transactional produce of %s (producer %d epoch %d) to %s-%d refused: %s",
            transactional_id,
            producer_id,
            producer_epoch,
            topic,
            index,
            ErrorCode(code).name,
        )
        return produce_error(code, version)

    def check_txn_offset_commit(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str, version: int
    ) -> int:
        """Before a TxnOffsetCommit of ``version`` writes the group's offsets (a transactional batch of the
        producer in the group's ``__consumer_offsets`` partition): NONE, or the error for every partition
        of the request (Kafka verifies there too, since 3.6). From v5 the partition is added instead."""
        if not group_id:
            return ErrorCode.none  # the group coordinator refuses it (INVALID_GROUP_ID), as Kafka checks first
        topic, index = self.coordinator.offsets_partition(group_id)
        if not self._needs_verification(
            topic, index, producer_id, producer_epoch, version >= TV2_TXN_OFFSET_COMMIT_VERSION
        ):
            return ErrorCode.none
        if version >= TV2_TXN_OFFSET_COMMIT_VERSION:
            code = self.add_implicitly(transactional_id, producer_id, producer_epoch, topic, index)
        else:
            code = self.verify(transactional_id, producer_id, producer_epoch, topic, index)
        return ErrorCode.none if code == ErrorCode.none else txn_offset_commit_error(code, version)

    # --- asyncio adaptation ------------------------------------------------------------------

    def call(self, fn: Callable[..., None], **kwargs) -> Any:
        """Run ``fn(respond=..., **kwargs)``, write the markers it asked for, return its answer."""
        self._ensure_timer_task()
        answers: list = []
        fn(respond=answers.append, **kwargs)
        self.write_markers()
        return answers[0]


def _read_records(plog):
    """(key, value) of every keyed data record of a partition log, oldest first."""
    for header, record in iter_log_records(plog):
        if not header.attributes & CONTROL_BIT and record.key is not None:
            yield bytes(record.key), None if record.value is None else bytes(record.value)


def txn_service_of(ctx) -> TxnService | None:
    """The broker's transaction service (started in ``Broker.startup``)."""
    return ctx.broker.txn_service
