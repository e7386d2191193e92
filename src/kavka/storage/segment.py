"""One log segment (Kafka's ``LogSegment``): a ``.log`` of whole batches plus its sparse indexes.

Files in the partition directory, named by the segment's base offset (the first offset it may hold)::

    00000000000000000000.log        batches, back to back, exactly as served (RecordBatch v2, see
                                    kavka.protocol.batch for the layout); offsets already assigned
    00000000000000000000.index      OffsetIndex (kavka.storage.index)
    00000000000000000000.timeindex  TimeIndex (kavka.storage.index)
    00000000000000000000.txnindex   aborted transactions whose ABORT marker is in this segment
                                    (kavka.storage.txn_index); created on its first entry

Contract:

- ``append`` takes bytes of whole batches whose offsets the caller already patched, and writes them at
  the end with one write. An index entry ``(last offset of the appended set, its position)`` is added
  when more than ``index.interval.bytes`` were appended since the previous entry (checked before adding
  this append, as Kafka does); the time index gets ``(max timestamp so far, its batch's last offset)``
  at the same moments, if the max grew.
- ``read`` finds the first batch whose last offset >= the start offset (index lookup, then a forward
  scan of batch headers, never of records) and returns whole batches from there in one ``pread``;
  ``read_region`` returns the same range as a FileRegion (kavka.storage.file_region) without reading
  it. Every header on the way is checked (magic, a length that fits the file, increasing offsets):
  damage where the read starts raises CorruptRecordError naming the file, position and offset.
- Indexes are sanity-checked on first use (``_ensure_indexes``) and the header at each index position
  must fit its entry; an index failing either is rebuilt from the log (``rebuild_indexes``, headers
  only, the log untouched). Files open through the pool of kavka.storage.handles.
- ``recover`` scans every batch from position 0 checking length, magic, CRC32C and increasing offsets,
  truncates the first invalid byte onward (a torn write), rebuilds both indexes, and fsyncs.
- ``load_tail`` (clean start) trusts the indexes and reads only the batch headers after the last offset
  index entry, to learn the next offset and max timestamp of the active segment.

File suffixes (Kafka's): a segment may live under ``<name>.cleaned`` (being written by the cleaner),
``<name>.swap`` (a cleaned segment committed to replace others, see kavka.storage.loader) or
``<name>.deleted`` (removed from the log, waiting for ``file.delete.delay.ms``); ``file_suffix`` says
which, and ``change_file_suffixes`` renames every file of the segment (indexes first, ``.log`` last).

After a crash, only segments at or past the recovery point are untrusted; the loader recovers them.
``recover`` does not touch the ``.txnindex``: rebuilding it needs the producer state of the earlier
segments, so the loader resets and refills it (kavka.storage.loader).
Positions and relative offsets are int32, as in Kafka (segment.bytes <= 2 GiB). Not thread-safe.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterator
from typing import TypedDict, Unpack

from kavka.protocol.batch import (
    HEADER_SIZE,
    LOG_OVERHEAD,
    MAGIC,
    BatchHeader,
    CorruptRecordError,
    compute_crc,
    parse_header,
)
from kavka.protocol.compression import DECOMPRESSED_CEILING
from kavka.protocol.records import ControlType, control_record_type, decode_batch
from kavka.protocol.varint import Buffer
from kavka.storage.file_region import FileRegion
from kavka.storage.fs import FileSystem
from kavka.storage.handles import pool_for
from kavka.storage.index import CorruptIndexError, OffsetIndex, TimeIndex
from kavka.storage.txn_index import TransactionIndex

__all__ = [
    "LogSegment",
    "segment_file_name",
    "LOG_SUFFIX",
    "INDEX_SUFFIX",
    "TIME_INDEX_SUFFIX",
    "TXN_INDEX_SUFFIX",
    "CLEANED_SUFFIX",
    "SWAP_SUFFIX",
    "DELETED_SUFFIX",
]

LOG_SUFFIX = ".log"
INDEX_SUFFIX = ".index"
TIME_INDEX_SUFFIX = ".timeindex"
TXN_INDEX_SUFFIX = ".txnindex"
CLEANED_SUFFIX = ".cleaned"
SWAP_SUFFIX = ".swap"
DELETED_SUFFIX = ".deleted"
INT32_MAX = 2**31 - 1

log = logging.getLogger(__name__)

_OFFSET_LENGTH_DELTA = struct.Struct(">qi11xi")  # baseOffset, batchLength, lastOffsetDelta (27 bytes)
_MIN_BATCH_LENGTH = HEADER_SIZE - LOG_OVERHEAD
_SCAN_CHUNK = 16 * 1024
_RECOVER_CHUNK = 1 << 20


class _BadIndexPosition(Exception):
    """An index entry's position holds no batch that fits the entry (internal: triggers a rebuild)."""


