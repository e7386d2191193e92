"""Idempotent producers: dedup, sequence and epoch rules, snapshots, restart and crash."""

from __future__ import annotations

import struct

import pytest
from crc32c import crc32c

from kavka.storage.config import LogConfig
from kavka.storage.errors import InvalidProducerEpochError, OutOfOrderSequenceError
from kavka.storage.log import PartitionLog
from kavka.storage.producer_state import ProducerStateManager
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import idempotent_batch, make_batch

NOW = 1_700_000_000_000
DIR = "/data/t-0"


def _open(fs=None, config=None, clean=False, recovery_point=0):
    if fs is None:
        fs = MemoryFileSystem(seed=3)
        fs.makedirs(DIR)
    return fs, PartitionLog(
        fs, DIR, config or LogConfig(), clean_shutdown=clean, recovery_point=recovery_point, now_ms=NOW
    )


def _send(log, pid, epoch, seq, n=1):
    return log.append_as_leader(
        bytearray(idempotent_batch(pid, epoch, seq, n, timestamp=NOW)), leader_epoch=0, now_ms=NOW
    )


def test_duplicate_returns_original_offsets_for_last_five():
    fs, log = _open()
    _send(log, 9, 0, 0, 2)  # plain appends from another producer interleave
    originals = [_send(log, 7, 0, seq * 3, 3) for seq in range(7)]
    _send(log, 8, 0, 0)
    leo = log.log_end_offset
    for i, orig in enumerate(originals[2:], start=2):
        dup = _send(log, 7, 0, i * 3, 3)
        assert dup.duplicate and (dup.base_offset, dup.last_offset) == (orig.base_offset, orig.last_offset)
    assert log.log_end_offset == leo
    with pytest.raises(OutOfOrderSequenceError):  # older than the 5 cached batches: out of order
        _send(log, 7, 0, 3, 3)


def test_sequence_gap_and_stale_epoch_and_bump():
    fs, log = _open()
    _send(log, 1, 5, 0, 2)
    with pytest.raises(OutOfOrderSequenceError) as e:
        _send(log, 1, 5, 3)
    assert e.value.error_code == 45
    with pytest.raises(InvalidProducerEpochError) as e:
        _send(log, 1, 4, 2)
    assert e.value.error_code == 47
    with pytest.raises(OutOfOrderSequenceError):
        _send(log, 1, 6, 5)  # a new epoch starts at 0
    assert not _send(log, 1, 6, 0).duplicate
    assert not _send(log, 1, 6, 1).duplicate


def test_unknown_producer_accepted_at_any_sequence_and_no_pid_unchecked():
    fs, log = _open()
    assert not _send(log, 42, 0, 1000).duplicate  # Kafka >= 2.5: unknown producers are accepted
    assert not _send(log, 42, 0, 1001).duplicate
    for _ in range(3):
        assert not log.append_as_leader(bytearray(make_batch(1, timestamp=NOW)), leader_epoch=0, now_ms=NOW).duplicate


def test_sequence_wraps_at_int32_max():
    fs, log = _open()
    _send(log, 3, 0, 2**31 - 2, 2)  # sequences 2^31-2, 2^31-1
    assert not _send(log, 3, 0, 0).duplicate


def test_request_with_several_batches_of_one_producer():
    fs, log = _open()
    records = bytearray(idempotent_batch(5, 0, 0, 2, timestamp=NOW) + idempotent_batch(5, 0, 2, 2, timestamp=NOW))
    r = log.append_as_leader(records, leader_epoch=0, now_ms=NOW)
    assert (r.base_offset, r.last_offset) == (0, 3)
    bad = bytearray(idempotent_batch(5, 0, 4, 1, timestamp=NOW) + idempotent_batch(5, 0, 9, 1, timestamp=NOW))
    with pytest.raises(OutOfOrderSequenceError):
        log.append_as_leader(bad, leader_epoch=0, now_ms=NOW)
    assert log.log_end_offset == 4
    assert not _send(log, 5, 0, 4).duplicate  # the failed request left no state behind


