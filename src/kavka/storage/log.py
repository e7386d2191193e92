"""The log of one partition (Kafka's ``UnifiedLog`` + ``LocalLog``): segments, offsets, appends, reads.

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

Flushing (what may be fsynced when; Kafka's rules after KAFKA-15046, taken one step further): the append
path never fsyncs unless ``flush.messages`` / ``flush.ms`` ask for it. A roll writes the producer
snapshot without fsync and leaves the old segment's fsync to ``flush_rolled`` (the manager's tick); a new
leader epoch only marks the leader epoch cache dirty. Every flush fsyncs segments, the snapshots at or
below its target, the leader epoch file and (after a roll) the directory before it moves the recovery
point, so below the recovery point everything is durable, and above it the loader rebuilds what a crash
may have torn (kavka.storage.loader).

Removing segments (retention, DeleteRecords, truncation, a cleaner swap) is Kafka's asynchronous delete:
the segment leaves the log at once, its files are renamed ``<name>.deleted`` and removed by
``delete_expired_files`` (the manager's tick) ``file.delete.delay.ms`` later; the loader removes any
``.deleted`` file left by a restart. Retention (``enforce_retention``) is Kafka's ``deleteOldSegments``:
oldest first, while a segment's largest timestamp is older than ``retention.ms`` or the log is above
``retention.bytes`` by at least the segment's size, only below the high watermark; if every segment is
deletable, the active one is rolled first so the log keeps an (empty) active segment.

Compacted topics (``cleanup.policy`` with ``compact``): appends are refused with INVALID_RECORD when a
record has no key (this decompresses those batches: Kafka does the same), the active segment also rolls
by ``max.compaction.lag.ms``, and the cleaner (kavka.storage.cleaner) swaps cleaned segments in through
``replace_segments``.

Append path (``append_as_leader``): validate headers and CRC (``validate_batches``), per-batch checks
(size, control batches, record count, timestamps), producer-id/sequence checks, roll if needed, patch
offsets and leader epoch in place (and LogAppendTime, recomputing that batch's CRC), one write. Work is
per batch, never per record. All batches of one request land in one segment with one write, so readers
see all or none. Read path (``read``): whole batches from the one holding the offset, from one segment,
one ``pread`` (the only copy); chunks are memoryviews over it.

Transactions: transactional data batches open a transaction per producer (kavka.storage.producer_state);
``append_control_marker`` writes the coordinator's COMMIT/ABORT control batch (Kafka's WriteTxnMarkers
effect on one partition) and closes it; an abort is recorded in the ``.txnindex`` of the segment that
holds the marker (kavka.storage.txn_index), which ``collect_aborted_transactions`` reads for Fetch at
``read_committed``.

Not thread-safe: the broker owns a PartitionLog from one thread (its event loop).
"""

from __future__ import annotations

import bisect
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from kavka.protocol.batch import (
    LOG_OVERHEAD,
    BatchHeader,
    CorruptRecordError,
    InvalidRecordError,
    patch_base_offset,
    patch_leader_epoch,
    stamp_log_append_time,
    validate_batches,
)
from kavka.protocol.compression import codec_id, decompressed_limit
from kavka.protocol.records import build_batch, build_control_batch, decode_batch
from kavka.protocol.varint import Buffer
from kavka.storage.config import LogConfig
from kavka.storage.errors import (
    InvalidTimestampError,
    KafkaStorageError,
    OffsetOutOfRangeError,
    RecordTooLargeError,
)
from kavka.storage.file_region import FileRegion
from kavka.storage.fs import FileSystem
from kavka.storage.index import CorruptIndexError
from kavka.storage.loader import LogLoader, replay_producer_state
from kavka.storage.producer_state import ProducerStateManager
from kavka.storage.segment import CLEANED_SUFFIX, SWAP_SUFFIX, LogSegment
from kavka.storage.txn_index import AbortedTxn

__all__ = ["PartitionLog", "AppendResult", "ReadResult", "FetchRead", "parse_partition_dir_name"]

#: Reads up to this size are returned as bytes; larger ones as a FileRegion, streamed when sent.
FETCH_INLINE_MAX = 64 * 1024


