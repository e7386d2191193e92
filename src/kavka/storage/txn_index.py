"""The aborted-transaction index of a log segment (Kafka's ``TransactionIndex`` and ``AbortedTxn``).

File ``<20-digit base offset>.txnindex`` next to the segment's ``.log``; entries of 34 bytes, big-endian,
back to back, in the order the ABORT markers were written::

    0   int16  version           0 (a higher version is refused: CorruptIndexError)
    2   int64  producerId
    10  int64  firstOffset       offset of the transaction's first data batch in this partition
    18  int64  lastOffset        offset of its ABORT marker
    26  int64  lastStableOffset  the LSO right after the abort: first offset of the earliest transaction
                                 of another producer still open then, else lastOffset + 1

An entry lives in the segment holding its *marker*; the transaction's data may start in earlier
segments. Only aborted transactions with data in this partition get an entry (an empty transaction's
marker changes nothing for readers). The file is created on the first entry, so most segments have
none.

Lookups (``collect``) scan the whole index in memory: entries whose ``[firstOffset, lastOffset]``
overlaps ``[fetch offset, upper bound)``; the search is complete once an entry's lastStableOffset is
at or past the upper bound (no transaction that overlaps the range can have its marker further on).

Contract after a crash: an index is trusted only below the recovery point, like the other indexes; the
loader resets the index of every segment it recovers and rebuilds it by replaying the producer state
(kavka.storage.loader). A loaded file must pass the sanity check (size a multiple of 34, version 0,
lastOffset >= the segment's base offset and increasing), else ``CorruptIndexError``.

Not thread-safe: one owner (the segment).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from kavka.storage.fs import FileHandle, FileSystem
from kavka.storage.index import CorruptIndexError

__all__ = ["AbortedTxn", "TransactionIndex", "ENTRY_SIZE"]

_ENTRY = struct.Struct(">hqqqq")
ENTRY_SIZE = _ENTRY.size  # 34
_VERSION = 0


class AbortedTxn(NamedTuple):
    producer_id: int
    first_offset: int
    last_offset: int
    last_stable_offset: int

    def encode(self) -> bytes:
        return _ENTRY.pack(_VERSION, self.producer_id, self.first_offset, self.last_offset, self.last_stable_offset)


class TransactionIndex:
    def __init__(self, fs: FileSystem, path: str, base_offset: int) -> None:
        self.fs = fs
        self.path = path
        self.base_offset = base_offset
        self._handle: FileHandle | None = None
        self._entries: list[AbortedTxn] | None = None  # None: not loaded yet

    # -- loading --------------------------------------------------------------------------------------

    def load(self) -> list[AbortedTxn]:
        data = self.fs.read_bytes(self.path) if self.fs.exists(self.path) else b""
        if len(data) % ENTRY_SIZE:
            raise CorruptIndexError(f"{self.path}: size {len(data)} is not a multiple of {ENTRY_SIZE}")
        entries = []
        last = None
        for version, pid, first, last_offset, lso in _ENTRY.iter_unpack(data):
            if version != _VERSION:
                raise CorruptIndexError(f"{self.path}: unknown aborted transaction version {version}")
            if last_offset < self.base_offset:
                raise CorruptIndexError(
                    f"{self.path}: last offset {last_offset} of an aborted transaction is below the "
                    f"segment base {self.base_offset}"
                )
            if last is not None and last_offset <= last:
                raise CorruptIndexError(f"{self.path}: last offsets do not increase ({last} then {last_offset})")
            last = last_offset
            entries.append(AbortedTxn(pid, first, last_offset, lso))
        self._entries = entries
        return entries

    def _ensure(self) -> list[AbortedTxn]:
        if self._entries is None:
            self.load()
        entries = self._entries
        return entries if entries is not None else self.load()

    @property
    def entries(self) -> list[AbortedTxn]:
        return list(self._ensure())

    def __len__(self) -> int:
        return len(self._ensure())

    def check(self) -> bool:
        """Load and sanity-check; False if corrupt."""
        try:
            self.load()
        except CorruptIndexError:
            return False
        return True

    # -- writing --------------------------------------------------------------------------------------

    def _file(self) -> FileHandle:
        if self._handle is None:
            self._handle = self.fs.open(self.path)
        return self._handle

    def append(self, txn: AbortedTxn) -> None:
        entries = self._ensure()
        if entries and entries[-1].last_offset >= txn.last_offset:
            raise ValueError(
                f"{self.path}: aborted transaction at {txn.last_offset} does not follow {entries[-1].last_offset}"
            )
        self._file().append(txn.encode())
        entries.append(txn)

    def reset(self, entries: list[AbortedTxn] | None = None) -> None:
        """Replace every entry (recovery); the file is removed when there are none."""
        entries = list(entries or [])
        self.close()
        self.fs.remove(self.path)
        self._entries = []
        if entries:
            self._file().append(b"".join(e.encode() for e in entries))
            self._entries = entries

    def truncate_to(self, offset: int) -> None:
        """Drop the entries whose marker is at or after ``offset``."""
        entries = self._ensure()
        keep = 0
        while keep < len(entries) and entries[keep].last_offset < offset:
            keep += 1
        if keep < len(entries):
            del entries[keep:]
            self._file().truncate(keep * ENTRY_SIZE)

    # -- reading --------------------------------------------------------------------------------------

    def collect(self, fetch_offset: int, upper_bound: int) -> tuple[list[AbortedTxn], bool]:
        """Aborted transactions overlapping ``[fetch_offset, upper_bound)``, and whether the search is
        complete (Kafka's ``collectAbortedTxns``)."""
        out = []
        for txn in self._ensure():
            if txn.last_offset >= fetch_offset and txn.first_offset < upper_bound:
                out.append(txn)
            if txn.last_stable_offset >= upper_bound:
                return out, True
        return out, False

    # -- files ----------------------------------------------------------------------------------------

    def flush(self) -> None:
        if self._handle is not None:
            self._handle.fsync()

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def close_handles(self) -> None:
        try:
            self.close()
        except OSError:
            self._handle = None

    def rename(self, new_path: str) -> None:
        self.close()
        if self.fs.exists(self.path):
            self.fs.rename(self.path, new_path)
        self.path = new_path

    def delete(self) -> None:
        self.close_handles()
        self.fs.remove(self.path)
