"""PartitionLog: the API the broker uses (append, read, offsets, timestamps, truncation, lifecycle)."""

from __future__ import annotations

import struct

import pytest

from kavka.protocol.batch import CorruptRecordError, InvalidRecordError, iter_headers
from kavka.protocol.records import decode_batch
from kavka.storage.config import LogConfig
from kavka.storage.errors import (
    InvalidTimestampError,
    OffsetOutOfRangeError,
    RecordTooLargeError,
)
from kavka.storage.fs import OsFileSystem
from kavka.storage.log import PartitionLog
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch

NOW = 1_700_000_000_000


def _log(fs=None, root="/data", config=None, **kw):
    fs = fs or MemoryFileSystem(seed=0)
    fs.makedirs(f"{root}/orders-3")
    return fs, PartitionLog(fs, f"{root}/orders-3", config or LogConfig(), **kw)


def _append(log, n=1, now=NOW, epoch=0, **kw):
    return log.append_as_leader(bytearray(make_batch(n, timestamp=now - 100, **kw)), leader_epoch=epoch, now_ms=now)


def _offsets(result):
    return [(h.base_offset, h.last_offset) for chunk in result.chunks for _, h in iter_headers(chunk)]


def test_identity_and_initial_offsets():
    fs, log = _log()
    assert (log.topic, log.partition) == ("orders", 3)
    assert (log.log_start_offset, log.log_end_offset, log.high_watermark, log.last_stable_offset) == (0, 0, 0, 0)
    assert log.num_segments == 1 and log.size_in_bytes == 0


def test_append_assigns_offsets_and_patches_epoch():
    fs, log = _log()
    r1 = _append(log, 3, epoch=7)
    r2 = _append(log, 2, epoch=7)
    assert r1 == (0, 2, -1, 0, 3, False) and (r2.base_offset, r2.last_offset) == (3, 4)
    assert log.log_end_offset == 5
    log.update_high_watermark(5)
    res = log.read(0, 10**6)
    assert _offsets(res) == [(0, 2), (3, 4)] and res.first_offset == 0
    headers = [h for _, h in iter_headers(res.chunks[0])]
    assert all(h.partition_leader_epoch == 7 for h in headers)
    header, records = decode_batch(bytes(res.chunks[0]), 0)  # CRC still valid after patching
    assert [r.offset for r in records] == [0, 1, 2]


def test_several_batches_in_one_request_are_one_append():
    fs, log = _log()
    records = bytearray(make_batch(2) + make_batch(3) + make_batch(1))
    r = log.append_as_leader(records, leader_epoch=0, now_ms=NOW)
    assert (r.base_offset, r.last_offset, r.num_records) == (0, 5, 6)
    assert _offsets(log.read(0, 10**6)) == [(0, 1), (2, 4), (5, 5)]


def test_log_append_time_stamps_batches():
    fs, log = _log(config=LogConfig(message_timestamp_type="LogAppendTime"))
    r = _append(log, 2)
    assert r.log_append_time == NOW
    header, records = decode_batch(bytes(log.read(0, 10**6).chunks[0]), 0)
    assert header.log_append_time and header.max_timestamp == NOW
    assert log.offset_for_timestamp(NOW) == (0, NOW)


def test_rejections():
    fs, log = _log(config=LogConfig(max_message_bytes=500))
    with pytest.raises(RecordTooLargeError) as e:
        _append(log, 1, value_size=1000)
    assert e.value.error_code == 10
    bad = bytearray(make_batch(1))
    bad[-1] ^= 1
    with pytest.raises(CorruptRecordError):
        log.append_as_leader(bad, leader_epoch=0, now_ms=NOW)
    bad = bytearray(make_batch(1))
    bad[16] = 1
    with pytest.raises(InvalidRecordError):
        log.append_as_leader(bad, leader_epoch=0, now_ms=NOW)
    with pytest.raises(InvalidTimestampError) as e:
        log.append_as_leader(bytearray(make_batch(1, timestamp=NOW + 3_600_001)), leader_epoch=0, now_ms=NOW)
    assert e.value.error_code == 32
    assert log.log_end_offset == 0 and log.size_in_bytes == 0  # nothing half-written


