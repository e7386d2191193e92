"""The Raft core's ``ReplicatedLog`` on disk: ``__cluster_metadata-0`` as Kafka lays it out.

``DiskReplicatedLog(log, fs, clock_ms)`` wraps the broker's ``PartitionLog`` of the metadata partition
(kavka.storage.log) and keeps the contract of kavka.raft.replicated_log as ``MemoryReplicatedLog``
does (tests/raft/test_disk_log.py runs both through the same random operations and crashes), with
three differences, each Kafka's behaviour:

- a crash may keep more than ``flushed_end_offset`` (below);
- after a restart the log start may be lower than before (Kafka's metadata log starts at its first
  segment; ``delete_before`` deletes whole segments only): the entries between are still there and
  are the committed ones, below the latest snapshot's end;
- ``end_offset_for_epoch`` answers ``(epoch of the snapshot ending at the log start, log start)`` for
  that epoch and later ones the log does not hold, as Kafka's KafkaRaftLog does from its earliest
  snapshot; MemoryReplicatedLog does so after ``install_snapshot`` but answers ``(0, 0)`` once
  ``delete_before`` moved its start to a snapshot's end. Either sends a follower to the snapshot.

Entries are records (kavka.raft.entries): offsets are the partition's record offsets, and each
append writes ``entries_to_batches`` (a control batch per control entry, one batch per run of data
entries; partition leader epoch = entry epoch) with ``PartitionLog.append_as_follower`` in ONE write,
for the leader too (the storage's leader path refuses control batches, and the follower path keeps
the leader epoch cache from the batches' epochs); only a run larger than ``segment.bytes`` (a follower's
long fetch) is written as several runs that each fit a segment. Reads decode whole batches back into
entries.

Durability:

- ``flushed_end_offset`` is the partition log's recovery point; ``flush`` fsyncs up to the log end.
  A crash keeps at least the entries below it: bytes written after it may survive too (a torn tail
  is cut to whole batches by the loader), which Raft allows, since nothing unflushed was acknowledged.
- ``truncate_to`` is durable on return: the truncated segment is fsynced (bytes cut from a file come
  back after a power loss unless the cut is synced). The storage truncates whole batches; a cut inside
  a batch re-appends the entries of that batch below the cut, flushed.
- The leader epoch cache is the partition log's (``leader-epoch-checkpoint``), which the loader
  rebuilds exactly after a crash.

Snapshots (KIP-630), in the partition directory as Kafka names them: ``<end:020d>-<epoch:010d>.checkpoint``
holding the whole snapshot file (``Snapshot.data``: header batch, data batches, footer batch; see
kavka.raft.control_records). A snapshot is written to ``<name>.part``, fsynced and renamed into place
(the rename fsyncs the directory), so it is durable and whole on return; data that is not a
snapshot file (``check_snapshot_file``: whole batches with good CRCs, a SnapshotHeader first and a
SnapshotFooter last) is refused with ValueError before anything is written. ``install_snapshot`` writes the file first, then empties the log to start at its end and
removes every other snapshot. ``delete_before`` moves the log start (never past the latest snapshot)
and removes the snapshot files that end below it: Kafka's KafkaRaftLog keeps the snapshot at the log
start and every later one.

On open, as Kafka's ``recoverSnapshots`` and ``truncateToLatestSnapshot`` do: partial files
(``.checkpoint.part``) and ones marked for deletion (``.checkpoint.deleted``) are removed; the latest
snapshot whose file reads is ``snapshot`` (a file that does not read is left in place and ignored with
a warning); a log that starts past 0 with no readable snapshot at or past its start is refused
(KafkaStorageError, Kafka's "Inconsistent snapshot state"); snapshot files below the log start are
removed; and a log that does not contain the latest snapshot's last entry (its end is below the
snapshot's, or the entry there has another epoch: a crash between an install's two steps) is emptied
to start at the snapshot's end. A log start that went back in a restart (the log start offset is
checkpointed lazily) is moved up again to where the leader epoch cache begins.

Not thread-safe: the Raft driver owns it from one thread, as the broker owns its partition logs.
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable, Sequence

from kavka.protocol.batch import iter_headers, parse_header, validate_batches
from kavka.protocol.records import ControlType, control_record_type, decode_batch
from kavka.raft.control_records import parse_snapshot_name, read_snapshot_records, snapshot_file_name
from kavka.raft.entries import batches_to_entries, entries_to_batches
from kavka.raft.messages import Entry
from kavka.raft.replicated_log import Snapshot
from kavka.storage.errors import KafkaStorageError
from kavka.storage.fs import FileSystem
from kavka.storage.log import PartitionLog

__all__ = ["DiskReplicatedLog", "PARTIAL_SUFFIX", "DELETED_SUFFIX"]

log = logging.getLogger(__name__)

SNAPSHOT_SUFFIX = ".checkpoint"
PARTIAL_SUFFIX = ".checkpoint.part"  # Kafka's Snapshots.PARTIAL_SUFFIX
DELETED_SUFFIX = ".checkpoint.deleted"  # Kafka's Snapshots.DELETE_SUFFIX

#: Bytes asked of the partition log per read call; a read returns at least one whole batch anyway.
_READ_BYTES = 64 * 1024


def check_snapshot_file(data: bytes) -> None:
    """ValueError unless ``data`` is whole v2 batches (CRCs checked), the first a SnapshotHeader control
    batch and the last a SnapshotFooter one: what ``read_snapshot_records`` accepts, without decoding
    the records between (a 2 MiB snapshot: under 1 ms instead of ~90)."""
    headers = validate_batches(data)
    first, last = headers[0], headers[-1]
    if not first.is_control or _control_type(data, 0) != ControlType.SNAPSHOT_HEADER:
        raise ValueError("the snapshot has no header")
    if (
        len(headers) < 2
        or not last.is_control
        or _control_type(data, len(data) - last.size) != ControlType.SNAPSHOT_FOOTER
    ):
        raise ValueError("the snapshot has no footer")


def _control_type(data: bytes, pos: int) -> int:
    _header, records = decode_batch(data, pos, check_crc=False)
    return control_record_type(records[0])[1] if records else -1


class DiskReplicatedLog:
    """A ``ReplicatedLog`` over the partition log of ``__cluster_metadata-0`` (module docstring)."""

    def __init__(self, log: PartitionLog, fs: FileSystem, clock_ms: Callable[[], int]) -> None:
        self._log = log
        self._fs = fs
        self._clock = clock_ms
        self.dir = log.dir
        self._snapshot: Snapshot | None = None
        self._ids: list[tuple[int, int]] = []  # (end offset, epoch) of the snapshot files kept, ascending
        self._open()

    # -- offsets --------------------------------------------------------------------------------------

    @property
    def partition_log(self) -> PartitionLog:
        return self._log

    @property
    def start_offset(self) -> int:
        return self._log.log_start_offset

    @property
    def end_offset(self) -> int:
        return self._log.log_end_offset

    @property
    def flushed_end_offset(self) -> int:
        return self._log.recovery_point

    @property
    def last_epoch(self) -> int:
        if self._log.log_end_offset > self._log.log_start_offset:
            return self._log.leader_epoch_cache.latest_epoch
        return self._snapshot[1] if self._snapshot else 0

    def _epochs(self) -> tuple[list[int], list[int]]:
        """(epochs, their first offsets), ascending: the leader epoch cache, preceded by the epoch of the
        snapshot that ends at the log start when the log holds no entry of it (Kafka answers from its
        earliest snapshot there; see the module docstring for how MemoryReplicatedLog differs)."""
        entries = self._log.leader_epoch_cache.entries()
        epochs = [e for e, _ in entries]
        starts = [s for _, s in entries]
        if self._ids:
            end, epoch = self._ids[0]
            if end == self.start_offset and (not epochs or epochs[0] > epoch):
                epochs.insert(0, epoch)
                starts.insert(0, end)
        return epochs, starts

    def epoch_at(self, offset: int) -> int:
        """The epoch of the entry at ``offset`` (``start_offset <= offset < end_offset``)."""
        epochs, starts = self._epochs()
        i = bisect.bisect_right(starts, offset) - 1
        if not self.start_offset <= offset < self.end_offset or i < 0:
            raise ValueError(f"no entry at {offset} in [{self.start_offset}, {self.end_offset})")
        return epochs[i]

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        epochs, starts = self._epochs()
        i = bisect.bisect_right(epochs, epoch) - 1
        if i < 0:
            return 0, 0
        end = starts[i + 1] if i + 1 < len(starts) else self.end_offset
        return epochs[i], end

    # -- entries --------------------------------------------------------------------------------------

    def read(self, start: int, max_entries: int) -> tuple[Entry, ...]:
        """Entries from ``start`` in whole batches (of a batch that begins before ``start``, its entries
        from ``start``), stopping at the first batch boundary at or past ``max_entries``; at least one
        batch if there is one. OffsetOutOfRangeError below the log start."""
        end = self.end_offset
        out: list[Entry] = []
        offset = start
        while offset < end and (not out or len(out) < max_entries):
            found = self._log.read(offset, _READ_BYTES)
            if not found.chunks:
                break
            data = found.chunks[0]
            pos = 0
            while pos < len(data) and (not out or len(out) < max_entries):
                header = parse_header(data, pos)
                out.extend(e for off, e in batches_to_entries(data[pos : pos + header.size]) if off >= start)
                pos += header.size
                offset = header.next_offset
        return tuple(out)

    def append_as_leader(self, epoch: int, payloads: Sequence[bytes]) -> int:
        first = self.end_offset
        self.append_as_follower([Entry(epoch, p) for p in payloads])
        return first

    def append_as_follower(self, entries: Sequence[Entry]) -> None:
        if not entries:
            return
        last = self.last_epoch if (self.end_offset > self.start_offset or self._snapshot) else None
        for entry in entries:
            if last is not None and entry.epoch < last:
                raise ValueError(f"entry epoch {entry.epoch} after epoch {last}")
            last = entry.epoch
        now = self._clock()
        self._write(entries_to_batches(entries, self.end_offset, now), now)

    def _write(self, batches: bytes, now: int) -> None:
        """One write, or, for a run larger than a segment (a follower's long fetch), one per run of whole
        batches that fits one (a crash may then keep a prefix of them, as of any unflushed append)."""
        limit = self._log.config.segment_bytes
        if len(batches) <= limit:
            self._log.append_as_follower(batches, now_ms=now)
            return
        start = pos = 0
        for pos, header in iter_headers(batches):
            if pos + header.size - start > limit and pos > start:
                self._log.append_as_follower(batches[start:pos], now_ms=now)
                start = pos
        self._log.append_as_follower(batches[start:], now_ms=now)

    def truncate_to(self, offset: int) -> None:
        if offset >= self.end_offset:
            return
        if offset < self.start_offset:
            raise ValueError(f"truncation to {offset} below the log start {self.start_offset}")
        data = self._log.read(offset, 1).chunks[0]  # the batch holding offset comes first
        header = parse_header(data, 0)
        kept = [e for off, e in batches_to_entries(data[: header.size]) if off < offset]
        now = self._clock()
        try:
            self._log.truncate_to(offset, now)
            self._log.active_segment.flush()  # the cut itself must be durable
            if kept:
                self._write(entries_to_batches(kept, header.base_offset, now), now)
            self._log.flush(now)
            self._log.leader_epoch_cache.flush()
        except OSError as e:
            raise KafkaStorageError(f"truncation of {self.dir} to {offset} failed: {e}") from e

    def flush(self) -> None:
        self._log.flush(self._clock())

    # -- snapshots ------------------------------------------------------------------------------------

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    def take_snapshot(self, end_offset: int, data: bytes) -> None:
        """Write the snapshot ending at ``end_offset`` (durable on return). A snapshot below the latest
        one is written too, but the latest stays ``snapshot``."""
        if not self.start_offset <= end_offset <= self.end_offset:
            raise ValueError(f"snapshot at {end_offset} outside the log [{self.start_offset}, {self.end_offset}]")
        if end_offset > self.start_offset:
            epoch = self.epoch_at(end_offset - 1)
        else:
            epoch = self._snapshot[1] if self._snapshot else 0
        self._write_snapshot(end_offset, epoch, data)
        if (end_offset, epoch) not in self._ids:
            bisect.insort(self._ids, (end_offset, epoch))
        if self._snapshot is None or end_offset >= self._snapshot[0]:
            self._snapshot = (end_offset, epoch, data)

    def install_snapshot(self, snapshot: Snapshot) -> None:
        end, epoch, data = snapshot
        self._write_snapshot(end, epoch, data)
        try:
            self._log.truncate_fully_and_start_at(end, self._clock())
        except OSError as e:
            raise KafkaStorageError(f"emptying {self.dir} at the snapshot {end} failed: {e}") from e
        self._snapshot = snapshot
        self._remove_snapshots(lambda other: other != (end, epoch))
        self._ids = [(end, epoch)]

    def delete_before(self, offset: int) -> None:
        if self._snapshot is None:
            return
        offset = min(offset, self._snapshot[0], self.end_offset)
        if offset <= self.start_offset:
            return
        plog = self._log
        if plog.high_watermark < offset:
            # Below the snapshot everything is committed: the partition's high watermark may follow.
            plog.update_high_watermark(offset)
        plog.advance_log_start_offset(offset, self._clock())
        # The epoch file now begins at the new start: a restart finds the start there again, though the
        # log start offset checkpoint may lag (see _open).
        plog.leader_epoch_cache.flush()
        self._remove_snapshots(lambda other: other[0] < offset)

    # -- files ----------------------------------------------------------------------------------------

    def _path(self, end: int, epoch: int) -> str:
        return f"{self.dir}/{snapshot_file_name(end, epoch)}"

    def _write_snapshot(self, end: int, epoch: int, data: bytes) -> None:
        """Atomically: ``<name>.part``, fsync, rename into place (which fsyncs the directory)."""
        check_snapshot_file(data)  # ValueError: not a snapshot file, nothing is written
        path = self._path(end, epoch)
        tmp = self.dir + "/" + snapshot_file_name(end, epoch).removesuffix(SNAPSHOT_SUFFIX) + PARTIAL_SUFFIX
        try:
            self._fs.remove(tmp)
            handle = self._fs.open(tmp)
            try:
                handle.append(data)
                handle.fsync()
            finally:
                handle.close()
            self._fs.rename(tmp, path)
        except OSError as e:
            raise KafkaStorageError(f"writing the snapshot {path} failed: {e}") from e

    def _snapshot_ids(self) -> list[tuple[int, int]]:
        ids = (parse_snapshot_name(name) for name in self._fs.listdir(self.dir))
        return sorted(i for i in ids if i is not None)

    def _remove_snapshots(self, doomed: Callable[[tuple[int, int]], bool]) -> None:
        for snapshot_id in self._snapshot_ids():
            if doomed(snapshot_id):
                self._fs.remove(self._path(*snapshot_id))
        self._ids = [i for i in self._ids if not doomed(i)]

    def _open(self) -> None:
        fs, plog = self._fs, self._log
        for name in fs.listdir(self.dir):
            if name.endswith((PARTIAL_SUFFIX, DELETED_SUFFIX)):
                fs.remove(f"{self.dir}/{name}")
        ids = self._snapshot_ids()
        for end, epoch in reversed(ids):
            path = self._path(end, epoch)
            try:
                data = fs.read_bytes(path)
                read_snapshot_records(data)
            except ValueError as e:
                log.warning("Ignoring the snapshot %s, which does not read: %s", path, e)
                continue
            self._snapshot = (end, epoch, data)
            self._ids = [i for i in ids if i <= (end, epoch)]
            break
        # A log start that went back in a restart (the log start offset checkpoint lags behind
        # delete_before) leaves entries below the true start whose epochs the epoch file no longer has;
        # the true start is where that file begins (delete_before writes it), or the log end if it is
        # empty (a truncation emptied the log at its start).
        epochs = plog.leader_epoch_cache.entries()
        front = epochs[0][1] if epochs else plog.log_end_offset
        if plog.log_start_offset < front and self._snapshot is not None and self._snapshot[0] >= front:
            plog.advance_log_start_offset(front, self._clock())
        start = plog.log_start_offset
        if start > 0 and (self._snapshot is None or self._snapshot[0] < start):
            latest = (self._snapshot[0], self._snapshot[1]) if self._snapshot else None
            raise KafkaStorageError(
                f"Inconsistent snapshot state in {self.dir}: there must be a snapshot at an offset larger than "
                f"the current log start offset {start}, but the latest snapshot is {latest}"
            )
        self._remove_snapshots(lambda other: other[0] < start)
        if self._snapshot is None:
            return
        end, epoch, _ = self._snapshot
        if end > start and (end > plog.log_end_offset or self.epoch_at(end - 1) != epoch):
            log.info("The log of %s does not hold the snapshot's last entry: it restarts at %d", self.dir, end)
            plog.truncate_fully_and_start_at(end, self._clock())
            self._remove_snapshots(lambda other: other[0] < end)
