"""PartitionLog.append_as_follower: batches whose offsets and epochs are set are written unchanged, and
the follower's log (bytes, leader epochs, transactions, producers) is the leader's, also after a crash."""

from __future__ import annotations

import struct

import pytest

from kavka.protocol.batch import CorruptRecordError, iter_headers, patch_base_offset
from kavka.storage.config import LogConfig
from kavka.storage.errors import RecordTooLargeError, UnexpectedAppendOffsetError
from kavka.storage.loader import parse_segment_name
from kavka.storage.log import PartitionLog
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch
from tests.storage.test_storage_txn import Producer

NOW = 1_700_000_000_000
LEADER, FOLLOWER = "/data/t-0", "/data/t-1"
SMALL = LogConfig(segment_bytes=600)


def _open(fs, path, config=SMALL, **kw):
    fs.makedirs(path)
    return PartitionLog(fs, path, config, now_ms=NOW, **kw)


def _leader_log(fs) -> PartitionLog:
    """Three leader epochs, plain, idempotent and transactional batches, a commit and an abort, rolls."""
    log = _open(fs, LEADER)
    a, b = Producer(10), Producer(11)

    def plain(n, epoch):
        log.append_as_leader(bytearray(make_batch(n, timestamp=NOW)), leader_epoch=epoch, now_ms=NOW)

    plain(3, 1)
    log.append_as_leader(a.batch(2), leader_epoch=1, now_ms=NOW)
    log.append_as_leader(b.batch(1), leader_epoch=2, now_ms=NOW)
    log.append_control_marker(a.pid, a.epoch, True, 0, NOW, leader_epoch=2)
    plain(4, 2)
    log.append_as_leader(a.batch(1), leader_epoch=4, now_ms=NOW)
    log.append_control_marker(b.pid, b.epoch, False, 0, NOW, leader_epoch=4)
    log.append_as_leader(b.batch(1, transactional=False), leader_epoch=4, now_ms=NOW)  # b: idempotent, no txn
    log.update_high_watermark(log.log_end_offset)
    return log


def _batches(log: PartitionLog) -> list[bytes]:
    out, offset = [], log.log_start_offset
    while offset < log.log_end_offset:
        chunk = bytes(log.read(offset, 1 << 20).chunks[0])
        for pos, h in iter_headers(chunk):
            out.append(chunk[pos : pos + h.size])
            offset = h.next_offset
    return out


def _log_bytes(fs, path) -> bytes:
    names = sorted(n for n in fs.listdir(path) if (p := parse_segment_name(n)) and p[1] == ".log")
    return b"".join(fs.read_bytes(f"{path}/{n}") for n in names)


def _state(log: PartitionLog):
    producers = {pid: (e.epoch, e.last_seq, e.last_offset) for pid, e in log.producer_state.producers.items()}
    return (
        log.log_end_offset,
        log.leader_epoch_cache.entries(),
        log.collect_aborted_transactions(0, log.log_end_offset),
        log.ongoing_transactions(),
        producers,
    )


def _follow(leader: PartitionLog, follower: PartitionLog, per_append: int) -> None:
    batches = _batches(leader)
    for i in range(0, len(batches), per_append):
        run = b"".join(batches[i : i + per_append])
        result = follower.append_as_follower(run, now_ms=NOW)
        first = next(iter_headers(run))[1]
        assert result.base_offset == first.base_offset and result.last_offset == follower.log_end_offset - 1


@pytest.mark.parametrize("per_append", [1, 2, 3])
def test_the_follower_log_is_the_leaders(per_append):
    fs = MemoryFileSystem(seed=per_append)
    leader = _leader_log(fs)
    follower = _open(fs, FOLLOWER)
    _follow(leader, follower, per_append)
    assert _log_bytes(fs, FOLLOWER) == _log_bytes(fs, LEADER)
    follower.update_high_watermark(follower.log_end_offset)
    assert _state(follower) == _state(leader)
    assert follower.last_stable_offset == leader.last_stable_offset
    assert leader.leader_epoch_cache.entries() == [(1, 0), (2, 5), (4, 11)]
    assert follower.num_segments > 1  # it rolled by segment.bytes as a leader would

    follower.flush()
    fs.crash(torn=False)  # power loss after the flush: everything stays, recovered from the batches
    reopened = PartitionLog(fs, FOLLOWER, SMALL, now_ms=NOW)
    reopened.update_high_watermark(reopened.log_end_offset)
    assert _state(reopened) == _state(leader)


