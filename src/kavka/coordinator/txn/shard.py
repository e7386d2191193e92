"""One transaction coordinator shard: the transactional ids of one ``__transaction_state`` partition.

Durable state is exactly what replaying the partition yields (:meth:`TxnShard.replay`): a record sets
the transactional id's metadata as written, a tombstone removes it. Soft state: ``last_producer_epoch``
(Kafka keeps it in memory too), the timers, and marker jobs not yet done.

Operations (called by :class:`kavka.coordinator.txn.coordinator.TransactionCoordinator` through the
runtime) compute the next metadata with :meth:`TxnMetadata.transition`, append it as a record and
answer from the success or failure continuation, so a client never sees state that is not in the log.

Markers: once a PrepareCommit/PrepareAbort record is in the log, a :class:`MarkerJob` goes to the
coordinator's outbox; whoever writes markers (the broker's transaction service, or a test) reports
back with ``markers_written``; when every partition has its marker, CompleteCommit/CompleteAbort is
written. Partitions that refused are retried after ``marker_retry_backoff_ms``, and so is a
CompleteCommit/CompleteAbort the log refused for now (COORDINATOR_NOT_AVAILABLE). After a load, every
transaction found in a Prepare state gets its job again (Kafka resumes the same way).

Timers: the timed-out transaction check (every
``transaction.abort.timed.out.transaction.cleanup.interval.ms``: an Ongoing transaction older than its
timeout is fenced -- PrepareAbort at epoch + 1 -- and aborted) and the expiration check (every
``transaction.remove.expired.transaction.cleanup.interval.ms``: an id in Empty/CompleteCommit/
CompleteAbort not updated for ``transactional.id.expiration.ms`` gets a tombstone).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from kavka.coordinator.runtime import Batch, Timer
from kavka.coordinator.txn.config import TxnConfig
from kavka.coordinator.txn.metadata import NO_PRODUCER_EPOCH, NO_PRODUCER_ID, TxnChanges, TxnMetadata, TxnState
from kavka.coordinator.txn.records import decode_key, decode_value, txn_record, txn_tombstone
from kavka.protocol.api import ErrorCode

__all__ = ["TxnShard", "MarkerJob"]

log = logging.getLogger(__name__)

_TIMEOUT_KEY = ("abort-timed-out",)
_EXPIRE_KEY = ("expire",)


@dataclass(frozen=True, slots=True)
class MarkerJob:
    """Write a COMMIT/ABORT marker for ``producer_id``/``producer_epoch`` to each of ``partitions``."""

    transactional_id: str
    txn_partition: int  # the __transaction_state partition owning the id
    coordinator_epoch: int
    producer_id: int
    producer_epoch: int
    commit: bool
    partitions: frozenset[tuple[str, int]]


class TxnShard:
    def __init__(
        self,
        partition: int,
        config: TxnConfig,
        time_ms: Callable[[], int],
        coordinator_epoch: int,
        outbox: list[MarkerJob],
    ):
        self.partition = partition
        self.config = config
        self.time_ms = time_ms
        self.coordinator_epoch = coordinator_epoch
        self.timer = Timer(time_ms)
        self.txns: dict[str, TxnMetadata] = {}
        self._outbox = outbox

    # --- replay ---------------------------------------------------------------------------------

    def replay(self, key: bytes, value: bytes | None) -> None:
        txn_id = decode_key(key)
        v = decode_value(value)
        if v is None:
            self.txns.pop(txn_id, None)
            return
        new = TxnMetadata.from_value(txn_id, v)
        old = self.txns.get(txn_id)
        if old is not None and old.producer_id == new.producer_id:
            new.last_producer_epoch = old.last_producer_epoch
            if new.previous_producer_id == -1:
                new.previous_producer_id = old.previous_producer_id
        self.txns[txn_id] = new

    def on_loaded(self, batch: Batch) -> None:
        for meta in self.txns.values():
            if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                self.send_markers(meta)
        self.timer.schedule(_TIMEOUT_KEY, self.config.abort_timed_out_transactions_interval_ms, self._abort_timed_out)
        self.timer.schedule(_EXPIRE_KEY, self.config.remove_expired_transactions_interval_ms, self._expire)

    def on_unloaded(self) -> None:
        self._outbox[:] = [j for j in self._outbox if j.txn_partition != self.partition]

    # --- writing ----------------------------------------------------------------------------------

    def write(self, batch: Batch, new: TxnMetadata, on_done: Callable[[int], None] | None = None) -> None:
        """Append ``new`` as a record; ``on_done(error code)`` after the append (0 when it is applied)."""
        batch.append(txn_record(new.transactional_id, new.to_value()))
        last_epoch, previous_pid = new.last_producer_epoch, new.previous_producer_id

        def success(_follow: Batch) -> None:
            log.debug(
                "%s: %s (producer %d epoch %d) written to partition %d",
                new.transactional_id,
                new.state.display,
                new.producer_id,
                new.producer_epoch,
                self.partition,
            )
            meta = self.txns.get(new.transactional_id)
            if meta is not None:  # what a v0 record does not hold stays in memory, as in Kafka
                meta.last_producer_epoch = last_epoch
                meta.previous_producer_id = previous_pid
            if new.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT) and meta is not None:
                self.send_markers(meta)
            if on_done is not None:
                on_done(0)

        def failure(_follow: Batch, error: int) -> None:
            log.info(
                "%s: writing %s (producer %d epoch %d) to partition %d failed: %s",
                new.transactional_id,
                new.state.display,
                new.producer_id,
                new.producer_epoch,
                self.partition,
                _error_name(error),
            )
            if on_done is not None:
                on_done(int(error))

        batch.on_success(success)
        batch.on_failure(failure)

    def send_markers(self, meta: TxnMetadata, partitions: Iterable[tuple[str, int]] | None = None) -> None:
        self._outbox.append(
            MarkerJob(
                meta.transactional_id,
                self.partition,
                self.coordinator_epoch,
                meta.producer_id,
                meta.producer_epoch,
                meta.state == TxnState.PREPARE_COMMIT,
                frozenset(meta.partitions if partitions is None else partitions),
            )
        )

    def complete(self, batch: Batch, job: MarkerJob) -> None:
        """Every marker of ``job`` is written: CompleteCommit / CompleteAbort (if nothing changed since)."""
        meta = self.txns.get(job.transactional_id)
        want = TxnState.PREPARE_COMMIT if job.commit else TxnState.PREPARE_ABORT
        if (
            meta is None
            or meta.state != want
            or meta.producer_id != job.producer_id
            or meta.producer_epoch != job.producer_epoch
            or job.coordinator_epoch != self.coordinator_epoch
        ):
            log.info(
                "markers of %s done but its state moved on (%s); nothing to complete",
                job.transactional_id,
                meta.state.display if meta else None,
            )
            return
        now = self.time_ms()
        changes: TxnChanges = {
            "partitions": set(),
            "txn_last_update_ms": now,
            "last_producer_epoch": meta.producer_epoch,
        }
        if meta.next_producer_id != NO_PRODUCER_ID:  # transaction version 2 exhausted the epoch: the new id starts
            changes["producer_id"] = meta.next_producer_id
            changes["producer_epoch"] = 0
            changes["next_producer_id"] = NO_PRODUCER_ID
            changes["previous_producer_id"] = meta.producer_id
        new = meta.transition(TxnState.COMPLETE_COMMIT if job.commit else TxnState.COMPLETE_ABORT, **changes)

        def written(error: int) -> None:
            # Kafka's TransactionMarkerChannelManager retries this append when the log refused it for now
            # (NOT_ENOUGH_REPLICAS, a timeout: COORDINATOR_NOT_AVAILABLE); dropped, the transaction would
            # stay in Prepare* until the partition is loaded again, and the producer's next EndTxn would
            # meet it. NOT_COORDINATOR: the new coordinator's load completes it.
            if error == ErrorCode.coordinator_not_available:
                self.timer.schedule(
                    ("complete", job.transactional_id),
                    self.config.marker_retry_backoff_ms,
                    lambda follow: self.complete(follow, job),
                )

        self.write(batch, new, written)

    def retry_markers(self, job: MarkerJob, remaining: set[tuple[str, int]]) -> None:
        def again(_batch: Batch) -> None:
            meta = self.txns.get(job.transactional_id)
            if (
                meta is not None
                and meta.producer_id == job.producer_id
                and meta.producer_epoch == job.producer_epoch
                and meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT)
            ):
                self.send_markers(meta, remaining)

        self.timer.schedule(("markers", job.transactional_id), self.config.marker_retry_backoff_ms, again)

    # --- fencing and timers -------------------------------------------------------------------------

    def fence_and_abort(self, batch: Batch, meta: TxnMetadata, on_done: Callable[[int], None] | None = None) -> None:
        """Kafka's prepareFenceProducerEpoch + endTransaction(ABORT): PrepareAbort at epoch + 1."""
        new = meta.transition(
            TxnState.PREPARE_ABORT,
            producer_epoch=meta.producer_epoch + 1,
            last_producer_epoch=NO_PRODUCER_EPOCH,
            txn_last_update_ms=self.time_ms(),
        )
        self.write(batch, new, on_done)

    def _abort_timed_out(self, batch: Batch) -> None:
        now = self.time_ms()
        for meta in list(self.txns.values()):
            if meta.state == TxnState.ONGOING and meta.txn_start_ms + meta.txn_timeout_ms < now:
                log.info(
                    "transaction of %s (producer %d epoch %d) timed out after %d ms: aborting",
                    meta.transactional_id,
                    meta.producer_id,
                    meta.producer_epoch,
                    meta.txn_timeout_ms,
                )
                self.fence_and_abort(batch, meta)
        self.timer.schedule(_TIMEOUT_KEY, self.config.abort_timed_out_transactions_interval_ms, self._abort_timed_out)

    def _expire(self, batch: Batch) -> None:
        now = self.time_ms()
        for meta in list(self.txns.values()):
            if (
                meta.state.expiration_allowed
                and meta.txn_last_update_ms + self.config.transactional_id_expiration_ms <= now
            ):
                log.info("transactional id %s expired", meta.transactional_id)
                batch.append(txn_tombstone(meta.transactional_id))
        self.timer.schedule(_EXPIRE_KEY, self.config.remove_expired_transactions_interval_ms, self._expire)


def _error_name(code: int) -> str:
    try:
        return ErrorCode(code).name
    except ValueError:
        return str(code)
