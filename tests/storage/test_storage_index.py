"""OffsetIndex and TimeIndex: byte layout, lookup, truncation, sanity check."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kavka.storage.index import CorruptIndexError, OffsetIndex, TimeIndex
from kavka.testing.memfs import MemoryFileSystem


def _fs():
    fs = MemoryFileSystem()
    fs.makedirs("/p")
    return fs


def test_offset_index_layout_and_round_trip():
    fs = _fs()
    idx = OffsetIndex(fs, "/p/00000000000000000100.index", 100)
    idx.append(105, 0)
    idx.append(110, 4096)
    idx.append(200, 9000)
    idx.close()
    raw = fs.read_bytes("/p/00000000000000000100.index")
    assert raw == struct.pack(">iiiiii", 5, 0, 10, 4096, 100, 9000)
    again = OffsetIndex(fs, "/p/00000000000000000100.index", 100)
    assert again.entries == 3
    assert again.lookup(99) == (100, 0)
    assert again.lookup(104) == (100, 0)
    assert again.lookup(105) == (105, 0)
    assert again.lookup(150) == (110, 4096)
    assert again.lookup(10**9) == (200, 9000)
    assert again.last_entry() == (200, 9000)


def test_offset_index_truncate_and_append_order():
    fs = _fs()
    idx = OffsetIndex(fs, "/p/i.index", 0)
    for i in range(10):
        idx.append(i * 10, i * 100)
    with pytest.raises(ValueError):
        idx.append(90, 2000)
    idx.truncate_to(35)  # drops entries with offset >= 35
    assert idx.entries == 4 and idx.last_entry() == (30, 300)
    assert fs.file_size("/p/i.index") == 4 * 8
    idx.truncate_to(0)
    assert idx.entries == 0 and idx.lookup(5) == (0, 0)
    idx.append(3, 7)
    assert OffsetIndex(fs, "/p/i.index", 0).lookup(3) == (3, 7)


def test_index_full():
    fs = _fs()
    idx = OffsetIndex(fs, "/p/i.index", 0, max_index_size=24)
    for i in range(3):
        idx.append(i, i)
    assert idx.is_full()
    with pytest.raises(ValueError):
        idx.append(9, 9)


@pytest.mark.parametrize(
    "raw",
    [
        b"\x00" * 7,  # not a multiple of the entry size
        struct.pack(">iiii", 5, 0, 5, 10),  # repeated offset
        struct.pack(">iiii", 5, 0, 3, 10),  # decreasing offset
        struct.pack(">iiii", 1, 50, 3, 10),  # decreasing position
        struct.pack(">ii", -1, 0),  # below base offset
    ],
)
def test_offset_index_sanity_check(raw):
    fs = _fs()
    h = fs.open("/p/i.index")
    h.append(raw)
    with pytest.raises(CorruptIndexError):
        OffsetIndex(fs, "/p/i.index", 0).load()


def test_time_index_layout_lookup_and_maybe_append():
    fs = _fs()
    idx = TimeIndex(fs, "/p/0.timeindex", 1000)
    assert idx.maybe_append(500, 1000)
    assert not idx.maybe_append(500, 1005)  # timestamp did not grow
    assert not idx.maybe_append(400, 1006)
    assert idx.maybe_append(900, 1010)
    idx.close()
    assert fs.read_bytes("/p/0.timeindex") == struct.pack(">qiqi", 500, 0, 900, 10)
    again = TimeIndex(fs, "/p/0.timeindex", 1000)
    assert again.lookup(100) == (-1, 1000)
    assert again.lookup(500) == (500, 1000)
    assert again.lookup(899) == (500, 1000)
    assert again.lookup(10**12) == (900, 1010)
    again.truncate_to(1010)
    assert again.last_entry() == (500, 1000)
    assert fs.file_size("/p/0.timeindex") == 12


def test_time_index_sanity_check():
    fs = _fs()
    fs.open("/p/t.timeindex").append(struct.pack(">qiqi", 900, 0, 500, 10))
    with pytest.raises(CorruptIndexError):
        TimeIndex(fs, "/p/t.timeindex", 0).load()
    fs.open("/p/u.timeindex").append(b"\x00" * 13)
    with pytest.raises(CorruptIndexError):
        TimeIndex(fs, "/p/u.timeindex", 0).load()


@given(st.lists(st.integers(1, 50), min_size=0, max_size=60), st.integers(0, 3000))
def test_offset_index_lookup_matches_linear_search(gaps, target):
    fs = _fs()
    idx = OffsetIndex(fs, "/p/h.index", 7)
    offsets, off = [], 7
    for i, g in enumerate(gaps):
        off += g
        offsets.append(off)
        idx.append(off, i * 10)
    expected = max(((o, i * 10) for i, o in enumerate(offsets) if o <= target), default=(7, 0))
    assert idx.lookup(target) == expected
    reloaded = OffsetIndex(fs, "/p/h.index", 7)
    assert reloaded.lookup(target) == expected


def test_reset_writes_all_entries_at_once():
    fs = _fs()
    idx = OffsetIndex(fs, "/p/r.index", 0)
    idx.append(1, 1)
    idx.reset([(5, 0), (9, 100)])
    assert fs.read_bytes("/p/r.index") == struct.pack(">iiii", 5, 0, 9, 100)
    t = TimeIndex(fs, "/p/r.timeindex", 0)
    t.reset([(10, 5), (20, 9)])
    assert fs.read_bytes("/p/r.timeindex") == struct.pack(">qiqi", 10, 5, 20, 9)
