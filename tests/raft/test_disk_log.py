"""DiskReplicatedLog (raft/disk_log.py): the ReplicatedLog contract on a real directory, the same answers
as MemoryReplicatedLog under random operations and crashes, snapshot files as Kafka keeps them, and the
Raft simulation run over on-disk logs with power losses."""

from __future__ import annotations

import logging
import os
import random
from collections.abc import Callable

import pytest

from kavka.protocol.batch import iter_headers
from kavka.raft.control_records import snapshot_file, snapshot_file_name
from kavka.raft.disk_log import DiskReplicatedLog
from kavka.raft.entries import leader_change_entry
from kavka.raft.messages import Entry
from kavka.raft.replicated_log import MemoryReplicatedLog
from kavka.storage.config import LogConfig
from kavka.storage.errors import KafkaStorageError, RecordTooLargeError
from kavka.storage.fs import FileSystem, OsFileSystem
from kavka.storage.log import PartitionLog
from kavka.testing.memfs import MemoryFileSystem
from kavka.testing.raft_sim import Simulation, SimulationFailure

NOW = 1_700_000_000_000
SMALL = LogConfig(segment_bytes=700)  # a few batches a segment: rolls and segment deletion get exercised


def state(*payloads: bytes) -> bytes:
    """A valid snapshot file holding ``payloads``."""
    return snapshot_file(list(payloads), epoch=0, last_timestamp=0, now_ms=NOW)


class Disk:
    """A DiskReplicatedLog on ``fs`` in ``<root>/__cluster_metadata-0``, reopened as after a restart."""

    def __init__(self, fs: FileSystem, root: str, config: LogConfig = SMALL, kind=DiskReplicatedLog) -> None:
        self.fs, self.dir, self.config, self.kind = fs, f"{root}/__cluster_metadata-0", config, kind
        fs.makedirs(self.dir)
        self.log = self.open()

    def open(self) -> DiskReplicatedLog:
        plog = PartitionLog(self.fs, self.dir, self.config, now_ms=NOW)
        return self.kind(plog, self.fs, lambda: NOW)

    def reopen(self) -> DiskReplicatedLog:
        self.log = self.open()
        return self.log

    def files(self) -> list[str]:
        return sorted(self.fs.listdir(self.dir))


@pytest.fixture
def disk(tmp_path) -> Disk:
    return Disk(OsFileSystem(), str(tmp_path))


def memory() -> MemoryReplicatedLog:
    return MemoryReplicatedLog()


def on_disk(tmp_path) -> DiskReplicatedLog:
    return Disk(OsFileSystem(), str(tmp_path)).log


KINDS: list[Callable] = [lambda _p: memory(), on_disk]


def fill(log, *epochs: int) -> None:
    for e in epochs:
        log.append_as_leader(e, [b"x"])


# -- the contract, for both logs ---------------------------------------------------------------------


@pytest.mark.parametrize("make", KINDS, ids=["memory", "disk"])
def test_end_offset_for_epoch_is_kafkas_answer(make, tmp_path):
    log = make(tmp_path)
    assert log.end_offset_for_epoch(3) == (0, 0) and log.last_epoch == 0  # empty
    fill(log, 1, 1, 3, 3, 3, 5)
    assert log.end_offset_for_epoch(1) == (1, 2)
    assert log.end_offset_for_epoch(2) == (1, 2)  # the largest epoch <= 2, and where it ends
    assert log.end_offset_for_epoch(3) == (3, 5)
    assert log.end_offset_for_epoch(9) == (5, 6)
    assert log.end_offset_for_epoch(0) == (0, 0)
    assert log.last_epoch == 5
    with pytest.raises(ValueError):
        log.append_as_follower([Entry(4, b"old")])  # epochs never go back


@pytest.mark.parametrize("make", KINDS, ids=["memory", "disk"])
def test_snapshots_move_the_start_and_an_epoch_inside_one_ends_below_it(make, tmp_path):
    log = make(tmp_path)
    fill(log, 1, 1, 2, 2, 4)
    log.flush()
    log.take_snapshot(3, state(b"a", b"b", b"c"))
    log.delete_before(4)  # never past the snapshot
    assert (log.start_offset, log.end_offset) == (3, 5)
    assert log.snapshot == (3, 2, state(b"a", b"b", b"c"))
    assert log.end_offset_for_epoch(1) == (0, 0)  # ended inside the snapshot: below the start
    assert log.end_offset_for_epoch(3) == (2, 4)
    with pytest.raises(ValueError):
        log.truncate_to(2)
    log.truncate_to(3)
    assert (log.end_offset, log.last_epoch, log.end_offset_for_epoch(9)) == (3, 2, (2, 3))


