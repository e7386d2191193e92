"""LogManager: startup/shutdown, clean-shutdown marker, checkpoints, placement, deletion; file helpers."""

from __future__ import annotations

import uuid

import pytest

from kavka.storage.checkpoints import (
    CheckpointError,
    decode_offset_checkpoint,
    read_meta_properties,
    read_offset_checkpoint,
    read_partition_metadata,
    topic_id_from_str,
    topic_id_to_str,
    write_meta_properties,
    write_offset_checkpoint,
)
from kavka.storage.config import LogConfig
from kavka.storage.fs import OsFileSystem
from kavka.storage.manager import CLEAN_SHUTDOWN_MARKER, LogManager
from kavka.testing.memfs import MemoryFileSystem
from tests.storage.storage_batches import idempotent_batch, make_batch

NOW = 1_700_000_000_000


class Clock:
    def __init__(self):
        self.now = NOW

    def __call__(self):
        return self.now


def _manager(fs, dirs=("/a", "/b"), config=None):
    lm = LogManager(fs, list(dirs), config or LogConfig(), Clock())
    lm.startup()
    return lm


def _produce(log, n=1, **kw):
    return log.append_as_leader(bytearray(make_batch(n, timestamp=NOW, **kw)), leader_epoch=0, now_ms=NOW)


def test_offset_checkpoint_format():
    fs = MemoryFileSystem()
    fs.makedirs("/a")
    write_offset_checkpoint(fs, "/a/ckpt", {("orders", 1): 42, ("__consumer_offsets", 0): 7})
    assert fs.read_bytes("/a/ckpt") == b"0\n2\n__consumer_offsets 0 7\norders 1 42\n"
    assert read_offset_checkpoint(fs, "/a/ckpt") == {("orders", 1): 42, ("__consumer_offsets", 0): 7}
    assert read_offset_checkpoint(fs, "/a/none") == {}
    with pytest.raises(CheckpointError):
        decode_offset_checkpoint(b"1\n0\n")
    with pytest.raises(CheckpointError):
        decode_offset_checkpoint(b"0\n2\nt 0 1\n")


def test_partition_metadata_and_meta_properties():
    fs = MemoryFileSystem()
    fs.makedirs("/a/t-0")
    raw = uuid.UUID("12345678-1234-5678-1234-567812345678").bytes
    from kavka.storage.checkpoints import write_partition_metadata

    write_partition_metadata(fs, "/a/t-0", raw)
    text = fs.read_bytes("/a/t-0/partition.metadata").decode()
    assert text == f"version: 0\ntopic_id: {topic_id_to_str(raw)}"
    assert "=" not in topic_id_to_str(raw) and topic_id_from_str(topic_id_to_str(raw)) == raw
    assert read_partition_metadata(fs, "/a/t-0") == topic_id_to_str(raw)
    props = write_meta_properties(fs, "/a", cluster_id="abc", node_id=1)
    read = read_meta_properties(fs, "/a")
    assert read == props and read["version"] == "1" and read["node.id"] == "1" and read["cluster.id"] == "abc"
    assert read_meta_properties(fs, "/nowhere") is None


def test_logs_spread_over_dirs_and_survive_clean_restart():
    fs = MemoryFileSystem()
    lm = _manager(fs)
    logs = [lm.get_or_create_log("t", p, uuid.uuid4().bytes, LogConfig()) for p in range(4)]
    assert sorted(fs.listdir("/a")) == ["t-0", "t-2"] and sorted(fs.listdir("/b")) == ["t-1", "t-3"]
    assert lm.get_or_create_log("t", 0) is logs[0]
    for i, log in enumerate(logs):
        _produce(log, i + 1)
    lm.shutdown()
    for d in ("/a", "/b"):
        assert fs.exists(f"{d}/{CLEAN_SHUTDOWN_MARKER}")
        assert fs.exists(f"{d}/recovery-point-offset-checkpoint")
        assert fs.exists(f"{d}/log-start-offset-checkpoint")
    assert read_offset_checkpoint(fs, "/a/recovery-point-offset-checkpoint") == {("t", 0): 1, ("t", 2): 3}

    lm2 = _manager(fs)
    assert lm2.had_clean_shutdown == {"/a": True, "/b": True}
    assert not fs.exists(f"/a/{CLEAN_SHUTDOWN_MARKER}")  # removed before anything is appended
    assert sorted((l.topic, l.partition, l.log_end_offset) for l in lm2.all_logs()) == [
        ("t", 0, 1),
        ("t", 1, 2),
        ("t", 2, 3),
        ("t", 3, 4),
    ]
    assert lm2.get_log("t", 0).topic_id == logs[0].topic_id
    assert all(l.load_info.segments_recovered == 0 for l in lm2.all_logs())


