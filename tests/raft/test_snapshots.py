"""Metadata snapshot files (``kavka.raft.snapshots``): image -> ``.checkpoint`` bytes -> image, the batch
layout Kafka's snapshot writer uses, refusal of files that are not whole snapshots, and the policy for
when to take one (Kafka's SnapshotGenerator). Kafka reading these files, and Kavka reading Kafka's, is
in ``tests/oracle/test_kafka_reads_snapshot.py``."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kavka.metadata.config import BrokerConfig
from kavka.metadata.image import MetadataImage, apply_all
from kavka.metadata.records import (
    ConfigRecord,
    ConfigResourceType,
    FeatureLevelRecord,
    PartitionRecord,
    TopicRecord,
    encode_record,
)
from kavka.protocol.batch import CONTROL_BIT
from kavka.protocol.records import ControlType, control_record_type, iter_batches
from kavka.raft.control_records import snapshot_file
from kavka.raft.snapshots import (
    MAX_BATCH_SIZE_BYTES,
    SnapshotPolicy,
    batch_sizes,
    image_from_snapshot,
    snapshot_bytes,
)
from tests.metadata.test_image_records import CLUSTER, _assert_same, _image_from, _rich_image, ops

MiB = 1024 * 1024


def _batches(data: bytes):
    return [(header, records) for _, header, records in iter_batches(data)]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(ops, min_size=10, max_size=40), st.integers(0, 2**32))
def test_a_snapshot_file_rebuilds_the_image(run, seed):
    image = _image_from(run, seed)
    data = snapshot_bytes(image, end_offset=500, epoch=3, last_timestamp=1000, now_ms=2000)
    _assert_same(image_from_snapshot(data, CLUSTER), image)


def test_layout_header_data_footer():
    image = _rich_image()
    data = snapshot_bytes(image, end_offset=42, epoch=7, last_timestamp=1234, now_ms=5678)
    batches = _batches(data)
    (h0, (header,)), *middle, (hf, (footer,)) = batches
    assert h0.base_offset == 0 and h0.attributes & 0x20
    assert control_record_type(header) == (0, ControlType.SNAPSHOT_HEADER)
    assert header.value == (0).to_bytes(2, "big") + (1234).to_bytes(8, "big") + b"\x00"
    assert control_record_type(footer) == (0, ControlType.SNAPSHOT_FOOTER)
    offsets = [r.offset for _, records in batches for r in records]
    assert offsets == list(range(len(offsets)))  # offsets count from 0 within the file
    assert all(h.partition_leader_epoch == 7 for h, _ in batches)
    assert all(h.base_timestamp == 5678 for h, _ in batches)
    assert len(middle) == 1 and not middle[0][0].attributes & 0x20


def _data_batches(data: bytes) -> list[tuple[int, int]]:
    """(records, bytes) of each data batch of a snapshot file."""
    positions = [pos for pos, _, _ in iter_batches(data)] + [len(data)]
    batches = [(header, records) for _, header, records in iter_batches(data)]
    return [
        (len(records), positions[i + 1] - positions[i])
        for i, (header, records) in enumerate(batches)
        if not header.attributes & CONTROL_BIT
    ]


def test_a_snapshot_under_8_mib_is_one_batch():
    # As Kafka 4.4 writes it: its writer's batches fill up to 8 MiB (a 1100-partition topic's snapshot
    # is one batch of 1110 records there), though the records come 1024 at a time.
    topic_id = uuid.UUID(int=1)
    records = [FeatureLevelRecord("metadata.version", 25), TopicRecord("big", topic_id)]
    records += [PartitionRecord(p, topic_id, (1,), (1,), 1) for p in range(3000)]
    image = apply_all(MetadataImage.empty(CLUSTER), records)
    data = snapshot_bytes(image, end_offset=3002, epoch=1, last_timestamp=0, now_ms=0)
    assert [n for n, _ in _data_batches(data)] == [3002]
    _assert_same(image_from_snapshot(data, CLUSTER), image)


def _configs_image(count: int, size: int) -> MetadataImage:
    records = [ConfigRecord(ConfigResourceType.BROKER, "", f"custom.{i:05d}", "x" * size) for i in range(count)]
    return apply_all(MetadataImage.empty(CLUSTER), records)


def test_batches_break_between_groups_of_1024_within_8_mib():
    # 3000 records of about 3 KiB: two groups of 1024 (6 MiB) fit in one batch, the third does not.
    image = _configs_image(3000, 3 * 1024)
    data = snapshot_bytes(image, end_offset=3000, epoch=1, last_timestamp=0, now_ms=0)
    batches = _data_batches(data)
    assert [n for n, _ in batches] == [2048, 952]
    assert all(size <= MAX_BATCH_SIZE_BYTES for _, size in batches)
    # 4100 bytes each: two full groups would pass 8 MiB, but the short last group fits beside the second
    assert batch_sizes([b"x" * 4100] * 3000) == [1024, 1976]
    assert batch_sizes([b"x" * 4100] * 3072) == [1024, 1024, 1024]
    _assert_same(image_from_snapshot(data, CLUSTER), image)


def test_a_group_over_8_mib_is_split_by_bytes():
    # Kafka fails such a snapshot (RecordBatchTooLargeException); Kavka fills batches up to 8 MiB.
    image = _configs_image(40, 512 * 1024)
    data = snapshot_bytes(image, end_offset=40, epoch=1, last_timestamp=0, now_ms=0)
    batches = _data_batches(data)
    assert [n for n, _ in batches] == [15, 15, 10]
    assert all(MAX_BATCH_SIZE_BYTES - 512 * 1024 < size <= MAX_BATCH_SIZE_BYTES for _, size in batches[:-1])
    _assert_same(image_from_snapshot(data, CLUSTER), image)


def test_a_file_cut_short_or_headless_is_refused():
    data = snapshot_bytes(_rich_image(), end_offset=10, epoch=1, last_timestamp=0, now_ms=0)
    positions = [pos for pos, _, _ in iter_batches(data)]
    with pytest.raises(ValueError, match="not a metadata snapshot: the snapshot has no footer"):
        image_from_snapshot(data[: positions[-1]], CLUSTER)
    with pytest.raises(ValueError, match="not a metadata snapshot: the snapshot has no footer"):
        image_from_snapshot(data[:-5], CLUSTER)  # torn inside the footer batch
    with pytest.raises(ValueError, match="not a metadata snapshot: the snapshot has no header"):
        image_from_snapshot(data[positions[1] :], CLUSTER)
    with pytest.raises(ValueError, match="not a metadata snapshot"):
        image_from_snapshot(b"", CLUSTER)


def _file(*values: bytes) -> bytes:
    return snapshot_file(list(values), epoch=1, last_timestamp=0, now_ms=0)


def test_a_record_that_does_not_apply_is_named():
    orphan = PartitionRecord(0, uuid.UUID(int=9), (1,), (1,), 1)
    data = _file(encode_record(FeatureLevelRecord("metadata.version", 25)), encode_record(orphan))
    with pytest.raises(ValueError, match="snapshot record 1: PartitionRecord for unknown topic id"):
        image_from_snapshot(data, CLUSTER)


# A RegisterControllerRecord (api key 27) and a RegisterBrokerRecord at version 4, as Kafka 4.4 writes
# them; the bodies do not matter, Kavka does not get as far as decoding them.
CONTROLLER_RECORD = bytes([1, 27, 0]) + b"\x00" * 8
BROKER_RECORD_V4 = bytes([1, 0, 4]) + b"\x00" * 8


def test_records_kavka_does_not_read_fail_or_are_skipped_with_a_reason():
    topic = encode_record(TopicRecord("orders", uuid.UUID(int=5)))
    data = _file(encode_record(FeatureLevelRecord("metadata.version", 25)), CONTROLLER_RECORD, BROKER_RECORD_V4, topic)
    with pytest.raises(ValueError, match=r"snapshot record 1: RegisterControllerRecord \(api key 27, version 0\)"):
        image_from_snapshot(data, CLUSTER)
    reasons: list[str] = []
    image = image_from_snapshot(data, CLUSTER, on_unknown=reasons.append)
    assert reasons == [
        "snapshot record 1 skipped: RegisterControllerRecord (api key 27, version 0): a record type Kavka does not read",
        "snapshot record 2 skipped: RegisterBrokerRecord version 4: Kavka reads versions 0 to 3",
    ]
    assert set(image.topics_by_name) == {"orders"} and image.metadata_version == 25


def test_policy_takes_one_after_max_bytes():
    policy = SnapshotPolicy(max_bytes_between=1000, max_interval_ms=0)
    assert not policy.record_appended(600, now_ms=10**12)  # interval 0: time never triggers
    assert not policy.record_appended(399)
    assert policy.record_appended(1) and policy.reason == "we have replayed at least 1000 bytes"
    assert policy.record_appended(10)  # still due until one is taken
    policy.snapshot_taken(now_ms=5)
    assert policy.bytes_since == 0 and not policy.record_appended(999)


def test_policy_takes_one_after_the_interval():
    policy = SnapshotPolicy(max_bytes_between=10**9, max_interval_ms=3_600_000, last_snapshot_ms=1000)
    assert not policy.record_appended(10, now_ms=3_600_999)
    assert policy.record_appended(10, now_ms=3_601_000) and policy.reason == "we have waited at least 60 minute(s)"
    policy.snapshot_taken(now_ms=3_601_000)
    assert not policy.record_appended(10, now_ms=7_200_999)
    assert policy.record_appended(10, now_ms=7_201_000)


def test_policy_from_config_uses_kafkas_names_and_defaults():
    default = SnapshotPolicy.from_config(BrokerConfig.for_serve(), now_ms=7)
    assert (default.max_bytes_between, default.max_interval_ms, default.last_snapshot_ms) == (20 * MiB, 3_600_000, 7)
    config = BrokerConfig.for_serve(
        {"metadata.log.max.record.bytes.between.snapshots": "4096", "metadata.log.max.snapshot.interval.ms": "0"}
    )
    assert SnapshotPolicy.from_config(config, now_ms=0) == SnapshotPolicy(4096, 0, 0)
    with pytest.raises(ValueError, match="metadata.log.max.record.bytes.between.snapshots: Value must be at least 1"):
        SnapshotPolicy(max_bytes_between=0)
    with pytest.raises(ValueError, match="metadata.log.max.snapshot.interval.ms: Value must be at least 0"):
        SnapshotPolicy(max_interval_ms=-1)


def test_a_damaged_byte_is_refused_or_harmless():
    """Every byte of a snapshot flipped, one at a time: the file is refused with ValueError, or (bytes the
    batch CRC does not cover, such as a batch's partition leader epoch) gives the same image."""
    image = _rich_image()
    data = snapshot_bytes(image, end_offset=1, epoch=1, last_timestamp=0, now_ms=0)
    outcomes = {"refused": 0, "same": 0}
    for pos in range(len(data)):
        for mask in (0x01, 0x80):
            damaged = bytearray(data)
            damaged[pos] ^= mask
            try:
                rebuilt = image_from_snapshot(bytes(damaged), CLUSTER)
            except ValueError as e:
                assert str(e).startswith(("not a metadata snapshot: ", "snapshot record ")), e
                outcomes["refused"] += 1
                continue
            assert rebuilt == image, (pos, mask)
            outcomes["same"] += 1
    assert outcomes["refused"] > 10 * outcomes["same"] > 0
