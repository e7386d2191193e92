"""The segments of one partition's log (Kafka's ``LocalLog``): roll, flush, reads, delete, swap.

``LocalLog`` is the base class of ``PartitionLog`` (kavka.storage.log), which adds what Kafka's
``UnifiedLog`` holds: the log start offset, high watermark and LSO, producer state, appends,
transactions, truncation and retention. It is a base class rather than a member so the produce and
fetch paths reach the segments without an extra call per batch.

State owned here: the segment list (oldest first, the last one active) and its base offsets for
bisection, the log end offset (``_leo``), the recovery point, the flush bookkeeping and the segments
waiting for their files' removal. Read here, owned by ``PartitionLog``: ``topic`` and ``partition``
(in messages), ``_log_start`` (reads and
timestamp lookups start there), ``_producers`` (a roll snapshots the producer state, a flush syncs the
snapshots) and ``leader_epoch_cache`` (a flush writes it).

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
``.deleted`` file left by a restart. The cleaner (kavka.storage.cleaner) swaps cleaned segments in
through ``replace_segments``.

Read path (``read``, ``read_for_fetch``): whole batches from the one holding the offset, from one
segment, one ``pread`` (the only copy); chunks are memoryviews over it, or a FileRegion above
``FETCH_INLINE_MAX`` bytes for Fetch. Timestamp lookups (ListOffsets) go through the time indexes.

Not thread-safe: the broker owns a log from one thread (its event loop).
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import NamedTuple

from kavka.protocol.batch import LOG_OVERHEAD, BatchHeader, CorruptRecordError, InvalidRecordError
from kavka.protocol.compression import decompressed_limit
from kavka.protocol.records import decode_batch
from kavka.storage.config import LogConfig
from kavka.storage.epoch_cache import LeaderEpochCache
from kavka.storage.errors import KafkaStorageError, OffsetOutOfRangeError
from kavka.storage.file_region import FileRegion
from kavka.storage.fs import FileSystem
from kavka.storage.producer_state import ProducerStateManager
from kavka.storage.segment import CLEANED_SUFFIX, SWAP_SUFFIX, LogSegment

__all__ = ["LocalLog", "ReadResult", "FetchRead", "FETCH_INLINE_MAX"]

#: Reads up to this size are returned as bytes; larger ones as a FileRegion, streamed when sent.
FETCH_INLINE_MAX = 64 * 1024


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


class LocalLog:
    """The segments of one partition directory and the operations on them (see the module docstring);
    only ever instantiated as a PartitionLog."""

    # Owned and set by PartitionLog (see the module docstring).
    topic: str
    partition: int
    _log_start: int
    _producers: ProducerStateManager
    leader_epoch_cache: LeaderEpochCache

    def __init__(
        self,
        fs: FileSystem,
        dir_path: str,
        config: LogConfig,
        segments: list[LogSegment],
        *,
        log_end_offset: int,
        recovery_point: int,
        now_ms: int,
    ) -> None:
        """Take over ``segments`` (oldest first, non-empty, as the loader left them) of directory ``dir_path``."""
        self.fs = fs
        self.dir = dir_path
        self.config = config
        self._segments = segments
        self._bases = [s.base_offset for s in segments]
        self._leo = log_end_offset
        self._recovery_point = recovery_point
        self._unflushed_messages = 0
        self._last_flush_ms = now_ms
        self._closed = False
        self._rolled_to: int | None = None  # base offset of the last roll not yet flushed (flush_rolled)
        self._new_files = False  # files created since the last flush: the directory needs an fsync
        # segments removed from the log, their files renamed *.deleted
        self._pending_deletes: list[_PendingDelete] = []

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

    def maybe_flush(self, now_ms: int) -> bool:
        """Flush if ``flush.ms`` elapsed with unflushed data (the manager calls this periodically)."""
        if self._recovery_point < self._leo and now_ms - self._last_flush_ms >= self.config.flush_ms:
            self.flush(now_ms)
            return True
        return False

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
