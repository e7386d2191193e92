"""The transaction coordinator: routes each transactional id to its ``__transaction_state`` shard.

A transactional id lives on partition ``abs(hashCode(transactional_id)) %
transaction.state.log.num.partitions`` (Java's String.hashCode, Kafka's Utils.abs). Operations on a
partition this coordinator does not own are answered NOT_COORDINATOR; while it loads,
COORDINATOR_LOAD_IN_PROGRESS.

Writes take a ``respond`` callback, called exactly once after the operation's record is in the log
(or at once, for an answer that needs no record):

- ``init_producer_id(...)`` -> ``{"error_code", "producer_id", "producer_epoch"}``
- ``add_partitions_to_txn(...)``, ``add_offsets_to_txn(...)``, ``end_txn(...)`` -> an error code

Reads (``describe_transactions``, ``list_transactions``, and ``verify_partitions`` /
``verify_partition``, the KIP-890 check a partition leader makes before the first transactional append
of a producer, see :mod:`kavka.coordinator.txn.verification`) return their result.

Markers are not written here: :meth:`take_marker_jobs` hands out what must be written, and the writer
reports with :meth:`markers_written`. Error rules are Kafka's for transaction version 0 (what
librdkafka, kafka-python and aiokafka use): see each method.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable
from typing import TypedDict

from kavka.coordinator.runtime import (
    Batch,
    CoordinatorError,
    CoordinatorRuntime,
    Record,
    ResponseBody,
    ShardedCoordinator,
    partition_for,
)
from kavka.coordinator.txn.config import TxnConfig
from kavka.coordinator.txn.metadata import (
    NO_PRODUCER_EPOCH,
    NO_PRODUCER_ID,
    TxnMetadata,
    TxnState,
    is_epoch_exhausted,
)
from kavka.coordinator.txn.shard import MarkerJob, TxnShard
from kavka.metadata.internal_topics import OFFSETS_TOPIC
from kavka.protocol.api import ErrorCode

__all__ = ["TransactionCoordinator", "partition_for", "transaction_state_entry"]

log = logging.getLogger(__name__)


ErrorRespond = Callable[[int], None]
"""The answer of AddPartitionsToTxn, AddOffsetsToTxn and EndTxn: one error code."""


class InitProducerIdResult(TypedDict):
    """The answer of InitProducerId (kio's field names)."""

    error_code: ErrorCode
    producer_id: int
    producer_epoch: int


def transaction_state_entry(transactional_id: str, error: int = ErrorCode.none) -> ResponseBody:
    """A DescribeTransactions entry with no transaction in it (filled in for one that is found): an
    error entry carries the schema's defaults (zeros), as Kafka's does."""
    return {
        "error_code": error,
        "transactional_id": transactional_id,
        "transaction_state": "",
        "transaction_timeout": 0,
        "transaction_start_time": 0,
        "producer_id": 0,
        "producer_epoch": 0,
        "topics": [],
    }


def _init_error(code: int) -> InitProducerIdResult:
    return {"error_code": ErrorCode(code), "producer_id": NO_PRODUCER_ID, "producer_epoch": NO_PRODUCER_EPOCH}


class TransactionCoordinator(ShardedCoordinator[TxnShard]):
    """All transaction coordinator shards of one broker.

    ``append(partition, records)`` writes to ``__transaction_state-<partition>`` or raises;
    ``allocate_producer_id()`` returns a fresh producer id (or raises a CoordinatorError).
    """

    def __init__(
        self,
        config: TxnConfig,
        append: Callable[[int, list[Record]], None],
        time_ms: Callable[[], int],
        allocate_producer_id: Callable[[], int],
    ):
        self.config = config
        self.time_ms = time_ms
        self._allocate = allocate_producer_id
        self._epochs: dict[int, int] = {}
        self._outbox: list[MarkerJob] = []
        self.runtime = CoordinatorRuntime(
            lambda p: TxnShard(p, config, time_ms, self._epochs.get(p, 0), self._outbox), append, time_ms
        )

    # --- ownership ----------------------------------------------------------------------------

    def num_partitions(self) -> int:
        return self.config.transaction_state_log_num_partitions

    def load(self, partition: int, records: Iterable[Record], coordinator_epoch: int = 0) -> None:
        self.begin_load(partition, coordinator_epoch)
        for key, value in records:
            self.replay(partition, key, value)
        self.complete_load(partition)

    def begin_load(self, partition: int, coordinator_epoch: int = 0) -> None:
        """Start owning ``partition``; ``coordinator_epoch`` (its leader epoch) goes into every marker."""
        self._epochs[partition] = coordinator_epoch
        self.runtime.begin_load(partition)

    def validate_timeout(self, timeout_ms: int) -> bool:
        return 0 < timeout_ms <= self.config.transaction_max_timeout_ms

    # --- InitProducerId -----------------------------------------------------------------------

    def init_producer_id(
        self,
        *,
        transactional_id: str,
        transaction_timeout_ms: int,
        respond: Callable[[InitProducerIdResult], None],
        producer_id: int = NO_PRODUCER_ID,
        producer_epoch: int = NO_PRODUCER_EPOCH,
    ) -> None:
        """InitProducerId with a transactional id (Kafka's handleInitProducerId).

        A new id gets a fresh producer id at epoch 0; a known one in Empty/Complete* gets its epoch
        bumped (a new producer id once the epoch is exhausted), which fences older producers. With
        ``producer_id``/``producer_epoch`` (v3+, KIP-360) the caller must be the current producer (or
        a retry of the last bump), else PRODUCER_FENCED. Ongoing: the transaction is fenced and aborted
        (PrepareAbort at epoch + 1) and the caller told CONCURRENT_TRANSACTIONS, to retry; Prepare*:
        CONCURRENT_TRANSACTIONS. Timeout outside (0, transaction.max.timeout.ms]: INVALID_TRANSACTION_TIMEOUT.
        """
        if not transactional_id:
            respond(_init_error(ErrorCode.invalid_request))
            return
        if not self.validate_timeout(transaction_timeout_ms):
            respond(_init_error(ErrorCode.invalid_transaction_timeout))
            return
        expected = (
            None
            if producer_id == NO_PRODUCER_ID and producer_epoch == NO_PRODUCER_EPOCH
            else (producer_id, producer_epoch)
        )

        def op(shard: TxnShard, batch: Batch) -> None:
            now = self.time_ms()
            meta = shard.txns.get(transactional_id)
            if meta is None:
                meta = TxnMetadata(
                    transactional_id,
                    self._allocate(),
                    NO_PRODUCER_EPOCH,
                    transaction_timeout_ms,
                    TxnState.EMPTY,
                    txn_last_update_ms=now,
                )
            if expected is not None and not (
                meta.producer_epoch == NO_PRODUCER_EPOCH
                or expected[0] == meta.producer_id
                or (expected[0] == meta.previous_producer_id and is_epoch_exhausted(expected[1]))
            ):
                respond(_init_error(ErrorCode.producer_fenced))
                return
            state = meta.state
            if state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                respond(_init_error(ErrorCode.concurrent_transactions))
                return
            if state == TxnState.ONGOING:
                shard.fence_and_abort(
                    batch,
                    meta,
                    lambda err: respond(_init_error(ErrorCode.concurrent_transactions if err == 0 else err)),
                )
                return
            if state not in (TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT):
                respond(_init_error(ErrorCode.unknown_server_error))
                return
            if is_epoch_exhausted(meta.producer_epoch) and (expected is None or expected[1] == meta.producer_epoch):
                new = meta.transition(
                    TxnState.EMPTY,
                    producer_id=self._allocate(),
                    producer_epoch=0,
                    previous_producer_id=meta.producer_id,
                    last_producer_epoch=meta.producer_epoch if expected else NO_PRODUCER_EPOCH,
                    txn_timeout_ms=transaction_timeout_ms,
                    partitions=set(),
                    txn_start_ms=-1,
                    txn_last_update_ms=now,
                )
            else:
                bumped = meta.producer_epoch + 1
                if expected is None:
                    epochs = (bumped, NO_PRODUCER_EPOCH)
                elif meta.producer_epoch == NO_PRODUCER_EPOCH or expected[1] == meta.producer_epoch:
                    epochs = (bumped, meta.producer_epoch)
                elif expected[1] == meta.last_producer_epoch:
                    epochs = (meta.producer_epoch, meta.last_producer_epoch)  # a retry of the last bump
                else:
                    respond(_init_error(ErrorCode.producer_fenced))
                    return
                new = meta.transition(
                    TxnState.EMPTY,
                    producer_epoch=epochs[0],
                    last_producer_epoch=epochs[1],
                    txn_timeout_ms=transaction_timeout_ms,
                    partitions=set(),
                    txn_start_ms=-1,
                    txn_last_update_ms=now,
                )
            result = InitProducerIdResult(
                error_code=ErrorCode.none, producer_id=new.producer_id, producer_epoch=new.producer_epoch
            )
            shard.write(batch, new, lambda err: respond(result if err == 0 else _init_error(err)))

        self._write(transactional_id, op, respond, _init_error)

    # --- AddPartitionsToTxn / AddOffsetsToTxn ---------------------------------------------------

    def _check_producer(
        self, meta: TxnMetadata | None, producer_id: int, producer_epoch: int
    ) -> TxnMetadata | ErrorCode:
        """``meta`` if it is the transaction of this producer at this epoch, else the error for it."""
        if meta is None or meta.producer_id != producer_id:
            return ErrorCode.invalid_producer_id_mapping
        if meta.producer_epoch != producer_epoch:
            return ErrorCode.producer_fenced
        return meta

    def add_partitions_to_txn(
        self,
        *,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[tuple[str, int]],
        respond: ErrorRespond,
        client_transaction_version: int = 0,
    ) -> None:
        """AddPartitionsToTxn: one error for the whole transaction (Kafka's rules: unknown id or other
        producer id INVALID_PRODUCER_ID_MAPPING, other epoch PRODUCER_FENCED, Prepare*
        CONCURRENT_TRANSACTIONS; partitions already in the Ongoing transaction: NONE, nothing written).

        ``client_transaction_version`` 2: the add a partition leader makes for a Produce v12+ or a
        TxnOffsetCommit v5+ of a version 2 client (KIP-890 part 2: no AddPartitionsToTxn from the client);
        the transaction it starts remembers that version."""
        if not transactional_id:
            respond(ErrorCode.invalid_request)
            return
        wanted = {(str(t), int(p)) for t, p in partitions}

        def op(shard: TxnShard, batch: Batch) -> None:
            meta = self._check_producer(shard.txns.get(transactional_id), producer_id, producer_epoch)
            if isinstance(meta, ErrorCode):
                respond(meta)
                return
            if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                respond(ErrorCode.concurrent_transactions)
                return
            if meta.state == TxnState.ONGOING and wanted <= meta.partitions:
                respond(ErrorCode.none)
                return
            if meta.state not in (TxnState.EMPTY, TxnState.ONGOING, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT):
                respond(ErrorCode.invalid_txn_state)
                return
            now = self.time_ms()
            ongoing = meta.state == TxnState.ONGOING
            new = meta.transition(
                TxnState.ONGOING,
                partitions=meta.partitions | wanted,
                txn_start_ms=meta.txn_start_ms if ongoing else now,
                txn_last_update_ms=now,
                client_transaction_version=max(meta.client_transaction_version, client_transaction_version)
                if ongoing
                else client_transaction_version,
            )
            shard.write(batch, new, respond)

        self._write(transactional_id, op, respond, lambda code: code)

    def offsets_partition(self, group_id: str) -> tuple[str, int]:
        """The ``__consumer_offsets`` partition of ``group_id`` (what AddOffsetsToTxn adds)."""
        return OFFSETS_TOPIC, partition_for(group_id, self.config.offsets_topic_num_partitions)

    def add_offsets_to_txn(
        self,
        *,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        group_id: str,
        respond: ErrorRespond,
        client_transaction_version: int = 0,
    ) -> None:
        """AddOffsetsToTxn: adds the group's ``__consumer_offsets`` partition to the transaction (for an
        empty group id too: Kafka adds its partition and leaves the refusal to TxnOffsetCommit)."""
        self.add_partitions_to_txn(
            transactional_id=transactional_id,
            producer_id=producer_id,
            producer_epoch=producer_epoch,
            partitions=[self.offsets_partition(group_id)],
            respond=respond,
            client_transaction_version=client_transaction_version,
        )

    # --- verification (KIP-890 part 1) ------------------------------------------------------------

    def verify_partitions(
        self, *, transactional_id: str, producer_id: int, producer_epoch: int, partitions: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], ErrorCode]:
        """AddPartitionsToTxn v4 ``verifyOnly`` (Kafka's handleVerifyPartitionsInTransaction): is each
        partition in the producer's ongoing transaction? A read: nothing is written, and it answers at once.

        Per partition: NONE if it is in the transaction, else TRANSACTION_ABORTABLE. Errors for the
        whole transaction, given to every partition: empty id INVALID_REQUEST, partition of the id not
        owned NOT_COORDINATOR, loading COORDINATOR_LOAD_IN_PROGRESS, unknown id or other producer id
        INVALID_PRODUCER_ID_MAPPING, other epoch PRODUCER_FENCED, PrepareCommit/PrepareAbort
        CONCURRENT_TRANSACTIONS. Partitions leave the transaction when it completes (the markers are
        written), so after a commit or abort every partition is TRANSACTION_ABORTABLE.
        """
        wanted = [(str(t), int(p)) for t, p in partitions]
        error = self._verify_error(transactional_id, producer_id, producer_epoch)
        if error is not None:
            return dict.fromkeys(wanted, error)
        txn_partitions = self.shard_of(transactional_id).txns[transactional_id].partitions
        return {tp: ErrorCode.none if tp in txn_partitions else ErrorCode.transaction_abortable for tp in wanted}

    def verify_partition(
        self, *, transactional_id: str, producer_id: int, producer_epoch: int, topic: str, partition: int
    ) -> ErrorCode:
        """:meth:`verify_partitions` for one partition (what a partition leader asks before an append)."""
        error = self._verify_error(transactional_id, producer_id, producer_epoch)
        if error is not None:
            return error
        if (topic, partition) in self.shard_of(transactional_id).txns[transactional_id].partitions:
            return ErrorCode.none
        return ErrorCode.transaction_abortable

    def _verify_error(self, transactional_id: str, producer_id: int, producer_epoch: int) -> ErrorCode | None:
        if not transactional_id:
            return ErrorCode.invalid_request
        error = self.runtime.partition_error(self.partition_for(transactional_id))
        if error:
            return error
        meta = self._check_producer(
            self.shard_of(transactional_id).txns.get(transactional_id), producer_id, producer_epoch
        )
        if isinstance(meta, ErrorCode):
            return meta
        if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            return ErrorCode.concurrent_transactions
        return None

    # --- EndTxn -----------------------------------------------------------------------------------

    def end_txn(
        self,
        *,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        commit: bool,
        respond: ErrorRespond,
        client_transaction_version: int = 0,
    ) -> None:
        """EndTxn (Kafka's endTransaction, from a client).

        Ongoing -> PrepareCommit/PrepareAbort, answered once that record is written (markers follow).
        A retry after completion (CompleteCommit + commit, CompleteAbort + abort): NONE. While the same
        outcome is being prepared: CONCURRENT_TRANSACTIONS. Anything else (Empty, the opposite
        outcome): INVALID_TXN_STATE. Other producer id: INVALID_PRODUCER_ID_MAPPING; other epoch:
        PRODUCER_FENCED.

        Transaction version 2 (``client_transaction_version`` 2, EndTxn v5): the Prepare state carries
        epoch + 1 (and, once the epoch is exhausted, a new producer id for completion), which the
        caller reads back with :meth:`producer_after_end`. A version 2 retry is recognised by that
        bump: the caller's epoch + 1 is the current one, or its producer id is the previous one at the
        last epoch and the new one is at epoch 0 (Prepare*: CONCURRENT_TRANSACTIONS as usual,
        Complete*: NONE). In Complete* the current epoch is a new, empty transaction
        (INVALID_TXN_STATE); any other epoch is PRODUCER_FENCED, and in Ongoing/Empty only the current
        epoch is valid. The rules follow the request's version (what Kafka 4.4 answers a version 1
        EndTxn after a version 2 transaction shows), not the version the transaction was run with.
        """
        if not transactional_id:
            respond(ErrorCode.invalid_request)
            return

        def op(shard: TxnShard, batch: Batch) -> None:
            meta = shard.txns.get(transactional_id)
            if meta is None:
                respond(ErrorCode.invalid_producer_id_mapping)
                return
            tv2 = client_transaction_version >= 2
            error, retry = self._end_txn_producer_check(meta, producer_id, producer_epoch, tv2)
            if error is not None:
                respond(error)
                return
            state = meta.state
            if state == TxnState.ONGOING:
                target = TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT
                if client_transaction_version >= 2:
                    next_pid = self._allocate() if is_epoch_exhausted(meta.producer_epoch) else NO_PRODUCER_ID
                    new = meta.transition(
                        target,
                        producer_epoch=meta.producer_epoch + 1,
                        last_producer_epoch=meta.producer_epoch,
                        next_producer_id=next_pid,
                        client_transaction_version=client_transaction_version,
                        txn_last_update_ms=self.time_ms(),
                    )
                else:
                    new = meta.transition(
                        target, client_transaction_version=client_transaction_version, txn_last_update_ms=self.time_ms()
                    )
                shard.write(batch, new, respond)
            elif (state == TxnState.COMPLETE_COMMIT and commit) or (state == TxnState.COMPLETE_ABORT and not commit):
                # version 2: at the current epoch this is a new transaction with nothing in it
                respond(ErrorCode.none if retry or not tv2 else ErrorCode.invalid_txn_state)
            elif (state == TxnState.PREPARE_COMMIT and commit) or (state == TxnState.PREPARE_ABORT and not commit):
                respond(ErrorCode.concurrent_transactions)
            else:
                log.info(
                    "%s: EndTxn(%s) in state %s: INVALID_TXN_STATE",
                    transactional_id,
                    "commit" if commit else "abort",
                    state.display,
                )
                respond(ErrorCode.invalid_txn_state)

        self._write(transactional_id, op, respond, lambda code: code)

    @staticmethod
    def _end_txn_producer_check(
        meta: TxnMetadata, producer_id: int, producer_epoch: int, tv2: bool
    ) -> tuple[ErrorCode | None, bool]:
        """Kafka's producer id and epoch checks of endTransaction (see :meth:`end_txn`): (the error or
        None, whether the call is a version 2 retry of the EndTxn that bumped the epoch)."""
        retry_on_bump = tv2 and meta.producer_epoch == producer_epoch + 1
        retry_on_overflow = (
            tv2
            and meta.previous_producer_id == producer_id
            and is_epoch_exhausted(producer_epoch)
            and meta.producer_epoch == 0
        )
        retry = retry_on_bump or retry_on_overflow
        if meta.producer_id != producer_id and not retry_on_overflow:
            return ErrorCode.invalid_producer_id_mapping, retry
        if not tv2:
            valid = producer_epoch == meta.producer_epoch
        elif meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
            valid = retry_on_bump
        elif meta.state in (TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT):
            valid = retry or producer_epoch == meta.producer_epoch
        else:
            valid = producer_epoch == meta.producer_epoch
        return (None if valid else ErrorCode.producer_fenced), retry

    def producer_after_end(self, transactional_id: str) -> tuple[int, int]:
        """The producer id and epoch a client continues with after a successful EndTxn (v5's answer):
        the new producer id at epoch 0 when the bump exhausted the epoch, else the current ones."""
        meta = self.shard_of(transactional_id).txns[transactional_id]
        if meta.next_producer_id != NO_PRODUCER_ID:
            return meta.next_producer_id, 0
        return meta.producer_id, meta.producer_epoch

    # --- markers ----------------------------------------------------------------------------------

    def take_marker_jobs(self) -> list[MarkerJob]:
        """The marker jobs due now (each once); the caller writes them and calls :meth:`markers_written`."""
        jobs, self._outbox[:] = list(self._outbox), []
        return jobs

    def has_marker_jobs(self) -> bool:
        return bool(self._outbox)

    def markers_written(self, job: MarkerJob, failed: Iterable[tuple[str, int]] = (), fenced: bool = False) -> None:
        """Report on ``job``: ``failed`` partitions are retried after a backoff; once none is left the
        transaction completes. ``fenced`` (a partition saw a newer coordinator or producer epoch) stops
        the job, as Kafka does."""
        failed_partitions = set(failed)
        if fenced:
            log.warning("markers of %s fenced; giving up on them", job.transactional_id)
            return
        if not self.runtime.is_active(job.txn_partition):
            return
        shard = self.runtime.shard(job.txn_partition)
        if shard.coordinator_epoch != job.coordinator_epoch:
            return
        if failed_partitions:
            shard.retry_markers(job, failed_partitions)
            return
        try:
            self.runtime.write(job.txn_partition, lambda s, batch: s.complete(batch, job))
        except CoordinatorError:
            pass

    # --- reads ------------------------------------------------------------------------------------

    def describe_transactions(self, transactional_ids: Iterable[str]) -> list[ResponseBody]:
        """DescribeTransactions: per id, its state or NOT_COORDINATOR / COORDINATOR_LOAD_IN_PROGRESS /
        TRANSACTIONAL_ID_NOT_FOUND."""
        out: list[ResponseBody] = []
        for txn_id in transactional_ids:
            entry = transaction_state_entry(txn_id)
            error = (
                self.runtime.partition_error(self.partition_for(txn_id))
                if txn_id
                else ErrorCode.transactional_id_not_found
            )
            meta: TxnMetadata | None = None
            if not error:
                meta = self.shard_of(txn_id).txns.get(txn_id)
                if meta is None or meta.state == TxnState.DEAD:
                    error = ErrorCode.transactional_id_not_found
            entry["error_code"] = error
            if meta is not None and not error:
                topics: dict[str, list[int]] = {}
                for t, p in meta.partitions:
                    topics.setdefault(t, []).append(p)
                entry.update(
                    transaction_state=meta.state.display,
                    transaction_timeout=meta.txn_timeout_ms,
                    transaction_start_time=meta.txn_start_ms,
                    producer_id=meta.producer_id,
                    producer_epoch=meta.producer_epoch,
                    topics=[{"topic": t, "partitions": sorted(ps)} for t, ps in sorted(topics.items())],
                )
            out.append(entry)
        return out

    def list_transactions(
        self,
        state_filters: Iterable[str] = (),
        producer_id_filters: Iterable[int] = (),
        duration_filter_ms: int = -1,
        transactional_id_pattern: str | None = None,
    ) -> ResponseBody:
        """ListTransactions over every shard this coordinator owns (Kafka's filters: state names,
        producer ids, running longer than ``duration_filter_ms`` (v1), and a regular expression the whole
        transactional id must match (v2, KIP-1152, Java's ``Matcher.matches``; null or empty: no filter; one that does not
        compile: INVALID_REGULAR_EXPRESSION and nothing listed)."""
        pattern: re.Pattern[str] | None = None
        if transactional_id_pattern:
            try:
                pattern = re.compile(transactional_id_pattern)
            except (re.error, RecursionError, OverflowError):  # deep nesting, huge repeat counts too
                return {
                    "error_code": ErrorCode.invalid_regular_expression,
                    "unknown_state_filters": [],
                    "transaction_states": [],
                }
        states: set[TxnState] = set()
        unknown: list[str] = []
        for name in state_filters:
            s = TxnState.from_display(name)
            if s is None:
                unknown.append(name)
            else:
                states.add(s)
        pids = set(producer_id_filters)
        error = ErrorCode.none
        for p in self.runtime.owned_partitions():
            if not self.runtime.is_active(p):
                error = ErrorCode.coordinator_load_in_progress
        now = self.time_ms()
        found: list[ResponseBody] = []
        if not error:
            for _p, shard in self.runtime.active_shards():
                for meta in shard.txns.values():
                    if meta.state == TxnState.DEAD:
                        continue
                    if pids and meta.producer_id not in pids:
                        continue
                    if state_filters and meta.state not in states:
                        continue
                    if duration_filter_ms >= 0 and now - meta.txn_start_ms <= duration_filter_ms:
                        continue
                    if pattern is not None and not pattern.fullmatch(meta.transactional_id):
                        continue
                    found.append(
                        {
                            "transactional_id": meta.transactional_id,
                            "producer_id": meta.producer_id,
                            "transaction_state": meta.state.display,
                        }
                    )
        return {
            "error_code": error,
            "unknown_state_filters": unknown,
            "transaction_states": sorted(found, key=lambda d: d["transactional_id"]),
        }
