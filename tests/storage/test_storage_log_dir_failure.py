"""Failed log dirs (Kafka's LogDirFailureChannel), log dir locks and unreadable small files, at the
LogManager level: an in-memory file system whose writes under one dir fail with ENOSPC once it is
"full", and the real file system for the flock."""

from __future__ import annotations

import errno

import pytest

from kavka.storage.checkpoints import CheckpointError, decode_offset_checkpoint, read_meta_properties
from kavka.storage.config import LogConfig
from kavka.storage.errors import KafkaStorageError, LogDirError
from kavka.storage.fs import OsFileSystem
from kavka.storage.manager import CLEAN_SHUTDOWN_MARKER, LogManager
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import make_batch

NOW = 1_700_000_000_000


def _enospc(path: str) -> OSError:
    return OSError(errno.ENOSPC, "No space left on device", path)


class _FullHandle:
    """A memfs handle whose writes fail while its dir is full (reads still work)."""

    def __init__(self, fs: FullableFs, inner) -> None:
        self._fs, self._inner = fs, inner
        self.path = inner.path

    def _check(self) -> None:
        if self._fs.is_full(self.path):
            raise _enospc(self.path)

    def append(self, data) -> int:
        self._check()
        return self._inner.append(data)

    def pwrite(self, data, pos: int) -> None:
        self._check()
        self._inner.pwrite(data, pos)

    def truncate(self, size: int) -> None:
        self._check()
        self._inner.truncate(size)

    def fsync(self) -> None:
        self._check()
        self._inner.fsync()

    def __getattr__(self, name):
        return getattr(self._inner, name)


class FullableFs(MemoryFileSystem):
    def __init__(self) -> None:
        super().__init__()
        self.full: set[str] = set()

    def is_full(self, path: str) -> bool:
        return any(path.startswith(d + "/") for d in self.full)

    def open(self, path: str):
        if self.is_full(path) and not self.exists(path):
            raise _enospc(path)
        return _FullHandle(self, super().open(path))

    def rename(self, src: str, dst: str) -> None:
        if self.is_full(dst):
            raise _enospc(dst)
        super().rename(src, dst)

    def makedirs(self, path: str) -> None:
        if self.is_full(path) and not self.exists(path):
            raise _enospc(path)
        super().makedirs(path)


def _manager(fs, dirs=("/a", "/b")) -> LogManager:
    lm = LogManager(fs, list(dirs), LogConfig(), lambda: NOW)
    lm.startup()
    return lm


def _append(log, n: int = 5) -> None:
    log.append_as_leader(bytearray(make_batch(n)), leader_epoch=0, now_ms=NOW)
    log.update_high_watermark(log.log_end_offset)


def test_a_failed_dir_goes_offline_and_the_other_keeps_working():
    fs = FullableFs()
    lm = _manager(fs)
    failures = []
    lm.dir_failure_listeners.append(lambda d, parts: failures.append((d, parts)))
    la = lm.get_or_create_log("t", 0)
    lb = lm.get_or_create_log("t", 1)
    assert (la.dir, lb.dir) == ("/a/t-0", "/b/t-1")
    _append(la)
    _append(lb)

    fs.full.add("/b")
    with pytest.raises(KafkaStorageError):
        _append(lb)
    assert lm.handle_log_failure(lb, KafkaStorageError("append failed")) == [("t", 1)]
    assert failures == [("/b", [("t", 1)])]
    assert lm.handle_log_dir_failure("/b", "again") == [] and len(failures) == 1  # told once
    assert lm.live_log_dirs == ["/a"] and "/b" in lm.offline_dirs
    assert lm.get_log("t", 1) is None and lm.log_dir_of("t", 1) == "/b"
    with pytest.raises(KafkaStorageError):
        lm.get_or_create_log("t", 1)  # never re-created elsewhere while its dir is offline

    _append(la)  # the live dir is untouched
    assert lm.get_or_create_log("u", 0).dir == "/a/u-0"  # new logs go to live dirs only
    lm.tick()
    lm.checkpoint_recovery_points()
    lm.shutdown()  # no exception, nothing written to /b
    assert fs.exists(f"/a/{CLEAN_SHUTDOWN_MARKER}") and not fs.exists(f"/b/{CLEAN_SHUTDOWN_MARKER}")

    fs.full.clear()  # space freed: /b is recovered as after a crash, with everything it had
    lm2 = _manager(fs)
    assert not lm2.had_clean_shutdown["/b"]
    assert lm2.get_log("t", 1).log_end_offset == 5
    assert lm2.get_log("t", 0).log_end_offset == 10


