"""DiskReplicatedLog and Kafka 4.4 read each other's metadata logs.

- Kafka's ``kafka-dump-log --cluster-metadata-decoder`` (DumpLogSegments) reads the metadata log and
  the snapshot that DiskReplicatedLog writes: real metadata records, LeaderChange control records from
  two leader epochs (one appended as leader, one as follower), a truncation inside a batch, and a
  Kafka snapshot file.
- DiskReplicatedLog opens a copy of the running Kafka node's own ``__cluster_metadata-0`` (its
  bootstrap snapshot, its LeaderChange / KRaftVersion / KRaftVoters control records, its epochs), and
  the same entries written again by DiskReplicatedLog dump record for record as Kafka's do.
"""

from __future__ import annotations

import re
import shutil
import uuid

from kavka.metadata.records import (
    FeatureLevelRecord,
    NoOpRecord,
    PartitionRecord,
    ProducerIdsRecord,
    TopicRecord,
    encode_record,
)
from kavka.protocol.records import ControlType
from kavka.raft.control_records import decode_leader_change, read_snapshot_records, snapshot_file, snapshot_file_name
from kavka.raft.disk_log import DiskReplicatedLog
from kavka.raft.entries import control_parts, is_control, leader_change_entry
from kavka.raft.messages import Entry
from kavka.storage.config import LogConfig
from kavka.storage.fs import OsFileSystem
from kavka.storage.log import PartitionLog

DUMP = "org.apache.kafka.tools.DumpLogSegments"
NOW = 1_700_000_000_000
TOPIC_ID = uuid.UUID(int=7)
RECORDS = [
    encode_record(FeatureLevelRecord("metadata.version", 25)),
    encode_record(TopicRecord("orders", TOPIC_ID)),
    encode_record(PartitionRecord(0, TOPIC_ID, (1, 2, 3), (1, 2, 3), 1)),
]


def _open(path: str) -> DiskReplicatedLog:
    fs = OsFileSystem()
    return DiskReplicatedLog(PartitionLog(fs, path, LogConfig(), now_ms=NOW), fs, lambda: NOW)


def test_kafka_reads_the_metadata_log_and_snapshot_kavka_writes(tmp_path, apache_kafka):
    path = str(tmp_path / "__cluster_metadata-0")
    OsFileSystem().makedirs(path)
    log = _open(path)
    assert log.append_as_leader(1, [leader_change_entry(1, [1, 2, 3], [1, 2]), *RECORDS]) == 0
    log.append_as_follower(
        [
            Entry(3, leader_change_entry(2, [1, 2, 3], [2, 3])),
            Entry(3, encode_record(NoOpRecord())),
            Entry(3, encode_record(ProducerIdsRecord(2, 5, 999))),
        ]
    )
    log.truncate_to(6)  # inside the follower's batch: its entry 5 is written again in a batch of its own
    log.append_as_leader(3, [encode_record(ProducerIdsRecord(2, 5, 1000))])
    log.flush()
    log.take_snapshot(4, snapshot_file(RECORDS, epoch=1, last_timestamp=NOW, now_ms=NOW))
    assert _open(path).snapshot == log.snapshot  # read back from its file

    segment = f"{path}/00000000000000000000.log"
    checkpoint = f"{path}/{snapshot_file_name(4, 1)}"
    done = apache_kafka.run_tool(DUMP, ["--cluster-metadata-decoder", "--files", f"{segment},{checkpoint}"])
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "Exception" not in out and "Error" not in out, out[-3000:]
    log_part, snapshot_part = out.split(f"Dumping {checkpoint}")

    batches = re.findall(
        r"baseOffset: (\d+) lastOffset: (\d+) .*partitionLeaderEpoch: (\d+) .*isControl: (\w+)", log_part
    )
    assert batches == [
        ("0", "0", "1", "true"),
        ("1", "3", "1", "false"),
        ("4", "4", "3", "true"),
        ("5", "5", "3", "false"),
        ("6", "6", "3", "false"),
    ]
    assert 'LeaderChange: {"version":0,"leaderId":1,' in log_part
    assert '"grantingVoters":[{"voterId":2},{"voterId":3}]}' in log_part
    for kind in ("FEATURE_LEVEL_RECORD", "TOPIC_RECORD", "PARTITION_RECORD", "NO_OP_RECORD", "PRODUCER_IDS_RECORD"):
        assert f'payload: {{"type":"{kind}"' in log_part, kind
    assert '"data":{"brokerId":2,"brokerEpoch":5,"nextProducerId":1000}' in log_part and "999" not in log_part

    assert "Snapshot end offset: 4, epoch: 1" in snapshot_part
    assert f'SnapshotHeader {{"version":0,"lastContainedLogTimestamp":{NOW}}}' in snapshot_part
    assert snapshot_part.count('payload: {"type":') == 3 and 'SnapshotFooter {"version":0}' in snapshot_part


def _record_lines(dump: str) -> list[str]:
    """The tool's per-record lines, without the times each log stamped."""
    return [re.sub(r"CreateTime: \d+ ", "", line) for line in dump.splitlines() if line.startswith("| offset:")]


def test_kavka_opens_kafkas_own_metadata_log_and_writes_the_same_records(tmp_path, apache_kafka):
    # A copy of the running node's log: a batch being written as it is copied is a torn tail, cut on open.
    theirs = tmp_path / "kafka" / "__cluster_metadata-0"
    shutil.copytree(apache_kafka.data_dir / "__cluster_metadata-0", theirs)
    log = _open(str(theirs))
    assert log.start_offset == 0 and log.end_offset >= 4
    end, epoch, data = log.snapshot
    assert (end, epoch) == (0, 0) and read_snapshot_records(data)  # the bootstrap snapshot, 0-0
    entries = log.read(0, 100_000)
    assert len(entries) == log.end_offset and {e.epoch for e in entries} == {log.last_epoch}
    key, value = control_parts(entries[0].data)
    assert int.from_bytes(key[2:], "big") == ControlType.LEADER_CHANGE
    assert decode_leader_change(value).leader_id == apache_kafka.node_id
    controls = [int.from_bytes(control_parts(e.data)[0][2:], "big") for e in entries if is_control(e.data)]
    assert {ControlType.KRAFT_VERSION, ControlType.KRAFT_VOTERS} <= set(controls)
    assert all(e.data[0] == 1 for e in entries if not is_control(e.data))  # metadata record frames
    assert log.end_offset_for_epoch(log.last_epoch) == (log.last_epoch, log.end_offset)

    ours_dir = tmp_path / "kavka" / "__cluster_metadata-0"
    OsFileSystem().makedirs(str(ours_dir))
    ours = _open(str(ours_dir))
    ours.append_as_follower(entries)
    ours.flush()
    assert ours.read(0, 100_000) == entries
    files = [str(p) for d in (theirs, ours_dir) for p in sorted(d.glob("*.log"))]
    done = apache_kafka.run_tool(DUMP, ["--cluster-metadata-decoder", "--files", ",".join(files)])
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "Exception" not in out and "Error" not in out, out[-3000:]
    kafka_dump, kavka_dump = out.split(f"Dumping {files[-1]}")
    assert _record_lines(kavka_dump) == _record_lines(kafka_dump) and len(_record_lines(kafka_dump)) == len(entries) > 4
