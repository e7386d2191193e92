"""The bounded pool of segment file handles, and fetch reads as file regions, on real files."""

from __future__ import annotations

import os

import pytest

from kavka.storage.config import LogConfig
from kavka.storage.file_region import FileRegion
from kavka.storage.fs import OsFileSystem
from kavka.storage.handles import HandlePool
from kavka.storage.log import PartitionLog
from tests.storage.storage_batches import make_batch


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_pool_keeps_at_most_capacity_descriptors_and_reopens_on_use(tmp_path):
    pool = HandlePool(OsFileSystem(), capacity=3)
    before = _fds()
    handles = [pool.open(str(tmp_path / f"f{i}")) for i in range(10)]
    for i, h in enumerate(handles):
        h.append(b"x" * (i + 1))
    assert pool.open_count == 3 and _fds() - before == 3
    for i, h in enumerate(handles):  # evicted ones know their size without a descriptor
        assert h.size() == i + 1
    for i, h in enumerate(handles):
        assert h.pread(0, 100) == b"x" * (i + 1)
        h.append(b"y")
        h.fsync()
    assert pool.open_count == 3
    for i in range(10):
        assert (tmp_path / f"f{i}").read_bytes() == b"x" * (i + 1) + b"y"
    for h in handles:
        h.close()
    assert pool.open_count == 0 and _fds() == before


def test_evicted_handle_of_a_vanished_file_does_not_create_it(tmp_path):
    pool = HandlePool(OsFileSystem(), capacity=1)
    a = pool.open(str(tmp_path / "a"))
    a.append(b"data")
    pool.open(str(tmp_path / "b"))  # evicts a
    os.rename(tmp_path / "a", tmp_path / "a.deleted")
    with pytest.raises(FileNotFoundError):
        a.pread(0, 4)
    assert not (tmp_path / "a").exists()


def test_fetch_region_outlives_retention_and_close(tmp_path):
    fs = OsFileSystem()
    log = PartitionLog(fs, str(tmp_path / "t-0"), LogConfig())
    for i in range(40):
        log.append_as_leader(
            bytearray(make_batch(1, value_size=4000, timestamp=1000 + i)), leader_epoch=0, now_ms=1000 + i
        )
    expected = b"".join(bytes(c) for c in log.read(0, 1 << 30).chunks)
    res = log.read_for_fetch(0, 1 << 30, inline_max=1024)
    assert isinstance(res.chunks[0], FileRegion) and res.size == len(expected) and res.next_offset == 40
    small = log.read_for_fetch(0, 1, inline_max=1 << 20)  # one whole batch, as bytes
    assert isinstance(small.chunks[0], bytes) and small.next_offset == 1
    log.update_high_watermark(log.log_end_offset)
    log.roll(2000)
    log.advance_log_start_offset(40, now_ms=2000)  # deletes the segment the region reads
    log.delete_expired_files(10**12)
    log.close()
    region = res.chunks[0]
    assert region.tobytes() == expected
    region.close()