def test_unflushed_follower_appends_are_cut_to_whole_batches_by_a_crash():
    fs = MemoryFileSystem(seed=3)
    leader = _leader_log(fs)
    batches = _batches(leader)
    follower = _open(fs, FOLLOWER, LogConfig())
    follower.append_as_follower(b"".join(batches[:3]), now_ms=NOW)
    follower.flush()
    flushed = follower.log_end_offset
    follower.append_as_follower(b"".join(batches[3:]), now_ms=NOW)
    fs.crash(torn=True)
    reopened = PartitionLog(fs, FOLLOWER, LogConfig(), now_ms=NOW)
    ends = {next(iter_headers(b))[1].next_offset for b in batches}
    assert flushed <= reopened.log_end_offset and reopened.log_end_offset in ends | {flushed}
    assert _log_bytes(fs, FOLLOWER) == b"".join(batches)[: len(_log_bytes(fs, FOLLOWER))]
    assert all(start < reopened.log_end_offset for _epoch, start in reopened.leader_epoch_cache.entries())


def _shifted(batch: bytes, base: int) -> bytes:
    data = bytearray(batch)
    patch_base_offset(data, 0, base)
    return bytes(data)


def test_an_overlap_is_refused_and_nothing_is_written():
    fs = MemoryFileSystem(seed=4)
    log = _open(fs, FOLLOWER, LogConfig())
    one = make_batch(2, timestamp=NOW)  # offsets 0-1
    log.append_as_follower(one, now_ms=NOW)
    cases = {
        "below the log end": _shifted(one, 1),
        "an overlap with the batch before": _shifted(one, 2) + _shifted(one, 3),
        "a second batch behind the first": _shifted(one, 4) + _shifted(one, 2),
    }
    for what, run in cases.items():
        with pytest.raises(UnexpectedAppendOffsetError, match="starts before"):
            log.append_as_follower(run, now_ms=NOW)
        assert (log.log_end_offset, log.active_segment.size()) == (2, len(one)), what
    log.append_as_follower(_shifted(one, 2) + _shifted(one, 4), now_ms=NOW)
    assert log.log_end_offset == 6


def test_gaps_a_compacted_leader_leaves_are_kept_as_gaps():
    """Kafka's follower appends a compacted leader's batches with their gaps (only an overlap is refused):
    the offsets stay the leader's, and a read from inside a gap starts at the next batch."""
    fs = MemoryFileSystem(seed=6)
    log = _open(fs, FOLLOWER, LogConfig())
    one = make_batch(2, timestamp=NOW)
    log.append_as_follower(_shifted(one, 3) + _shifted(one, 9), now_ms=NOW)
    assert log.log_end_offset == 11
    log.update_high_watermark(11)
    batches = [h.base_offset for _, h in iter_headers(b"".join(log.read(6, 1 << 20).chunks))]
    assert batches == [9]


def test_a_corrupt_or_oversized_batch_is_refused():
    fs = MemoryFileSystem(seed=5)
    log = _open(fs, FOLLOWER, LogConfig(max_message_bytes=200))
    bad = bytearray(make_batch(1, timestamp=NOW))
    struct.pack_into(">I", bad, 17, 12345)  # wrong CRC
    with pytest.raises(CorruptRecordError, match="CRC"):
        log.append_as_follower(bad, now_ms=NOW)
    with pytest.raises(RecordTooLargeError, match="max.message.bytes"):
        log.append_as_follower(make_batch(1, value_size=300, timestamp=NOW), now_ms=NOW)
    assert log.log_end_offset == 0 and log.active_segment.size() == 0