def segment_file_name(base_offset: int, suffix: str) -> str:
    return f"{base_offset:020d}{suffix}"


class SegmentOptions(TypedDict, total=False):
    """The keyword options of :class:`LogSegment` (what ``create`` passes through)."""

    index_interval_bytes: int
    max_index_size: int
    created_ms: int
    file_suffix: str


class LogSegment:
    def __init__(
        self,
        fs: FileSystem,
        dir_path: str,
        base_offset: int,
        *,
        index_interval_bytes: int = 4096,
        max_index_size: int = 10485760,
        created_ms: int = 0,
        file_suffix: str = "",
    ) -> None:
        self.fs = fs
        self.dir = dir_path
        self.base_offset = base_offset
        self.index_interval_bytes = index_interval_bytes
        self.created_ms = created_ms
        # Subtracted from segment.ms for this segment, so partitions created together don't all roll at
        # once (Kafka's rollJitterMs, drawn when the segment is created from segment.jitter.ms).
        self.roll_jitter_ms = 0
        self.file_suffix = file_suffix
        self.log_path = f"{dir_path}/{segment_file_name(base_offset, LOG_SUFFIX)}{file_suffix}"
        self.log = pool_for(fs).open(self.log_path)
        self._indexes_checked = False
        self.offset_index = OffsetIndex(
            fs, f"{dir_path}/{segment_file_name(base_offset, INDEX_SUFFIX)}{file_suffix}", base_offset, max_index_size
        )
        self.time_index = TimeIndex(
            fs,
            f"{dir_path}/{segment_file_name(base_offset, TIME_INDEX_SUFFIX)}{file_suffix}",
            base_offset,
            max_index_size,
        )
        self.txn_index = TransactionIndex(
            fs, f"{dir_path}/{segment_file_name(base_offset, TXN_INDEX_SUFFIX)}{file_suffix}", base_offset
        )
        self._max_ts: int | None = None  # None: not known yet, read from the time index on demand
        self._offset_of_max_ts = base_offset
        self._bytes_since_index = 0
        self._rolling_ts: int | None = None
        self._rolling_ts_known = False
        self.next_offset = base_offset  # valid after create/append/recover/load_tail

    # -- construction ---------------------------------------------------------------------------------

    @classmethod
    def create(cls, fs: FileSystem, dir_path: str, base_offset: int, **kw: Unpack[SegmentOptions]) -> LogSegment:
        """A new, empty segment: creates the .log, .index and .timeindex files."""
        seg = cls(fs, dir_path, base_offset, **kw)
        if seg.log.size():
            seg.log.truncate(0)
        seg.offset_index.reset()
        seg.time_index.reset()
        seg.txn_index.reset()
        seg._indexes_checked = True
        seg._max_ts = -1
        seg._rolling_ts_known = True
        return seg

    # -- properties -----------------------------------------------------------------------------------

    def size(self) -> int:
        return self.log.size()

    @property
    def largest_timestamp(self) -> int:
        """Max batch timestamp in the segment (-1 if none known)."""
        max_ts = self._max_ts
        return max_ts if max_ts is not None else self._load_max_ts()

    @property
    def largest_timestamp_for_retention(self) -> int:
        """Kafka's ``LogSegment.largestTimestamp``: the max batch timestamp, or (no timestamps at all) the
        file's age; Kavka has no mtime through ``FileSystem``, so it uses when this process first saw it."""
        ts = self.largest_timestamp
        return ts if ts >= 0 else self.created_ms

    @property
    def first_batch_timestamp(self) -> int:
        """Max timestamp of the first batch (Kafka's ``getFirstBatchTimestamp``), -1 if none."""
        ts = self._rolling_timestamp()
        return -1 if ts is None else ts

    @property
    def offset_of_largest_timestamp(self) -> int:
        if self._max_ts is None:
            self._load_max_ts()
        return self._offset_of_max_ts

    def _load_max_ts(self) -> int:
        self._ensure_indexes()
        max_ts, self._offset_of_max_ts = self.time_index.last_entry()
        self._max_ts = max_ts
        return max_ts

    def check_indexes(self) -> bool:
        """Load and sanity-check both indexes; False if one is missing or corrupt."""
        try:
            self.offset_index.load()
            self.time_index.load()
            self.offset_index.check_bounds(self.log.size())
        except CorruptIndexError:
            return False
        return True

    def _ensure_indexes(self) -> None:
        """Before the first use of an index: sanity-check both (Kafka's LazyIndex check) and rebuild
        them from the log if either fails, so no position is served from an unchecked index."""
        if self._indexes_checked:
            return
        self._indexes_checked = True
        if not self.check_indexes():
            self.rebuild_indexes("failed its sanity check")

    def rebuild_indexes(self, reason: str) -> None:
        """Rewrite both indexes from the ``.log`` (batch headers only; the log is not changed)."""
        log.warning("rebuilding the indexes of %s: an index %s", self.log_path, reason)
        self._scan(validate=False)
        self._indexes_checked = True

    def indexes_exist(self) -> bool:
        return self.fs.exists(self.offset_index.path) and self.fs.exists(self.time_index.path)

    # -- append ---------------------------------------------------------------------------------------

    def append(
        self,
        data: Buffer,
        *,
        last_offset: int,
        max_timestamp: int,
        offset_of_max_timestamp: int,
        first_batch_max_timestamp: int,
    ) -> int:
        """Append whole, offset-assigned batches; returns the position they were written at."""
        if last_offset - self.base_offset > INT32_MAX:
            raise ValueError(f"offset {last_offset} does not fit segment {self.base_offset}")
        self._ensure_indexes()
        position = self.log.append(data)
        if position == 0:
            self._rolling_ts = first_batch_max_timestamp
            self._rolling_ts_known = True
        self.next_offset = last_offset + 1
        largest = self.largest_timestamp
        if max_timestamp > largest:
            self._max_ts = largest = max_timestamp
            self._offset_of_max_ts = offset_of_max_timestamp
        if self._bytes_since_index > self.index_interval_bytes:
            self.offset_index.append(last_offset, position)
            self.time_index.maybe_append(largest, self._offset_of_max_ts)
            self._bytes_since_index = 0
        self._bytes_since_index += len(data)
        return position

    # -- scanning -------------------------------------------------------------------------------------

    def iter_headers(self, position: int = 0, end: int | None = None) -> Iterator[tuple[int, BatchHeader]]:
        """Yield ``(position, header)`` of each batch from ``position``; reads headers only, in chunks."""
        end = self.log.size() if end is None else end
        buf = b""
        buf_start = position
        pos = position
        big = False  # after a batch larger than a chunk, read just the next header
        while end - pos >= HEADER_SIZE:
            off = pos - buf_start
            if off < 0 or len(buf) - off < HEADER_SIZE:
                buf = self.log.pread(pos, HEADER_SIZE if big else min(_SCAN_CHUNK, end - pos))
                buf_start, off = pos, 0
                if len(buf) < HEADER_SIZE:
                    return
            header = parse_header(buf, off)
            if header.batch_length < HEADER_SIZE - LOG_OVERHEAD:
                return  # not a batch: trusted data ends here
            yield pos, header
            big = header.batch_length > _SCAN_CHUNK
            pos += header.batch_length + LOG_OVERHEAD

    def find_batch(self, offset: int, end: int | None = None) -> tuple[int, BatchHeader] | None:
        """The first batch whose last offset >= ``offset``, as ``(position, header)``."""
        self._ensure_indexes()
        _, position = self.offset_index.lookup(offset)
        for pos, header in self.iter_headers(position, end):
            if header.base_offset + header.last_offset_delta >= offset:
                return pos, header
        return None

    def _corrupt(self, position: int, offset: int, why: str) -> CorruptRecordError:
        return CorruptRecordError(
            f"corrupt batch in segment {self.log_path} at position {position} (fetch offset {offset}): {why}"
        )

    def find_batch_checked(self, offset: int, end: int | None = None) -> tuple[int, BatchHeader] | None:
        """``find_batch`` for serving reads: every header on the way must be a batch (magic 2, a possible
        length, inside the file, offsets increasing), else CorruptRecordError naming the segment,
        position and offset. A header at an index position that does not fit the entry means a bad
        index: it is rebuilt and the lookup repeated."""
        self._ensure_indexes()
        size = self.log.size()
        end = size if end is None else min(end, size)
        for attempt in (0, 1):
            entry_offset, position = self.offset_index.lookup(offset)
            try:
                return self._scan_from(offset, position, entry_offset, end)
            except _BadIndexPosition as e:
                if attempt:
                    raise self._corrupt(position, offset, str(e)) from None
                self.rebuild_indexes(f"entry ({entry_offset}, {position}) does not point at its batch: {e}")
        return None  # pragma: no cover - the loop returns or raises

    def _scan_from(self, offset: int, position: int, entry_offset: int, end: int) -> tuple[int, BatchHeader] | None:
        pos = position
        prev_next = self.base_offset
        read = self.log.pread
        while pos < end:
            if end - pos < HEADER_SIZE:
                raise self._corrupt(pos, offset, f"{end - pos} trailing bytes are not a batch")
            header = parse_header(read(pos, HEADER_SIZE))
            length = header.batch_length
            if (
                header.magic != MAGIC
                or length < _MIN_BATCH_LENGTH
                or header.base_offset < prev_next
                or header.last_offset_delta < 0
            ):
                if pos == position and position > 0:
                    raise _BadIndexPosition(f"magic {header.magic}, base offset {header.base_offset}")
                raise self._corrupt(
                    pos, offset, f"magic {header.magic}, batch length {length}, base offset {header.base_offset}"
                )
            if pos == position and position > 0 and header.base_offset > entry_offset:
                raise _BadIndexPosition(f"batch at it starts at offset {header.base_offset}")
            if pos + length + LOG_OVERHEAD > end:
                raise self._corrupt(
                    pos,
                    offset,
                    f"batch length {length} runs past the end of the file ({end - pos - LOG_OVERHEAD} bytes left)",
                )
            last = header.base_offset + header.last_offset_delta
            if last >= offset:
                return pos, header
            prev_next = last + 1
            pos += length + LOG_OVERHEAD
        return None

    def end_txn_marker_type(self, position: int, header: BatchHeader) -> int | None:
        """ControlType (ABORT 0 / COMMIT 1) of the control batch at ``position``; None if the batch is not
        an end-transaction marker (or cannot be read)."""
        try:
            _h, recs = decode_batch(
                self.log.pread(position, header.batch_length + LOG_OVERHEAD),
                0,
                check_crc=False,
                max_decompressed_size=DECOMPRESSED_CEILING,
            )
            if recs:
                _version, ctype = control_record_type(recs[0])
                if ctype in (ControlType.ABORT, ControlType.COMMIT):
                    return ctype
        except (ValueError, struct.error):
            pass
        return None

    # -- read -----------------------------------------------------------------------------------------

    def read(
        self,
        start_offset: int,
        max_bytes: int,
        *,
        max_position: int | None = None,
        max_offset: int | None = None,
        min_one_batch: bool = True,
    ) -> tuple[int, memoryview, int] | None:
        """Whole batches from the one holding ``start_offset``: ``(position, bytes, first batch base offset)``.

        Stops before ``max_position`` (bytes) and before any batch whose last offset >= ``max_offset``;
        returns at most ``max_bytes`` unless the first batch alone is larger and ``min_one_batch``.
        ``None`` if no batch at or after ``start_offset`` is in this segment (below ``max_position``);
        empty bytes if the first such batch is beyond ``max_offset`` or too large for ``max_bytes``.
        A damaged batch where the read starts raises CorruptRecordError (see ``find_batch_checked``).
        """
        found = self.locate(
            start_offset, max_bytes, max_position=max_position, max_offset=max_offset, min_one_batch=min_one_batch
        )
        if found is None:
            return None
        pos, length, first, _next = found
        if not length:
            return pos, memoryview(b""), first
        data = self.log.pread(pos, length)
        if len(data) < length:
            raise self._corrupt(pos + len(data), start_offset, "the file ended inside the batches it indexed")
        return pos, memoryview(data), first

    def read_region(
        self,
        start_offset: int,
        max_bytes: int,
        *,
        max_offset: int | None = None,
        min_one_batch: bool = True,
        inline_max: int = 0,
    ) -> tuple[bytes | FileRegion, int, int] | None:
        """Like ``read`` but without loading the bytes: ``(data, first base offset, next offset)`` where
        ``data`` is a :class:`FileRegion` over the ``.log`` (its own handle; the caller closes it), or
        ``bytes`` when the range is at most ``inline_max`` bytes (cheaper than a handle for small reads).
        ``None`` as for ``read``."""
        found = self.locate(start_offset, max_bytes, max_offset=max_offset, min_one_batch=min_one_batch)
        if found is None:
            return None
        pos, length, first, nxt = found
        if length <= inline_max:
            data = self.log.pread(pos, length) if length else b""
            if len(data) < length:
                raise self._corrupt(pos + len(data), start_offset, "the file ended inside the batches it indexed")
            return data, first, nxt
        return FileRegion(self.log.reopen(), pos, length), first, nxt

    def locate(
        self,
        start_offset: int,
        max_bytes: int,
        *,
        max_position: int | None = None,
        max_offset: int | None = None,
        min_one_batch: bool = True,
    ) -> tuple[int, int, int, int] | None:
        """Where ``read`` would read: ``(position, length, first batch base offset, offset after the last
        batch)``; headers only, never record bytes. Length 0 (and next = first) when the first batch is
        beyond ``max_offset`` or too large. A damaged header after the first batch ends the range before
        it (the next read starts there and reports it)."""
        end = self.log.size() if max_position is None else min(max_position, self.log.size())
        found = self.find_batch_checked(start_offset, end)
        if found is None:
            return None
        pos, header = found
        first_size = header.batch_length + LOG_OVERHEAD
        first_last = header.base_offset + header.last_offset_delta
        if (max_offset is not None and first_last >= max_offset) or (first_size > max_bytes and not min_one_batch):
            return pos, 0, header.base_offset, header.base_offset
        limit = pos + min(end - pos, max(max_bytes, first_size))
        cut = pos + first_size
        nxt = first_last + 1
        for p, h in self.iter_headers(cut, limit):
            size = h.batch_length + LOG_OVERHEAD
            last = h.base_offset + h.last_offset_delta
            if (
                p + size > limit
                or h.magic != MAGIC
                or h.base_offset < nxt
                or h.last_offset_delta < 0
                or (max_offset is not None and last >= max_offset)
            ):
                break
            cut = p + size
            nxt = last + 1
        return pos, cut - pos, header.base_offset, nxt

    # -- time -----------------------------------------------------------------------------------------

    def find_offset_by_timestamp(self, timestamp: int, start_offset: int = 0) -> tuple[int, BatchHeader] | None:
        """First batch with max timestamp >= ``timestamp`` and last offset >= ``start_offset``."""
        self._ensure_indexes()
        _, ts_offset = self.time_index.lookup(timestamp)
        _, position = self.offset_index.lookup(max(ts_offset, start_offset))
        for pos, header in self.iter_headers(position):
            if header.max_timestamp >= timestamp and header.base_offset + header.last_offset_delta >= start_offset:
                return pos, header
        return None

    def _rolling_timestamp(self) -> int | None:
        if not self._rolling_ts_known:
            self._rolling_ts_known = True
            if self.log.size() >= HEADER_SIZE:
                self._rolling_ts = parse_header(self.log.pread(0, HEADER_SIZE)).max_timestamp
        return self._rolling_ts

    def time_waited_for_roll(self, now_ms: int, message_timestamp: int) -> int:
        """Kafka's rule: from the first batch's max timestamp if there is one, else from creation."""
        ts = self._rolling_timestamp()
        if ts is not None and ts >= 0:
            return message_timestamp - ts
        return now_ms - self.created_ms

    def should_roll(
        self,
        *,
        messages_size: int,
        max_timestamp: int,
        max_offset: int,
        now_ms: int,
        segment_bytes: int,
        segment_ms: int,
    ) -> bool:
        size = self.log.size()
        self._ensure_indexes()
        return (
            size > segment_bytes - messages_size
            or (size > 0 and self.time_waited_for_roll(now_ms, max_timestamp) > segment_ms - self.roll_jitter_ms)
            or self.offset_index.is_full()
            or self.time_index.is_full()
            or max_offset - self.base_offset > INT32_MAX
        )

    # -- recovery -------------------------------------------------------------------------------------

    def recover(self) -> tuple[int, int]:
        """Validate every batch, truncate an invalid tail, rebuild indexes, fsync.

        Returns ``(bytes truncated, next offset)``; the next offset is the base offset if no batch is valid.
        """
        return self._scan(validate=True)

    def _scan(self, *, validate: bool) -> tuple[int, int]:
        """Walk the batches from position 0 and rewrite both indexes. ``validate`` (recovery): CRC too,
        and the first invalid byte onward is truncated; else (an index rebuild) headers only, and the log
        is left as it is (a damaged batch is reported when a read reaches it)."""
        self._indexes_checked = True
        size = self.log.size()
        pos = 0
        next_offset = self.base_offset
        max_ts, offset_of_max = -1, self.base_offset
        index_entries: list[tuple[int, int]] = []
        time_entries: list[tuple[int, int]] = []
        last_index_pos = 0
        buf = b""
        buf_start = 0
        while size - pos >= HEADER_SIZE:
            off = pos - buf_start
            if len(buf) - off < HEADER_SIZE:
                buf = self.log.pread(pos, min(_RECOVER_CHUNK, size - pos))
                buf_start, off = pos, 0
            header = parse_header(buf, off)
            batch_size = header.batch_length + LOG_OVERHEAD
            last_offset = header.base_offset + header.last_offset_delta
            if (
                header.magic != MAGIC
                or header.batch_length < HEADER_SIZE - LOG_OVERHEAD
                or pos + batch_size > size
                or header.base_offset < next_offset
                or header.last_offset_delta < 0
                or last_offset - self.base_offset > INT32_MAX
            ):
                break
            if validate:
                if len(buf) - off < batch_size:
                    buf = self.log.pread(pos, max(batch_size, min(_RECOVER_CHUNK, size - pos)))
                    buf_start, off = pos, 0
                if compute_crc(buf, off, batch_size) != header.crc:
                    break
            if header.max_timestamp > max_ts:
                max_ts, offset_of_max = header.max_timestamp, last_offset
            if pos - last_index_pos > self.index_interval_bytes:
                index_entries.append((last_offset, pos))
                if not time_entries or max_ts > time_entries[-1][0]:
                    time_entries.append((max_ts, offset_of_max))
                last_index_pos = pos
            next_offset = last_offset + 1
            pos += batch_size
        truncated = size - pos if validate else 0
        if truncated:
            self.log.truncate(pos)
        self.offset_index.reset(index_entries)
        self.time_index.reset(time_entries)
        self._max_ts, self._offset_of_max_ts = max_ts, offset_of_max
        self._bytes_since_index = pos - last_index_pos
        self._rolling_ts_known = False
        self.next_offset = next_offset
        if validate:
            self.flush()
        else:
            self.offset_index.flush()
            self.time_index.flush()
        return truncated, next_offset

    def load_tail(self) -> int:
        """Clean start of the active segment: next offset, from the last index entry onward (no CRC)."""
        self._ensure_indexes()
        try:
            _, position = self.offset_index.last_entry()
            max_ts, offset_of_max = self.time_index.last_entry()
        except CorruptIndexError:
            return self.recover()[1]
        next_offset = self.base_offset
        for _pos, header in self.iter_headers(position):
            next_offset = header.base_offset + header.last_offset_delta + 1
            if header.max_timestamp > max_ts:
                max_ts, offset_of_max = header.max_timestamp, next_offset - 1
        self._max_ts, self._offset_of_max_ts = max_ts, offset_of_max
        self._bytes_since_index = self.log.size() - position
        self.next_offset = next_offset
        return next_offset

    def truncate_to(self, offset: int) -> int:
        """Remove the batch holding ``offset`` and everything after; returns the bytes removed."""
        self._ensure_indexes()
        found = self.find_batch(offset)
        if found is None:
            return 0
        pos, _ = found
        size = self.log.size()
        self.offset_index.truncate_to(offset)
        self.time_index.truncate_to(offset)
        self.txn_index.truncate_to(offset)
        self.log.truncate(pos)
        if pos == 0:
            self._rolling_ts, self._rolling_ts_known = None, True
        self.load_tail()
        return size - pos

    # -- lifecycle ------------------------------------------------------------------------------------

    def on_become_inactive(self, *, flush: bool = True) -> bool:
        """Rolled away from: record the final max timestamp in the time index (Kafka does the same),
        fsynced unless ``flush`` is False (a roll: the segment's deferred flush covers it). True if an
        entry was added."""
        self._ensure_indexes()
        if self.time_index.maybe_append(self.largest_timestamp, self._offset_of_max_ts, skip_full_check=True):
            if flush:
                self.time_index.flush()
            return True
        return False

    def flush(self) -> None:
        self.log.fsync()
        self.offset_index.flush()
        self.time_index.flush()
        self.txn_index.flush()

    def close(self) -> None:
        """Clean close: the final time index entry (fsynced), then close the files."""
        if self._max_ts is not None and self._max_ts >= 0:
            self.on_become_inactive()
        self.log.close()
        self.offset_index.close()
        self.time_index.close()
        self.txn_index.close()

    def close_handles(self) -> None:
        """Close files without writing anything (after a failure or crash)."""
        for closer in (self.log.close, self.offset_index.close, self.time_index.close, self.txn_index.close):
            try:
                closer()
            except OSError:
                pass

    def delete(self) -> None:
        self.close_handles()
        for path in (self.log_path, self.offset_index.path, self.time_index.path, self.txn_index_path):
            self.fs.remove(path)

    def change_file_suffixes(self, old: str, new: str) -> None:
        """Rename every file of the segment from suffix ``old`` to ``new`` (``""`` is the live name).

        Indexes go first and the ``.log`` last: the loader decides by the ``.log`` file, and leftover
        index files of either suffix are removed or rebuilt there. Each rename is durable on return.
        """
        if self.file_suffix != old:
            raise ValueError(f"{self.log_path} has suffix {self.file_suffix!r}, not {old!r}")
        for index in (self.offset_index, self.time_index, self.txn_index):
            index.rename(index.path[: len(index.path) - len(old)] + new)
        new_log_path = self.log_path[: len(self.log_path) - len(old)] + new
        self.log.close()
        self.fs.rename(self.log_path, new_log_path)
        self.log_path = new_log_path
        self.file_suffix = new
        self.log = pool_for(self.fs).open(new_log_path)

    def mark_deleted(self) -> list[str]:
        """Close the files and rename each to ``<name>.deleted``; returns the new paths (to remove later)."""
        self.close_handles()
        out = []
        for path in (self.offset_index.path, self.time_index.path, self.txn_index_path, self.log_path):
            if self.fs.exists(path):
                self.fs.rename(path, path + DELETED_SUFFIX)
                out.append(path + DELETED_SUFFIX)
        return out

    @property
    def txn_index_path(self) -> str:
        return self.txn_index.path

    def __repr__(self) -> str:
        return f"LogSegment(base_offset={self.base_offset}, size={self.log.size()})"
