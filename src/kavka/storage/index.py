"""Sparse offset and time indexes of a log segment (Kafka's ``OffsetIndex`` and ``TimeIndex``).

Files, next to the segment's ``<base offset>.log``::

    <20-digit base offset>.index       offset index, 8-byte entries, big-endian
        0  int32  relativeOffset     offset - segment base offset
        4  int32  position           byte position in the .log of a batch whose last offset is
                                     >= this entry's offset (Kafka keys entries by a batch's last offset)
    <20-digit base offset>.timeindex   time index, 12-byte entries, big-endian
        0  int64  timestamp          the segment's max timestamp so far when the entry was written
        8  int32  relativeOffset     offset of the batch holding that timestamp (its last offset)

Entries are sparse: the segment adds one each time more than ``index.interval.bytes`` of log were appended
since the previous entry; the time index gets one only when the max timestamp grew (Kafka's
``TimeIndex.maybeAppend``). Both sequences are strictly increasing, so lookups bisect in memory.

Lookups: ``OffsetIndex.lookup(t)`` gives the largest entry with offset <= t, or ``(base_offset, 0)``;
the caller scans batch headers forward from that position. ``TimeIndex.lookup(ts)`` gives the largest
entry with timestamp <= ts, or ``(-1, base_offset)``.

Kafka preallocates index files to ``segment.index.bytes`` and trims them on close; Kavka appends entries,
so the file is always exactly its entries. "Full" still means ``segment.index.bytes // entry size``
entries, which makes the segment roll.

Loading is lazy (on first use), so a clean start reads only what it touches. A loaded file must pass the
sanity check (size a multiple of the entry size, offsets >= base offset and strictly increasing,
timestamps increasing) and, from the segment, ``check_bounds`` (positions inside the ``.log``); one that
fails raises ``CorruptIndexError`` and the segment rebuilds both indexes from the log. The segment also
checks the batch header at every position it takes from the index (kavka.storage.segment).
Files are opened through the pool of kavka.storage.handles, so idle ones do not hold descriptors.
After a crash, indexes of segments past the recovery point are rebuilt from the log, never trusted.

Not thread-safe: one owner (the segment) uses an index at a time.
"""

from __future__ import annotations

import struct
import sys
from array import array
from bisect import bisect_right
from collections.abc import MutableSequence, Sequence

from kavka.storage.fs import FileHandle, FileSystem
from kavka.storage.handles import pool_for

__all__ = ["CorruptIndexError", "OffsetIndex", "TimeIndex"]

_OFFSET_ENTRY = struct.Struct(">ii")
_TIME_ENTRY = struct.Struct(">qi")
_LITTLE = sys.byteorder == "little"


class CorruptIndexError(Exception):
    """An index file failed its sanity check; rebuild it from the log."""


