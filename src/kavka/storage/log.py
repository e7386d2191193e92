"""The log of one partition (Kafka's ``UnifiedLog`` + ``LocalLog``): segments, offsets, appends, reads.

Directory ``<log dir>/<topic>-<partition>/`` holds the segments (see kavka.storage.segment), producer
state snapshots (kavka.storage.producer_state) and ``partition.metadata`` (kavka.storage.checkpoints).

Offsets, distinct from day one even on one node:

- ``log_start_offset``: first offset a consumer may read (raised by retention or DeleteRecords).
- ``log_end_offset`` (LEO): offset the next appended record gets.
- ``high_watermark``: offsets below it are committed (replicated); the broker sets it
  (single node: = LEO after each append). Consumers read below it.
- ``last_stable_offset``: == high watermark until transactions exist.
- ``recovery_point``: everything below it is fsynced; a crash recovers from there.

Append path (``append_as_leader``): validate headers and CRC (``validate_batches``), per-batch checks
(size, control batches, record count, timestamps), producer-id/sequence checks, roll if needed, patch
offsets and leader epoch in place (and LogAppendTime, recomputing that batch's CRC), one write. Work is
per batch, never per record. All batches of one request land in one segment with one write, so readers
see all or none. Read path (``read``): whole batches from the one holding the offset, from one segment,
one ``pread`` (the only copy); chunks are memoryviews over it.

Not thread-safe: the broker owns a PartitionLog from one thread (its event loop).
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from kavka.protocol.batch import (
    LOG_OVERHEAD,
    CorruptRecordError,
    InvalidRecordError,
    patch_base_offset,
    patch_leader_epoch,
    stamp_log_append_time,
    validate_batches,
)
from kavka.protocol.records import decode_batch
from kavka.storage.config import LogConfig
from kavka.storage.epoch_cache import LeaderEpochCache
from kavka.storage.errors import (
    InvalidTimestampError,
    KafkaStorageError,
    OffsetOutOfRangeError,
    RecordTooLargeError,
)
from kavka.storage.fs import FileSystem
from kavka.storage.loader import LogLoader
from kavka.storage.segment import LogSegment

__all__ = ["PartitionLog", "AppendResult", "ReadResult", "parse_partition_dir_name"]


class AppendResult(NamedTuple):
    base_offset: int
    last_offset: int
    log_append_time: int  # -1 for CreateTime topics
    log_start_offset: int
    num_records: int
    duplicate: bool = False


class ReadResult(NamedTuple):
    chunks: list  # list[bytes | memoryview], whole batches in offset order
    size: int
    first_offset: int  # base offset of the first batch returned, else the requested offset


def parse_partition_dir_name(name: str) -> tuple[str, int]:
    """``'orders-3'`` -> ``('orders', 3)``. Raises ValueError for other names."""
    topic, sep, partition = name.rpartition("-")
    if not sep or not topic or not partition.isdigit():
        raise ValueError(f"not a partition directory name: {name!r}")
    return topic, int(partition)


class PartitionLog:
    def __init__(self, fs: FileSystem, dir_path: str, config: LogConfig, *, now_ms: int = 0,
                 recovery_point: int = 0, log_start_offset: int = 0, clean_shutdown: bool = False,
                 topic_id: str | None = None) -> None:
        """Open (or create) the partition directory; see kavka.storage.loader for what happens."""
        self.fs = fs
        self.dir = dir_path.rstrip("/")
        self.topic, self.partition = parse_partition_dir_name(self.dir.rsplit("/", 1)[-1])
        self.topic_id = topic_id
        self.config = config
        loaded = LogLoader(fs, self.dir, config, recovery_point=recovery_point, log_start_offset=log_start_offset,
                           clean_shutdown=clean_shutdown, now_ms=now_ms).load()
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
        self.leader_epoch_cache = LeaderEpochCache(fs, self.dir)
        self.leader_epoch_cache.truncate_from_end(self._leo)
        self.leader_epoch_cache.truncate_from_start(self._log_start)
        self._unflushed_messages = 0
        self._last_flush_ms = now_ms
        self._closed = False

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
        return self._hw

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
    def producer_state(self):
        return self._producers

    def update_high_watermark(self, offset: int) -> int:
        """Set the high watermark, clamped to [log_start_offset, log_end_offset]; returns the value set."""
        self._hw = max(self._log_start, min(offset, self._leo))
        return self._hw

    def update_config(self, config: LogConfig) -> None:
        self.config = config

    # -- append ---------------------------------------------------------------------------------------

    def append_as_leader(self, records: bytearray, *, leader_epoch: int, now_ms: int) -> AppendResult:
        """Validate, assign offsets to and append one produce request's record set (patched in place).

        ``records`` is a bytearray or a writable memoryview (a slice of the request frame); anything
        read-only is copied once so it can be patched.
        """
        if not isinstance(records, bytearray) and (not isinstance(records, memoryview) or records.readonly):
            records = bytearray(records)
        cfg = self.config
        headers = validate_batches(records)
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
                    f"batch has {h.records_count} records but lastOffsetDelta {h.last_offset_delta}")
            if log_append:
                ts = now_ms
            else:
                ts = h.max_timestamp
                if ts >= 0 and (ts > now_ms + after or h.base_timestamp < now_ms - before):
                    raise InvalidTimestampError(
                        f"batch timestamps [{h.base_timestamp}, {ts}] outside the allowed range around {now_ms}")
            last = next_offset + h.last_offset_delta
            plan.append((h, next_offset, ts))
            if ts > max_ts:
                max_ts, offset_of_max = ts, last
            num_records += h.records_count
            next_offset = last + 1

        duplicate, staged = self._producers.stage(plan)
        if duplicate is not None:
            return AppendResult(duplicate.first_offset, duplicate.last_offset,
                                duplicate.timestamp if log_append else -1, self._log_start, num_records, True)

        base_offset = self._leo
        if leader_epoch > self.leader_epoch_cache.latest_epoch:
            self.leader_epoch_cache.assign(leader_epoch, base_offset)
        segment = self._segments[-1]
        if segment.should_roll(messages_size=len(records), max_timestamp=max_ts, max_offset=next_offset - 1,
                               now_ms=now_ms, segment_bytes=cfg.segment_bytes, segment_ms=cfg.segment_ms):
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
            segment.append(records, last_offset=next_offset - 1, max_timestamp=max_ts,
                           offset_of_max_timestamp=offset_of_max, first_batch_max_timestamp=plan[0][2])
        except OSError as e:
            raise KafkaStorageError(f"append to {self.dir} failed: {e}") from e
        self._producers.commit(staged, next_offset)
        self._leo = next_offset
        self._unflushed_messages += num_records
        if self._unflushed_messages >= cfg.flush_messages or now_ms - self._last_flush_ms >= cfg.flush_ms:
            self.flush(now_ms)
        return AppendResult(base_offset, next_offset - 1, now_ms if log_append else -1, self._log_start,
                            num_records, False)

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

    def read(self, offset: int, max_bytes: int, *, max_offset: int | None = None,
             min_one_batch: bool = True) -> ReadResult:
        """Whole batches from the one holding ``offset``, all below ``max_offset`` (exclusive; HW for
        consumers), up to ``max_bytes`` (or one whole batch if larger and ``min_one_batch``)."""
        leo = self._leo
        if offset < self._log_start or offset > leo:
            raise OffsetOutOfRangeError(
                f"offset {offset} outside [{self._log_start}, {leo}] of {self.topic}-{self.partition}")
        bound = leo if max_offset is None else min(max_offset, leo)
        if offset >= bound:
            return ReadResult([], 0, offset)
        seg_max_offset = None if bound >= leo else bound
        i = bisect.bisect_right(self._bases, offset) - 1
        for seg in self._segments[max(i, 0):]:
            if seg.base_offset >= bound:
                break
            found = seg.read(offset, max_bytes, max_offset=seg_max_offset, min_one_batch=min_one_batch)
            if found is not None:
                _pos, view, first = found
                if not len(view):
                    return ReadResult([], 0, offset)
                return ReadResult([view], len(view), first)
        return ReadResult([], 0, offset)

    # -- timestamps -----------------------------------------------------------------------------------

    def _exact_record(self, seg: LogSegment, pos: int, header, timestamp: int) -> tuple[int, int]:
        """First record of the batch at ``pos`` with timestamp >= ``timestamp`` and offset >= log start."""
        start = self._log_start
        if not header.log_append_time:
            try:
                data = seg.log.pread(pos, header.batch_length + LOG_OVERHEAD)
                _h, recs = decode_batch(data, 0)
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
        return LogSegment.create(self.fs, self.dir, base_offset, index_interval_bytes=self.config.index_interval_bytes,
                                 max_index_size=self.config.segment_index_bytes, created_ms=now_ms)

    def roll(self, now_ms: int | None = None) -> LogSegment:
        """Start a new active segment at the log end. The old one gets its final time index entry and is
        fsynced (Kafka does this asynchronously), a producer snapshot is written at the new base offset,
        and the recovery point moves there. A no-op if the active segment is empty."""
        active = self._segments[-1]
        if active.size() == 0:
            return active
        now = self._last_flush_ms if now_ms is None else now_ms
        active.on_become_inactive()
        self.flush(now)
        self._producers.take_snapshot(self._leo)
        seg = self._new_segment(self._leo, now)
        self._segments.append(seg)
        self._bases.append(seg.base_offset)
        return seg

    def flush(self, now_ms: int | None = None) -> None:
        """fsync every segment holding data above the recovery point; the recovery point becomes the LEO."""
        if self._recovery_point < self._leo:
            i = max(0, bisect.bisect_right(self._bases, self._recovery_point) - 1)
            try:
                for seg in self._segments[i:]:
                    seg.flush()
            except OSError as e:
                raise KafkaStorageError(f"flush of {self.dir} failed: {e}") from e
            self._recovery_point = self._leo
        self._unflushed_messages = 0
        if now_ms is not None:
            self._last_flush_ms = now_ms

    def _delete_segments(self, doomed: list[LogSegment]) -> None:
        for seg in doomed:
            seg.delete()
        gone = {id(s) for s in doomed}
        self._segments = [s for s in self._segments if id(s) not in gone]
        self._bases = [s.base_offset for s in self._segments]

    def truncate_to(self, offset: int) -> None:
        """Remove every batch at or after ``offset`` (a batch holding it goes entirely); for replication."""
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
        self._reload_producer_state()

    def truncate_fully_and_start_at(self, offset: int, now_ms: int = 0) -> None:
        self._delete_segments(list(self._segments))
        self._producers.delete_snapshots()
        seg = self._new_segment(offset, now_ms)
        self._segments, self._bases = [seg], [offset]
        self._log_start = self._leo = self._hw = self._recovery_point = offset
        self._producers.producers = {}
        self._producers.map_end_offset = offset
        self.leader_epoch_cache.clear()

    def _reload_producer_state(self) -> None:
        psm = self._producers
        start = psm.load(self._log_start, self._leo)
        if start < self._leo:
            i = max(0, bisect.bisect_right(self._bases, start) - 1)
            for seg in self._segments[i:]:
                found = seg.find_batch(start)
                if found is not None:
                    for _pos, header in seg.iter_headers(found[0]):
                        psm.replay(header)
        psm.map_end_offset = self._leo

    def advance_log_start_offset(self, offset: int) -> bool:
        """Raise the log start offset (DeleteRecords); deletes segments wholly below it. False if no change."""
        if offset <= self._log_start:
            return False
        if offset > self._hw:
            raise OffsetOutOfRangeError(f"log start offset {offset} above the high watermark {self._hw}")
        self._log_start = offset
        doomed = [s for s, nxt in zip(self._segments, self._bases[1:]) if nxt <= offset]
        self._delete_segments(doomed)
        self.leader_epoch_cache.truncate_from_start(offset)
        return True

    def enforce_retention(self, now_ms: int) -> int:
        """Delete old segments by ``retention.ms`` / ``retention.bytes`` (never the active one, and only
        below the high watermark); returns the number deleted. Only for ``cleanup.policy`` with delete."""
        cfg = self.config
        if "delete" not in cfg.cleanup_policy:
            return 0
        doomed: list[LogSegment] = []
        size = self.size_in_bytes
        for seg, nxt in zip(self._segments, self._bases[1:]):
            if nxt > self._hw:
                break
            expired = cfg.retention_ms >= 0 and now_ms - seg.largest_timestamp > cfg.retention_ms
            too_big = cfg.retention_bytes >= 0 and size - seg.size() >= cfg.retention_bytes
            if not (expired or too_big):
                break
            doomed.append(seg)
            size -= seg.size()
        if doomed:
            self._log_start = max(self._log_start, self._bases[len(doomed)])
            self._delete_segments(doomed)
            self.leader_epoch_cache.truncate_from_start(self._log_start)
        return len(doomed)

    # -- lifecycle ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Clean close: flush, final time index entries, producer snapshot at the LEO, close files."""
        if self._closed:
            return
        self.flush()
        self._producers.take_snapshot(self._leo)
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
        return (f"PartitionLog({self.topic}-{self.partition}, start={self._log_start}, leo={self._leo}, "
                f"hw={self._hw}, segments={len(self._segments)})")