def test_record_count_must_match_offset_delta():
    fs, log = _log()
    b = bytearray(make_batch(2))
    struct.pack_into(">i", b, 57, 5)  # recordsCount (inside the CRC: recompute it)
    from kavka.protocol.batch import compute_crc

    struct.pack_into(">I", b, 17, compute_crc(b, 0, len(b)))
    with pytest.raises(InvalidRecordError):
        log.append_as_leader(b, leader_epoch=0, now_ms=NOW)


def test_read_bounds_and_errors():
    fs, log = _log()
    for _ in range(10):
        _append(log, 2)
    log.update_high_watermark(10)
    with pytest.raises(OffsetOutOfRangeError) as e:
        log.read(21, 100)
    assert e.value.error_code == 1
    assert log.read(20, 100) == ([], 0, 20)  # at LEO: empty, not an error
    # a consumer reads below the high watermark only
    res = log.read(0, 10**6, max_offset=log.high_watermark)
    assert _offsets(res) == [(i, i + 1) for i in range(0, 10, 2)]
    assert log.read(10, 10**6, max_offset=10).size == 0
    # the batch holding an offset is returned whole
    assert _offsets(log.read(5, 1))[0] == (4, 5)
    assert log.read(5, 1, min_one_batch=False).size == 0


def test_read_at_every_offset_across_segments():
    fs, log = _log(config=LogConfig(segment_bytes=1200, index_interval_bytes=150))
    spans = []
    for i in range(60):
        r = _append(log, 1 + i % 4, value_size=20 + i)
        spans.append((r.base_offset, r.last_offset))
    assert log.num_segments > 3
    for base, last in spans:
        for off in range(base, last + 1):
            res = log.read(off, 1)
            assert res.first_offset == base and _offsets(res) == [(base, last)]
            assert isinstance(res.chunks[0], memoryview)


def test_roll_by_size_and_time():
    fs, log = _log(config=LogConfig(segment_bytes=1000, segment_ms=60_000))
    while log.num_segments == 1:
        _append(log, 1, value_size=100)
    sizes = [s.size() for s in log.segments]
    assert sizes[0] <= 1000
    names = sorted(n for n in fs.listdir("/data/orders-3") if n.endswith(".log"))
    assert names[1] == f"{log.segments[1].base_offset:020d}.log"
    assert any(n.endswith(".snapshot") for n in fs.listdir("/data/orders-3"))  # snapshot at roll
    n = log.num_segments
    _append(log, 1, now=NOW + 120_000)  # record timestamp 2 minutes after the segment's first
    assert log.num_segments == n + 1
    assert log.recovery_point == 0  # the roll's flush is deferred to flush_rolled (the manager's tick)
    assert log.pending_roll_flush == log.segments[-1].base_offset
    assert log.flush_rolled() and log.recovery_point == log.segments[-1].base_offset
    assert log.pending_roll_flush is None and not log.flush_rolled()


def test_roll_explicit_and_empty_active_is_noop():
    fs, log = _log()
    log.roll(NOW)
    assert log.num_segments == 1
    _append(log)
    log.roll(NOW)
    assert log.num_segments == 2 and log.segments[-1].base_offset == 1


