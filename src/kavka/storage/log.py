"""The log of one partition (Kafka's ``UnifiedLog``): offsets, producer state, appends, truncation, retention.

Directory ``<log dir>/<topic>-<partition>/`` holds the segments (see kavka.storage.segment), producer
state snapshots (kavka.storage.producer_state) and ``partition.metadata`` (kavka.storage.checkpoints).

Offsets, distinct from day one even on one node:

- ``log_start_offset``: first offset a consumer may read (raised by retention or DeleteRecords).
- ``log_end_offset`` (LEO): offset the next appended record gets.
- ``high_watermark``: offsets below it are committed (replicated); the broker sets it
  (single node: = LEO after each append). Consumers read below it.
- ``last_stable_offset`` (LSO): ``min(high watermark, first unstable offset)``, where the first unstable
  offset is the first offset of the earliest transaction still open, or closed by a marker not yet
  below the high watermark (never below the log start). ``read_committed`` consumers read below it.
- ``recovery_point``: everything below it is fsynced; a crash recovers from there.

The module split follows Kafka's: ``PartitionLog`` is ``UnifiedLog`` (offsets, high watermark, LSO,
producer and transaction state, appends, truncation, retention, lifecycle) on top of its base class
``LocalLog`` (kavka.storage.local_log: the segments -- roll, flush, reads, timestamp lookups, delete,
swap; the flushing and asynchronous-delete rules are stated there), and validation and offset
assignment are ``LogValidator``'s (kavka.storage.validator). ``ReadResult``, ``FetchRead`` and
``FETCH_INLINE_MAX`` are re-exported here.

Retention (``enforce_retention``) is Kafka's ``deleteOldSegments``: oldest first, while a segment's
largest timestamp is older than ``retention.ms`` or the log is above ``retention.bytes`` by at least the
segment's size, only below the high watermark; if every segment is deletable, the active one is rolled
first so the log keeps an (empty) active segment. Removed segments go through ``LocalLog``'s
asynchronous delete (``file.delete.delay.ms``).

Compacted topics (``cleanup.policy`` with ``compact``): appends are refused with INVALID_RECORD when a
record has no key (this decompresses those batches: Kafka does the same), the active segment also rolls
by ``max.compaction.lag.ms``, and the cleaner (kavka.storage.cleaner) swaps cleaned segments in through
``replace_segments``.

Append path (``append_as_leader``): validate and plan offsets (``validate_records``: headers and CRC,
per-batch checks of size, control batches, record count, timestamps), producer-id/sequence checks, roll
if needed, patch offsets and leader epoch in place (``assign_offsets``; LogAppendTime recomputes that
batch's CRC), one write. Work is per batch, never per record. All batches of one request land in one
segment with one write, so readers see all or none.

Follower path (``append_as_follower``): batches whose offsets and leader epochs are already set (fetched
from a leader, or the Raft core's metadata log entries) are checked (header, CRC, size, that they continue
the log exactly) and written as they are, in one write; the leader epoch cache, indexes and producer state
follow as after a leader append, without the producer's sequence checks (Kafka's ``appendAsFollower``).

Transactions: transactional data batches open a transaction per producer (kavka.storage.producer_state);
``append_control_marker`` writes the coordinator's COMMIT/ABORT control batch (Kafka's WriteTxnMarkers
effect on one partition) and closes it; an abort is recorded in the ``.txnindex`` of the segment that
holds the marker (kavka.storage.txn_index), which ``collect_aborted_transactions`` reads for Fetch at
``read_committed``.

Not thread-safe: the broker owns a PartitionLog from one thread (its event loop).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
from typing import NamedTuple

from kavka.protocol.batch import LOG_OVERHEAD, stamp_log_append_time, validate_batches
from kavka.protocol.records import ControlType, build_control_batch, control_record_type, decode_batch
from kavka.storage.config import LogConfig
from kavka.storage.errors import (
    KafkaStorageError,
    OffsetOutOfRangeError,
    RecordTooLargeError,
    UnexpectedAppendOffsetError,
)
from kavka.storage.fs import FileSystem
from kavka.storage.index import CorruptIndexError
from kavka.storage.loader import LogLoader, replay_producer_state
from kavka.storage.local_log import FETCH_INLINE_MAX, FetchRead, LocalLog, ReadResult
from kavka.storage.producer_state import ProducerStateManager
from kavka.storage.segment import LogSegment
from kavka.storage.txn_index import AbortedTxn
from kavka.storage.validator import assign_offsets, validate_records

__all__ = [
    "PartitionLog",
    "AppendResult",
    "ReadResult",
    "FetchRead",
    "FETCH_INLINE_MAX",
    "parse_partition_dir_name",
]


class AppendResult(NamedTuple):
    base_offset: int
    last_offset: int
    log_append_time: int  # -1 for CreateTime topics
    log_start_offset: int
    num_records: int
    duplicate: bool = False


def parse_partition_dir_name(name: str) -> tuple[str, int]:
    """``'orders-3'`` -> ``('orders', 3)``. Raises ValueError for other names."""
    topic, sep, partition = name.rpartition("-")
    if not sep or not topic or not partition.isdigit():
        raise ValueError(f"not a partition directory name: {name!r}")
    return topic, int(partition)


class PartitionLog(LocalLog):
    """One partition's log: LocalLog's segments plus offsets, producer state and appends (module docstring)."""

    def __init__(
        self,
        fs: FileSystem,
        dir_path: str,
        config: LogConfig,
        *,
        now_ms: int = 0,
        recovery_point: int = 0,
        log_start_offset: int = 0,
        clean_shutdown: bool = False,
        topic_id: str | None = None,
        producer_id_expiration_ms: int | None = None,
    ) -> None:
        """Open (or create) the partition directory; see kavka.storage.loader for what happens.
        ``producer_id_expiration_ms`` (the broker's ``producer.id.expiration.ms``; None: never) drops
        expired producers from the loaded snapshot and is the default of ``remove_expired_producers``."""
        dir_path = dir_path.rstrip("/")
        self.topic, self.partition = parse_partition_dir_name(dir_path.rsplit("/", 1)[-1])
        self.topic_id = topic_id
        self.producer_id_expiration_ms = producer_id_expiration_ms
        loaded = LogLoader(
            fs,
            dir_path,
            config,
            recovery_point=recovery_point,
            log_start_offset=log_start_offset,
            clean_shutdown=clean_shutdown,
            now_ms=now_ms,
            producer_id_expiration_ms=producer_id_expiration_ms,
        ).load()
        super().__init__(
            fs,
            dir_path,
            config,
            loaded.segments,
            log_end_offset=loaded.log_end_offset,
            recovery_point=loaded.recovery_point,
            now_ms=now_ms,
        )
        self.load_info = loaded
        self._log_start = loaded.log_start_offset
        # Every batch that survived is committed on a single node; in a cluster the broker lowers it to
        # what replication-offset-checkpoint recorded before the partition serves anything.
        self._hw = self._leo
        self._producers = loaded.producer_state
        self._producers.on_high_watermark_updated(self._hw)
        self.leader_epoch_cache = loaded.leader_epoch_cache
        # The recovery point is now the log end: the cache must be on disk before anyone checkpoints it.
        self.leader_epoch_cache.flush()

    # -- offsets --------------------------------------------------------------------------------------

    @property
    def log_start_offset(self) -> int:
        return self._log_start

    @property
    def log_end_offset(self) -> int:
        return self._leo

    @property
    def high_watermark(self) -> int:
        return self._hw

    @property
    def last_stable_offset(self) -> int:
        first = self._producers.first_unstable_offset()
        if first is None or first >= self._hw:
            return self._hw
        return max(first, self._log_start)

    @property
    def first_undecided_offset(self) -> int | None:
        """First offset of the earliest open transaction (None if none), regardless of replication."""
        return self._producers.first_undecided_offset()

    def ongoing_transactions(self) -> list[tuple[int, int]]:
        """``[(producer id, first offset)]`` of the transactions open in this partition, oldest first."""
        return self._producers.ongoing_transactions()

    def last_records_of_active_producers(self) -> dict[int, tuple[int, int]]:
        """``{producer id: (last data offset or -1, epoch)}`` (Kafka's ``lastRecordsOfActiveProducers``):
        the cleaner keeps each active producer's last batch so its sequence and epoch survive compaction.
        Active means in the producer state: once expired (``remove_expired_producers``) a producer's
        last batch is cleaned like any other."""
        return {pid: (e.last_offset, e.epoch) for pid, e in self._producers.producers.items()}

    def remove_expired_producers(self, now_ms: int, expiration_ms: int | None = None) -> list[int]:
        """Kafka's ``removeExpiredProducers``: forget producers with no open transaction whose last write
        (``last_timestamp``) is at least ``expiration_ms`` (default: this log's
        ``producer_id_expiration_ms``; None: nothing expires) old. Returns their ids."""
        if expiration_ms is None:
            expiration_ms = self.producer_id_expiration_ms
        if expiration_ms is None:
            return []
        return self._producers.remove_expired_producers(now_ms, expiration_ms)

    @property
    def producer_state(self) -> ProducerStateManager:
        return self._producers

    def update_high_watermark(self, offset: int) -> int:
        """Set the high watermark, clamped to [log_start_offset, log_end_offset]; returns the value set."""
        self._hw = max(self._log_start, min(offset, self._leo))
        self._producers.on_high_watermark_updated(self._hw)
        return self._hw

    def update_config(self, config: LogConfig) -> None:
        self.config = config

    # -- append ---------------------------------------------------------------------------------------

    def append_as_leader(self, records: bytearray | memoryview, *, leader_epoch: int, now_ms: int) -> AppendResult:
        """Validate, assign offsets to and append one produce request's record set (patched in place).

        ``records`` is a bytearray or a writable memoryview (a slice of the request frame); anything
        read-only is copied once so it can be patched. Validation and offset assignment are
        kavka.storage.validator's.
        """
        cfg = self.config
        records, plan, next_offset, max_ts, offset_of_max, num_records = validate_records(
            records, cfg, self._leo, now_ms, self.topic, self.partition
        )
        log_append = cfg.log_append_time
        duplicate, staged = self._producers.stage(plan)
        if duplicate is not None:
            return AppendResult(
                duplicate.first_offset,
                duplicate.last_offset,
                duplicate.timestamp if log_append else -1,
                self._log_start,
                num_records,
                True,
            )

        base_offset = self._leo
        if leader_epoch > self.leader_epoch_cache.latest_epoch:
            self.leader_epoch_cache.assign(leader_epoch, base_offset)
        segment = self._segments[-1]
        if segment.should_roll(
            messages_size=len(records),
            max_timestamp=max_ts,
            max_offset=next_offset - 1,
            now_ms=now_ms,
            segment_bytes=cfg.segment_bytes,
            segment_ms=cfg.max_segment_ms,
        ):
            segment = self.roll(now_ms)
        assign_offsets(records, plan, leader_epoch, now_ms if log_append else None)
        try:
            segment.append(
                records,
                last_offset=next_offset - 1,
                max_timestamp=max_ts,
                offset_of_max_timestamp=offset_of_max,
                first_batch_max_timestamp=plan[0][2],
            )
        except OSError as e:
            raise KafkaStorageError(f"append to {self.dir} failed: {e}") from e
        self._producers.commit(staged, next_offset)
        self._leo = next_offset
        self._unflushed_messages += num_records
        if self._unflushed_messages >= cfg.flush_messages or now_ms - self._last_flush_ms >= cfg.flush_ms:
            self.flush(now_ms)
        return AppendResult(
            base_offset, next_offset - 1, now_ms if log_append else -1, self._log_start, num_records, False
        )

    def append_as_follower(self, records: bytes | bytearray | memoryview, *, now_ms: int) -> AppendResult:
        """Append whole batches whose offsets and partition leader epochs are already set, unchanged.

        Checks, in Kafka's order: every batch's header and CRC (CorruptRecordError), each batch within
        ``max.message.bytes`` and the run within ``segment.bytes`` (RecordTooLargeError); then that the
        first batch starts at or after the log end offset and each next one at or after the end of the
        one before (UnexpectedAppendOffsetError for an overlap; a gap is what a compacted leader's log
        holds, and Kafka's follower accepts it too). Nothing is written unless every check passes; then one
        write (rolling first if needed), and each batch's leader epoch newer than the latest known starts
        that epoch in the leader epoch cache. Producer state is replayed from the batch headers without
        validation; an ABORT marker adds its ``.txnindex`` entry. Not durable until a flush."""
        headers = validate_batches(records)
        cfg = self.config
        if len(records) > cfg.segment_bytes:
            raise RecordTooLargeError(f"record set of {len(records)} bytes exceeds segment.bytes {cfg.segment_bytes}")
        expected = self._leo
        max_ts, offset_of_max, num_records = -1, expected, 0
        for i, h in enumerate(headers):
            if h.size > cfg.max_message_bytes:
                raise RecordTooLargeError(f"batch of {h.size} bytes exceeds max.message.bytes {cfg.max_message_bytes}")
            if h.base_offset < expected:
                where = "the log end offset" if i == 0 else "the end of the batch before it"
                raise UnexpectedAppendOffsetError(
                    f"batch at offset {h.base_offset} appended to {self.topic}-{self.partition} starts before "
                    f"{where} ({expected})"
                )
            expected = h.next_offset
            if h.max_timestamp > max_ts:
                max_ts, offset_of_max = h.max_timestamp, h.last_offset
            num_records += h.records_count
        base_offset, next_offset = headers[0].base_offset, expected
        segment = self._segments[-1]
        if segment.should_roll(
            messages_size=len(records),
            max_timestamp=max_ts,
            max_offset=next_offset - 1,
            now_ms=now_ms,
            segment_bytes=cfg.segment_bytes,
            segment_ms=cfg.max_segment_ms,
        ):
            segment = self.roll(now_ms)
        try:
            segment.append(
                records,
                last_offset=next_offset - 1,
                max_timestamp=max_ts,
                offset_of_max_timestamp=offset_of_max,
                first_batch_max_timestamp=headers[0].max_timestamp,
            )
        except OSError as e:
            raise KafkaStorageError(f"append to {self.dir} failed: {e}") from e
        self._leo = next_offset
        pos = 0
        for h in headers:
            if h.partition_leader_epoch > self.leader_epoch_cache.latest_epoch:
                self.leader_epoch_cache.assign(h.partition_leader_epoch, h.base_offset)
            marker = None
            if h.is_control and h.is_transactional and h.producer_id >= 0:
                _h, recs = decode_batch(records, pos, check_crc=False)
                if recs and (ctype := control_record_type(recs[0])[1]) in (ControlType.ABORT, ControlType.COMMIT):
                    marker = ctype
            done = self._producers.replay(h, marker)
            if done is not None and done[0].is_aborted:
                completed, lso = done
                segment.txn_index.append(
                    AbortedTxn(completed.producer_id, completed.first_offset, completed.last_offset, lso)
                )
            pos += h.batch_length + LOG_OVERHEAD
        self._producers.map_end_offset = next_offset
        self._unflushed_messages += num_records
        if self._unflushed_messages >= cfg.flush_messages or now_ms - self._last_flush_ms >= cfg.flush_ms:
            self.flush(now_ms)
        return AppendResult(base_offset, next_offset - 1, -1, self._log_start, num_records, False)

    def append_control_marker(
        self,
        producer_id: int,
        producer_epoch: int,
        commit: bool,
        coordinator_epoch: int,
        now_ms: int,
        *,
        leader_epoch: int | None = None,
    ) -> AppendResult:
        """Write an end-transaction marker (a one-record COMMIT or ABORT control batch) for ``producer_id``
        and close its transaction here: what a WriteTxnMarkers request does to one partition.

        Raises InvalidProducerEpochError for an epoch below the producer's (a marker from before a
        fence), TransactionCoordinatorFencedError for a coordinator epoch below the last one seen. A
        marker for a producer with no open transaction here is written all the same (Kafka does).
        An abort with data gets its ``.txnindex`` entry in the segment the marker lands in.
        """
        if leader_epoch is None:
            leader_epoch = max(self.leader_epoch_cache.latest_epoch, 0)
        offset = self._leo
        ts = now_ms
        entry, completed = self._producers.stage_marker(
            producer_id, producer_epoch, coordinator_epoch, offset, not commit, timestamp=ts
        )
        records = bytearray(
            build_control_batch(
                commit,
                producer_id,
                producer_epoch,
                coordinator_epoch,
                ts,
                base_offset=offset,
                partition_leader_epoch=leader_epoch,
            )
        )
        if self.config.log_append_time:
            stamp_log_append_time(records, 0, len(records), now_ms)
        if leader_epoch > self.leader_epoch_cache.latest_epoch:
            self.leader_epoch_cache.assign(leader_epoch, offset)
        segment = self._segments[-1]
        if segment.should_roll(
            messages_size=len(records),
            max_timestamp=ts,
            max_offset=offset,
            now_ms=now_ms,
            segment_bytes=self.config.segment_bytes,
            segment_ms=self.config.max_segment_ms,
        ):
            segment = self.roll(now_ms)
        try:
            segment.append(
                records,
                last_offset=offset,
                max_timestamp=ts,
                offset_of_max_timestamp=offset,
                first_batch_max_timestamp=ts,
            )
            if completed is not None and completed.is_aborted:
                lso = self._producers.last_stable_offset_after(completed)
                segment.txn_index.append(AbortedTxn(producer_id, completed.first_offset, offset, lso))
        except OSError as e:
            raise KafkaStorageError(f"append to {self.dir} failed: {e}") from e
        self._producers.complete_marker(entry, completed, offset + 1, self._hw)
        self._leo = offset + 1
        self._unflushed_messages += 1
        if (
            self._unflushed_messages >= self.config.flush_messages
            or now_ms - self._last_flush_ms >= self.config.flush_ms
        ):
            self.flush(now_ms)
        return AppendResult(offset, offset, now_ms if self.config.log_append_time else -1, self._log_start, 1, False)

    def collect_aborted_transactions(self, start_offset: int, upper_offset: int) -> list[tuple[int, int]]:
        """``[(producer id, first offset)]`` of the aborted transactions overlapping
        ``[start_offset, upper_offset)`` (Kafka's ``collectAbortedTransactions``), for Fetch at
        ``read_committed``: from the segment holding ``start_offset`` on, until an index says no
        transaction open in the range can end later."""
        out: list[tuple[int, int]] = []
        if upper_offset <= start_offset:
            return out
        i = max(0, bisect.bisect_right(self._bases, start_offset) - 1)
        for seg in self._segments[i:]:
            try:
                found, complete = seg.txn_index.collect(start_offset, upper_offset)
            except CorruptIndexError:
                self.rebuild_txn_indexes()
                return self.collect_aborted_transactions(start_offset, upper_offset)
            out.extend((t.producer_id, t.first_offset) for t in found)
            if complete:
                break
        return out

    def rebuild_txn_indexes(self) -> None:
        """Refill every segment's ``.txnindex`` from the log (one found corrupt): a headers-only replay
        from the log start with a scratch producer state; the live producer state is left alone."""
        scratch = ProducerStateManager(self.fs, self.dir)
        scratch.map_end_offset = self._log_start
        for seg in self._segments:
            seg.txn_index.reset()
        replay_producer_state(scratch, self._segments, self._log_start, index_from=self._log_start)
        for seg in self._segments:
            seg.txn_index.flush()

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch: ``(largest epoch <= epoch, its end offset)``, or (-1, -1) if unknown."""
        return self.leader_epoch_cache.end_offset_for(epoch, self._leo)

    @property
    def latest_epoch(self) -> int:
        return self.leader_epoch_cache.latest_epoch

    # -- truncation and retention ---------------------------------------------------------------------

    def truncate_to(self, offset: int, now_ms: int | None = None) -> None:
        """Remove every batch at or after ``offset`` (a batch holding it goes entirely); for replication.
        With ``now_ms``, expired producers of the reloaded snapshot are dropped (Kafka's truncateAndReload)."""
        if offset >= self._leo:
            return
        if offset < self._log_start:
            self.truncate_fully_and_start_at(offset)
            return
        self._delete_segments([s for s in self._segments[1:] if s.base_offset > offset])
        active = self._segments[-1]
        active.truncate_to(offset)
        self._leo = active.next_offset
        self._hw = min(self._hw, self._leo)
        self._recovery_point = min(self._recovery_point, self._leo)
        self.leader_epoch_cache.truncate_from_end(self._leo)
        self._reload_producer_state(now_ms)
        self._producers.on_high_watermark_updated(self._hw)

    def truncate_fully_and_start_at(self, offset: int, now_ms: int = 0) -> None:
        self._delete_segments(list(self._segments))
        self._producers.delete_snapshots()
        seg = self._new_segment(offset, now_ms)
        self._segments, self._bases = [seg], [offset]
        self._log_start = self._leo = self._hw = self._recovery_point = offset
        self._rolled_to = None
        self._producers.clear(offset)
        self.leader_epoch_cache.clear()

    def _reload_producer_state(self, now_ms: int | None = None) -> None:
        psm = self._producers
        start = psm.load(self._log_start, self._leo, now_ms=now_ms, expiration_ms=self.producer_id_expiration_ms)
        if start < self._leo:
            replay_producer_state(psm, self._segments, start)
        psm.map_end_offset = self._leo

    def advance_log_start_offset(self, offset: int, now_ms: int | None = None) -> bool:
        """Raise the log start offset (DeleteRecords); deletes segments wholly below it. False if no change."""
        if offset <= self._log_start:
            return False
        if offset > self._hw:
            raise OffsetOutOfRangeError(f"log start offset {offset} above the high watermark {self._hw}")
        self._log_start = offset
        doomed = [s for s, nxt in zip(self._segments, self._bases[1:]) if nxt <= offset]
        self._delete_segments(doomed, now_ms)
        self.leader_epoch_cache.truncate_from_start(offset)
        return True

    def _maybe_increment_log_start(self, offset: int) -> None:
        if offset > self._log_start:
            self._log_start = offset
            self.leader_epoch_cache.truncate_from_start(offset)

    def _delete_old_segments(self, predicate: Callable[[LogSegment, LogSegment | None], bool], now_ms: int) -> int:
        """Kafka's ``deleteOldSegments``: the oldest segments for which ``predicate(segment, next)`` holds,
        each wholly below the high watermark; an empty active segment is never deleted, a non-empty one
        only after rolling a new active segment."""
        deletable: list[LogSegment] = []
        segs = self._segments
        for i, seg in enumerate(segs):
            nxt = segs[i + 1] if i + 1 < len(segs) else None
            upper = nxt.base_offset if nxt is not None else self._leo
            last_and_empty = nxt is None and seg.size() == 0
            if self._hw >= upper and not last_and_empty and predicate(seg, nxt):
                deletable.append(seg)
            else:
                break
        if not deletable:
            return 0
        if len(deletable) == len(segs):
            self.roll(now_ms)
        self._delete_segments(deletable, now_ms)
        self._maybe_increment_log_start(self._segments[0].base_offset)
        return len(deletable)

    def enforce_retention(self, now_ms: int) -> int:
        """Kafka's retention: with ``delete`` in ``cleanup.policy``, segments whose largest timestamp is
        more than ``retention.ms`` old, then the oldest segments while the log exceeds ``retention.bytes``
        by at least their size; for every policy, segments wholly below the log start offset. The log
        start offset advances to the first remaining segment. Returns the number of segments deleted."""
        cfg = self.config
        deleted = 0
        if cfg.delete:
            if cfg.retention_ms >= 0:
                deleted += self._delete_old_segments(
                    lambda seg, _nxt: now_ms - seg.largest_timestamp_for_retention > cfg.retention_ms, now_ms
                )
            if cfg.retention_bytes >= 0:
                excess = [self.size_in_bytes - cfg.retention_bytes]
                if excess[0] > 0:

                    def too_big(seg: LogSegment, _nxt: LogSegment | None) -> bool:
                        if excess[0] - seg.size() >= 0:
                            excess[0] -= seg.size()
                            return True
                        return False

                    deleted += self._delete_old_segments(too_big, now_ms)
        start = self._log_start
        deleted += self._delete_old_segments(lambda _seg, nxt: nxt is not None and nxt.base_offset <= start, now_ms)
        return deleted

    # -- lifecycle ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Clean close: flush, final time index entries, producer snapshot at the LEO, leader epoch file,
        close files."""
        if self._closed:
            return
        self.flush()
        self._producers.take_snapshot(self._leo)
        try:
            self.leader_epoch_cache.flush()
        except OSError as e:
            raise KafkaStorageError(f"writing the leader epoch checkpoint of {self.dir} failed: {e}") from e
        for seg in self._segments:
            seg.close()
        self._closed = True

    def close_handles(self) -> None:
        """Close files without flushing or writing state (the log is being deleted or abandoned)."""
        for seg in self._segments:
            seg.close_handles()
        self._closed = True

    def delete(self) -> None:
        """Close and remove the whole partition directory."""
        self.close_handles()
        self.fs.rmtree(self.dir)

    def __repr__(self) -> str:
        return (
            f"PartitionLog({self.topic}-{self.partition}, start={self._log_start}, leo={self._leo}, "
            f"hw={self._hw}, segments={len(self._segments)})"
        )
