"""Retention (Kafka's deleteOldSegments): time and size, the log start offset, asynchronous `.deleted`
removal after file.delete.delay.ms, log.retention.check.interval.ms, the log-start-offset checkpoint."""

from __future__ import annotations

import pytest

from kavka.storage.checkpoints import read_offset_checkpoint
from kavka.storage.config import LogConfig
from kavka.storage.fs import OsFileSystem
from kavka.storage.log import PartitionLog
from kavka.storage.manager import LogManager
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch

NOW = 1_700_000_000_000
HOUR = 3_600_000


class Clock:
    def __init__(self, now=NOW):
        self.now = now

    def __call__(self):
        return self.now


def _log(fs, root, **cfg):
    fs.makedirs(f"{root}/events-0")
    return PartitionLog(fs, f"{root}/events-0", LogConfig(**cfg), now_ms=NOW)


def _fill(log, segments, *, ts, per_segment=3, value_size=100):
    """Append ``segments`` full segments (each rolled) of records stamped ``ts``; HW follows the LEO."""
    for _ in range(segments):
        for _ in range(per_segment):
            log.append_as_leader(
                bytearray(make_batch(2, timestamp=ts, value_size=value_size)), leader_epoch=0, now_ms=max(ts, NOW)
            )
        log.roll(NOW)
    log.update_high_watermark(log.log_end_offset)


def _files(fs, d):
    return sorted(fs.listdir(d))


@pytest.fixture(params=["memory", "os"])
def fs_root(request, tmp_path):
    if request.param == "memory":
        return MemoryFileSystem(seed=1), "/data"
    return OsFileSystem(), str(tmp_path)


