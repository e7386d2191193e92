"""Idempotent producer state of one partition (Kafka's ``ProducerStateManager``) and its snapshots.

Per producer id the partition remembers the epoch and the last 5 batches appended, as
``(first_seq, last_seq, first_offset, last_offset, timestamp)``; that is what lets it answer a retried
produce request with the offsets of the original append instead of writing the batch twice.

Rules applied to a leader append, batch by batch (Kafka 3.x/4.x, ``ProducerAppendInfo``):

- ``producerId == -1``: not idempotent, no checks.
- Same epoch and ``(first_seq, last_seq)`` equal to one of the cached batches: a duplicate. Nothing is
  appended and the whole request answers with the original offsets.
- Epoch below the current one: ``InvalidProducerEpochError`` (a fenced zombie).
- Epoch above the current one (a bump): the first sequence must be 0, else ``OutOfOrderSequenceError``.
- Same epoch: ``first_seq`` must be ``last_seq + 1`` (``Int32.MAX`` wraps to 0), else
  ``OutOfOrderSequenceError``.
- Unknown producer id (never seen, or its state was lost with retention): any sequence is accepted, as
  Kafka does since 2.5 (KIP-360); UNKNOWN_PRODUCER_ID is never returned.

Batches of one request are checked against the state left by the earlier batches of that request, and
the state changes only when the append succeeds (``stage`` then ``commit``).

Snapshot files ``<20-digit offset>.snapshot`` in the partition directory hold the state of every producer
after all batches below ``offset``. Written at segment roll and clean close, atomically (tmp + fsync +
rename); the newest 2 are kept. Layout (Kafka's, big-endian)::

    int16   version = 1
    uint32  crc     CRC32C of every byte after this field
    int32   count
    count x {
        int64  producerId
        int16  epoch
        int32  lastSequence
        int64  lastOffset            -1 if the producer has no data batch
        int32  offsetDelta           lastOffset - firstOffset of its last batch
        int64  timestamp             max timestamp of its last batch
        int32  coordinatorEpoch      -1 (no transactions yet)
        int64  currentTxnFirstOffset -1 if no ongoing transaction
    }

As in Kafka a snapshot keeps only each producer's last batch; at open the log replays batch headers from
the snapshot's offset to the log end, which restores the rest. A corrupt snapshot is deleted and the
next older one (or the log start) is used.
"""

from __future__ import annotations

import struct
from collections import deque
from typing import Iterable, NamedTuple

from crc32c import crc32c

from kavka.protocol.batch import BatchHeader
from kavka.storage.errors import InvalidProducerEpochError, OutOfOrderSequenceError
from kavka.storage.fs import FileSystem

__all__ = ["BatchMetadata", "ProducerStateEntry", "ProducerStateManager", "SNAPSHOT_SUFFIX", "CorruptSnapshotError"]

SNAPSHOT_SUFFIX = ".snapshot"
SNAPSHOT_VERSION = 1
NO_EPOCH = -1
NUM_BATCHES_TO_RETAIN = 5
SNAPSHOTS_TO_KEEP = 2
INT32_MAX = 2**31 - 1

_HEAD = struct.Struct(">hIi")
_ENTRY = struct.Struct(">qhiqiqiq")


class CorruptSnapshotError(Exception):
    pass


class BatchMetadata(NamedTuple):
    first_seq: int
    last_seq: int
    first_offset: int
    last_offset: int
    timestamp: int


def _in_sequence(last_seq: int, next_seq: int) -> bool:
    return next_seq == last_seq + 1 or (next_seq == 0 and last_seq == INT32_MAX)


