"""Leader epoch cache of one partition (Kafka's ``LeaderEpochFileCache``): which epoch began where.

File ``leader-epoch-checkpoint`` in the partition directory, rewritten atomically (tmp + fsync + rename)::

    0                        version
    <count>
    <epoch> <start offset>   count lines, epochs and start offsets strictly increasing

When the file is written (KAFKA-15046, taken one step further): ``assign``, ``truncate_from_end`` and
``truncate_from_start`` change only the memory and mark the cache dirty, so an append that starts a new
epoch does no file I/O. ``flush`` writes the file if dirty; the partition log calls it before its recovery
point moves (``PartitionLog.flush``), at clean close, and after loading. Kafka still fsyncs in ``assign``
and writes truncations in the background; Kavka defers all three. The file itself is never written
without fsync (KAFKA-16541: a checkpoint renamed into place before its bytes reach the disk can be left
torn by an OS crash). What makes deferring safe is one invariant and the loader:

- Invariant: every entry starting below the log's recovery point is in the file, durably. (The file is
  always a complete copy of the cache at the moment it was written, so it never lacks an entry older
  than one it has.)
- Recovery (kavka.storage.loader): entries starting at or after the recovered log end are dropped, every
  batch replayed from the recovery point on assigns its ``partition_leader_epoch`` when it is newer than
  the latest one known (Kafka's ``LogSegment.recover``), and the log start offset truncates the front.
  Entries below the recovery point come from the file; the rest is rebuilt from the batches. A missing
  or unreadable file with data in the log is rebuilt from every batch of the log.

``end_offset_for(epoch, log_end_offset)`` answers OffsetForLeaderEpoch exactly as Kafka does: the latest
epoch ends at the log end offset; an older epoch ends where the next higher epoch starts, reported with
the largest known epoch <= the requested one; an epoch above every known one gives (-1, -1).
"""

from __future__ import annotations

import bisect

from kavka.storage.fs import FileSystem

__all__ = ["LeaderEpochCache", "LEADER_EPOCH_CHECKPOINT", "UNDEFINED_EPOCH", "UNDEFINED_EPOCH_OFFSET"]

LEADER_EPOCH_CHECKPOINT = "leader-epoch-checkpoint"
UNDEFINED_EPOCH = -1
UNDEFINED_EPOCH_OFFSET = -1


class LeaderEpochCache:
    def __init__(self, fs: FileSystem, dir_path: str) -> None:
        self.fs = fs
        self.path = f"{dir_path}/{LEADER_EPOCH_CHECKPOINT}"
        self._epochs: list[int] = []
        self._starts: list[int] = []
        self._dirty = False
        # False if the file was missing or unreadable: the loader then rebuilds the cache from the log
        self.loaded_from_file = False
        if fs.exists(self.path):
            try:
                self._parse(fs.read_bytes(self.path))
                self.loaded_from_file = True
            except (ValueError, UnicodeDecodeError):
                self._epochs, self._starts = [], []  # unreadable: start empty, as after its loss

    def _parse(self, data: bytes) -> None:
        lines = data.decode().splitlines()
        if len(lines) < 2 or lines[0].strip() != "0":
            raise ValueError("bad leader-epoch-checkpoint header")
        count = int(lines[1])
        for line in lines[2 : 2 + count]:
            epoch, start = (int(x) for x in line.split())
            self._epochs.append(epoch)
            self._starts.append(start)

    def _write(self) -> None:
        body = "\n".join(["0", str(len(self._epochs))] + [f"{e} {s}" for e, s in self.entries()]) + "\n"
        self.fs.write_atomic(self.path, body.encode())

    @property
    def dirty(self) -> bool:
        """True if the cache changed since the file was last written."""
        return self._dirty

    def mark_dirty(self) -> None:
        self._dirty = True

    def flush(self) -> bool:
        """Write the file (atomically, fsynced) if the cache changed since it was last written."""
        if not self._dirty:
            return False
        self._write()
        self._dirty = False
        return True

    def entries(self) -> list[tuple[int, int]]:
        return list(zip(self._epochs, self._starts))

    @property
    def latest_epoch(self) -> int:
        return self._epochs[-1] if self._epochs else UNDEFINED_EPOCH

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset`` if it is newer than the latest; True if it was.
        Entries starting at or after ``start_offset`` (stale epochs that hold no records) are dropped."""
        if epoch < 0 or (self._epochs and epoch <= self._epochs[-1]):
            return False
        while self._starts and self._starts[-1] >= start_offset:  # a stale epoch that holds no records
            self._epochs.pop()
            self._starts.pop()
        self._epochs.append(epoch)
        self._starts.append(start_offset)
        self._dirty = True
        return True

    def end_offset_for(self, epoch: int, log_end_offset: int) -> tuple[int, int]:
        if epoch == UNDEFINED_EPOCH or not self._epochs:
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if epoch == self._epochs[-1]:
            return epoch, log_end_offset
        higher = bisect.bisect_right(self._epochs, epoch)
        if higher == len(self._epochs):
            return UNDEFINED_EPOCH, UNDEFINED_EPOCH_OFFSET
        if higher == 0:
            return epoch, self._starts[0]
        return self._epochs[higher - 1], self._starts[higher]

    def truncate_from_end(self, end_offset: int) -> None:
        """Forget epochs starting at or after ``end_offset`` (the log was truncated there)."""
        n = bisect.bisect_left(self._starts, end_offset)
        if n < len(self._starts):
            del self._epochs[n:], self._starts[n:]
            self._dirty = True

    def truncate_from_start(self, start_offset: int) -> None:
        """The log now starts at ``start_offset``: drop older epochs, the one holding it starts there."""
        n = bisect.bisect_right(self._starts, start_offset)
        if n == 0:
            return
        if n == 1 and self._starts[0] == start_offset:
            return
        del self._epochs[: n - 1], self._starts[: n - 1]
        self._starts[0] = start_offset
        self._dirty = True

    def clear(self) -> None:
        """Forget every epoch and remove the file (durable on return: the log restarts empty)."""
        self._epochs, self._starts = [], []
        self._dirty = False
        self.fs.remove(self.path)