class AppendResult(NamedTuple):
    base_offset: int
    last_offset: int
    log_append_time: int  # -1 for CreateTime topics
    log_start_offset: int
    num_records: int
    duplicate: bool = False


@dataclass(slots=True)
class _PendingDelete:
    """Files of segments removed from the log, renamed ``*.deleted``, waiting for their removal."""

    due_ms: int | None  # None: set at the next delete_expired_files call
    delay_ms: int  # file.delete.delay.ms when scheduled
    paths: list[str]


class ReadResult(NamedTuple):
    chunks: list[bytes | memoryview]  # whole batches in offset order
    size: int
    first_offset: int  # base offset of the first batch returned, else the requested offset


class FetchRead(NamedTuple):
    """What ``read_for_fetch`` found: ``chunks`` is ``[]``, ``[bytes]`` or ``[FileRegion]`` (the caller
    owns a region and closes it once sent or dropped)."""

    chunks: list[bytes | FileRegion]
    size: int
    first_offset: int
    next_offset: int  # the offset after the last batch returned, else the requested offset


def parse_partition_dir_name(name: str) -> tuple[str, int]:
    """``'orders-3'`` -> ``('orders', 3)``. Raises ValueError for other names."""
    topic, sep, partition = name.rpartition("-")
    if not sep or not topic or not partition.isdigit():
        raise ValueError(f"not a partition directory name: {name!r}")
    return topic, int(partition)