def test_time_retention_by_largest_timestamp_and_delayed_file_removal(fs_root):
    fs, root = fs_root
    log = _log(fs, root, retention_ms=HOUR, file_delete_delay_ms=60_000, segment_bytes=10_000)
    _fill(log, 2, ts=NOW - 3 * HOUR)  # expired
    _fill(log, 2, ts=NOW - HOUR // 2)  # within retention
    log.append_as_leader(bytearray(make_batch(1, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    log.update_high_watermark(log.log_end_offset)
    bases = [s.base_offset for s in log.segments]
    assert len(bases) == 5
    assert log.enforce_retention(NOW) == 2
    assert [s.base_offset for s in log.segments] == bases[2:]
    assert log.log_start_offset == bases[2]
    d = log.dir
    deleted = [n for n in _files(fs, d) if n.endswith(".deleted")]
    assert sorted(deleted) == sorted(
        f"{b:020d}{sfx}.deleted" for b in bases[:2] for sfx in (".log", ".index", ".timeindex")
    )
    assert log.delete_expired_files(NOW + 59_999) == 0
    assert log.delete_expired_files(NOW + 60_000) == 6
    assert not [n for n in _files(fs, d) if n.endswith(".deleted")]
    # nothing else is old enough; the active segment stays
    assert log.enforce_retention(NOW) == 0
    assert log.read(log.log_start_offset, 10**6).size > 0


def test_everything_expired_rolls_the_active_segment_first(fs_root):
    fs, root = fs_root
    log = _log(fs, root, retention_ms=HOUR, file_delete_delay_ms=0)
    _fill(log, 2, ts=NOW - 3 * HOUR)
    log.append_as_leader(bytearray(make_batch(2, timestamp=NOW - 2 * HOUR)), leader_epoch=0, now_ms=NOW)
    log.update_high_watermark(log.log_end_offset)
    leo = log.log_end_offset
    assert log.enforce_retention(NOW) == 3
    assert log.num_segments == 1 and log.active_segment.base_offset == leo and log.active_segment.size() == 0
    assert (log.log_start_offset, log.log_end_offset) == (leo, leo)
    assert all(not n.endswith(".deleted") for n in _files(fs, log.dir))  # delay 0: gone at once
    # an empty active segment is never deleted
    assert log.enforce_retention(NOW + 10 * HOUR) == 0
    r = log.append_as_leader(bytearray(make_batch(1, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    assert r.base_offset == leo


def test_retention_stops_at_the_high_watermark():
    fs = MemoryFileSystem()
    log = _log(fs, "/data", retention_ms=HOUR, file_delete_delay_ms=0)
    _fill(log, 3, ts=NOW - 3 * HOUR)
    log.update_high_watermark(log.segments[1].base_offset)
    assert log.enforce_retention(NOW) == 1
    assert log.log_start_offset == log.segments[0].base_offset


def test_size_retention_deletes_oldest_while_the_excess_covers_them():
    fs = MemoryFileSystem()
    log = _log(fs, "/data", retention_ms=-1, retention_bytes=0, file_delete_delay_ms=0)
    _fill(log, 4, ts=NOW)
    seg_size = log.segments[0].size()
    total = log.size_in_bytes
    log.update_config(LogConfig(retention_ms=-1, retention_bytes=total - seg_size - 1, file_delete_delay_ms=0))
    # excess = seg_size + 1: the first segment fits it, the second does not
    assert log.enforce_retention(NOW) == 1
    log.update_config(LogConfig(retention_ms=-1, retention_bytes=log.size_in_bytes, file_delete_delay_ms=0))
    assert log.enforce_retention(NOW) == 0  # size == retention.bytes: nothing to do
    log.update_config(LogConfig(retention_ms=-1, retention_bytes=seg_size, file_delete_delay_ms=0))
    assert log.enforce_retention(NOW) == 2
    assert log.size_in_bytes == seg_size and log.log_start_offset == log.segments[0].base_offset
    # infinite retention (-1) on both deletes nothing
    log.update_config(LogConfig(retention_ms=-1, retention_bytes=-1))
    assert log.enforce_retention(NOW + 100 * HOUR) == 0


def test_compact_only_topic_is_not_retained_by_time_but_below_log_start_segments_go():
    fs = MemoryFileSystem()
    log = _log(fs, "/data", retention_ms=1, cleanup_policy="compact", file_delete_delay_ms=0)
    for _ in range(3):
        log.append_as_leader(bytearray(make_batch(2, timestamp=NOW - HOUR)), leader_epoch=0, now_ms=NOW)
        log.roll(NOW)
    log.update_high_watermark(log.log_end_offset)
    assert log.enforce_retention(NOW) == 0
    log._log_start = log.segments[2].base_offset  # as DeleteRecords would leave it before the segments go
    assert log.enforce_retention(NOW) == 2
    both = _log(MemoryFileSystem(), "/x", retention_ms=1, cleanup_policy="compact,delete", file_delete_delay_ms=0)
    _fill(both, 2, ts=NOW - HOUR)
    assert both.enforce_retention(NOW) == 2


def test_segment_without_timestamps_ages_from_when_it_was_seen():
    fs = MemoryFileSystem()
    log = _log(fs, "/data", retention_ms=HOUR, file_delete_delay_ms=0)
    log.append_as_leader(bytearray(make_batch(2, timestamps=[-1, -1])), leader_epoch=0, now_ms=NOW)
    log.roll(NOW)
    log.append_as_leader(bytearray(make_batch(1, timestamp=NOW + HOUR)), leader_epoch=0, now_ms=NOW + HOUR)
    log.update_high_watermark(log.log_end_offset)
    assert log.segments[0].largest_timestamp == -1
    assert log.enforce_retention(NOW + HOUR) == 0
    assert log.enforce_retention(NOW + HOUR + 1) == 1


def test_delete_records_moves_start_and_files_wait_for_the_delay():
    fs = MemoryFileSystem()
    log = _log(fs, "/data", file_delete_delay_ms=1000)
    _fill(log, 3, ts=NOW)
    target = log.segments[2].base_offset + 1
    assert log.advance_log_start_offset(target, now_ms=NOW)
    assert log.log_start_offset == target and log.num_segments == 2
    assert log.pending_deletes == 2
    assert log.delete_expired_files(NOW + 1000) == 6 and log.pending_deletes == 0
    # without a time, the delay starts at the next delete_expired_files call
    log2 = _log(MemoryFileSystem(), "/y", file_delete_delay_ms=1000)
    _fill(log2, 2, ts=NOW)
    log2.advance_log_start_offset(log2.segments[1].base_offset)
    assert log2.delete_expired_files(NOW + 10**9) == 0 and log2.pending_deletes == 1
    assert log2.delete_expired_files(NOW + 10**9 + 1000) == 3


def test_leftover_deleted_files_are_removed_at_open():
    fs = MemoryFileSystem()
    log = _log(fs, "/data", retention_ms=HOUR, file_delete_delay_ms=10**9)
    _fill(log, 2, ts=NOW - 3 * HOUR)
    _fill(log, 1, ts=NOW)
    assert log.enforce_retention(NOW) == 2
    assert any(n.endswith(".deleted") for n in _files(fs, log.dir))
    log.close()
    fs.crash()
    reopened = PartitionLog(fs, log.dir, log.config, now_ms=NOW, log_start_offset=log.log_start_offset)
    assert not any(n.endswith(".deleted") for n in _files(fs, log.dir))
    assert reopened.log_start_offset == log.log_start_offset and reopened.log_end_offset == log.log_end_offset


def test_manager_honours_check_interval_delay_and_checkpoints_log_start():
    fs = MemoryFileSystem()
    clock = Clock()
    lm = LogManager(fs, ["/a"], LogConfig(), clock, retention_check_interval_ms=300_000)
    lm.startup()
    cfg = LogConfig(retention_ms=HOUR, file_delete_delay_ms=60_000)
    log = lm.get_or_create_log("events", 0, None, cfg)
    _fill(log, 2, ts=NOW - 3 * HOUR)
    _fill(log, 1, ts=NOW)
    clock.now += 299_000
    lm.tick()
    assert log.num_segments == 4  # not checked yet
    clock.now += 1_000
    lm.tick()
    assert log.num_segments == 2 and log.log_start_offset > 0
    assert read_offset_checkpoint(fs, "/a/log-start-offset-checkpoint") == {("events", 0): log.log_start_offset}
    assert any(n.endswith(".deleted") for n in fs.listdir(log.dir))
    clock.now += 59_000
    lm.tick()
    assert any(n.endswith(".deleted") for n in fs.listdir(log.dir))
    clock.now += 1_000
    lm.tick()
    assert not any(n.endswith(".deleted") for n in fs.listdir(log.dir))
    lm.shutdown()


def test_compacted_topic_rolls_by_max_compaction_lag():
    fs = MemoryFileSystem()
    log = _log(fs, "/data", cleanup_policy="compact", max_compaction_lag_ms=1000)
    assert log.config.max_segment_ms == 1000
    log.append_as_leader(bytearray(make_batch(1, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    log.append_as_leader(bytearray(make_batch(1, timestamp=NOW + 2000)), leader_epoch=0, now_ms=NOW + 2000)
    assert log.num_segments == 2
    assert LogConfig(max_compaction_lag_ms=1000).max_segment_ms == LogConfig().segment_ms
