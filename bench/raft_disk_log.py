#!/usr/bin/env python3
"""The Raft metadata log on disk (``kavka.raft.disk_log.DiskReplicatedLog``) beside the in-memory one.

Figures, on a real directory (``--dir``, default a temporary one under /work/tmp so it is the disk the
project runs on, not tmpfs):

- appends of one entry (a proposal) and of 100 entries (a follower's fetch), entries/s, without flush;
- append + flush (fsync, as a leader's ``poll`` does for every new entry), appends/s;
- ``read`` of the whole log 500 entries at a time (a leader answering fetches), entries/s;
- opening a log of ``--entries`` entries after a clean close and after an unclean stop (full
  recovery scan), ms;
- taking a snapshot of ``--snapshot-records`` metadata-sized records (write, fsync, rename), ms;

and MemoryReplicatedLog's appends and reads for scale. Run::

    .venv/bin/python bench/raft_disk_log.py
    .venv/bin/python bench/raft_disk_log.py --entries 200000

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from benchlib import machine, report
from kavka.raft.control_records import snapshot_file
from kavka.raft.disk_log import DiskReplicatedLog
from kavka.raft.replicated_log import MemoryReplicatedLog
from kavka.storage.config import LogConfig
from kavka.storage.fs import OsFileSystem
from kavka.storage.log import PartitionLog

NOW = 1_700_000_000_000
PAYLOAD = b"\x01" + b"p" * 99  # a metadata record frame of ~100 bytes (a PartitionRecord is ~64)


def _open(root: Path, clean: bool = False) -> DiskReplicatedLog:
    fs = OsFileSystem()
    path = str(root / "__cluster_metadata-0")
    fs.makedirs(path)
    plog = PartitionLog(fs, path, LogConfig(), now_ms=NOW, clean_shutdown=clean)
    return DiskReplicatedLog(plog, fs, lambda: NOW)


def _rate(n: int, fn) -> float:
    t0 = time.perf_counter()
    fn()
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=100_000)
    ap.add_argument("--fsyncs", type=int, default=300)
    ap.add_argument("--snapshot-records", type=int, default=20_000)
    ap.add_argument("--dir", type=Path, default=None)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    base = args.dir or Path("/work/tmp")
    base.mkdir(parents=True, exist_ok=True)
    root = Path(tempfile.mkdtemp(prefix="raft-disk-log-", dir=base))
    out: dict = {}
    n = args.entries
    try:
        log = _open(root / "a")
        out["disk_append_1_per_s"] = _rate(
            n // 10, lambda: [log.append_as_leader(1, [PAYLOAD]) for _ in range(n // 10)]
        )
        batches = n // 100
        out["disk_append_100_entries_per_s"] = _rate(
            batches * 100, lambda: [log.append_as_leader(2, [PAYLOAD] * 100) for _ in range(batches)]
        )
        total = log.end_offset

        def read_all() -> None:
            offset = 0
            while offset < total:
                offset += len(log.read(offset, 500))

        out["disk_read_entries_per_s"] = _rate(total, read_all)
        log.flush()

        def append_flush() -> None:
            for _ in range(args.fsyncs):
                log.append_as_leader(3, [PAYLOAD])
                log.flush()

        out["disk_append_flush_per_s"] = _rate(args.fsyncs, append_flush)
        out["disk_log_entries"] = log.end_offset
        log.partition_log.close()
        t0 = time.perf_counter()
        _open(root / "a", clean=True)
        out["disk_open_clean_ms"] = (time.perf_counter() - t0) * 1000
        t0 = time.perf_counter()
        reopened = _open(root / "a", clean=False)
        out["disk_open_recovery_ms"] = (time.perf_counter() - t0) * 1000

        values = [PAYLOAD] * args.snapshot_records
        data = snapshot_file(values, epoch=3, last_timestamp=NOW, now_ms=NOW)
        t0 = time.perf_counter()
        reopened.take_snapshot(reopened.end_offset, data)
        out["disk_snapshot_ms"] = (time.perf_counter() - t0) * 1000
        out["disk_snapshot_bytes"] = len(data)

        mem = MemoryReplicatedLog()
        out["memory_append_1_per_s"] = _rate(
            n // 10, lambda: [mem.append_as_leader(1, [PAYLOAD]) for _ in range(n // 10)]
        )
        out["memory_append_100_entries_per_s"] = _rate(
            batches * 100, lambda: [mem.append_as_leader(2, [PAYLOAD] * 100) for _ in range(batches)]
        )
        mtotal = mem.end_offset

        def mem_read_all() -> None:
            offset = 0
            while offset < mtotal:
                offset += len(mem.read(offset, 500))

        out["memory_read_entries_per_s"] = _rate(mtotal, mem_read_all)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    out["machine"] = machine()
    report(out, args.json)


if __name__ == "__main__":
    main()
