"""KRaft control records and snapshot files as Kafka writes them: Kafka's own DumpLogSegments
(``kafka-dump-log --cluster-metadata-decoder``) decodes a snapshot file Kavka builds and a log
segment that starts with Kavka's LeaderChange batch."""

from __future__ import annotations

import uuid

import pytest

from kavka.metadata.records import FeatureLevelRecord, TopicRecord, encode_record
from kavka.protocol.records import Record, build_batch, iter_batches, iter_records
from kavka.raft.control_records import (
    LeaderChange,
    decode_leader_change,
    leader_change_batch,
    parse_snapshot_name,
    read_snapshot_records,
    snapshot_file,
    snapshot_file_name,
)

DUMP = "org.apache.kafka.tools.DumpLogSegments"
VALUES = [
    encode_record(FeatureLevelRecord("metadata.version", 25)),
    encode_record(TopicRecord("orders", uuid.UUID(int=3))),
]


def test_snapshot_file_roundtrip_and_name():
    data = snapshot_file(VALUES, epoch=4, last_timestamp=123, now_ms=456)
    assert read_snapshot_records(data) == VALUES
    assert snapshot_file_name(120, 4) == "00000000000000000120-0000000004.checkpoint"
    assert parse_snapshot_name("00000000000000000120-0000000004.checkpoint") == (120, 4)
    assert parse_snapshot_name("00000000000000000120.log") is None
    last = [pos for pos, _, _ in iter_batches(data)][-1]
    with pytest.raises(ValueError, match="footer"):
        read_snapshot_records(data[:last])  # cut before its footer: not a snapshot


def test_leader_change_roundtrip():
    batch = leader_change_batch(LeaderChange(2, (1, 2, 3), (2, 3)), epoch=7, timestamp=1000, base_offset=5)
    ((header, record),) = list(iter_records(batch))
    assert header.partition_leader_epoch == 7 and header.base_offset == 5
    assert decode_leader_change(record.value) == LeaderChange(2, (1, 2, 3), (2, 3))


def test_kafka_reads_kavkas_snapshot_file(tmp_path, apache_kafka):
    path = tmp_path / snapshot_file_name(3, 4)
    path.write_bytes(snapshot_file(VALUES, epoch=4, last_timestamp=123, now_ms=456))
    done = apache_kafka.run_tool(DUMP, ["--cluster-metadata-decoder", "--files", str(path)])
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "Exception" not in out and "Error" not in out, out[-3000:]
    assert "Snapshot end offset: 3, epoch: 4" in out
    assert 'SnapshotHeader {"version":0,"lastContainedLogTimestamp":123}' in out
    assert (
        'payload: {"type":"TOPIC_RECORD","version":0,"data":{"name":"orders","topicId":"AAAAAAAAAAAAAAAAAAAAAw"}}'
        in out
    )
    assert 'SnapshotFooter {"version":0}' in out


def test_kafka_reads_a_leader_change_in_the_log(tmp_path, apache_kafka):
    segment = tmp_path / "__cluster_metadata-0" / "00000000000000000000.log"
    segment.parent.mkdir()
    data = leader_change_batch(LeaderChange(1, (1,), (1,)), epoch=1, timestamp=1000, base_offset=0)
    data += build_batch(
        [Record(1 + i, 1000, None, v, []) for i, v in enumerate(VALUES)], base_offset=1, partition_leader_epoch=1
    )
    segment.write_bytes(data)
    done = apache_kafka.run_tool(DUMP, ["--cluster-metadata-decoder", "--files", str(segment)])
    out = done.stdout + done.stderr
    assert done.returncode == 0 and "Exception" not in out and "Error" not in out, out[-3000:]
    compact = out.replace(" ", "")
    assert (
        '"leaderId":1' in compact
        and '"type":"LEADER_CHANGE"' in compact.upper().replace('"TYPE"', '"type"')
        or "LeaderChange" in out
    ), out[-3000:]
    assert '"name":"orders"' in compact, out[-3000:]