def test_offset_for_timestamp_exact_record_and_max_timestamp():
    fs, log = _log(config=LogConfig(segment_bytes=600, index_interval_bytes=100))
    t = NOW - 10_000
    for i in range(30):
        log.append_as_leader(
            bytearray(make_batch(3, timestamps=[t + 30 * i, t + 30 * i + 10, t + 30 * i + 20])),
            leader_epoch=0,
            now_ms=NOW,
        )
    assert log.num_segments > 2
    assert log.offset_for_timestamp(t) == (0, t)
    assert log.offset_for_timestamp(t + 41) == (5, t + 50)  # batch 1 holds t+30, t+40, t+50
    assert log.offset_for_timestamp(t + 40) == (4, t + 40)
    assert log.offset_for_timestamp(t + 30 * 17 + 11) == (17 * 3 + 2, t + 30 * 17 + 20)
    assert log.offset_for_timestamp(t + 10_000) is None
    assert log.max_timestamp_and_offset() == (t + 30 * 29 + 20, 89)


def test_max_timestamp_in_the_middle():
    fs, log = _log()
    log.append_as_leader(bytearray(make_batch(3, timestamps=[NOW - 50, NOW - 5, NOW - 40])), leader_epoch=0, now_ms=NOW)
    log.append_as_leader(bytearray(make_batch(1, timestamps=[NOW - 30])), leader_epoch=0, now_ms=NOW)
    assert log.max_timestamp_and_offset() == (NOW - 5, 1)
    _, empty = _log(MemoryFileSystem(), root="/other")
    assert empty.max_timestamp_and_offset() == (-1, -1)


def test_truncate_to_and_append_again():
    fs, log = _log(config=LogConfig(segment_bytes=800))
    for _ in range(40):
        _append(log, 2, value_size=30)
    segs = log.num_segments
    log.truncate_to(21)  # mid-batch: the batch [20, 21] goes
    assert log.log_end_offset == 20 and log.num_segments < segs
    assert log.high_watermark <= 20
    r = _append(log, 1)
    assert r.base_offset == 20
    assert _offsets(log.read(18, 1))[-1] == (18, 19)
    assert _offsets(log.read(20, 10**6)) == [(20, 20)]


def test_advance_log_start_offset_deletes_whole_segments():
    fs, log = _log(config=LogConfig(segment_bytes=700))
    for _ in range(40):
        _append(log, 1, value_size=50)
    log.update_high_watermark(40)
    second = log.segments[1].base_offset
    assert log.advance_log_start_offset(second + 1)
    assert log.log_start_offset == second + 1 and log.segments[0].base_offset == second
    with pytest.raises(OffsetOutOfRangeError):
        log.read(second, 100)
    assert log.read(second + 1, 1).first_offset == second + 1
    with pytest.raises(OffsetOutOfRangeError):
        log.advance_log_start_offset(41)


def test_retention_by_bytes_and_time():
    fs, log = _log(config=LogConfig(segment_bytes=700, retention_bytes=1500, retention_ms=-1))
    for _ in range(40):
        _append(log, 1, value_size=50)
    log.update_high_watermark(log.log_end_offset)
    deleted = log.enforce_retention(NOW)
    assert deleted > 0 and log.size_in_bytes - log.segments[0].size() < 1500
    assert log.log_start_offset == log.segments[0].base_offset
    log.update_config(LogConfig(segment_bytes=700, retention_ms=1000))
    assert log.enforce_retention(NOW + 10_000) == log.num_segments - 1 or log.num_segments == 1


def test_flush_messages_fsyncs():
    fs, log = _log(config=LogConfig(flush_messages=2))
    _append(log, 1)
    assert log.recovery_point == 0
    before = fs.stats["fsyncs"]
    _append(log, 1)
    assert log.recovery_point == 2 and fs.stats["fsyncs"] > before
    before = fs.stats["fsyncs"]
    _append(log, 1)
    assert log.recovery_point == 2 and fs.stats["fsyncs"] == before


def test_flush_ms():
    fs, log = _log(config=LogConfig(flush_ms=1000), now_ms=NOW)
    _append(log, 1, now=NOW + 10)
    assert log.recovery_point == 0
    assert not log.maybe_flush(NOW + 500)
    assert log.maybe_flush(NOW + 1000) and log.recovery_point == 1


