"""Byte-level tests of the __consumer_offsets record codecs, against Kafka's schemas."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kavka.coordinator.group import partition_for
from kavka.coordinator.group.records import (
    GroupMetadataKey,
    GroupMetadataValue,
    MemberMetadata,
    OffsetCommitKey,
    OffsetCommitValue,
    decode_group_metadata_value,
    decode_key,
    decode_offset_commit_value,
    decode_record,
    encode_key,
    encode_value,
    group_metadata_tombstone,
    offset_commit_record,
)
from kavka.protocol.primitives import ProtocolDecodeError


def s16(text: str) -> bytes:
    raw = text.encode()
    return struct.pack(">h", len(raw)) + raw


def test_offset_commit_key_is_version_1_group_topic_partition():
    assert encode_key(OffsetCommitKey("g", "t", 7)) == b"\x00\x01" + s16("g") + s16("t") + struct.pack(">i", 7)


def test_offset_commit_key_version_0_reads_the_same():
    raw = b"\x00\x00" + s16("grp") + s16("topic") + struct.pack(">i", 3)
    assert decode_key(raw) == OffsetCommitKey("grp", "topic", 3)


def test_group_metadata_key_is_version_2():
    assert encode_key(GroupMetadataKey("my-group")) == b"\x00\x02" + s16("my-group")
    assert decode_key(b"\x00\x02" + s16("my-group")) == GroupMetadataKey("my-group")


def test_offset_commit_value_v3_layout():
    v = OffsetCommitValue(offset=42, metadata="meta", commit_timestamp=1000, leader_epoch=5)
    expected = b"\x00\x03" + struct.pack(">q", 42) + struct.pack(">i", 5) + s16("meta") + struct.pack(">q", 1000)
    assert encode_value(v) == expected


def test_offset_commit_value_with_expiry_is_written_as_v1():
    v = OffsetCommitValue(offset=1, metadata="", commit_timestamp=10, expire_timestamp=99)
    raw = encode_value(v)
    assert raw == b"\x00\x01" + struct.pack(">q", 1) + s16("") + struct.pack(">q", 10) + struct.pack(">q", 99)
    assert decode_offset_commit_value(raw) == v


@pytest.mark.parametrize("version", [0, 2])
def test_offset_commit_value_old_versions(version):
    raw = struct.pack(">h", version) + struct.pack(">q", 7) + s16("m") + struct.pack(">q", 123)
    assert decode_offset_commit_value(raw) == OffsetCommitValue(7, "m", 123, -1, -1)


def test_offset_commit_value_v4_is_flexible():
    # offset, leaderEpoch, compact "ab", commitTimestamp, one unknown tagged field (tag 9, 2 bytes)
    raw = (
        b"\x00\x04"
        + struct.pack(">q", 5)
        + struct.pack(">i", 2)
        + b"\x03ab"
        + struct.pack(">q", 77)
        + b"\x01\x09\x02zz"
    )
    assert decode_offset_commit_value(raw) == OffsetCommitValue(5, "ab", 77, 2, -1)


def test_group_metadata_value_v3_layout():
    m = MemberMetadata(
        member_id="m1",
        client_id="cid",
        client_host="/1.2.3.4",
        session_timeout=10000,
        subscription=b"\x01\x02",
        assignment=b"\x03",
        rebalance_timeout=30000,
        group_instance_id=None,
    )
    v = GroupMetadataValue("consumer", 4, "range", "m1", 1234, (m,))
    expected = (
        b"\x00\x03"
        + s16("consumer")
        + struct.pack(">i", 4)
        + s16("range")
        + s16("m1")
        + struct.pack(">q", 1234)
        + struct.pack(">i", 1)
        + s16("m1")
        + b"\xff\xff"
        + s16("cid")
        + s16("/1.2.3.4")
        + struct.pack(">i", 30000)
        + struct.pack(">i", 10000)
        + struct.pack(">i", 2)
        + b"\x01\x02"
        + struct.pack(">i", 1)
        + b"\x03"
    )
    assert encode_value(v) == expected
    assert decode_group_metadata_value(expected) == v


def test_empty_group_metadata_value_has_null_protocol_and_leader():
    raw = encode_value(GroupMetadataValue("", 0, None, None, 5, ()))
    assert raw == b"\x00\x03" + s16("") + b"\x00\x00\x00\x00" + b"\xff\xff" * 2 + struct.pack(">q", 5) + b"\x00" * 4


def test_group_metadata_value_v0_defaults():
    raw = (
        b"\x00\x00"
        + s16("consumer")
        + struct.pack(">i", 1)
        + s16("range")
        + s16("m")
        + struct.pack(">i", 1)
        + s16("m")
        + s16("c")
        + s16("h")
        + struct.pack(">i", 6000)
        + struct.pack(">i", 0)
        + struct.pack(">i", 0)
    )
    v = decode_group_metadata_value(raw)
    assert v.current_state_timestamp == -1
    assert v.members[0].rebalance_timeout == -1 and v.members[0].group_instance_id is None
    assert v.members[0].session_timeout == 6000


def test_tombstones_and_unknown_record_types():
    key, value = group_metadata_tombstone("g")
    assert value is None
    assert decode_record(key, None) == (GroupMetadataKey("g"), None)
    # key version 3 is a KIP-848 consumer group record: not modelled, skipped on replay
    assert decode_record(b"\x00\x03" + s16("g"), b"\x00\x00") == (None, None)


def test_malformed_bytes_raise_decode_errors():
    with pytest.raises(ProtocolDecodeError):
        decode_key(b"\x00")
    with pytest.raises(ProtocolDecodeError):
        decode_offset_commit_value(b"\x00\x03\x00")
    with pytest.raises(ProtocolDecodeError):
        decode_offset_commit_value(b"\x00\x09" + b"\x00" * 30)


texts = st.text(max_size=20)
int32 = st.integers(-(2**31), 2**31 - 1)
int64 = st.integers(-(2**63), 2**63 - 1)


@given(texts, texts, int32)
def test_key_round_trip(group, topic, partition):
    k = OffsetCommitKey(group, topic, partition)
    assert decode_key(encode_key(k)) == k
    assert decode_key(encode_key(GroupMetadataKey(group))) == GroupMetadataKey(group)


@given(int64, texts, int64, int32, st.integers(0, 4))
def test_offset_commit_value_round_trip(offset, metadata, ts, epoch, version):
    v = OffsetCommitValue(offset, metadata, ts, epoch if version >= 3 else -1, -1)
    assert decode_offset_commit_value(encode_value(v, version)) == v


members = st.builds(
    MemberMetadata,
    member_id=texts,
    client_id=texts,
    client_host=texts,
    session_timeout=int32,
    subscription=st.binary(max_size=30),
    assignment=st.binary(max_size=30),
    rebalance_timeout=int32,
    group_instance_id=st.none() | texts,
)


@given(
    texts, int32, st.none() | texts, st.none() | texts, int64, st.lists(members, max_size=4), st.sampled_from([3, 4])
)
def test_group_metadata_value_round_trip(ptype, gen, protocol, leader, ts, ms, version):
    v = GroupMetadataValue(ptype, gen, protocol, leader, ts, tuple(ms))
    assert decode_group_metadata_value(encode_value(v, version)) == v


@given(texts, texts, int32, int64)
def test_record_builder_round_trip(group, topic, partition, offset):
    key, value = offset_commit_record(group, topic, partition, OffsetCommitValue(offset, "x", 1))
    assert decode_record(key, value) == (OffsetCommitKey(group, topic, partition), OffsetCommitValue(offset, "x", 1))


def _java_hash(s: str) -> int:
    h = 0
    for ch in s:
        h = (31 * h + ord(ch)) & 0xFFFFFFFF
    return h - 2**32 if h & 0x80000000 else h


def test_partition_for_matches_kafka():
    # Utils.abs("polygenelubricants".hashCode()): that hash is Integer.MIN_VALUE, and abs gives 0
    assert _java_hash("polygenelubricants") == -(2**31)
    assert partition_for("polygenelubricants", 50) == 0
    assert partition_for("", 50) == 0
    assert partition_for("ab", 50) == (97 * 31 + 98) % 50
    # a negative hash: the absolute value is taken before the modulo (not Python's floor modulo)
    h = _java_hash("group-negative")
    assert h < 0
    assert partition_for("group-negative", 50) == (-h) % 50
