"""The metadata log as the Raft core needs it: entries with epochs, truncation, a flush point, and
snapshots (KIP-630).

Contract of a ``ReplicatedLog`` (offsets count entries from 0; ``end_offset`` is the next one;
entries below ``start_offset`` live only in the latest snapshot):

- ``append_as_leader(epoch, payloads)`` writes new entries in ``epoch`` at the end (the log assigns
  their offsets: a payload of N records takes N offsets) and returns the first offset;
  ``append_as_follower(entries)`` writes entries fetched from the leader, keeping their offsets and
  epochs. Neither is durable until ``flush``; a crash keeps exactly the entries below
  ``flushed_end_offset``.
- ``truncate_to(offset)`` removes every entry at or after ``offset`` (durably, as Kafka's follower
  truncation is: a truncated entry never comes back after a crash).
- ``end_offset_for_epoch(epoch)`` answers Kafka's OffsetsForLeaderEpoch question: the largest epoch in
  the log that is ``<= epoch`` and the offset where it ends (the start of the next epoch, or the log
  end). An empty log, or one whose first epoch is greater, answers ``(0, 0)``; an epoch that
  ended inside the snapshot answers an end offset below ``start_offset``.
- ``snapshot`` is the latest snapshot, ``(end_offset, epoch, data)`` or None: the state after applying
  every entry below ``end_offset``, ``epoch`` being the epoch of the entry before it. Taking one
  (``take_snapshot``) and installing one fetched from the leader (``install_snapshot``, which drops
  every entry) are durable at once. A log whose latest snapshot ends past its last entry (the tail
  was lost in a crash) starts again at that snapshot. ``delete_before(offset)`` drops entries below
  ``min(offset, snapshot end)``: the log start never passes the latest snapshot.

``MemoryReplicatedLog`` keeps entries in a list and the flush point as a number; the deterministic
simulation uses it, and a crash is ``crash()``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol

from kavka.raft.messages import Entry

__all__ = ["ReplicatedLog", "MemoryReplicatedLog", "Snapshot"]

Snapshot = tuple[int, int, bytes]  # (end offset, epoch of the entry before it, the state's bytes)


class ReplicatedLog(Protocol):
    @property
    def start_offset(self) -> int: ...

    @property
    def end_offset(self) -> int: ...

    @property
    def flushed_end_offset(self) -> int: ...

    @property
    def last_epoch(self) -> int: ...

    def read(self, start: int, max_entries: int) -> tuple[Entry, ...]: ...

    def append_as_leader(self, epoch: int, payloads: Sequence[bytes]) -> int: ...

    def append_as_follower(self, entries: Sequence[Entry]) -> None: ...

    def truncate_to(self, offset: int) -> None: ...

    def flush(self) -> None: ...

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]: ...

    @property
    def snapshot(self) -> Snapshot | None: ...

    def take_snapshot(self, end_offset: int, data: bytes) -> None: ...

    def install_snapshot(self, snapshot: Snapshot) -> None: ...

    def delete_before(self, offset: int) -> None: ...


class MemoryReplicatedLog:
    """Each entry is one record (one offset)."""

    def __init__(self) -> None:
        self.entries: list[Entry] = []  # entries[i] is at offset start + i
        self.start = 0
        self._flushed = 0
        # (epoch, first offset) for each epoch present, ascending in both; the snapshot's epoch is
        # kept as the first, starting at 0, so lookups below the log start still answer.
        self._epochs: list[int] = []
        self._starts: list[int] = []
        self._snapshot: Snapshot | None = None

    @property
    def start_offset(self) -> int:
        return self.start

    @property
    def end_offset(self) -> int:
        return self.start + len(self.entries)

    @property
    def flushed_end_offset(self) -> int:
        return self._flushed

    @property
    def last_epoch(self) -> int:
        if self.entries:
            return self.entries[-1].epoch
        return self._snapshot[1] if self._snapshot else 0

    def epoch_at(self, offset: int) -> int:
        return self.entries[offset - self.start].epoch

    def entry(self, offset: int) -> Entry:
        return self.entries[offset - self.start]

    def read(self, start: int, max_entries: int) -> tuple[Entry, ...]:
        i = start - self.start
        return tuple(self.entries[i : i + max_entries])

    def append_as_leader(self, epoch: int, payloads: Sequence[bytes]) -> int:
        first = self.end_offset
        self.append_as_follower([Entry(epoch, p) for p in payloads])
        return first

    def append_as_follower(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            if self._epochs and entry.epoch < self._epochs[-1]:
                raise ValueError(f"entry epoch {entry.epoch} after epoch {self._epochs[-1]}")
            if not self._epochs or entry.epoch > self._epochs[-1]:
                self._epochs.append(entry.epoch)
                self._starts.append(self.end_offset)
            self.entries.append(entry)

    def truncate_to(self, offset: int) -> None:
        if offset >= self.end_offset:
            return
        if offset < self.start:
            raise ValueError(f"truncation to {offset} below the log start {self.start}")
        del self.entries[offset - self.start :]
        while self._starts and self._starts[-1] >= offset:
            self._starts.pop()
            self._epochs.pop()
        if not self._epochs and self._snapshot is not None:
            self._epochs, self._starts = [self._snapshot[1]], [self._snapshot[0]]
        self._flushed = min(self._flushed, offset)

    def flush(self) -> None:
        self._flushed = self.end_offset

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        i = bisect_right(self._epochs, epoch) - 1
        if i < 0:
            return 0, 0
        end = self._starts[i + 1] if i + 1 < len(self._starts) else self.end_offset
        return self._epochs[i], end

    @property
    def snapshot(self) -> Snapshot | None:
        return self._snapshot

    def take_snapshot(self, end_offset: int, data: bytes) -> None:
        if not self.start <= end_offset <= self.end_offset:
            raise ValueError(f"snapshot at {end_offset} outside the log [{self.start}, {self.end_offset}]")
        if end_offset > self.start:
            epoch = self.epoch_at(end_offset - 1)
        else:
            epoch = self._snapshot[1] if self._snapshot else 0
        self._snapshot = (end_offset, epoch, data)

    def install_snapshot(self, snapshot: Snapshot) -> None:
        end, epoch, _ = snapshot
        self.entries.clear()
        self.start = end
        self._flushed = end
        self._epochs = [epoch]
        self._starts = [end]
        self._snapshot = snapshot

    def delete_before(self, offset: int) -> None:
        if self._snapshot is None:
            return
        offset = min(offset, self._snapshot[0], self.end_offset)
        if offset <= self.start:
            return
        del self.entries[: offset - self.start]
        self.start = offset
        # Epochs that ended before the new start collapse into the one the start is in.
        i = bisect_right(self._starts, offset) - 1
        if i > 0:
            del self._epochs[:i]
            del self._starts[:i]

    def crash(self) -> None:
        """Lose the unflushed tail, as a kill -9 before fsync would. A snapshot past what survives
        (snapshots are written durably) becomes the log's start, as Kafka's log does when it opens."""
        self._flushed = max(self._flushed, self.start)
        self.truncate_to(self._flushed)
        if self._snapshot is not None and self._snapshot[0] > self.end_offset:
            self.install_snapshot(self._snapshot)
