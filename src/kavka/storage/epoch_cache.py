"""Leader epoch cache of one partition (Kafka's ``LeaderEpochFileCache``): which epoch began where.

File ``leader-epoch-checkpoint`` in the partition directory, rewritten atomically (tmp + fsync + rename)
whenever it changes (a new leader epoch is rare)::

    0                        version
    <count>
    <epoch> <start offset>   count lines, epochs and start offsets strictly increasing

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
        if fs.exists(self.path):
            try:
                self._parse(fs.read_bytes(self.path))
            except ValueError:
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

    def entries(self) -> list[tuple[int, int]]:
        return list(zip(self._epochs, self._starts))

    @property
    def latest_epoch(self) -> int:
        return self._epochs[-1] if self._epochs else UNDEFINED_EPOCH

    def assign(self, epoch: int, start_offset: int) -> bool:
        """Record that ``epoch`` starts at ``start_offset`` if it is newer than the latest; True if written."""
        if epoch < 0 or (self._epochs and epoch <= self._epochs[-1]):
            return False
        while self._starts and self._starts[-1] >= start_offset:  # a stale epoch that holds no records
            self._epochs.pop()
            self._starts.pop()
        self._epochs.append(epoch)
        self._starts.append(start_offset)
        self._write()
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
            self._write()

    def truncate_from_start(self, start_offset: int) -> None:
        """The log now starts at ``start_offset``: drop older epochs, the one holding it starts there."""
        n = bisect.bisect_right(self._starts, start_offset)
        if n == 0:
            return
        if n == 1 and self._starts[0] == start_offset:
            return
        del self._epochs[: n - 1], self._starts[: n - 1]
        self._starts[0] = start_offset
        self._write()

    def clear(self) -> None:
        self._epochs, self._starts = [], []
        self.fs.remove(self.path)
