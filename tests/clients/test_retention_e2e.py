"""Retention and DeleteRecords on a live broker, seen through confluent-kafka, kcat and the data directory.

- Time retention (``retention.ms``): a segment goes once its *largest* timestamp is older than the limit;
  records with old CreateTime timestamps make that deterministic, and the time-based roll (``segment.ms``,
  measured from the first batch's timestamp, as Kafka does) puts each generation in its own segment.
- Size retention (``retention.bytes``): the oldest segments go while the log is above the limit by at
  least their size (``segment.bytes`` at Kafka 4's 1 MiB minimum).
- The log start offset advances (ListOffsets earliest through confluent-kafka's AdminClient and kcat
  ``-Q``), a consumer positioned at offset 0 gets OFFSET_OUT_OF_RANGE and resets as
  ``auto.offset.reset`` says, and the segment files become ``*.deleted`` and leave the disk after
  ``file.delete.delay.ms``.
- DeleteRecords through the ``kavka delete-records`` command moves the log start; kcat sees it.

The broker checks retention every ``log.retention.check.interval.ms`` from its once-a-second tick, so
the private brokers here set it low. Every wait is a condition with a deadline.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka.admin import AdminClient

from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_consumer, ck_produce, ck_read_all, now_ms

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
needs_kcat = pytest.mark.skipif(KCAT is None, reason="kcat is not installed (apt-get install kcat)")

RETENTION_BROKER = {"num.partitions": "1", "log.retention.check.interval.ms": "200"}
HOUR_MS = 3_600_000


# -- helpers --------------------------------------------------------------------------------------


def kcat(*args: str, timeout: float = 30) -> str:
    proc = subprocess.run([KCAT, *args], capture_output=True, timeout=timeout)
    assert proc.returncode == 0, f"kcat {' '.join(args)} exited {proc.returncode}:\n{proc.stderr.decode()}"
    return proc.stdout.decode()


def kcat_earliest(bootstrap: str, topic: str, partition: int = 0) -> int:
    """kcat's query mode: ``-Q -t topic:partition:-2`` is ListOffsets for the earliest offset."""
    out = kcat("-b", bootstrap, "-Q", "-t", f"{topic}:{partition}:-2")
    m = re.search(rf"{re.escape(topic)} \[{partition}\] offset (-?\d+)", out)
    assert m, f"unexpected kcat -Q output: {out!r}"
    return int(m.group(1))


def kcat_offsets(bootstrap: str, topic: str) -> list[int]:
    out = kcat("-b", bootstrap, "-t", topic, "-p", "0", "-C", "-e", "-o", "beginning", "-f", "%o\\n")
    return [int(line) for line in out.split()]


def earliest_offset(admin: AdminClient | str, topic: str, partition: int = 0) -> int:
    """ListOffsets for the earliest offset through confluent-kafka's AdminClient (or a bootstrap address)."""
    from confluent_kafka import TopicPartition
    from confluent_kafka.admin import OffsetSpec

    if isinstance(admin, str):
        admin = AdminClient({"bootstrap.servers": admin})
    tp = TopicPartition(topic, partition)
    return admin.list_offsets({tp: OffsetSpec.earliest()}, request_timeout=10)[tp].result(timeout=15).offset


def partition_dir(broker, topic: str, partition: int = 0) -> Path:
    return broker.data_dir / f"{topic}-{partition}"


def live_segments(directory: Path) -> dict[int, int]:
    """``{base offset: size}`` of the ``.log`` files in a partition directory (not ``.deleted`` ones)."""
    out = {}
    for entry in os.scandir(directory):
        if entry.name.endswith(".log"):
            try:
                out[int(entry.name[:-4])] = entry.stat().st_size
            except FileNotFoundError:  # removed between the listing and the stat
                pass
    return out


def deleted_files(directory: Path) -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.endswith(".deleted"))