class ProducerStateEntry:
    __slots__ = ("producer_id", "epoch", "batches", "coordinator_epoch", "current_txn_first_offset", "last_timestamp")

    def __init__(self, producer_id: int, epoch: int = NO_EPOCH) -> None:
        self.producer_id = producer_id
        self.epoch = epoch
        self.batches: deque[BatchMetadata] = deque(maxlen=NUM_BATCHES_TO_RETAIN)
        self.coordinator_epoch = -1
        self.current_txn_first_offset = -1
        self.last_timestamp = -1

    def copy(self) -> "ProducerStateEntry":
        e = ProducerStateEntry(self.producer_id, self.epoch)
        e.batches.extend(self.batches)
        e.coordinator_epoch = self.coordinator_epoch
        e.current_txn_first_offset = self.current_txn_first_offset
        e.last_timestamp = self.last_timestamp
        return e

    @property
    def last_seq(self) -> int:
        return self.batches[-1].last_seq if self.batches else -1

    @property
    def last_offset(self) -> int:
        return self.batches[-1].last_offset if self.batches else -1

    def find_duplicate(self, epoch: int, first_seq: int, last_seq: int) -> BatchMetadata | None:
        if epoch != self.epoch:
            return None
        for b in self.batches:
            if b.first_seq == first_seq and b.last_seq == last_seq:
                return b
        return None

    def add(self, epoch: int, first_seq: int, last_seq: int, first_offset: int, last_offset: int, ts: int) -> None:
        if epoch != self.epoch:
            self.epoch = epoch
            self.batches.clear()
        self.batches.append(BatchMetadata(first_seq, last_seq, first_offset, last_offset, ts))
        self.last_timestamp = ts

    def __repr__(self) -> str:
        return f"ProducerStateEntry(pid={self.producer_id}, epoch={self.epoch}, batches={list(self.batches)})"