@pytest.mark.parametrize("make", KINDS, ids=["memory", "disk"])
def test_an_installed_snapshot_replaces_the_log(make, tmp_path):
    log = make(tmp_path)
    fill(log, 1, 1, 1)
    log.install_snapshot((10, 4, state(b"s")))
    assert (log.start_offset, log.end_offset, log.flushed_end_offset, log.last_epoch) == (10, 10, 10, 4)
    assert log.end_offset_for_epoch(4) == (4, 10) and log.end_offset_for_epoch(3) == (0, 0)
    assert log.append_as_leader(6, [b"a", b"b"]) == 10
    assert log.end_offset_for_epoch(5) == (4, 10) and log.end_offset_for_epoch(6) == (6, 12)
    assert log.read(10, 5) == (Entry(6, b"a"), Entry(6, b"b"))


# -- the disk log on a real directory ----------------------------------------------------------------


def test_entries_are_records_in_batches_of_one_append(disk):
    log = disk.log
    change = leader_change_entry(1, [1, 2, 3], [1, 2])
    assert log.append_as_leader(1, [change, b"\x01a", b"\x01b"]) == 0
    assert log.append_as_leader(1, [b"\x01c"]) == 3
    data = disk.fs.read_bytes(f"{disk.dir}/00000000000000000000.log")
    headers = [h for _, h in iter_headers(data)]
    assert [(h.base_offset, h.records_count, h.is_control, h.partition_leader_epoch) for h in headers] == [
        (0, 1, True, 1),
        (1, 2, False, 1),
        (3, 1, False, 1),
    ]
    assert log.read(0, 100) == (Entry(1, change), Entry(1, b"\x01a"), Entry(1, b"\x01b"), Entry(1, b"\x01c"))
    assert log.read(2, 1) == (Entry(1, b"\x01b"),)  # from inside a batch: its entries from there
    assert log.read(0, 2) == (Entry(1, change), Entry(1, b"\x01a"), Entry(1, b"\x01b"))  # whole batches
    assert log.read(0, 0) == (Entry(1, change),)  # at least one batch
    assert log.read(4, 10) == ()


def test_a_follower_run_larger_than_a_segment_is_written_in_runs_that_fit(disk):
    entries = []
    for epoch in (1, 2, 3, 4):  # each epoch: a LeaderChange batch and a batch of four data entries
        entries.append(Entry(epoch, leader_change_entry(1, [1], [1])))
        entries += [Entry(epoch, b"%03d" % i + b"v" * 100) for i in range(4)]
    disk.log.append_as_follower(entries)  # about 2.5 KiB of batches, segments of 700 bytes
    assert disk.log.read(0, 100) == tuple(entries) and disk.log.partition_log.num_segments > 1
    with pytest.raises(RecordTooLargeError):  # one batch alone larger than a segment cannot be written
        disk.log.append_as_leader(4, [b"x" * 800])


def test_truncation_inside_a_batch_keeps_the_entries_before_it(disk):
    log = disk.log
    log.append_as_leader(1, [b"a", b"b", b"c", b"d"])
    log.append_as_leader(2, [b"e"])
    log.truncate_to(2)
    assert log.read(0, 10) == (Entry(1, b"a"), Entry(1, b"b"))
    assert log.flushed_end_offset == 2 and log.end_offset_for_epoch(2) == (1, 2)
    assert disk.reopen().read(0, 10) == (Entry(1, b"a"), Entry(1, b"b"))


def test_snapshot_files_are_kafkas_and_read_back(disk):
    log = disk.log
    fill(log, 1, 1, 2, 2, 2, 3)
    log.take_snapshot(2, state(b"two"))
    log.take_snapshot(5, state(b"five"))
    name2, name5 = snapshot_file_name(2, 1), snapshot_file_name(5, 2)
    assert name5 == "00000000000000000005-0000000002.checkpoint"
    assert disk.fs.read_bytes(f"{disk.dir}/{name5}") == state(b"five")
    log.delete_before(3)  # the log start passes the older snapshot: its file goes, Kafka keeps the rest
    assert name2 not in disk.files() and name5 in disk.files()
    log.flush()
    again = disk.reopen()
    assert again.snapshot == (5, 2, state(b"five"))
    assert (again.start_offset, again.end_offset) == (3, 6)