def test_clean_close_leaves_exact_index_files_and_reopens(tmp_path):
    fs = OsFileSystem()
    root = str(tmp_path)
    cfg = LogConfig(segment_bytes=5000, index_interval_bytes=300)
    fs.makedirs(f"{root}/orders-3")
    log = PartitionLog(fs, f"{root}/orders-3", cfg, now_ms=NOW)
    for i in range(80):
        _append(log, 1 + i % 3, value_size=40)
    leo = log.log_end_offset
    expected = bytes(log.read(0, 10**9).chunks[0])
    log.close()
    for name in fs.listdir(f"{root}/orders-3"):
        if name.endswith(".index"):
            assert fs.file_size(f"{root}/orders-3/{name}") % 8 == 0
        if name.endswith(".timeindex"):
            assert fs.file_size(f"{root}/orders-3/{name}") % 12 == 0
    again = PartitionLog(fs, f"{root}/orders-3", cfg, clean_shutdown=True, recovery_point=leo, now_ms=NOW)
    assert again.log_end_offset == leo and again.num_segments == log.num_segments
    assert bytes(again.read(0, 10**9).chunks[0]) == expected
    assert (
        again.append_as_leader(bytearray(make_batch(1, timestamp=NOW)), leader_epoch=1, now_ms=NOW).base_offset == leo
    )
    again.delete()
    assert not fs.exists(f"{root}/orders-3")


def test_leader_epoch_cache_and_end_offset_for_epoch():
    fs, log = _log()
    assert log.end_offset_for_epoch(0) == (-1, -1)
    _append(log, 2, epoch=1)
    _append(log, 2, epoch=1)
    _append(log, 3, epoch=4)
    assert not fs.exists("/data/orders-3/leader-epoch-checkpoint")  # written at the next flush, not on append
    log.flush()
    assert fs.read_bytes("/data/orders-3/leader-epoch-checkpoint") == b"0\n2\n1 0\n4 4\n"
    assert log.latest_epoch == 4
    assert log.end_offset_for_epoch(4) == (4, 7)
    assert log.end_offset_for_epoch(1) == (1, 4)
    assert log.end_offset_for_epoch(2) == (1, 4)  # largest epoch <= 2, ends where epoch 4 starts
    assert log.end_offset_for_epoch(0) == (0, 0)
    assert log.end_offset_for_epoch(9) == (-1, -1)
    log.close()
    again = PartitionLog(fs, "/data/orders-3", LogConfig(), clean_shutdown=True, recovery_point=7)
    assert again.end_offset_for_epoch(1) == (1, 4)
    again.truncate_to(4)
    assert again.latest_epoch == 1 and again.end_offset_for_epoch(1) == (1, 4)


def test_segment_jitter_rolls_each_segment_somewhat_earlier():
    """segment.jitter.ms draws a per-segment jitter in [0, min(jitter, segment.ms)) that brings the
    time-based roll forward; with no jitter a segment rolls only after the full segment.ms."""
    segment_ms = 10_000
    _fs, plain = _log(config=LogConfig(segment_ms=segment_ms), now_ms=NOW)
    _append(plain, now=NOW)
    assert plain.segments[-1].roll_jitter_ms == 0
    _append(plain, now=NOW + segment_ms)  # batch timestamps are now - 100: exactly segment.ms apart, not past
    assert plain.num_segments == 1

    jitters = set()
    for _i in range(20):
        _fs, log = _log(config=LogConfig(segment_ms=segment_ms, segment_jitter_ms=5_000), now_ms=NOW)
        _append(log, now=NOW)
        log.roll(NOW)  # a segment made by the log draws its jitter
        jitter = log.segments[-1].roll_jitter_ms
        assert 0 <= jitter < 5_000
        jitters.add(jitter)
        _append(log, now=NOW)
        before = log.num_segments
        _append(log, now=NOW + segment_ms - jitter + 1)  # past segment.ms - jitter: rolls
        assert log.num_segments == before + 1
    assert len(jitters) > 1
