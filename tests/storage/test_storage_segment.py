"""LogSegment: append, read, roll conditions, recovery, truncation, timestamp search."""

from __future__ import annotations

import random

import pytest

from kavka.protocol.batch import iter_headers, parse_header, patch_base_offset
from kavka.storage.segment import LogSegment
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch


def _seg(fs=None, base=100, interval=200, **kw):
    fs = fs or MemoryFileSystem()
    fs.makedirs("/p/t-0")
    return fs, LogSegment.create(fs, "/p/t-0", base, index_interval_bytes=interval, **kw)


def _fill(seg, n_batches=40, seed=0, ts0=1000):
    """Append batches of 1-5 records; returns [(base, last, position, size)]."""
    rng = random.Random(seed)
    out = []
    offset = seg.base_offset
    for i in range(n_batches):
        n = rng.randint(1, 5)
        b = bytearray(make_batch(n, value_size=rng.randint(1, 120), timestamp=ts0 + i * 10))
        patch_base_offset(b, 0, offset)
        h = parse_header(b)
        pos = seg.append(
            b,
            last_offset=offset + n - 1,
            max_timestamp=h.max_timestamp,
            offset_of_max_timestamp=offset + n - 1,
            first_batch_max_timestamp=h.max_timestamp,
        )
        out.append((offset, offset + n - 1, pos, len(b)))
        offset += n
    return out


def test_file_names_and_append_positions():
    fs, seg = _seg()
    batches = _fill(seg, 5)
    assert sorted(fs.listdir("/p/t-0")) == [
        "00000000000000000100.index",
        "00000000000000000100.log",
        "00000000000000000100.timeindex",
    ]
    assert [b[2] for b in batches] == [sum(x[3] for x in batches[:i]) for i in range(5)]
    assert seg.size() == sum(b[3] for b in batches)
    assert seg.next_offset == batches[-1][1] + 1


def test_read_at_every_offset_returns_the_batch_holding_it():
    fs, seg = _seg()
    batches = _fill(seg, 60)
    assert seg.offset_index.entries > 3  # sparse index actually used
    for base, last, pos, size in batches:
        for offset in range(base, last + 1):
            got_pos, view, first = seg.read(offset, 1)
            assert (got_pos, first, len(view)) == (pos, base, size)
            assert parse_header(view).base_offset == base
    assert seg.read(batches[-1][1] + 1, 1000) is None


def test_read_max_bytes_cuts_at_whole_batches_and_min_one_batch():
    fs, seg = _seg()
    batches = _fill(seg, 30)
    base, _, pos, size = batches[3]
    limit = size + batches[4][3] + batches[5][3] // 2
    _, view, _ = seg.read(base, limit)
    assert len(view) == size + batches[4][3]
    assert [h.base_offset for _, h in iter_headers(view)] == [batches[3][0], batches[4][0]]
    _, view, _ = seg.read(base, 1, min_one_batch=True)
    assert len(view) == size
    _, view, _ = seg.read(base, 1, min_one_batch=False)
    assert len(view) == 0
    _, view, _ = seg.read(base, 10**9)
    assert len(view) == seg.size() - pos


def test_read_respects_max_offset_and_max_position():
    fs, seg = _seg()
    batches = _fill(seg, 10)
    _, view, _ = seg.read(batches[0][0], 10**6, max_offset=batches[4][1] + 1)
    assert [h.base_offset for _, h in iter_headers(view)] == [b[0] for b in batches[:5]]
    _, view, _ = seg.read(batches[0][0], 10**6, max_offset=batches[4][1])  # batch 4 not wholly below
    assert len(list(iter_headers(view))) == 4
    _, view, _ = seg.read(batches[0][0], 10**6, max_position=batches[2][2])
    assert len(list(iter_headers(view))) == 2


def test_should_roll_by_size_time_and_index():
    fs, seg = _seg(created_ms=5_000)
    kw = dict(max_offset=100, now_ms=5_000, segment_bytes=1000, segment_ms=60_000)
    assert not seg.should_roll(messages_size=10, max_timestamp=5_000, **kw)  # empty never rolls by time
    _fill(seg, 3, ts0=1000)
    size = seg.size()
    assert seg.should_roll(messages_size=1000 - size + 1, max_timestamp=1000, **kw)
    assert not seg.should_roll(messages_size=1000 - size, max_timestamp=1000, **kw)
    # time is measured from the first batch's max timestamp to the incoming batch's timestamp
    first_ts = parse_header(seg.log.pread(0, 61)).max_timestamp
    assert not seg.should_roll(messages_size=1, max_timestamp=first_ts + 60_000, **kw)
    assert seg.should_roll(messages_size=1, max_timestamp=first_ts + 60_001, **kw)
    # offsets that do not fit a relative int32
    assert seg.should_roll(messages_size=1, max_timestamp=1000, **{**kw, "max_offset": 100 + 2**31})