def _corrupt(data: bytes) -> bytes:
    out = bytearray(data)
    out[-1] ^= 0xFF
    return bytes(out)


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"not a snapshot file", "unsupported magic"),
        (state(b"a", b"b")[:-10], "does not fit"),  # cut short
        (state(b"a")[83:], "no header"),  # without its header batch (83 bytes)
        (_corrupt(state(b"a")), "CRC"),
        (state(b"a")[:-75], "no footer"),  # without its footer batch (75 bytes)
    ],
    ids=["bytes", "cut", "no-header", "crc", "no-footer"],
)
def test_what_is_not_a_snapshot_file_is_refused_and_nothing_is_written(disk, data, error):
    fill(disk.log, 1, 1)
    with pytest.raises(ValueError, match=error):
        disk.log.take_snapshot(2, data)
    with pytest.raises(ValueError, match=error):
        disk.log.install_snapshot((9, 2, data))
    assert not [n for n in disk.files() if ".checkpoint" in n] and disk.log.end_offset == 2


def test_open_removes_leftovers_ignores_an_unreadable_snapshot_and_restarts_at_the_snapshot(disk, caplog):
    log = disk.log
    fill(log, 1, 1, 1)
    log.take_snapshot(2, state(b"ok"))
    log.flush()
    for leftover in (
        "00000000000000000002-0000000001-123.checkpoint.part",
        "00000000000000000001-0000000001.checkpoint.deleted",
    ):
        with open(f"{disk.dir}/{leftover}", "wb") as f:
            f.write(b"x")
    with open(f"{disk.dir}/{snapshot_file_name(9, 4)}", "wb") as f:
        f.write(state(b"torn")[:-10])  # cut short: no footer
    with caplog.at_level(logging.WARNING, logger="kavka.raft.disk_log"):
        again = disk.reopen()
    assert "Ignoring the snapshot" in caplog.text and snapshot_file_name(9, 4) in caplog.text
    assert again.snapshot == (2, 1, state(b"ok")) and again.end_offset == 3
    assert not [n for n in disk.files() if n.endswith((".part", ".deleted"))]
    # A follower that crashed between writing a fetched snapshot and emptying its log.
    with open(f"{disk.dir}/{snapshot_file_name(7, 3)}", "wb") as f:
        f.write(state(b"seven"))
    again = disk.reopen()
    assert (again.start_offset, again.end_offset, again.last_epoch) == (7, 7, 3)
    assert again.snapshot == (7, 3, state(b"seven")) and snapshot_file_name(2, 1) not in disk.files()


def test_a_snapshot_whose_last_entry_has_another_epoch_empties_the_log(disk):
    log = disk.log
    fill(log, 1, 1, 1, 1)
    log.flush()
    with open(f"{disk.dir}/{snapshot_file_name(3, 2)}", "wb") as f:  # the leader's entry 2 is of epoch 2
        f.write(state(b"three"))
    again = disk.reopen()
    assert (again.start_offset, again.end_offset, again.last_epoch) == (3, 3, 2)


def test_the_log_start_survives_a_clean_restart_that_forgot_it(disk):
    log = disk.log
    fill(log, *[1] * 20, *[2] * 10)
    log.take_snapshot(25, state(b"25"))
    log.delete_before(25)
    assert log.partition_log.segments[0].base_offset < 25  # the segment holding 25 stays
    log.partition_log.close()
    # The log start offset checkpoint is the log manager's and may lag: open with the default 0.
    plog = PartitionLog(disk.fs, disk.dir, SMALL, now_ms=NOW, clean_shutdown=True)
    again = DiskReplicatedLog(plog, disk.fs, lambda: NOW)
    assert (again.start_offset, again.end_offset, again.last_epoch) == (25, 30, 2)
    assert again.end_offset_for_epoch(1) == (0, 0) and again.end_offset_for_epoch(2) == (2, 30)
    assert again.read(25, 100) == (Entry(2, b"x"),) * 5


def test_a_log_past_zero_without_its_snapshot_is_refused(disk):
    log = disk.log
    fill(log, *[1] * 30)
    log.take_snapshot(25, state(b"25"))
    log.delete_before(25)
    log.flush()
    assert disk.log.partition_log.segments[0].base_offset > 0  # the segments below went
    os.remove(f"{disk.dir}/{snapshot_file_name(25, 1)}")
    with pytest.raises(KafkaStorageError, match="Inconsistent snapshot state"):
        disk.reopen()


