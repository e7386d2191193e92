"""Crash recovery: kill -9 / power loss at random points, torn tails, and the fast clean start."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kavka.protocol.batch import iter_headers, validate_batches
from kavka.storage.config import LogConfig
from kavka.storage.index import OffsetIndex, TimeIndex
from kavka.storage.log import PartitionLog
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch

NOW = 1_700_000_000_000
DIR = "/data/t-0"


def _open(fs, config, **kw):
    return PartitionLog(fs, DIR, config, now_ms=NOW, **kw)


def _check_consistent(log: PartitionLog) -> None:
    """Every offset reads back as the whole valid batch holding it; indexes point at batch starts."""
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        res = log.read(offset, 1)
        data = bytes(res.chunks[0])
        headers = validate_batches(data)  # CRC and framing: no torn bytes are served
        assert len(headers) == 1 and headers[0].base_offset <= offset <= headers[0].last_offset
        offset = headers[0].last_offset + 1
    assert offset == log.log_end_offset
    for seg in log.segments:
        starts = {pos: h for pos, h in seg.iter_headers(0)}
        idx = OffsetIndex(seg.fs, seg.offset_index.path, seg.base_offset)
        idx.load()  # sanity check passes
        for i in range(idx.entries):
            off, pos = seg.base_offset + idx._rel[i], idx._pos[i]
            assert pos in starts and starts[pos].last_offset >= off
        TimeIndex(seg.fs, seg.time_index.path, seg.base_offset).load()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 60),
    segment_bytes=st.sampled_from([1000, 2500, 10**6]),
    flush_messages=st.sampled_from([1, 3, 2**63 - 1]),
)
def test_crash_at_random_point_keeps_every_fsynced_batch(seed, n, segment_bytes, flush_messages):
    rng = random.Random(seed)
    fs = MemoryFileSystem(seed=seed)
    fs.makedirs(DIR)
    config = LogConfig(segment_bytes=segment_bytes, index_interval_bytes=120, flush_messages=flush_messages)
    log = _open(fs, config)
    written = []  # (base, last, bytes)
    durable_count = 0
    checkpoint = 0
    for i in range(n):
        records = bytearray(make_batch(rng.randint(1, 4), value_size=rng.randint(0, 200), timestamp=NOW - 1000 + i))
        r = log.append_as_leader(records, leader_epoch=1, now_ms=NOW)
        written.append((r.base_offset, r.last_offset, bytes(records)))
        if rng.random() < 0.15:
            log.flush()
        if log.recovery_point == log.log_end_offset:
            durable_count = len(written)
        if rng.random() < 0.2:
            checkpoint = log.recovery_point  # what the manager would have checkpointed
    fs.crash(torn=True, rng=rng)

    log = _open(fs, config, recovery_point=checkpoint, clean_shutdown=False)
    survivors = log.log_end_offset
    # what survives is a prefix of what was written, including every fsynced batch, byte for byte
    kept = [w for w in written if w[1] < survivors]
    assert len(kept) >= durable_count
    assert survivors == (kept[-1][1] + 1 if kept else 0)
    if kept:
        data = b"".join(bytes(c) for off in [0] for c in _read_all(log))
        assert data == b"".join(w[2] for w in kept)
    _check_consistent(log)
    # the log keeps working at the right offset, and again survives a clean restart
    r = log.append_as_leader(bytearray(make_batch(1, timestamp=NOW)), leader_epoch=2, now_ms=NOW)
    assert r.base_offset == survivors
    log.close()
    again = _open(fs, config, recovery_point=log.recovery_point, clean_shutdown=True)
    assert again.log_end_offset == survivors + 1
    _check_consistent(again)


def _read_all(log):
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        res = log.read(offset, 10**9)
        yield from res.chunks
        last = [h for _, h in iter_headers(res.chunks[-1])][-1]
        offset = last.last_offset + 1


def _build(fs, segments=4):
    fs.makedirs(DIR)
    config = LogConfig(segment_bytes=4000, index_interval_bytes=200)
    log = _open(fs, config)
    while log.num_segments < segments:
        log.append_as_leader(bytearray(make_batch(2, value_size=100, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    for _ in range(5):
        log.append_as_leader(bytearray(make_batch(2, value_size=100, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    return config, log


def test_clean_start_trusts_indexes_and_scans_nothing():
    fs = MemoryFileSystem()
    config, log = _build(fs)
    leo, total = log.log_end_offset, log.size_in_bytes
    old = log.segments[1]
    victim_pos, victim = list(old.iter_headers(0))[3]
    victim_pos += 80  # inside a record of an old segment
    log.close()
    fs.corrupt(old.log_path, victim_pos)
    fs.stats.clear()
    clean = _open(fs, config, recovery_point=leo, clean_shutdown=True)
    assert clean.log_end_offset == leo and clean.num_segments == 4
    assert clean.load_info.segments_recovered == 0
    assert fs.stats["bytes_read"] < total / 3  # only the active segment's tail, its indexes, the snapshot
    clean.close_handles()

    # the same files after an unclean shutdown: recovery finds the bad batch and cuts the log there
    unclean = _open(fs, config, recovery_point=0, clean_shutdown=False)
    assert unclean.load_info.segments_recovered >= 2
    assert unclean.log_end_offset < leo and unclean.num_segments == 2
    assert unclean.log_end_offset == victim.base_offset
    _check_consistent(unclean)


def test_unclean_start_recovers_only_from_the_recovery_point():
    fs = MemoryFileSystem()
    config, log = _build(fs)
    log.flush()
    rp = log.segments[2].base_offset + 1  # inside segment 2
    log.close_handles()
    fs.stats.clear()
    again = _open(fs, config, recovery_point=rp, clean_shutdown=False)
    assert again.load_info.segments_recovered == 2  # segments 2 and 3 only
    assert again.log_end_offset == log.log_end_offset


def test_missing_or_corrupt_index_is_rebuilt():
    fs = MemoryFileSystem()
    config, log = _build(fs)
    leo = log.log_end_offset
    seg0, seg3 = log.segments[0], log.segments[3]
    expected = fs.read_bytes(seg0.offset_index.path)
    log.close()
    fs.remove(seg0.offset_index.path)
    h = fs.open(seg3.offset_index.path)
    h.append(b"\x00\x00\x00")  # not a multiple of the entry size
    h.close()
    again = _open(fs, config, recovery_point=leo, clean_shutdown=True)
    assert fs.read_bytes(seg0.offset_index.path) == expected
    assert again.log_end_offset == leo
    _check_consistent(again)


def test_leftover_files_are_cleaned():
    fs = MemoryFileSystem()
    config, log = _build(fs, segments=2)
    leo = log.log_end_offset
    log.close()
    for name in (
        "00000000000000000000.log.deleted",
        "00000000000000000000.index.cleaned",
        "x.tmp",
        "00000000000000099999.index",
        "00000000000000099999.timeindex.swap",
    ):
        fs.open(f"{DIR}/{name}").close()
    again = _open(fs, config, recovery_point=leo, clean_shutdown=True)
    names = fs.listdir(DIR)
    assert not [n for n in names if n.endswith((".deleted", ".cleaned", ".tmp", ".swap")) or "99999" in n]
    assert again.log_end_offset == leo


def test_torn_write_of_an_unflushed_tail_after_flushed_prefix():
    fs = MemoryFileSystem(seed=5)
    fs.makedirs(DIR)
    config = LogConfig()
    log = _open(fs, config)
    for _ in range(10):
        log.append_as_leader(bytearray(make_batch(3, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    log.flush()
    for _ in range(10):
        log.append_as_leader(bytearray(make_batch(3, value_size=500, timestamp=NOW)), leader_epoch=0, now_ms=NOW)
    seg_path = log.segments[0].log_path
    inode_len = fs.file_size(seg_path)
    fs.crash(torn=True, rng=random.Random(1))
    torn_len = fs.file_size(seg_path)
    again = _open(fs, config, recovery_point=30)
    assert 30 <= again.log_end_offset <= 60
    assert again.load_info.bytes_truncated == torn_len - again.size_in_bytes
    assert again.size_in_bytes <= inode_len
    _check_consistent(again)