def test_io_errors_in_housekeeping_take_the_dir_offline_instead_of_raising():
    fs = FullableFs()
    lm = _manager(fs)
    logs = [lm.get_or_create_log("t", i) for i in range(4)]
    in_b = sorted(("t", lg.partition) for lg in logs if lg.dir.startswith("/b/"))
    assert len(in_b) == 2
    for lg in logs:
        _append(lg)
    fs.full.add("/b")
    lm.flush_all()  # the fsyncs in /b fail
    assert list(lm.offline_dirs) == ["/b"]
    assert sorted(lm.offline_partitions) == in_b
    lm.tick()
    lm.shutdown()


def test_creating_a_log_in_a_failing_dir_is_a_storage_error_and_takes_it_offline():
    fs = FullableFs()
    lm = _manager(fs)
    lm.get_or_create_log("t", 0)  # /a
    fs.full.add("/b")
    with pytest.raises(KafkaStorageError):
        lm.get_or_create_log("t", 1)  # would go to /b
    assert "/b" in lm.offline_dirs and lm.log_dir_of("t", 1) == "/b"
    assert lm.get_or_create_log("t", 2).dir == "/a/t-2"


def test_a_log_dir_is_locked_against_a_second_manager(tmp_path):
    fs = OsFileSystem()
    first = LogManager(fs, [str(tmp_path / "x"), str(tmp_path / "y")], LogConfig(), lambda: NOW)
    with pytest.raises(LogDirError, match=r"\.lock.*" + str(tmp_path / "x")):
        LogManager(fs, [str(tmp_path / "x")], LogConfig(), lambda: NOW)
    with pytest.raises(LogDirError, match=str(tmp_path / "y")):
        LogManager(fs, [str(tmp_path / "z"), str(tmp_path / "y")], LogConfig(), lambda: NOW)
    first.startup()
    first.shutdown()  # releases the locks
    LogManager(fs, [str(tmp_path / "x")], LogConfig(), lambda: NOW).release_locks()


def test_binary_garbage_in_small_files_is_a_checkpoint_error():
    with pytest.raises(CheckpointError):
        decode_offset_checkpoint(b"\xff\xfe\x00\x81")
    fs = MemoryFileSystem()
    fs.makedirs("/d")
    for body, what in [
        (b"\xff\xfe garbage", "not text"),
        (b"version=1\nnode.id=1\n", "cluster.id"),
        (b"version=7\ncluster.id=x\nnode.id=1\n", "version"),
        (b"version=1\ncluster.id=x\nnode.id=one\n", "node.id"),
        (b"garbage line\n", "key=value"),
    ]:
        fs.write_atomic("/d/meta.properties", body)
        with pytest.raises(CheckpointError, match=what) as info:
            read_meta_properties(fs, "/d")
        assert "/d/meta.properties" in str(info.value) and "\n" not in str(info.value)


def test_garbage_checkpoints_recover_every_segment():
    fs = MemoryFileSystem()
    lm = _manager(fs, ("/a",))
    _append(lm.get_or_create_log("t", 0), 7)
    lm.shutdown()
    fs.write_atomic("/a/recovery-point-offset-checkpoint", b"\x80\x81\x82")
    fs.write_atomic("/a/log-start-offset-checkpoint", b"\xff")
    lm2 = _manager(fs, ("/a",))
    log = lm2.get_log("t", 0)
    assert log.log_end_offset == 7 and log.load_info.segments_recovered == 1  # treated as unclean