class DirectoryWatcher:
    """A thread listing a directory every 10 ms: ``deleted_seen`` maps each ``*.deleted`` file name to
    the monotonic times it was first and last seen."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.deleted_seen: dict[str, tuple[float, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            for name in deleted_files(self.directory):
                first, _ = self.deleted_seen.get(name, (now, now))
                self.deleted_seen[name] = (first, now)
            self._stop.wait(0.01)

    def __enter__(self) -> DirectoryWatcher:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)


def first_message_from_offset_zero(bootstrap: str, topic: str, reset: str, timeout: float = 20.0):
    """Assign offset 0 (below the log start) with ``auto.offset.reset=reset``; the first message or error."""
    from confluent_kafka import TopicPartition

    consumer = ck_consumer(bootstrap, auto_offset_reset=reset)
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = consumer.poll(0.2)
            if m is not None:
                return m
        raise AssertionError(f"nothing consumed from {topic} offset 0 within {timeout}s")
    finally:
        consumer.close()


def produce_generation(bootstrap: str, topic: str, tag: str, count: int, ts: int) -> list:
    records = [Out(f"{tag}-{i}".encode(), f"{tag} value {i}".encode(), timestamp=ts) for i in range(count)]
    return ck_produce(bootstrap, topic, records)


# -- time retention -------------------------------------------------------------------------------


def test_time_retention_advances_log_start_and_removes_files_after_delay(broker_factory, create_topic):
    b = broker_factory(overrides=RETENTION_BROKER)
    delay_ms = 1500
    topic = create_topic(
        bootstrap=b.bootstrap,
        configs={
            "retention.ms": "60000",  # one minute; the old generations are hours old
            "segment.ms": str(HOUR_MS // 6),  # ten minutes: each generation below rolls a new segment
            "file.delete.delay.ms": str(delay_ms),
        },
    )
    directory = partition_dir(b, topic)
    now = now_ms()
    # Three generations, each rolling a new segment: its first timestamp is >= an hour after the last one's.
    old = produce_generation(b.bootstrap, topic, "old", 10, now - 3 * HOUR_MS)
    older = produce_generation(b.bootstrap, topic, "mid", 10, now - 2 * HOUR_MS)
    fresh = produce_generation(b.bootstrap, topic, "new", 10, now)
    assert [d.offset for d in old + older + fresh] == list(range(30))

    # Retention moves the start to the first fresh record; the expired segments' files are first
    # renamed *.deleted, then removed once file.delete.delay.ms has passed. A watcher thread records
    # when each *.deleted file was first and last seen.
    with DirectoryWatcher(directory) as watcher:
        admin = AdminClient({"bootstrap.servers": b.bootstrap})
        wait_until(
            lambda: earliest_offset(admin, topic) == 20,
            15,
            interval=0.05,
            message="retention to move the log start to 20",
        )
        wait_until(
            lambda: watcher.deleted_seen and not deleted_files(directory),
            15,
            interval=0.05,
            message=lambda: f"*.deleted files to come and go: {sorted(os.listdir(directory))}",
        )
    assert {n for n in watcher.deleted_seen if n.endswith(".log.deleted")} == {
        f"{0:020d}.log.deleted",
        f"{10:020d}.log.deleted",
    }, watcher.deleted_seen
    # Not removed before the delay (the watcher polls every 10 ms; the broker's tick is 1 s).
    lifetimes = {n: last - first for n, (first, last) in watcher.deleted_seen.items()}
    assert max(lifetimes.values()) >= delay_ms / 1000 * 0.8, lifetimes
    assert sorted(live_segments(directory)) == [20]

    # A consumer positioned at 0 (now below the log start) resets to the earliest offset ...
    m = first_message_from_offset_zero(b.bootstrap, topic, "earliest")
    assert m.error() is None and (m.offset(), m.key(), m.value()) == (20, b"new-0", b"new value 0")
    # ... or, with auto.offset.reset=error, is told the offset is out of range.
    from confluent_kafka import KafkaError

    m = first_message_from_offset_zero(b.bootstrap, topic, "error")
    assert m.error() is not None and m.error().code() == KafkaError._AUTO_OFFSET_RESET, m.error()
    assert "out of range" in m.error().str().lower() or "offset" in m.error().str().lower(), m.error().str()

    # confluent-kafka and kcat agree on what is left.
    got = ck_read_all(b.bootstrap, topic)
    assert [(r.offset, r.key) for r in got] == [(20 + i, f"new-{i}".encode()) for i in range(10)]
    if KCAT is not None:
        assert kcat_earliest(b.bootstrap, topic) == 20
        assert kcat_offsets(b.bootstrap, topic) == list(range(20, 30))

    # The log start survives a restart (the log-start-offset checkpoint and the segments left).
    b.restart()
    assert earliest_offset(b.bootstrap, topic) == 20
    assert [r.offset for r in ck_read_all(b.bootstrap, topic)] == list(range(20, 30))


# -- size retention -------------------------------------------------------------------------------


def test_size_retention_keeps_the_newest_segments_within_retention_bytes(broker_factory, create_topic):
    b = broker_factory(overrides=RETENTION_BROKER)
    segment_bytes = 1024 * 1024  # Kafka 4's minimum segment.bytes
    retention_bytes = 1536 * 1024
    topic = create_topic(
        bootstrap=b.bootstrap,
        configs={
            "segment.bytes": str(segment_bytes),
            "retention.bytes": str(retention_bytes),
            "retention.ms": "-1",
            "file.delete.delay.ms": "0",
        },
    )
    directory = partition_dir(b, topic)
    value = os.urandom(20_000)
    count = 250  # ~5 MB: five segments or so
    delivered = ck_produce(
        b.bootstrap, topic, [Out(b"k%d" % i, value) for i in range(count)], batch_size=200_000, compression_type="none"
    )
    assert [d.offset for d in delivered] == list(range(count))

    def within_retention():
        segs = live_segments(directory)
        bases = sorted(segs)
        total = sum(segs.values())
        # Kafka's rule: delete the oldest while the excess is at least its size; so what is left exceeds
        # the limit by less than its oldest segment.
        if bases and bases[0] > 0 and total - segs[bases[0]] < retention_bytes and not deleted_files(directory):
            return bases, segs
        return None

    bases, segs = wait_until(
        within_retention,
        15,
        interval=0.05,
        message=lambda: f"size retention; segments {sorted(live_segments(directory).items())}",
    )
    assert len(bases) >= 2, segs
    assert sum(segs.values()) > retention_bytes - segment_bytes  # it did not delete more than needed
    start = bases[0]
    wait_until(
        lambda: earliest_offset(b.bootstrap, topic) == start, 10, message=f"ListOffsets earliest to report {start}"
    )

    m = first_message_from_offset_zero(b.bootstrap, topic, "earliest")
    assert m.error() is None and m.offset() == start and m.key() == b"k%d" % start
    got = ck_read_all(b.bootstrap, topic)
    assert [r.offset for r in got] == list(range(start, count))
    assert all(r.value == value for r in got)
    if KCAT is not None:
        assert kcat_earliest(b.bootstrap, topic) == start
        assert kcat_offsets(b.bootstrap, topic) == list(range(start, count))


# -- DeleteRecords through the CLI ----------------------------------------------------------------


def kavka_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).with_name("kavka")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "kavka"]
    return subprocess.run([*cmd, *args], capture_output=True, text=True, timeout=timeout)


@needs_kcat
def test_delete_records_cli_moves_log_start_seen_by_kcat(broker, create_topic):
    topic = create_topic(configs={"file.delete.delay.ms": "0", "segment.ms": str(HOUR_MS // 6)})
    now = now_ms()
    # Two segments: offsets 0-9 (an hour old) and 10-19 (now).
    produce_generation(broker.bootstrap, topic, "a", 10, now - HOUR_MS)
    produce_generation(broker.bootstrap, topic, "b", 10, now)
    directory = partition_dir(broker, topic)
    assert sorted(live_segments(directory)) == [0, 10]
    assert kcat_earliest(broker.bootstrap, topic) == 0

    # Inside the first segment: the start moves, the segment stays.
    r = kavka_cli("delete-records", topic, "--partition", "0", "--offset", "4", "--bootstrap-server", broker.bootstrap)
    assert r.returncode == 0, r.stderr
    assert f"partition: {topic}-0\tlow_watermark: 4" in r.stdout, r.stdout
    assert kcat_earliest(broker.bootstrap, topic) == 4
    assert kcat_offsets(broker.bootstrap, topic) == list(range(4, 20))
    out = kcat("-b", broker.bootstrap, "-t", topic, "-C", "-e", "-o", "beginning", "-c", "1", "-f", "%o %k %s\\n")
    assert out == "4 a-4 a value 4\n"
    assert sorted(live_segments(directory)) == [0, 10]

    # Past the first segment: it leaves the disk (file.delete.delay.ms=0).
    r = kavka_cli("delete-records", topic, "--partition", "0", "--offset", "15", "--bootstrap-server", broker.bootstrap)
    assert r.returncode == 0, r.stderr
    assert "low_watermark: 15" in r.stdout, r.stdout
    assert kcat_earliest(broker.bootstrap, topic) == 15
    assert kcat_offsets(broker.bootstrap, topic) == list(range(15, 20))
    wait_until(
        lambda: sorted(live_segments(directory)) == [10] and not deleted_files(directory),
        10,
        message=lambda: f"segment 0 to leave the disk: {sorted(os.listdir(directory))}",
    )
    assert earliest_offset(broker.bootstrap, topic) == 15

    # Below the current start is a no-op that keeps it; beyond the high watermark is an error.
    r = kavka_cli("delete-records", topic, "--offset", "2", "--bootstrap-server", broker.bootstrap)
    assert r.returncode == 0, r.stderr
    assert "low_watermark: 15" in r.stdout, r.stdout
    r = kavka_cli("delete-records", topic, "--offset", "50", "--bootstrap-server", broker.bootstrap)
    assert r.returncode != 0
    assert "OFFSET_OUT_OF_RANGE" in r.stdout + r.stderr or "out of range" in (r.stdout + r.stderr).lower(), r
    assert kcat_earliest(broker.bootstrap, topic) == 15

    # -1: everything up to the high watermark; kcat then reads nothing.
    r = kavka_cli("delete-records", topic, "--offset", "-1", "--bootstrap-server", broker.bootstrap)
    assert r.returncode == 0, r.stderr
    assert "low_watermark: 20" in r.stdout, r.stdout
    assert kcat_earliest(broker.bootstrap, topic) == 20
    assert kcat_offsets(broker.bootstrap, topic) == []