# -- crashes (in-memory file system) -----------------------------------------------------------------


def test_a_crash_keeps_exactly_the_flushed_entries_without_a_torn_tail():
    fs = MemoryFileSystem(seed=1)
    disk = Disk(fs, "/data")
    log = disk.log
    log.append_as_leader(1, [b"a", b"b"])
    log.append_as_leader(2, [b"c"])
    log.flush()
    log.append_as_leader(2, [b"d", b"e"])
    log.append_as_leader(3, [b"f"])
    fs.crash(torn=False)
    again = disk.reopen()
    assert again.read(0, 10) == (Entry(1, b"a"), Entry(1, b"b"), Entry(2, b"c"))
    assert (again.flushed_end_offset, again.last_epoch, again.end_offset_for_epoch(3)) == (3, 2, (2, 3))


@pytest.mark.parametrize("seed", range(20))
def test_a_torn_tail_is_cut_to_whole_appends(seed):
    fs = MemoryFileSystem(seed=seed)
    disk = Disk(fs, "/data", LogConfig())
    log = disk.log
    written, boundaries = [], {0}
    for i in range(6):
        epoch = 1 + i // 2
        payloads = [b"%d.%d" % (i, k) for k in range(1 + i % 3)]
        log.append_as_leader(epoch, payloads)
        written += [Entry(epoch, p) for p in payloads]
        boundaries.add(len(written))
        if i == 1:
            log.flush()
            flushed = log.end_offset
    fs.crash(torn=True)
    again = disk.reopen()
    kept = again.read(0, 100)
    assert kept == tuple(written[: len(kept)]) and len(kept) >= flushed and len(kept) in boundaries
    assert again.end_offset_for_epoch(99) == (kept[-1].epoch, len(kept))


def snapshot_at_start(disk: Disk, epoch: int) -> bool:
    return snapshot_file_name(disk.log.start_offset, epoch) in disk.files()


def run_both(seed: int, steps: int = 120) -> None:
    """Random operations on a MemoryReplicatedLog and a DiskReplicatedLog on a crashing file system:
    every answer the contract defines must be the same after every step.

    One known difference: for the epoch of a snapshot that ends at the log start (and later epochs the
    log does not hold), the disk log answers ``(that epoch, log start)`` as Kafka does (KafkaRaftLog answers from its earliest snapshot), whatever
    moved the start there; MemoryReplicatedLog does so after an install but answers ``(0, 0)`` once
    ``delete_before`` moved its start there. Either sends a follower that lacks the snapshot to it."""
    rng = random.Random(seed)
    fs = MemoryFileSystem(seed=seed)
    disk = Disk(fs, "/data")
    mem = MemoryReplicatedLog()
    epoch = 1
    applied = 0  # a snapshot never passes what a node would have committed: here, what was flushed
    for step in range(steps):
        d = disk.log
        op = rng.choice(
            ["append"] * 5 + ["follower", "flush", "flush", "truncate", "snapshot", "delete", "crash", "install"]
        )
        if op in ("append", "follower"):
            epoch += rng.random() < 0.2
            payloads = [b"%d-%d" % (step, k) for k in range(rng.randint(1, 4))]
            if rng.random() < 0.2:
                payloads.insert(0, leader_change_entry(1, [1, 2, 3], [1]))
            if op == "append":
                assert d.append_as_leader(epoch, payloads) == mem.append_as_leader(epoch, payloads)
            else:
                entries = [Entry(epoch, p) for p in payloads]
                d.append_as_follower(entries)
                mem.append_as_follower(entries)
        elif op == "flush":
            d.flush()
            mem.flush()
        elif op == "truncate" and mem.end_offset > mem.start_offset:
            to = rng.randint(max(mem.start_offset, applied), mem.end_offset)
            cut = to < mem.end_offset
            d.truncate_to(to)
            mem.truncate_to(to)
            if cut:
                mem.flush()  # the disk log's truncation is durable up to its end (stronger than required)
        elif op == "snapshot" and mem.flushed_end_offset > mem.start_offset:
            end = rng.randint(mem.start_offset, mem.flushed_end_offset)
            if mem.snapshot is None or end >= mem.snapshot[0]:
                data = state(b"%d" % end)
                d.take_snapshot(end, data)
                mem.take_snapshot(end, data)
                applied = max(applied, end)
        elif op == "delete":
            to = rng.randint(mem.start_offset, mem.end_offset + 2)
            d.delete_before(to)
            mem.delete_before(to)
        elif op == "crash":
            fs.crash(torn=False)
            mem.crash()
            d = disk.reopen()
            # Kafka's metadata log start goes back to its first segment after a restart (the entries
            # below the snapshot are still there); move it up again to compare the rest.
            assert d.start_offset <= mem.start_offset
            if d.start_offset < mem.start_offset:
                assert d.read(d.start_offset, 10_000)[mem.start_offset - d.start_offset :] == tuple(mem.entries)
                d.delete_before(mem.start_offset)
        elif op == "install":
            end = mem.end_offset + rng.randint(0, 5)
            epoch += 1
            snap = (end, epoch, state(b"installed %d" % end))
            d.install_snapshot(snap)
            mem.install_snapshot(snap)
            applied = end
            epoch += 1
        where = f"seed {seed} step {step} ({op})"
        assert (d.start_offset, d.end_offset, d.last_epoch) == (mem.start_offset, mem.end_offset, mem.last_epoch), where
        assert d.flushed_end_offset == mem.flushed_end_offset, where
        assert d.snapshot == mem.snapshot, where
        assert d.read(mem.start_offset, 10_000) == tuple(mem.entries), where
        for e in range(0, epoch + 2):
            got, want = d.end_offset_for_epoch(e), mem.end_offset_for_epoch(e)
            if got != want and want == (0, 0) and got[1] == d.start_offset and snapshot_at_start(disk, got[0]):
                continue  # Kafka's answer from the snapshot at the log start (see the note above)
            assert got == want, f"{where} epoch {e}"