def test_snapshot_file_layout_is_kafkas():
    fs = MemoryFileSystem()
    fs.makedirs("/d")
    psm = ProducerStateManager(fs, "/d")
    from kavka.protocol.batch import parse_header

    b = bytearray(idempotent_batch(77, 3, 10, 4, timestamp=123))
    from kavka.protocol.batch import patch_base_offset

    patch_base_offset(b, 0, 50)
    psm.replay(parse_header(b))
    psm.take_snapshot(54)
    raw = fs.read_bytes("/d/00000000000000000054.snapshot")
    version, crc = struct.unpack_from(">hI", raw)
    assert version == 1 and crc == crc32c(raw[6:])
    (count,) = struct.unpack_from(">i", raw, 6)
    assert count == 1
    entry = struct.unpack_from(">qhiqiqiq", raw, 10)
    assert entry == (77, 3, 13, 53, 3, 123 + 3, -1, -1)
    assert len(raw) == 10 + 46
    entries = ProducerStateManager.decode(raw)
    assert list(entries[0].batches)[0][:4] == (10, 13, 50, 53)


def test_dedup_survives_clean_restart_via_snapshot():
    fs, log = _open()
    first = _send(log, 11, 2, 0, 3)
    last = _send(log, 11, 2, 3, 2)
    log.close()
    assert "00000000000000000005.snapshot" in fs.listdir(DIR)
    fs2, log2 = _open(fs, clean=True, recovery_point=5)
    dup = _send(log2, 11, 2, 3, 2)
    assert dup.duplicate and (dup.base_offset, dup.last_offset) == (last.base_offset, last.last_offset)
    with pytest.raises(OutOfOrderSequenceError):
        _send(log2, 11, 2, 6)
    with pytest.raises(InvalidProducerEpochError):
        _send(log2, 11, 1, 0)
    assert first.base_offset == 0


def test_dedup_survives_crash_via_replay():
    fs, log = _open(config=LogConfig(flush_messages=1))
    results = [_send(log, 21, 0, i * 2, 2) for i in range(6)]
    fs.crash()  # no snapshot at all: state is rebuilt by replaying batch headers
    fs2, log2 = _open(fs)
    assert log2.log_end_offset == 12
    for i in range(1, 6):
        dup = _send(log2, 21, 0, i * 2, 2)
        assert dup.duplicate and dup.base_offset == results[i].base_offset
    assert not _send(log2, 21, 0, 12).duplicate


def test_crash_after_roll_replays_from_snapshot():
    fs, log = _open(config=LogConfig(segment_bytes=600, flush_messages=1))
    results = [_send(log, 31, 0, i, 1) for i in range(30)]
    assert log.num_segments > 2
    snapshots = [n for n in fs.listdir(DIR) if n.endswith(".snapshot")]
    assert 1 <= len(snapshots) <= 2  # the newest two are kept
    fs.crash()
    fs2, log2 = _open(fs)
    dup = _send(log2, 31, 0, 29)
    assert dup.duplicate and dup.base_offset == results[29].base_offset
    assert not _send(log2, 31, 0, 30).duplicate


def test_corrupt_snapshot_is_ignored_and_state_rebuilt():
    fs, log = _open()
    _send(log, 41, 0, 0, 2)
    log.close()
    path = f"{DIR}/00000000000000000002.snapshot"
    fs.corrupt(path, 12)
    fs2, log2 = _open(fs, clean=True, recovery_point=2)
    assert "00000000000000000002.snapshot" not in fs.listdir(DIR)  # corrupt: deleted, log replayed
    dup = _send(log2, 41, 0, 0, 2)
    assert dup.duplicate and dup.base_offset == 0


def test_truncation_reloads_producer_state():
    fs, log = _open()
    for i in range(5):
        _send(log, 51, 0, i)
    log.truncate_to(3)
    assert log.log_end_offset == 3
    assert not _send(log, 51, 0, 3).duplicate  # sequence 3 is new again after the truncation
