"""The metadata log as the Raft core needs it: entries with epochs, truncation, and a flush point.

Contract of a ``ReplicatedLog`` (offsets count entries from 0; ``end_offset`` is the next one):

- ``append`` adds entries after the end; they are not durable until ``flush``. A crash keeps exactly
  the entries below ``flushed_end_offset``.
- ``truncate_to(offset)`` removes every entry at or after ``offset`` (durably, as Kafka's follower
  truncation is: a truncated entry never comes back after a crash).
- ``end_offset_for_epoch(epoch)`` answers Kafka's OffsetsForLeaderEpoch question: the largest epoch in
  the log that is ``<= epoch`` and the offset where it ends (the start of the next epoch, or the log
  end). An empty log, or one whose first epoch is greater, answers ``(0, 0)``.

``MemoryReplicatedLog`` keeps entries in a list and the flush point as a number; the deterministic
simulation uses it, and a crash is ``crash()``.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from typing import Protocol

from kavka.raft.messages import Entry

__all__ = ["ReplicatedLog", "MemoryReplicatedLog"]


class ReplicatedLog(Protocol):
    @property
    def end_offset(self) -> int: ...

    @property
    def flushed_end_offset(self) -> int: ...

    @property
    def last_epoch(self) -> int: ...

    def epoch_at(self, offset: int) -> int: ...

    def read(self, start: int, max_entries: int) -> tuple[Entry, ...]: ...

    def append(self, entries: Sequence[Entry]) -> None: ...

    def truncate_to(self, offset: int) -> None: ...

    def flush(self) -> None: ...

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]: ...


class MemoryReplicatedLog:
    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self._flushed = 0
        # (epoch, first offset) for each epoch present, ascending in both.
        self._epochs: list[int] = []
        self._starts: list[int] = []

    @property
    def end_offset(self) -> int:
        return len(self.entries)

    @property
    def flushed_end_offset(self) -> int:
        return self._flushed

    @property
    def last_epoch(self) -> int:
        return self.entries[-1].epoch if self.entries else 0

    def epoch_at(self, offset: int) -> int:
        return self.entries[offset].epoch

    def read(self, start: int, max_entries: int) -> tuple[Entry, ...]:
        return tuple(self.entries[start : start + max_entries])

    def append(self, entries: Sequence[Entry]) -> None:
        for entry in entries:
            if self._epochs and entry.epoch < self._epochs[-1]:
                raise ValueError(f"entry epoch {entry.epoch} after epoch {self._epochs[-1]}")
            if not self._epochs or entry.epoch > self._epochs[-1]:
                self._epochs.append(entry.epoch)
                self._starts.append(len(self.entries))
            self.entries.append(entry)

    def truncate_to(self, offset: int) -> None:
        if offset >= len(self.entries):
            return
        del self.entries[offset:]
        while self._starts and self._starts[-1] >= offset:
            self._starts.pop()
            self._epochs.pop()
        self._flushed = min(self._flushed, offset)

    def flush(self) -> None:
        self._flushed = len(self.entries)

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        i = bisect_right(self._epochs, epoch) - 1
        if i < 0:
            return 0, 0
        end = self._starts[i + 1] if i + 1 < len(self._starts) else len(self.entries)
        return self._epochs[i], end

    def crash(self) -> None:
        """Lose the unflushed tail, as a kill -9 before fsync would."""
        self.truncate_to(self._flushed)
