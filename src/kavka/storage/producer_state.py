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
- Unknown producer id (never seen, expired, or its state was lost with retention): any sequence is
  accepted, as Kafka does since 2.5 (KIP-360, ``ProducerAppendInfo.checkSequence``); UNKNOWN_PRODUCER_ID
  is never returned. (Before 2.5 Kafka answered UNKNOWN_PRODUCER_ID and the client compared the response's
  log start offset with its last acknowledged offset to decide whether to reset its sequences.)

Expiration (Kafka's ``removeExpiredProducers``, ``producer.id.expiration.ms``): a producer is expired
when it has no open transaction and ``now - last_timestamp >= producer.id.expiration.ms``, where
``last_timestamp`` is the max timestamp of its last data batch as stored (the producer's CreateTime, or
the broker's time for LogAppendTime topics) or the timestamp of its last transaction marker. The log
manager removes expired producers every ``producer.id.expiration.check.interval.ms``; producers with an
open transaction are never expired. Snapshots written afterwards no longer hold them, and ``load`` drops
expired producers read from a snapshot (Kafka's ``loadFromSnapshot``); producers rebuilt by replaying
batches after the snapshot are not filtered there, and go at the next check, as in Kafka.

Batches of one request are checked against the state left by the earlier batches of that request, and
the state changes only when the append succeeds (``stage`` then ``commit``).

Transactions (Kafka's ``ProducerAppendInfo`` / ``ProducerStateManager``):

- A transactional data batch of a producer with no open transaction *starts* one: the producer's
  ``current_txn_first_offset`` becomes the batch's base offset and the transaction joins
  ``ongoing`` (first offset -> producer id, in offset order). A non-transactional batch from a producer
  with an open transaction is ``InvalidTxnStateError``.
- An end-transaction marker (``stage_marker`` then ``complete_marker``; COMMIT or ABORT control batch
  written by the coordinator) closes it: epoch below the producer's is ``InvalidProducerEpochError``,
  a coordinator epoch below the last one seen is ``TransactionCoordinatorFencedError``; a higher epoch
  is adopted (and the cached batches dropped). A marker of a producer with data returns the
  ``CompletedTxn``; the transaction moves from ``ongoing`` to ``unreplicated`` until the high watermark
  passes its marker.
- ``first_unstable_offset`` is the smallest first offset of an ongoing or unreplicated transaction:
  the log's last stable offset is ``min(high watermark, it)``.
- ``last_stable_offset_after(completed)`` is what the ``.txnindex`` records for an abort: the first
  offset of the earliest open transaction of another producer, else the marker offset + 1.

Snapshot files ``<20-digit offset>.snapshot`` in the partition directory hold the state of every producer
after all batches below ``offset``. Written at clean close atomically (tmp + fsync + rename); written at
segment roll without fsync (Kafka's ``takeSnapshot(sync=false)``, KAFKA-15046) and fsynced by
``sync_snapshots`` when the log's recovery point passes the offset, so every snapshot at or below the
recovery point is durable, and one above it may be torn by a crash (its CRC catches that; an older one is
used). The newest 2 durable snapshots are kept, plus any newer ones not yet fsynced. Layout (Kafka's, big-endian)::

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
        int32  coordinatorEpoch      of the last marker, -1 if none
        int64  currentTxnFirstOffset -1 if no ongoing transaction
    }

As in Kafka a snapshot keeps only each producer's last batch; at open the log replays batch headers from
the snapshot's offset to the log end, which restores the rest (ongoing transactions come back from
``currentTxnFirstOffset``). A corrupt snapshot is deleted and the next older one (or the log start) is used.
"""

from __future__ import annotations

import struct
from collections import deque
from collections.abc import Iterable
from typing import NamedTuple

from crc32c import crc32c

from kavka.protocol.batch import BatchHeader
from kavka.storage.errors import (
    InvalidProducerEpochError,
    InvalidTxnStateError,
    OutOfOrderSequenceError,
    TransactionCoordinatorFencedError,
)
from kavka.storage.fs import FileSystem

__all__ = [
    "BatchMetadata",
    "CompletedTxn",
    "ProducerStateEntry",
    "ProducerStateManager",
    "SNAPSHOT_SUFFIX",
    "CorruptSnapshotError",
]

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


class CompletedTxn(NamedTuple):
    """A transaction closed by a marker: its producer, first data offset, marker offset, outcome."""

    producer_id: int
    first_offset: int
    last_offset: int
    is_aborted: bool


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

    def copy(self) -> ProducerStateEntry:
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
        self._unsynced: set[int] = set()  # snapshot offsets written without fsync
        # open transactions, first offset -> producer id, kept in increasing offset order
        self.ongoing: dict[int, int] = {}
        # completed transactions whose marker is not yet below the high watermark: first -> marker offset
        self.unreplicated: dict[int, int] = {}

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
            if header.is_transactional:
                if entry.current_txn_first_offset < 0:
                    entry.current_txn_first_offset = base_offset
            elif entry.current_txn_first_offset >= 0:
                raise InvalidTxnStateError(
                    f"producer {pid}: non-transactional batch while its transaction from offset "
                    f"{entry.current_txn_first_offset} is open"
                )
            staged[pid] = entry
        return None, staged

    def commit(self, staged: dict[int, ProducerStateEntry], end_offset: int) -> None:
        if staged:
            for pid, entry in staged.items():
                first = entry.current_txn_first_offset
                if first >= 0:
                    old = self.producers.get(pid)
                    if old is None or old.current_txn_first_offset != first:
                        self.ongoing[first] = pid
            self.producers.update(staged)
        self.map_end_offset = end_offset

    # -- transactions ---------------------------------------------------------------------------------

    def stage_marker(
        self,
        producer_id: int,
        producer_epoch: int,
        coordinator_epoch: int,
        offset: int,
        aborted: bool,
        *,
        validate: bool = True,
        timestamp: int = -1,
    ) -> tuple[ProducerStateEntry, CompletedTxn | None]:
        """Check an end-transaction marker about to be written at ``offset`` with ``timestamp`` (its
        record's; it becomes the producer's ``last_timestamp``, as in Kafka); returns the producer's new
        entry and the transaction it completes (None for a producer with no open transaction here).
        Nothing changes until :meth:`complete_marker`."""
        current = self.producers.get(producer_id)
        entry = current.copy() if current is not None else ProducerStateEntry(producer_id)
        if validate:
            if producer_epoch < entry.epoch:
                raise InvalidProducerEpochError(
                    f"producer {producer_id}: marker epoch {producer_epoch} is older than {entry.epoch}"
                )
            if entry.coordinator_epoch > coordinator_epoch:
                raise TransactionCoordinatorFencedError(
                    f"producer {producer_id}: coordinator epoch {coordinator_epoch} is older than "
                    f"{entry.coordinator_epoch}"
                )
        completed = None
        if entry.current_txn_first_offset >= 0:
            completed = CompletedTxn(producer_id, entry.current_txn_first_offset, offset, aborted)
        if producer_epoch != entry.epoch:
            entry.epoch = producer_epoch
            entry.batches.clear()
        entry.coordinator_epoch = coordinator_epoch
        entry.current_txn_first_offset = -1
        entry.last_timestamp = timestamp
        return entry, completed

    def last_stable_offset_after(self, completed: CompletedTxn) -> int:
        """The LSO once ``completed`` is done (Kafka's ``lastStableOffset(completedTxn)``), for the index."""
        for first, pid in self.ongoing.items():
            if pid != completed.producer_id:
                return first
        return completed.last_offset + 1

    def complete_marker(
        self,
        entry: ProducerStateEntry,
        completed: CompletedTxn | None,
        end_offset: int,
        high_watermark: int | None = None,
    ) -> None:
        """Apply a marker written (or replayed) below ``end_offset``."""
        self.producers[entry.producer_id] = entry
        if completed is not None:
            self.ongoing.pop(completed.first_offset, None)
            if high_watermark is None or completed.last_offset >= high_watermark:
                self.unreplicated[completed.first_offset] = completed.last_offset
        if end_offset > self.map_end_offset:
            self.map_end_offset = end_offset

    def first_unstable_offset(self) -> int | None:
        """First offset of the earliest transaction not yet decided, or decided above the high watermark."""
        first = next(iter(self.ongoing), None)
        if self.unreplicated:
            u = min(self.unreplicated)
            if first is None or u < first:
                return u
        return first

    def first_undecided_offset(self) -> int | None:
        return next(iter(self.ongoing), None)

    def on_high_watermark_updated(self, high_watermark: int) -> None:
        if self.unreplicated:
            self.unreplicated = {f: last for f, last in self.unreplicated.items() if last >= high_watermark}

    def ongoing_transactions(self) -> list[tuple[int, int]]:
        """``[(producer id, first offset)]`` of the open transactions, oldest first."""
        return [(pid, first) for first, pid in self.ongoing.items()]

    def _rebuild_ongoing(self) -> None:
        pairs = sorted(
            (e.current_txn_first_offset, pid) for pid, e in self.producers.items() if e.current_txn_first_offset >= 0
        )
        self.ongoing = {first: pid for first, pid in pairs}
        self.unreplicated = {}

    def clear(self, offset: int) -> None:
        """Forget every producer and transaction (the log restarts at ``offset``)."""
        self.producers = {}
        self.ongoing = {}
        self.unreplicated = {}
        self.map_end_offset = offset

    # -- expiration -----------------------------------------------------------------------------------

    @staticmethod
    def is_expired(entry: ProducerStateEntry, now_ms: int, expiration_ms: int) -> bool:
        """Kafka's ``isProducerExpired``: no open transaction, and idle for at least ``expiration_ms``."""
        return entry.current_txn_first_offset < 0 and now_ms - entry.last_timestamp >= expiration_ms

    def remove_expired_producers(self, now_ms: int, expiration_ms: int) -> list[int]:
        """Forget every expired producer (see the module docstring); returns their ids."""
        expired = [pid for pid, e in self.producers.items() if self.is_expired(e, now_ms, expiration_ms)]
        for pid in expired:
            del self.producers[pid]
        return expired

    # -- replay from the log --------------------------------------------------------------------------

    def replay(
        self, header: BatchHeader, marker: int | None = None, coordinator_epoch: int = -1
    ) -> tuple[CompletedTxn, int] | None:
        """Apply a batch read back from the log, without validation (Kafka's ValidationType.None).

        For a transactional control batch, ``marker`` is its ControlType (ABORT 0, COMMIT 1); the
        transaction it completes is returned with the last stable offset right after it (what the
        ``.txnindex`` records for an abort), or None if the producer had no open transaction.
        """
        end = header.base_offset + header.last_offset_delta + 1
        pid = header.producer_id
        result = None
        entry: ProducerStateEntry | None
        if pid >= 0:
            if header.is_control and header.is_transactional and marker is not None:
                entry, completed = self.stage_marker(
                    pid,
                    header.producer_epoch,
                    coordinator_epoch,
                    header.base_offset,
                    marker == 0,
                    validate=False,
                    timestamp=header.max_timestamp,
                )
                if completed is not None:
                    result = (completed, self.last_stable_offset_after(completed))
                self.complete_marker(entry, completed, end)
                return result
            entry = self.producers.get(pid)
            if entry is None:
                entry = self.producers[pid] = ProducerStateEntry(pid)
            if header.is_control:
                if header.producer_epoch != entry.epoch:
                    entry.epoch = header.producer_epoch
                    entry.batches.clear()
            else:
                entry.add(
                    header.producer_epoch,
                    header.base_sequence,
                    header.last_sequence,
                    header.base_offset,
                    end - 1,
                    header.max_timestamp,
                )
                if header.is_transactional and entry.current_txn_first_offset < 0:
                    entry.current_txn_first_offset = header.base_offset
                    self.ongoing[header.base_offset] = pid
        if end > self.map_end_offset:
            self.map_end_offset = end
        return result

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
                parts.append(
                    _ENTRY.pack(
                        pid,
                        e.epoch,
                        last.last_seq,
                        last.last_offset,
                        last.last_offset - last.first_offset,
                        e.last_timestamp,
                        e.coordinator_epoch,
                        e.current_txn_first_offset,
                    )
                )
            else:
                parts.append(
                    _ENTRY.pack(
                        pid, e.epoch, -1, -1, 0, e.last_timestamp, e.coordinator_epoch, e.current_txn_first_offset
                    )
                )
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
        for pid, epoch, last_seq, last_offset, delta, ts, coord_epoch, txn_first in _ENTRY.iter_unpack(
            data[_HEAD.size :]
        ):
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

    def take_snapshot(self, offset: int | None = None, *, sync: bool = True) -> None:
        """Write the state as of ``offset`` (default: ``map_end_offset``) and prune old snapshots.

        ``sync``: atomically and durably (tmp + fsync + rename). Otherwise the file is written in place
        with no fsync (segment roll: no fsync on the append path) and stays "unsynced" until
        :meth:`sync_snapshots` covers it; a crash may tear it, which its CRC detects. Pruning removes
        files, which the file system makes durable with a directory fsync, so it waits for that too."""
        offset = self.map_end_offset if offset is None else offset
        if offset != self.last_snapshot_offset or (sync and offset in self._unsynced):
            path = self.snapshot_path(offset)
            data = self.encode()
            if sync:
                self.fs.write_atomic(path, data)
                self._unsynced.discard(offset)
            else:
                handle = self.fs.open(path)
                try:
                    handle.truncate(0)
                    handle.append(data)
                finally:
                    handle.close()
                self._unsynced.add(offset)
            self.last_snapshot_offset = offset
        if sync:
            self._prune_snapshots()

    def sync_found_snapshots(self, from_offset: int, up_to: int) -> None:
        """After an unclean stop: the snapshots found at offsets in [``from_offset``, ``up_to``] may have
        been written without fsync before the crash and survived in the page cache only; fsync them
        before the recovery point (the log end after recovery) vouches for them."""
        self._unsynced |= {o for o in self.snapshot_offsets() if from_offset <= o <= up_to}
        self.sync_snapshots(up_to)

    def sync_snapshots(self, up_to: int) -> None:
        """fsync every snapshot written without fsync whose offset is at or below ``up_to`` (the log's
        new recovery point: Kafka flushes the roll's snapshot before the recovery point moves)."""
        due = sorted(o for o in self._unsynced if o <= up_to)
        if not due:
            return
        for offset in due:
            path = self.snapshot_path(offset)
            if self.fs.exists(path):
                handle = self.fs.open(path)
                try:
                    handle.fsync()
                finally:
                    handle.close()
            self._unsynced.discard(offset)
        self._prune_snapshots()

    def _prune_snapshots(self) -> None:
        """Remove each snapshot with at least ``SNAPSHOTS_TO_KEEP`` durable snapshots above it."""
        offsets = self.snapshot_offsets()
        durable_above = 0
        for offset in reversed(offsets):
            if durable_above >= SNAPSHOTS_TO_KEEP:
                self.fs.remove(self.snapshot_path(offset))
                self._unsynced.discard(offset)
            elif offset not in self._unsynced:
                durable_above += 1

    def load(
        self,
        log_start_offset: int,
        log_end_offset: int,
        max_offset: int | None = None,
        *,
        now_ms: int | None = None,
        expiration_ms: int | None = None,
    ) -> int:
        """Load the newest usable snapshot at or below ``log_end_offset`` (and ``max_offset`` if given);
        returns the offset to replay from. With ``now_ms`` and ``expiration_ms``, producers of the
        snapshot that are expired are dropped (Kafka's ``loadFromSnapshot``).

        Snapshots out of range are deleted, as Kafka's ``truncateAndReload`` does: above the log end (left
        by a log that lost its tail), and at or below a log start above 0 -- such a snapshot only knows
        producers from before the log start, and replaying from the log start on top of it would skip
        the batches and markers between the two (a stale sequence, or a transaction closed there left
        open). Producers with nothing left in the log are then unknown, and their next batch is taken
        at any sequence (KIP-360). Corrupt snapshots are deleted too.
        """
        self.producers = {}
        offsets = self.snapshot_offsets()
        self._unsynced &= set(offsets)
        for offset in [o for o in offsets if o > log_end_offset or 0 < log_start_offset and o <= log_start_offset]:
            self.fs.remove(self.snapshot_path(offset))
            self._unsynced.discard(offset)
        offsets = [o for o in offsets if o <= log_end_offset and not (0 < log_start_offset and o <= log_start_offset)]
        bound = log_end_offset if max_offset is None else min(max_offset, log_end_offset)
        for offset in reversed([o for o in offsets if o <= bound]):
            try:
                entries = self.decode(self.fs.read_bytes(self.snapshot_path(offset)))
            except (CorruptSnapshotError, struct.error, OSError):
                self.fs.remove(self.snapshot_path(offset))
                self._unsynced.discard(offset)
                continue
            if now_ms is not None and expiration_ms is not None:
                entries = [e for e in entries if not self.is_expired(e, now_ms, expiration_ms)]
            self.producers = {e.producer_id: e for e in entries}
            self._rebuild_ongoing()
            start = max(offset, log_start_offset)
            self.map_end_offset = start
            self.last_snapshot_offset = offset
            return start
        self._rebuild_ongoing()
        self.map_end_offset = log_start_offset
        self.last_snapshot_offset = -1
        return log_start_offset

    def delete_snapshots(self) -> None:
        for offset in self.snapshot_offsets():
            self.fs.remove(self.snapshot_path(offset))
        self.last_snapshot_offset = -1
        self._unsynced.clear()