def test_should_roll_by_time_without_timestamps_uses_creation_time():
    fs, seg = _seg(created_ms=5_000)
    b = bytearray(make_batch(1, timestamps=[-1]))
    patch_base_offset(b, 0, 100)
    seg.append(b, last_offset=100, max_timestamp=-1, offset_of_max_timestamp=100, first_batch_max_timestamp=-1)
    kw = dict(messages_size=1, max_timestamp=-1, max_offset=101, segment_bytes=10**9, segment_ms=1000)
    assert not seg.should_roll(now_ms=6_000, **kw)
    assert seg.should_roll(now_ms=6_001, **kw)


def test_should_roll_when_index_full():
    fs, seg = _seg(interval=0, max_index_size=24)  # 3 offset entries, 2 time entries
    _fill(seg, 3)  # the first append adds no entry, the next two do
    assert seg.time_index.is_full() and not seg.offset_index.is_full()
    assert seg.should_roll(
        messages_size=1, max_timestamp=0, max_offset=101, now_ms=0, segment_bytes=10**9, segment_ms=10**9
    )


def test_recover_rebuilds_identical_indexes_and_truncates_torn_tail():
    fs, seg = _seg()
    batches = _fill(seg, 50)
    seg.close()
    index_bytes = fs.read_bytes(seg.offset_index.path)
    time_bytes = fs.read_bytes(seg.time_index.path)
    h = fs.open(seg.log_path)
    cut = batches[40][2] + 20  # tear batch 40
    h.truncate(cut)
    seg2 = LogSegment(fs, "/p/t-0", 100, index_interval_bytes=200)
    truncated, next_offset = seg2.recover()
    assert truncated == 20 and seg2.size() == batches[40][2]
    assert next_offset == batches[40][0]
    # indexes of the surviving prefix equal the ones written during appends
    expect_idx = OffsetIndex_prefix(index_bytes, 8, batches[40][0] - 100, 0)
    assert fs.read_bytes(seg2.offset_index.path) == expect_idx
    assert fs.read_bytes(seg2.time_index.path) == OffsetIndex_prefix(time_bytes, 12, batches[40][0] - 100, 8)


def OffsetIndex_prefix(raw: bytes, size: int, rel_limit: int, rel_at: int) -> bytes:
    out = b""
    for i in range(0, len(raw), size):
        entry = raw[i : i + size]
        if int.from_bytes(entry[rel_at : rel_at + 4], "big", signed=True) < rel_limit:
            out += entry
    return out


@pytest.mark.parametrize("damage", ["crc", "garbage_length", "magic"])
def test_recover_stops_at_first_invalid_batch(damage):
    fs, seg = _seg()
    batches = _fill(seg, 20)
    pos = batches[12][2]
    if damage == "crc":
        fs.corrupt(seg.log_path, pos + 70)
    elif damage == "garbage_length":
        seg.log.pwrite((10**9).to_bytes(4, "big"), pos + 8)
    else:
        seg.log.pwrite(b"\x01", pos + 16)
    truncated, next_offset = seg.recover()
    assert seg.size() == pos and next_offset == batches[12][0]
    assert truncated == sum(b[3] for b in batches[12:])


def test_truncate_to():
    fs, seg = _seg()
    batches = _fill(seg, 30)
    base, last, pos, _ = batches[20]
    removed = seg.truncate_to(base)
    assert seg.size() == pos and removed == sum(b[3] for b in batches[20:])
    assert seg.next_offset == base
    assert seg.read(batches[19][0], 10**6)[1].nbytes == batches[19][3]
    assert seg.offset_index.last_entry()[0] < base
    # truncating into the middle of a batch removes that whole batch
    b2 = batches[10]
    if b2[1] > b2[0]:
        seg.truncate_to(b2[0] + 1)
        assert seg.next_offset == b2[0]


def test_find_offset_by_timestamp_and_largest_timestamp():
    fs, seg = _seg()
    batches = _fill(seg, 40, ts0=1000)  # batch i holds timestamps from 1000 + 10 i
    assert seg.largest_timestamp == max(parse_header(seg.log.pread(b[2], 61)).max_timestamp for b in batches)
    for i in (0, 7, 25, 39):
        target = 1000 + i * 10
        pos, header = seg.find_offset_by_timestamp(target)
        assert header.max_timestamp >= target
        # it is the first such batch
        earlier = [b for b in batches if b[2] < pos]
        assert all(parse_header(seg.log.pread(b[2], 61)).max_timestamp < target for b in earlier)
    assert seg.find_offset_by_timestamp(10**12) is None


def test_close_writes_final_time_index_entry_and_clean_load_trusts_it():
    fs, seg = _seg()
    batches = _fill(seg, 40)
    largest = seg.largest_timestamp
    seg.close()
    again = LogSegment(fs, "/p/t-0", 100, index_interval_bytes=200)
    assert again.largest_timestamp == largest
    assert again.load_tail() == batches[-1][1] + 1