class ProducerStateManager:
    def __init__(self, fs: FileSystem, dir_path: str) -> None:
        self.fs = fs
        self.dir = dir_path
        self.producers: dict[int, ProducerStateEntry] = {}
        self.map_end_offset = 0  # every batch below this offset has been applied
        self.last_snapshot_offset = -1

    # -- leader append --------------------------------------------------------------------------------

    def stage(
        self, batches: Iterable[tuple[BatchHeader, int, int]]
    ) -> tuple[BatchMetadata | None, dict[int, ProducerStateEntry]]:
        """Check ``(header, assigned base offset, max timestamp)`` of each batch of one append.

        Returns ``(duplicate, {})`` if the request repeats an earlier batch, else ``(None, staged)``
        where ``staged`` is the state to ``commit`` once the batches are written. Raises on a violation.
        """
        staged: dict[int, ProducerStateEntry] = {}
        for header, base_offset, timestamp in batches:
            pid = header.producer_id
            if pid < 0:
                continue
            entry = staged.get(pid)
            if entry is None:
                current = self.producers.get(pid)
                entry = current.copy() if current is not None else ProducerStateEntry(pid)
            epoch = header.producer_epoch
            first_seq, last_seq = header.base_sequence, header.last_sequence
            duplicate = entry.find_duplicate(epoch, first_seq, last_seq)
            if duplicate is not None:
                return duplicate, {}
            if epoch < entry.epoch:
                raise InvalidProducerEpochError(
                    f"producer {pid}: epoch {epoch} is older than the current epoch {entry.epoch}"
                )
            if epoch != entry.epoch:
                if first_seq != 0 and entry.epoch != NO_EPOCH:
                    raise OutOfOrderSequenceError(
                        f"producer {pid}: new epoch {epoch} must start at sequence 0, got {first_seq}"
                    )
            elif not _in_sequence(entry.last_seq, first_seq):
                raise OutOfOrderSequenceError(
                    f"producer {pid} epoch {epoch}: sequence {first_seq} does not follow {entry.last_seq}"
                )
            entry.add(epoch, first_seq, last_seq, base_offset, base_offset + header.last_offset_delta, timestamp)
            staged[pid] = entry
        return None, staged

    def commit(self, staged: dict[int, ProducerStateEntry], end_offset: int) -> None:
        if staged:
            self.producers.update(staged)
        self.map_end_offset = end_offset

    # -- replay from the log --------------------------------------------------------------------------

    def replay(self, header: BatchHeader) -> None:
        """Apply a batch read back from the log, without validation (Kafka's ValidationType.None)."""
        end = header.base_offset + header.last_offset_delta + 1
        pid = header.producer_id
        if pid >= 0:
            entry = self.producers.get(pid)
            if entry is None:
                entry = self.producers[pid] = ProducerStateEntry(pid)
            if header.is_control:
                if header.producer_epoch != entry.epoch:
                    entry.epoch = header.producer_epoch
                    entry.batches.clear()
            else:
                entry.add(
                    header.producer_epoch, header.base_sequence, header.last_sequence,
                    header.base_offset, end - 1, header.max_timestamp,
                )
        if end > self.map_end_offset:
            self.map_end_offset = end

    # -- snapshots ------------------------------------------------------------------------------------

    def snapshot_path(self, offset: int) -> str:
        return f"{self.dir}/{offset:020d}{SNAPSHOT_SUFFIX}"

    def snapshot_offsets(self) -> list[int]:
        out = []
        for name in self.fs.listdir(self.dir):
            if name.endswith(SNAPSHOT_SUFFIX):
                stem = name[: -len(SNAPSHOT_SUFFIX)]
                if stem.isdigit():
                    out.append(int(stem))
        return sorted(out)

    def encode(self) -> bytes:
        parts = []
        for pid, e in self.producers.items():
            if e.batches:
                last = e.batches[-1]
                parts.append(_ENTRY.pack(pid, e.epoch, last.last_seq, last.last_offset,
                                         last.last_offset - last.first_offset, e.last_timestamp,
                                         e.coordinator_epoch, e.current_txn_first_offset))
            else:
                parts.append(_ENTRY.pack(pid, e.epoch, -1, -1, 0, e.last_timestamp,
                                         e.coordinator_epoch, e.current_txn_first_offset))
        body = struct.pack(">i", len(parts)) + b"".join(parts)
        return struct.pack(">hI", SNAPSHOT_VERSION, crc32c(body)) + body

    @staticmethod
    def decode(data: bytes) -> list[ProducerStateEntry]:
        if len(data) < _HEAD.size:
            raise CorruptSnapshotError("snapshot too short")
        version, crc, count = _HEAD.unpack_from(data)
        if version != SNAPSHOT_VERSION:
            raise CorruptSnapshotError(f"unknown snapshot version {version}")
        if crc32c(data[6:]) != crc:
            raise CorruptSnapshotError("snapshot CRC mismatch")
        if count < 0 or len(data) != _HEAD.size + count * _ENTRY.size:
            raise CorruptSnapshotError("snapshot size does not match its entry count")
        entries = []
        for pid, epoch, last_seq, last_offset, delta, ts, coord_epoch, txn_first in _ENTRY.iter_unpack(data[_HEAD.size:]):
            e = ProducerStateEntry(pid, epoch)
            if last_offset >= 0:
                first_seq = last_seq - delta
                if first_seq < 0:
                    first_seq += INT32_MAX + 1
                e.batches.append(BatchMetadata(first_seq, last_seq, last_offset - delta, last_offset, ts))
            e.last_timestamp = ts
            e.coordinator_epoch = coord_epoch
            e.current_txn_first_offset = txn_first
            entries.append(e)
        return entries

    def take_snapshot(self, offset: int | None = None) -> None:
        """Write the state as of ``offset`` (default: ``map_end_offset``); keep the newest 2 snapshots."""
        offset = self.map_end_offset if offset is None else offset
        if offset != self.last_snapshot_offset:
            self.fs.write_atomic(self.snapshot_path(offset), self.encode())
            self.last_snapshot_offset = offset
        for old in self.snapshot_offsets()[:-SNAPSHOTS_TO_KEEP]:
            self.fs.remove(self.snapshot_path(old))

    def load(self, log_start_offset: int, log_end_offset: int) -> int:
        """Load the newest usable snapshot at or below ``log_end_offset``; returns the offset to replay from.

        Snapshots above the log end (left by a log that lost its tail) are deleted, as are corrupt ones.
        """
        self.producers = {}
        offsets = self.snapshot_offsets()
        for offset in [o for o in offsets if o > log_end_offset]:
            self.fs.remove(self.snapshot_path(offset))
        for offset in reversed([o for o in offsets if o <= log_end_offset]):
            try:
                entries = self.decode(self.fs.read_bytes(self.snapshot_path(offset)))
            except (CorruptSnapshotError, struct.error, OSError):
                self.fs.remove(self.snapshot_path(offset))
                continue
            self.producers = {e.producer_id: e for e in entries}
            start = max(offset, log_start_offset)
            self.map_end_offset = start
            self.last_snapshot_offset = offset
            return start
        self.map_end_offset = log_start_offset
        self.last_snapshot_offset = -1
        return log_start_offset

    def delete_snapshots(self) -> None:
        for offset in self.snapshot_offsets():
            self.fs.remove(self.snapshot_path(offset))
        self.last_snapshot_offset = -1
