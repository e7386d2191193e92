"""The injected file systems: OsFileSystem on tmp_path and MemoryFileSystem's crash model."""

from __future__ import annotations

import random

import pytest

from kavka.storage.fs import OsFileSystem
from kavka.testing.memfs import MemoryFileSystem


@pytest.fixture(params=["os", "mem"])
def fs_root(request, tmp_path):
    if request.param == "os":
        return OsFileSystem(), str(tmp_path)
    fs = MemoryFileSystem(seed=1)
    fs.makedirs("/root")
    return fs, "/root"


def test_handle_append_pread_truncate(fs_root):
    fs, root = fs_root
    h = fs.open(f"{root}/a.log")
    assert h.size() == 0
    assert h.append(b"hello") == 0
    assert h.append(bytearray(b" world")) == 5
    assert h.pread(0, 100) == b"hello world"
    assert h.pread(6, 5) == b"world"
    h.pwrite(b"W", 6)
    assert h.read_all() == b"hello World"
    h.truncate(5)
    assert h.size() == 5 and h.read_all() == b"hello"
    h.fsync()
    h.close()
    assert fs.read_bytes(f"{root}/a.log") == b"hello"
    assert fs.file_size(f"{root}/a.log") == 5
    h2 = fs.open(f"{root}/a.log")
    assert h2.size() == 5
    h2.close()


def test_directory_operations(fs_root):
    fs, root = fs_root
    fs.makedirs(f"{root}/x/y")
    assert fs.isdir(f"{root}/x/y") and fs.exists(f"{root}/x")
    fs.write_atomic(f"{root}/x/y/f", b"1")
    fs.write_atomic(f"{root}/x/y/f", b"22")
    assert fs.read_bytes(f"{root}/x/y/f") == b"22"
    assert fs.listdir(f"{root}/x/y") == ["f"]
    fs.rename(f"{root}/x/y/f", f"{root}/x/g")
    assert sorted(fs.listdir(f"{root}/x")) == ["g", "y"]
    fs.rename(f"{root}/x", f"{root}/z")
    assert fs.read_bytes(f"{root}/z/g") == b"22"
    fs.remove(f"{root}/z/g")
    fs.remove(f"{root}/z/g")  # missing: ignored
    fs.rmtree(f"{root}/z")
    assert not fs.exists(f"{root}/z")


def test_memfs_crash_drops_unsynced_bytes():
    fs = MemoryFileSystem()
    fs.makedirs("/d")
    h = fs.open("/d/f")
    h.append(b"durable")
    h.fsync()
    h.append(b"-volatile")
    fs.crash(torn=False)
    with pytest.raises(OSError):
        h.append(b"x")  # handles die with the machine
    assert fs.read_bytes("/d/f") == b"durable"


def test_memfs_torn_tail_keeps_a_prefix():
    seen = set()
    for seed in range(40):
        fs = MemoryFileSystem()
        fs.makedirs("/d")
        h = fs.open("/d/f")
        h.append(b"AAAA")
        h.fsync()
        h.append(b"BBBBBBBB")
        fs.crash(rng=random.Random(seed))
        data = fs.read_bytes("/d/f")
        assert data.startswith(b"AAAA") and data == b"AAAA" + b"B" * (len(data) - 4)
        seen.add(len(data))
    assert 4 in seen and 12 in seen and len(seen) > 2


def test_memfs_rename_and_atomic_write_are_durable():
    fs = MemoryFileSystem()
    fs.makedirs("/d")
    fs.write_atomic("/d/ckpt", b"v1")
    fs.crash()
    assert fs.read_bytes("/d/ckpt") == b"v1"
    h = fs.open("/d/never-synced")
    h.append(b"zzz")
    fs.crash(torn=False)
    assert fs.exists("/d/never-synced") and fs.read_bytes("/d/never-synced") == b""