def test_crash_means_recovery_from_checkpointed_recovery_points():
    fs = MemoryFileSystem(seed=2)
    lm = _manager(fs, dirs=("/a",), config=LogConfig(segment_bytes=1000))
    log = lm.get_or_create_log("t", 0, None, LogConfig(segment_bytes=1000))
    for seq in range(40):
        log.append_as_leader(
            bytearray(idempotent_batch(1, 0, seq, 1, value_size=50, timestamp=NOW)), leader_epoch=0, now_ms=NOW
        )
    assert log.recovery_point == 0  # rolls defer their fsync to the tick
    assert lm.flush_rolled() == 1
    lm.checkpoint_recovery_points()
    rp = log.recovery_point
    assert rp > 0  # the tick flushed the rolled segments
    fs.crash()
    lm2 = _manager(fs, dirs=("/a",), config=LogConfig(segment_bytes=1000))
    assert lm2.had_clean_shutdown == {"/a": False}
    log2 = lm2.get_log("t", 0)
    assert log2.load_info.segments_recovered >= 1
    assert log2.load_info.segments_recovered < log2.num_segments + 1
    assert log2.log_end_offset >= rp
    dup_seq = log2.log_end_offset - 1
    r = log2.append_as_leader(
        bytearray(idempotent_batch(1, 0, dup_seq, 1, value_size=50, timestamp=NOW)), leader_epoch=0, now_ms=NOW
    )
    assert r.duplicate and r.base_offset == dup_seq


def test_delete_log_and_leftover_delete_dirs():
    fs = MemoryFileSystem()
    lm = _manager(fs, dirs=("/a",))
    log = lm.get_or_create_log("gone", 0)
    _produce(log)
    assert lm.delete_log("gone", 0)
    assert lm.get_log("gone", 0) is None and fs.listdir("/a") == []
    assert not lm.delete_log("gone", 0)
    fs.makedirs("/a/old-0.0123abcd-delete")
    fs.makedirs("/a/moving-0-future")
    fs.makedirs("/a/not a partition")
    lm.shutdown()
    lm2 = _manager(fs, dirs=("/a",))
    assert not fs.exists("/a/old-0.0123abcd-delete")
    assert lm2.all_logs() == []


def test_update_config_and_flush_and_tick():
    fs = MemoryFileSystem()
    clock = Clock()
    lm = LogManager(fs, ["/a"], LogConfig(), clock)
    lm.startup()
    log = lm.get_or_create_log("t", 0)
    _produce(log)
    lm.update_config("t", LogConfig(flush_ms=1000))
    assert log.config.flush_ms == 1000
    clock.now += 1500
    lm.tick()
    assert log.recovery_point == 1
    _produce(log)
    lm.flush_all()
    assert log.recovery_point == 2
    clock.now += lm.checkpoint_interval_ms
    lm.tick()
    assert read_offset_checkpoint(fs, "/a/recovery-point-offset-checkpoint") == {("t", 0): 2}


def test_metadata_log_is_just_a_log(tmp_path):
    fs = OsFileSystem()
    dirs = [str(tmp_path / "d1")]
    lm = LogManager(fs, dirs, LogConfig(), Clock())
    lm.startup()
    meta = lm.get_or_create_log("__cluster_metadata", 0)
    _produce(meta, 3)
    lm.shutdown()
    lm2 = LogManager(fs, dirs, LogConfig(), Clock())
    lm2.startup()
    assert lm2.get_log("__cluster_metadata", 0).log_end_offset == 3
    lm2.shutdown()
