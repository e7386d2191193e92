"""MemoryReplicatedLog's contract (raft/replicated_log.py), which the simulation's logs rely on."""

from __future__ import annotations

import pytest

from kavka.raft.messages import Entry
from kavka.raft.replicated_log import MemoryReplicatedLog


def log_with(*epochs: int) -> MemoryReplicatedLog:
    log = MemoryReplicatedLog()
    for e in epochs:
        log.append_as_leader(e, [b"x"])
    return log


def test_end_offset_for_epoch_is_kafkas_answer():
    log = log_with(1, 1, 3, 3, 3, 5)
    assert log.end_offset_for_epoch(1) == (1, 2)
    assert log.end_offset_for_epoch(2) == (1, 2)  # the largest epoch <= 2, and where it ends
    assert log.end_offset_for_epoch(3) == (3, 5)
    assert log.end_offset_for_epoch(9) == (5, 6)
    assert log.end_offset_for_epoch(0) == (0, 0)


def test_truncation_and_crash_keep_only_what_was_flushed():
    log = log_with(1, 1, 2)
    log.flush()
    log.append_as_leader(2, [b"y", b"z"])
    log.crash()
    assert log.end_offset == 3 and log.last_epoch == 2
    log.truncate_to(1)
    assert [e.epoch for e in log.entries] == [1] and log.end_offset_for_epoch(2) == (1, 1)
    with pytest.raises(ValueError):
        log.append_as_follower([Entry(0, b"old")])  # epochs never go back


def test_snapshots_move_the_start_and_survive_a_crash():
    log = log_with(1, 1, 2, 2)
    log.flush()
    log.take_snapshot(3, b"state")
    log.delete_before(3)
    assert (log.start_offset, log.end_offset) == (3, 4)
    assert log.snapshot == (3, 2, b"state")
    with pytest.raises(ValueError):
        log.truncate_to(2)
    other = MemoryReplicatedLog()
    other.install_snapshot((10, 4, b"s"))
    assert (other.start_offset, other.end_offset, other.last_epoch) == (10, 10, 4)
    assert other.end_offset_for_epoch(4) == (4, 10)
    other.append_as_leader(4, [b"a"])  # unflushed, then lost
    other.crash()
    assert other.end_offset == 10 and other.snapshot == (10, 4, b"s")