class _IndexFile:
    """Shared plumbing: a lazily opened, lazily loaded append-only file of fixed-size entries."""

    ENTRY_SIZE = 0
    #: each entry's offset relative to base_offset, in file order (set by the subclass)
    _rel: MutableSequence[int]

    def __init__(self, fs: FileSystem, path: str, base_offset: int, max_index_size: int) -> None:
        self.fs = fs
        self.path = path
        self.base_offset = base_offset
        self.max_entries = max(1, max_index_size // self.ENTRY_SIZE)
        self._handle: FileHandle | None = None
        self._loaded = False

    def _file(self) -> FileHandle:
        if self._handle is None:
            self._handle = pool_for(self.fs).open(self.path)
        return self._handle

    def _ensure(self) -> None:
        if not self._loaded:
            self.load()

    def load(self) -> None:
        data = self.fs.read_bytes(self.path) if self.fs.exists(self.path) else b""
        if len(data) % self.ENTRY_SIZE:
            raise CorruptIndexError(f"{self.path}: size {len(data)} is not a multiple of {self.ENTRY_SIZE}")
        self._parse(data)
        self._loaded = True
        self.sanity_check()

    def _parse(self, data: bytes) -> None:
        raise NotImplementedError

    def sanity_check(self) -> None:
        raise NotImplementedError

    @property
    def entries(self) -> int:
        self._ensure()
        return len(self._rel)

    def is_full(self) -> bool:
        return self.entries >= self.max_entries

    def _truncate_entries(self, n: int) -> None:
        del self._rel[n:]
        self._truncate_file(n)

    def _truncate_file(self, n: int) -> None:
        handle = self._file()
        if handle.size() != n * self.ENTRY_SIZE:
            handle.truncate(n * self.ENTRY_SIZE)

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.fsync()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def delete(self) -> None:
        self.close()
        self.fs.remove(self.path)

    def rename(self, new_path: str) -> None:
        self.close()
        if self.fs.exists(self.path):
            self.fs.rename(self.path, new_path)
        self.path = new_path


class OffsetIndex(_IndexFile):
    """Maps offsets to .log positions, sparsely. See the module docstring for the byte layout."""

    ENTRY_SIZE = 8

    def __init__(self, fs: FileSystem, path: str, base_offset: int, max_index_size: int = 10485760) -> None:
        super().__init__(fs, path, base_offset, max_index_size)
        self._rel: array[int] = array("i")
        self._pos = array("i")

    def _parse(self, data: bytes) -> None:
        arr = array("i", data)
        if _LITTLE:
            arr.byteswap()
        self._rel = arr[0::2]
        self._pos = arr[1::2]

    def sanity_check(self) -> None:
        rel = self._rel
        if not rel:
            return
        if rel[0] < 0:
            raise CorruptIndexError(f"{self.path}: entry offset below the base offset {self.base_offset}")
        values = rel.tolist()
        if len(set(values)) != len(values) or sorted(values) != values:
            raise CorruptIndexError(f"{self.path}: offsets are not strictly increasing")
        positions = self._pos.tolist()
        if sorted(positions) != positions or positions[0] < 0:
            raise CorruptIndexError(f"{self.path}: positions are not increasing")

    def check_bounds(self, log_size: int) -> None:
        """The checks that need the segment: every position inside the ``.log``, every relative offset an
        int32 (both sequences are increasing, so the last entry decides). CorruptIndexError if not."""
        self._ensure()
        if self._pos and self._pos[-1] >= max(log_size, 1):
            raise CorruptIndexError(f"{self.path}: position {self._pos[-1]} is beyond the log's {log_size} bytes")

    def lookup(self, offset: int) -> tuple[int, int]:
        """Largest entry with offset <= ``offset`` as ``(offset, position)``, else ``(base_offset, 0)``."""
        self._ensure()
        i = bisect_right(self._rel, offset - self.base_offset)
        if i == 0:
            return self.base_offset, 0
        return self.base_offset + self._rel[i - 1], self._pos[i - 1]

    def last_entry(self) -> tuple[int, int]:
        self._ensure()
        if not self._rel:
            return self.base_offset, 0
        return self.base_offset + self._rel[-1], self._pos[-1]

    def append(self, offset: int, position: int) -> None:
        self._ensure()
        rel = offset - self.base_offset
        if self._rel and rel <= self._rel[-1]:
            raise ValueError(f"index offset {offset} is not above the last entry {self.base_offset + self._rel[-1]}")
        if len(self._rel) >= self.max_entries:
            raise ValueError(f"offset index {self.path} is full")
        self._file().append(_OFFSET_ENTRY.pack(rel, position))
        self._rel.append(rel)
        self._pos.append(position)

    def truncate_to(self, offset: int) -> None:
        """Drop every entry with offset >= ``offset``."""
        self._ensure()
        n = bisect_right(self._rel, offset - self.base_offset - 1)
        del self._pos[n:]
        self._truncate_entries(n)

    def reset(self, entries: Sequence[tuple[int, int]] = ()) -> None:
        """Replace all entries (used when rebuilding from the log): one write."""
        self._rel = array("i", (o - self.base_offset for o, _ in entries))
        self._pos = array("i", (p for _, p in entries))
        self._loaded = True
        handle = self._file()
        handle.truncate(0)
        if entries:
            handle.append(b"".join(_OFFSET_ENTRY.pack(o - self.base_offset, p) for o, p in entries))


class TimeIndex(_IndexFile):
    """Maps timestamps to offsets, sparsely. See the module docstring for the byte layout."""

    ENTRY_SIZE = 12

    def __init__(self, fs: FileSystem, path: str, base_offset: int, max_index_size: int = 10485760) -> None:
        super().__init__(fs, path, base_offset, max_index_size)
        self._ts: list[int] = []
        self._rel: list[int] = []

    def _parse(self, data: bytes) -> None:
        pairs = list(_TIME_ENTRY.iter_unpack(data))
        self._ts = [t for t, _ in pairs]
        self._rel = [r for _, r in pairs]

    def sanity_check(self) -> None:
        if not self._rel:
            return
        if self._rel[0] < 0:
            raise CorruptIndexError(f"{self.path}: entry offset below the base offset {self.base_offset}")
        if sorted(self._rel) != self._rel or sorted(self._ts) != self._ts or len(set(self._ts)) != len(self._ts):
            raise CorruptIndexError(f"{self.path}: entries are not increasing")

    def lookup(self, timestamp: int) -> tuple[int, int]:
        """Largest entry with timestamp <= ``timestamp`` as ``(timestamp, offset)``, else ``(-1, base)``."""
        self._ensure()
        i = bisect_right(self._ts, timestamp)
        if i == 0:
            return -1, self.base_offset
        return self._ts[i - 1], self.base_offset + self._rel[i - 1]

    def last_entry(self) -> tuple[int, int]:
        """``(timestamp, offset)`` of the last entry, or ``(-1, base_offset)``."""
        self._ensure()
        if not self._ts:
            return -1, self.base_offset
        return self._ts[-1], self.base_offset + self._rel[-1]

    def maybe_append(self, timestamp: int, offset: int, skip_full_check: bool = False) -> bool:
        """Append ``(timestamp, offset)`` if ``timestamp`` is above the last entry's (Kafka's rule)."""
        self._ensure()
        if self._ts and timestamp <= self._ts[-1]:
            return False
        rel = offset - self.base_offset
        if self._rel and rel < self._rel[-1]:
            return False
        if not skip_full_check and len(self._rel) >= self.max_entries:
            raise ValueError(f"time index {self.path} is full")
        self._file().append(_TIME_ENTRY.pack(timestamp, rel))
        self._ts.append(timestamp)
        self._rel.append(rel)
        return True

    def truncate_to(self, offset: int) -> None:
        """Drop every entry with offset >= ``offset``."""
        self._ensure()
        n = bisect_right(self._rel, offset - self.base_offset - 1)
        del self._ts[n:]
        self._truncate_entries(n)

    def reset(self, entries: Sequence[tuple[int, int]] = ()) -> None:
        """Replace all entries ``(timestamp, offset)`` (rebuilding from the log): one write."""
        self._ts = [t for t, _ in entries]
        self._rel = [o - self.base_offset for _, o in entries]
        self._loaded = True
        handle = self._file()
        handle.truncate(0)
        if entries:
            handle.append(b"".join(_TIME_ENTRY.pack(t, o - self.base_offset) for t, o in entries))