class PartitionLog:
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
        self.fs = fs
        self.dir = dir_path.rstrip("/")
        self.topic, self.partition = parse_partition_dir_name(self.dir.rsplit("/", 1)[-1])
        self.topic_id = topic_id
        self.config = config
        self.producer_id_expiration_ms = producer_id_expiration_ms
        loaded = LogLoader(
            fs,
            self.dir,
            config,
            recovery_point=recovery_point,
            log_start_offset=log_start_offset,
            clean_shutdown=clean_shutdown,
            now_ms=now_ms,
            producer_id_expiration_ms=producer_id_expiration_ms,
        ).load()
        self.load_info = loaded
        self._segments: list[LogSegment] = loaded.segments
        self._bases = [s.base_offset for s in self._segments]
        self._log_start = loaded.log_start_offset
        self._leo = loaded.log_end_offset
        # Every batch that survived is committed on a single node; replication will lower this when it
        # knows better (Kafka reads it from replication-offset-checkpoint).
        self._hw = self._leo
        self._recovery_point = loaded.recovery_point
        self._producers = loaded.producer_state
        self._producers.on_high_watermark_updated(self._hw)
        self.leader_epoch_cache = loaded.leader_epoch_cache
        # The recovery point is now the log end: the cache must be on disk before anyone checkpoints it.
        self.leader_epoch_cache.flush()
        self._unflushed_messages = 0
        self._last_flush_ms = now_ms
        self._closed = False
        self._rolled_to: int | None = None  # base offset of the last roll not yet flushed (flush_rolled)
        self._new_files = False  # files created since the last flush: the directory needs an fsync
        # segments removed from the log, their files renamed *.deleted
        self._pending_deletes: list[_PendingDelete] = []

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

    @property
    def recovery_point(self) -> int:
        return self._recovery_point

    @property
    def size_in_bytes(self) -> int:
        return sum(s.size() for s in self._segments)

    @property
    def num_segments(self) -> int:
        return len(self._segments)

    @property
    def segments(self) -> list[LogSegment]:
        return list(self._segments)

    @property
    def active_segment(self) -> LogSegment:
        return self._segments[-1]

    @property
    def closed(self) -> bool:
        return self._closed

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
        read-only is copied once so it can be patched.
        """
        if not isinstance(records, bytearray) and (not isinstance(records, memoryview) or records.readonly):
            records = bytearray(records)
        cfg = self.config
        headers = validate_batches(records)
        if cfg.compression_type != "producer":
            records, headers = _recompress(records, headers, cfg.compression_type, cfg.max_message_bytes)
        if cfg.compact:
            self._check_keys(records, headers, cfg.max_message_bytes)
        if len(records) > cfg.segment_bytes:
            raise RecordTooLargeError(f"record set of {len(records)} bytes exceeds segment.bytes {cfg.segment_bytes}")
        log_append = cfg.log_append_time
        max_size = cfg.max_message_bytes
        before, after = cfg.message_timestamp_before_max_ms, cfg.message_timestamp_after_max_ms
        next_offset = self._leo
        plan = []
        max_ts, offset_of_max = -1, next_offset
        num_records = 0
        for h in headers:
            size = h.batch_length + LOG_OVERHEAD
            if size > max_size:
                raise RecordTooLargeError(f"batch of {size} bytes exceeds max.message.bytes {max_size}")
            if h.is_control:
                raise InvalidRecordError("clients may not write control batches")
            if h.records_count != h.last_offset_delta + 1 or h.records_count <= 0:
                raise InvalidRecordError(
                    f"batch has {h.records_count} records but lastOffsetDelta {h.last_offset_delta}"
                )
            if log_append:
                ts = now_ms
            else:
                ts = h.max_timestamp
                if ts >= 0 and (ts > now_ms + after or h.base_timestamp < now_ms - before):
                    raise InvalidTimestampError(
                        f"batch timestamps [{h.base_timestamp}, {ts}] outside the allowed range around {now_ms}"
                    )
            last = next_offset + h.last_offset_delta
            plan.append((h, next_offset, ts))
            if ts > max_ts:
                max_ts, offset_of_max = ts, last
            num_records += h.records_count
            next_offset = last + 1

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
        pos = 0
        for h, offset, _ts in plan:
            patch_base_offset(records, pos, offset)
            patch_leader_epoch(records, pos, leader_epoch)
            size = h.batch_length + LOG_OVERHEAD
            if log_append:
                stamp_log_append_time(records, pos, size, now_ms)
            pos += size
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

    def _check_keys(self, records: Buffer, headers: list[BatchHeader], max_message_bytes: int) -> None:
        """Compacted topics refuse records without a key (Kafka's LogValidator), which needs the records.
        Each keyless record is named by its index in the batch, and the message is Kafka's summary.
        A batch that decompresses past ``decompressed_limit`` is a CorruptRecordError (CORRUPT_MESSAGE)."""
        pos = 0
        errors: list[tuple[int, str]] = []
        message = f"Compacted topic cannot accept message without key in topic partition {self.topic}-{self.partition}."
        for h in headers:
            if not h.is_control:
                _h, recs = decode_batch(
                    records,
                    pos,
                    check_crc=False,
                    max_decompressed_size=decompressed_limit(h.records_count, max_message_bytes),
                )
                errors.extend((i, message) for i, r in enumerate(recs) if r.key is None)
            pos += h.batch_length + LOG_OVERHEAD
        if errors:
            shown = ", ".join(f"RecordError(batchIndex={i}, message='{m}')" for i, m in errors[:3])
            raise InvalidRecordError(
                f"One or more records have been rejected due to {len(errors)} record errors in total, and only "
                f"showing the first three errors at most: [{shown}]",
                tuple(errors),
            )

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

    def maybe_flush(self, now_ms: int) -> bool:
        """Flush if ``flush.ms`` elapsed with unflushed data (the manager calls this periodically)."""
        if self._recovery_point < self._leo and now_ms - self._last_flush_ms >= self.config.flush_ms:
            self.flush(now_ms)
            return True
        return False

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        """OffsetForLeaderEpoch: ``(largest epoch <= epoch, its end offset)``, or (-1, -1) if unknown."""
        return self.leader_epoch_cache.end_offset_for(epoch, self._leo)

    @property
    def latest_epoch(self) -> int:
        return self.leader_epoch_cache.latest_epoch

    # -- read -----------------------------------------------------------------------------------------

    def read(
        self, offset: int, max_bytes: int, *, max_offset: int | None = None, min_one_batch: bool = True
    ) -> ReadResult:
        """Whole batches from the one holding ``offset``, all below ``max_offset`` (exclusive; HW for
        consumers), up to ``max_bytes`` (or one whole batch if larger and ``min_one_batch``)."""
        leo = self._leo
        if offset < self._log_start or offset > leo:
            raise OffsetOutOfRangeError(
                f"offset {offset} outside [{self._log_start}, {leo}] of {self.topic}-{self.partition}"
            )
        bound = leo if max_offset is None else min(max_offset, leo)
        if offset >= bound:
            return ReadResult([], 0, offset)
        seg_max_offset = None if bound >= leo else bound
        i = bisect.bisect_right(self._bases, offset) - 1
        for seg in self._segments[max(i, 0) :]:
            if seg.base_offset >= bound:
                break
            found = seg.read(offset, max_bytes, max_offset=seg_max_offset, min_one_batch=min_one_batch)
            if found is not None:
                _pos, view, first = found
                if not len(view):
                    return ReadResult([], 0, offset)
                return ReadResult([view], len(view), first)
        return ReadResult([], 0, offset)

    def read_for_fetch(
        self,
        offset: int,
        max_bytes: int,
        *,
        max_offset: int | None = None,
        min_one_batch: bool = True,
        inline_max: int = FETCH_INLINE_MAX,
    ) -> FetchRead:
        """``read`` for Fetch: the same batches, but a range above ``inline_max`` bytes is a FileRegion
        (no record bytes in memory until the connection streams them), and the offset after the data is
        reported (for the aborted-transaction lookup). A damaged batch where the read starts raises
        CorruptRecordError naming the segment, position and offset (Kafka: CORRUPT_MESSAGE)."""
        leo = self._leo
        if offset < self._log_start or offset > leo:
            raise OffsetOutOfRangeError(
                f"offset {offset} outside [{self._log_start}, {leo}] of {self.topic}-{self.partition}"
            )
        bound = leo if max_offset is None else min(max_offset, leo)
        if offset >= bound:
            return FetchRead([], 0, offset, offset)
        seg_max_offset = None if bound >= leo else bound
        i = bisect.bisect_right(self._bases, offset) - 1
        segs = self._segments
        for j in range(max(i, 0), len(segs)):
            seg = segs[j]
            if seg.base_offset >= bound:
                break
            found = seg.read_region(
                offset, max_bytes, max_offset=seg_max_offset, min_one_batch=min_one_batch, inline_max=inline_max
            )
            if found is not None:
                data, first, nxt = found
                if not len(data):
                    return FetchRead([], 0, offset, offset)
                return FetchRead([data], len(data), first, nxt)
        return FetchRead([], 0, offset, offset)

    # -- timestamps -----------------------------------------------------------------------------------

    def _exact_record(self, seg: LogSegment, pos: int, header: BatchHeader, timestamp: int) -> tuple[int, int]:
        """First record of the batch at ``pos`` with timestamp >= ``timestamp`` and offset >= log start."""
        start = self._log_start
        if not header.log_append_time:
            try:
                data = seg.log.pread(pos, header.batch_length + LOG_OVERHEAD)
                _h, recs = decode_batch(
                    data, 0, max_decompressed_size=decompressed_limit(None, self.config.max_message_bytes)
                )
                for r in recs:
                    if r.timestamp >= timestamp and r.offset >= start:
                        return r.offset, r.timestamp
            except (CorruptRecordError, InvalidRecordError):  # undecodable: batch granularity
                pass
        return max(header.base_offset, start), header.max_timestamp

    def offset_for_timestamp(self, timestamp: int, *, max_offset: int | None = None) -> tuple[int, int] | None:
        """``(offset, timestamp)`` of the first record with timestamp >= ``timestamp``, or None."""
        for seg in self._segments:
            if seg.largest_timestamp >= timestamp:
                found = seg.find_offset_by_timestamp(timestamp, self._log_start)
                if found is not None:
                    offset, ts = self._exact_record(seg, found[0], found[1], timestamp)
                    if max_offset is not None and offset >= max_offset:
                        return None
                    return offset, ts
        return None

    def max_timestamp_and_offset(self) -> tuple[int, int]:
        """``(max timestamp, offset of its first record)`` for ListOffsets MAX_TIMESTAMP; (-1, -1) if none."""
        best = None
        best_ts = -1
        for seg in self._segments:
            ts = seg.largest_timestamp
            if ts > best_ts:
                best, best_ts = seg, ts
        if best is None:
            return -1, -1
        found = best.find_offset_by_timestamp(best_ts, self._log_start)
        if found is None:
            return -1, -1
        offset, _ts = self._exact_record(best, found[0], found[1], best_ts)
        return best_ts, offset

    # -- segments -------------------------------------------------------------------------------------

    def _new_segment(self, base_offset: int, now_ms: int) -> LogSegment:
        cfg = self.config
        segment = LogSegment.create(
            self.fs,
            self.dir,
            base_offset,
            index_interval_bytes=cfg.index_interval_bytes,
            max_index_size=cfg.segment_index_bytes,
            created_ms=now_ms,
        )
        if cfg.segment_jitter_ms > 0 and cfg.segment_ms > 0:
            segment.roll_jitter_ms = random.randrange(min(cfg.segment_jitter_ms, cfg.segment_ms))
        return segment

    def roll(self, now_ms: int | None = None) -> LogSegment:
        """Start a new active segment at the log end. A no-op if the active segment is empty.

        Nothing is fsynced here (Kafka's ``UnifiedLog.roll`` after KAFKA-15046): the old segment gets its
        final time index entry, a producer snapshot is written at the new base offset without fsync, and
        the old segment's flush is left to ``flush_rolled`` (the log manager's tick; Kafka schedules
        ``flushUptoOffsetExclusive`` on its scheduler), which fsyncs the segments below the new base
        offset, the snapshot and the leader epoch file, and only then moves the recovery point there."""
        active = self._segments[-1]
        if active.size() == 0:
            return active
        now = self._last_flush_ms if now_ms is None else now_ms
        # The final time index entry: left to the deferred flush, unless the segment is already below the
        # recovery point -- a recovery point checkpoint on disk may say so, and a crash would then trust
        # a time index without it -- in which case that one small file is fsynced now (rare: only after
        # a flush.ms / flush.messages flush or an unclean restart put the recovery point at the log end).
        active.on_become_inactive(flush=self._recovery_point > active.base_offset)
        self._producers.take_snapshot(self._leo, sync=False)
        seg = self._new_segment(self._leo, now)
        self._segments.append(seg)
        self._bases.append(seg.base_offset)
        self._rolled_to = seg.base_offset
        self._new_files = True  # the new segment's and snapshot's directory entries: fsynced at the flush
        return seg

    @property
    def pending_roll_flush(self) -> int | None:
        """Base offset of the newest rolled segment whose predecessors await ``flush_rolled``, or None."""
        return self._rolled_to if self._rolled_to is not None and self._rolled_to > self._recovery_point else None

    def flush_rolled(self) -> bool:
        """The deferred flush of rolled segments: fsync what lies below the last roll's base offset and
        move the recovery point there (never past the log end). True if something was flushed."""
        upto = self._rolled_to
        self._rolled_to = None
        if upto is None or min(upto, self._leo) <= self._recovery_point:
            return False
        self._flush_up_to(upto)
        return True

    def flush(self, now_ms: int | None = None) -> None:
        """fsync every segment holding data above the recovery point; the recovery point becomes the LEO."""
        if self._recovery_point < self._leo:
            self._flush_up_to(self._leo)
        self._unflushed_messages = 0
        if now_ms is not None:
            self._last_flush_ms = now_ms

    def _flush_up_to(self, offset: int) -> None:
        """fsync the segments holding offsets in [recovery point, ``offset``), the producer snapshots at or
        below ``offset`` and the leader epoch file (if it changed), then set the recovery point to
        ``offset`` (clamped to the log end). Nothing below the recovery point is ever left unsynced."""
        offset = min(offset, self._leo)
        if offset <= self._recovery_point:
            return
        i = max(0, bisect.bisect_right(self._bases, self._recovery_point) - 1)
        try:
            for seg in self._segments[i:]:
                if seg.base_offset >= offset:
                    break
                seg.flush()
            self._producers.sync_snapshots(offset)
            self.leader_epoch_cache.flush()
            if self._new_files:
                self.fs.fsync_dir(self.dir)
                self._new_files = False
        except OSError as e:
            raise KafkaStorageError(f"flush of {self.dir} failed: {e}") from e
        self._recovery_point = offset

    def _delete_segments(self, doomed: list[LogSegment], now_ms: int | None = None) -> None:
        """Remove segments from the log now; their files become ``*.deleted``, removed after
        ``file.delete.delay.ms`` by ``delete_expired_files`` (Kafka's asynchronous delete)."""
        gone = {id(s) for s in doomed}
        self._segments = [s for s in self._segments if id(s) not in gone]
        self._bases = [s.base_offset for s in self._segments]
        delay = self.config.file_delete_delay_ms
        for seg in doomed:
            paths = seg.mark_deleted()
            if paths:
                self._pending_deletes.append(_PendingDelete(None if now_ms is None else now_ms + delay, delay, paths))
        if now_ms is not None:
            self.delete_expired_files(now_ms)

    def delete_expired_files(self, now_ms: int) -> int:
        """Remove ``*.deleted`` files whose delay has passed; returns how many files were removed.
        Entries scheduled without a time (no clock at hand) start their delay now."""
        if not self._pending_deletes:
            return 0
        removed = 0
        keep = []
        for entry in self._pending_deletes:
            if entry.due_ms is None:
                entry.due_ms = now_ms + entry.delay_ms
            if entry.due_ms <= now_ms:
                for path in entry.paths:
                    self.fs.remove(path)
                    removed += 1
            else:
                keep.append(entry)
        self._pending_deletes = keep
        return removed

    @property
    def pending_deletes(self) -> int:
        """Segments waiting in ``*.deleted`` files for their removal."""
        return len(self._pending_deletes)

    def replace_segments(self, new: LogSegment, old: list[LogSegment], now_ms: int | None = None) -> None:
        """Swap ``new`` (a cleaned segment, files suffixed ``.cleaned`` and fsynced) in for ``old``.

        Kafka's protocol, crash-safe with the loader's help: rename ``new`` to ``.swap`` (from here a
        restart completes the swap), remove ``old`` (renamed ``.deleted``), rename ``new`` to its live
        name. Segments of ``old`` already gone from the log (retention) are skipped.
        """
        if any(s is self._segments[-1] for s in old):
            raise ValueError("the active segment cannot be replaced")
        present = [s for s in old if any(s is x for x in self._segments)]
        new.change_file_suffixes(CLEANED_SUFFIX, SWAP_SUFFIX)
        self._delete_segments(present, now_ms)
        new.change_file_suffixes(SWAP_SUFFIX, "")
        i = bisect.bisect_left(self._bases, new.base_offset)
        self._segments.insert(i, new)
        self._bases.insert(i, new.base_offset)

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


def _recompress(
    records: bytearray | memoryview, headers: list[BatchHeader], compression_type: str, max_message_bytes: int
) -> tuple[bytearray | memoryview, list[BatchHeader]]:
    """Rewrite the batches whose codec differs from the topic's ``compression.type`` (Kafka's broker-side
    recompression); batches already in the right codec stay as they are. Returns the (possibly new)
    record set and its headers. Producer id, epoch, sequences, timestamps and the transactional flag are
    kept, so idempotence and transactions work unchanged. Per-record work, only for such topics. A batch
    that decompresses past ``decompressed_limit`` is a CorruptRecordError (CORRUPT_MESSAGE)."""
    target = 0 if compression_type == "uncompressed" else codec_id(compression_type)
    if all(h.compression == target for h in headers):
        return records, headers
    out = bytearray()
    pos = 0
    for h in headers:
        size = h.size
        if h.compression == target:
            out += records[pos : pos + size]
        else:
            header, recs = decode_batch(
                records, pos, max_decompressed_size=decompressed_limit(h.records_count, max_message_bytes)
            )
            out += build_batch(
                recs,
                base_offset=header.base_offset,
                compression=target,
                timestamp_type_log_append=header.log_append_time,
                producer_id=header.producer_id,
                producer_epoch=header.producer_epoch,
                base_sequence=header.base_sequence,
                transactional=header.is_transactional,
                partition_leader_epoch=header.partition_leader_epoch,
            )
        pos += size
    return out, validate_batches(out)