@pytest.mark.parametrize("seed", range(40))
def test_the_disk_log_answers_as_the_memory_log_does(seed):
    run_both(seed)


# -- the simulation over on-disk logs ----------------------------------------------------------------


class CrashingDiskLog:
    """A DiskReplicatedLog alone on a MemoryFileSystem; ``crash`` is a power loss (a torn unflushed tail)
    and a restart. Every other attribute is the current DiskReplicatedLog's."""

    def __init__(self, node_id: int, seed: int, kind=DiskReplicatedLog) -> None:
        self._disk = Disk(MemoryFileSystem(seed=seed * 100 + node_id), "/data", kind=kind)
        self.crashes = 0

    def crash(self) -> None:
        self._disk.fs.crash(torn=True)
        self._disk.reopen()
        self.crashes += 1

    def __getattr__(self, name):
        return getattr(self._disk.log, name)


def simulate_on_disk(seed: int, kind=DiskReplicatedLog, **kw) -> list[CrashingDiskLog]:
    """One seed of the simulation (quorum shapes as in test_raft_simulation) on crashing disk logs."""
    voters = (3, 5, 3, 1)[seed % 4]
    observers = (0, 0, 2, 1, 1)[seed % 5]
    logs: list[CrashingDiskLog] = []

    def factory(node_id: int) -> CrashingDiskLog:
        logs.append(CrashingDiskLog(node_id, seed, kind))
        return logs[-1]

    Simulation(seed, voters=voters, observers=observers, log_factory=factory, snapshot_files=True, **kw).run()
    return logs


SIM_SEEDS = int(os.environ.get("KAVKA_RAFT_DISK_SEEDS", "300"))


@pytest.mark.parametrize("first", range(0, SIM_SEEDS, 100))
def test_the_simulation_on_disk_logs(first):
    crashes = 0
    for seed in range(first, min(first + 100, SIM_SEEDS)):
        crashes += sum(log.crashes for log in simulate_on_disk(seed))
    assert crashes > 50  # power losses happened, with torn tails, and restarts read the disk back


class FlushLies(DiskReplicatedLog):
    """Reports everything flushed and never fsyncs: a power loss loses acknowledged entries."""

    @property
    def flushed_end_offset(self) -> int:
        return self.end_offset

    def flush(self) -> None:
        pass


def test_the_simulation_on_disk_logs_catches_a_log_that_lies_about_flushing():
    caught = None
    for seed in range(300):
        try:
            simulate_on_disk(seed, FlushLies, crash_every_ms=800)
        except SimulationFailure as e:
            caught = e
            break
    assert caught is not None, "300 seeds and the checker saw nothing"
    assert "replay: KAVKA_RAFT_SEED=" in str(caught)
