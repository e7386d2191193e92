"""The records of ``__consumer_offsets``, byte for byte as Kafka writes them.

Every record's key and value start with an INT16 *version*. The key version says what the record is
(Kafka's coordinator record types); the value version says which schema the value uses. A null value
is a tombstone: the thing the key names is gone, and compaction will drop its older records.

Key (all non-flexible)::

    OffsetCommitKey  v0/v1   group STRING, topic STRING, partition INT32      (Kafka writes v1)
    GroupMetadataKey v2      group STRING
    v3 and up                KIP-848 / share-group record types (not read here: skipped)

OffsetCommitValue (Kafka writes v3, or v1 when the commit carried a retention time)::

    v0    offset INT64, metadata STRING, commitTimestamp INT64
    v1    offset INT64, metadata STRING, commitTimestamp INT64, expireTimestamp INT64
    v2    offset INT64, metadata STRING, commitTimestamp INT64
    v3    offset INT64, leaderEpoch INT32, metadata STRING, commitTimestamp INT64
    v4    as v3 in the flexible encoding (COMPACT_STRING, then a tagged-field section)

GroupMetadataValue (Kafka writes v3)::

    protocolType STRING, generation INT32, protocol NULLABLE_STRING, leader NULLABLE_STRING,
    [v2+] currentStateTimestamp INT64,
    members ARRAY of MemberMetadata:
        memberId STRING, [v3+] groupInstanceId NULLABLE_STRING, clientId STRING, clientHost STRING,
        [v1+] rebalanceTimeout INT32, sessionTimeout INT32, subscription BYTES, assignment BYTES
    v4 is v3 in the flexible encoding (compact strings/bytes/arrays, tagged fields after each struct)

Fields a version lacks read as Kafka's defaults: leaderEpoch -1, expireTimestamp -1,
currentStateTimestamp -1, rebalanceTimeout -1, groupInstanceId null.

Readers raise :class:`ProtocolDecodeError` for malformed bytes and ignore bytes after a value's last
field (a newer writer may have appended ignorable ones). Unknown tagged fields are skipped (KIP-482).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kavka.protocol.primitives import (
    ProtocolDecodeError,
    as_view,
    encode_array_length,
    encode_bytes,
    encode_compact_array_length,
    encode_compact_bytes,
    encode_compact_nullable_string,
    encode_compact_string,
    encode_int16,
    encode_int32,
    encode_int64,
    encode_nullable_string,
    encode_string,
    read_array_length,
    read_bytes,
    read_compact_array_length,
    read_compact_bytes,
    read_compact_nullable_string,
    read_compact_string,
    read_int16,
    read_int32,
    read_int64,
    read_nullable_string,
    read_string,
    skip_tagged_fields,
)

__all__ = [
    "Record",
    "OffsetCommitKey",
    "OffsetCommitValue",
    "GroupMetadataKey",
    "GroupMetadataValue",
    "MemberMetadata",
    "encode_key",
    "encode_value",
    "decode_key",
    "decode_offset_commit_value",
    "decode_group_metadata_value",
    "decode_record",
    "offset_commit_record",
    "offset_commit_tombstone",
    "group_metadata_record",
    "group_metadata_tombstone",
]

Record = tuple[bytes, bytes | None]
"""One ``__consumer_offsets`` record: key bytes and value bytes, or None for a tombstone."""

_OFFSET_COMMIT_KEY_VERSION = 1
_GROUP_METADATA_KEY_VERSION = 2
_OFFSET_COMMIT_VALUE_VERSION = 3
_OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY = 1
_GROUP_METADATA_VALUE_VERSION = 3


@dataclass(frozen=True, slots=True)
class OffsetCommitKey:
    group: str
    topic: str
    partition: int


@dataclass(frozen=True, slots=True)
class GroupMetadataKey:
    group: str


@dataclass(frozen=True, slots=True)
class OffsetCommitValue:
    offset: int
    metadata: str = ""
    commit_timestamp: int = -1
    leader_epoch: int = -1
    # -1 unless the commit asked for its own retention (OffsetCommit v2-v4 retention_time_ms)
    expire_timestamp: int = -1


@dataclass(frozen=True, slots=True)
class MemberMetadata:
    member_id: str
    client_id: str
    client_host: str
    session_timeout: int
    subscription: bytes
    assignment: bytes
    rebalance_timeout: int = -1
    group_instance_id: str | None = None


@dataclass(frozen=True, slots=True)
class GroupMetadataValue:
    protocol_type: str
    generation: int
    protocol: str | None
    leader: str | None
    current_state_timestamp: int = -1
    members: tuple[MemberMetadata, ...] = field(default_factory=tuple)


# --- encoding ------------------------------------------------------------------------------------


def encode_key(key: OffsetCommitKey | GroupMetadataKey) -> bytes:
    """The key bytes Kafka writes: OffsetCommitKey as v1, GroupMetadataKey as v2."""
    if isinstance(key, OffsetCommitKey):
        return b"".join(
            (
                encode_int16(_OFFSET_COMMIT_KEY_VERSION),
                encode_string(key.group),
                encode_string(key.topic),
                encode_int32(key.partition),
            )
        )
    return encode_int16(_GROUP_METADATA_KEY_VERSION) + encode_string(key.group)


def encode_value(value: OffsetCommitValue | GroupMetadataValue, version: int | None = None) -> bytes:
    """Value bytes in ``version`` (default: what Kafka writes; v1 for a commit with an expiry)."""
    if isinstance(value, OffsetCommitValue):
        if version is None:
            version = (
                _OFFSET_COMMIT_VALUE_VERSION
                if value.expire_timestamp == -1
                else _OFFSET_COMMIT_VALUE_VERSION_WITH_EXPIRY
            )
        return _encode_offset_commit_value(value, version)
    return _encode_group_metadata_value(value, _GROUP_METADATA_VALUE_VERSION if version is None else version)


def _encode_offset_commit_value(v: OffsetCommitValue, version: int) -> bytes:
    if not 0 <= version <= 4:
        raise ValueError(f"OffsetCommitValue has no version {version}")
    parts = [encode_int16(version), encode_int64(v.offset)]
    if version >= 3:
        parts.append(encode_int32(v.leader_epoch))
    parts.append(encode_compact_string(v.metadata) if version >= 4 else encode_string(v.metadata))
    parts.append(encode_int64(v.commit_timestamp))
    if version == 1:
        parts.append(encode_int64(v.expire_timestamp))
    if version >= 4:
        parts.append(b"\x00")  # no tagged fields
    return b"".join(parts)


def _encode_group_metadata_value(v: GroupMetadataValue, version: int) -> bytes:
    if not 0 <= version <= 4:
        raise ValueError(f"GroupMetadataValue has no version {version}")
    flex = version >= 4
    s = encode_compact_string if flex else encode_string
    ns = encode_compact_nullable_string if flex else encode_nullable_string
    b = encode_compact_bytes if flex else encode_bytes
    parts = [encode_int16(version), s(v.protocol_type), encode_int32(v.generation), ns(v.protocol), ns(v.leader)]
    if version >= 2:
        parts.append(encode_int64(v.current_state_timestamp))
    parts.append(encode_compact_array_length(len(v.members)) if flex else encode_array_length(len(v.members)))
    for m in v.members:
        parts.append(s(m.member_id))
        if version >= 3:
            parts.append(ns(m.group_instance_id))
        parts += [s(m.client_id), s(m.client_host)]
        if version >= 1:
            parts.append(encode_int32(m.rebalance_timeout))
        parts += [encode_int32(m.session_timeout), b(bytes(m.subscription)), b(bytes(m.assignment))]
        if flex:
            parts.append(b"\x00")
    if flex:
        parts.append(b"\x00")
    return b"".join(parts)


# --- decoding ------------------------------------------------------------------------------------


def decode_key(data: bytes | memoryview) -> OffsetCommitKey | GroupMetadataKey | int:
    """The key of a record; for record types this module does not model, their key version (int)."""
    buf = as_view(data)
    version, pos = read_int16(buf, 0)
    if version in (0, 1):
        group, pos = read_string(buf, pos)
        topic, pos = read_string(buf, pos)
        partition, pos = read_int32(buf, pos)
        return OffsetCommitKey(group, topic, partition)
    if version == 2:
        group, pos = read_string(buf, pos)
        return GroupMetadataKey(group)
    if version < 0:
        raise ProtocolDecodeError(f"negative record key version {version}")
    return version


def decode_offset_commit_value(data: bytes | memoryview) -> OffsetCommitValue:
    buf = as_view(data)
    version, pos = read_int16(buf, 0)
    if not 0 <= version <= 4:
        raise ProtocolDecodeError(f"unknown OffsetCommitValue version {version}")
    offset, pos = read_int64(buf, pos)
    leader_epoch = -1
    if version >= 3:
        leader_epoch, pos = read_int32(buf, pos)
    metadata, pos = (read_compact_string if version >= 4 else read_string)(buf, pos)
    commit_ts, pos = read_int64(buf, pos)
    expire_ts = -1
    if version == 1:
        expire_ts, pos = read_int64(buf, pos)
    if version >= 4:
        skip_tagged_fields(buf, pos)
    return OffsetCommitValue(offset, metadata, commit_ts, leader_epoch, expire_ts)


def decode_group_metadata_value(data: bytes | memoryview) -> GroupMetadataValue:
    buf = as_view(data)
    version, pos = read_int16(buf, 0)
    if not 0 <= version <= 4:
        raise ProtocolDecodeError(f"unknown GroupMetadataValue version {version}")
    flex = version >= 4
    s = read_compact_string if flex else read_string
    ns = read_compact_nullable_string if flex else read_nullable_string
    rb = read_compact_bytes if flex else read_bytes
    protocol_type, pos = s(buf, pos)
    generation, pos = read_int32(buf, pos)
    protocol, pos = ns(buf, pos)
    leader, pos = ns(buf, pos)
    state_ts = -1
    if version >= 2:
        state_ts, pos = read_int64(buf, pos)
    count, pos = (read_compact_array_length if flex else read_array_length)(buf, pos)
    members = []
    for _ in range(count or 0):
        member_id, pos = s(buf, pos)
        instance_id = None
        if version >= 3:
            instance_id, pos = ns(buf, pos)
        client_id, pos = s(buf, pos)
        client_host, pos = s(buf, pos)
        rebalance_timeout = -1
        if version >= 1:
            rebalance_timeout, pos = read_int32(buf, pos)
        session_timeout, pos = read_int32(buf, pos)
        subscription, pos = rb(buf, pos)
        assignment, pos = rb(buf, pos)
        if flex:
            pos = skip_tagged_fields(buf, pos)
        members.append(
            MemberMetadata(
                member_id,
                client_id,
                client_host,
                session_timeout,
                bytes(subscription),
                bytes(assignment),
                rebalance_timeout,
                instance_id,
            )
        )
    if flex:
        skip_tagged_fields(buf, pos)
    return GroupMetadataValue(protocol_type or "", generation, protocol, leader, state_ts, tuple(members))


def decode_record(
    key: bytes | memoryview, value: bytes | memoryview | None
) -> (
    tuple[OffsetCommitKey, OffsetCommitValue | None]
    | tuple[GroupMetadataKey, GroupMetadataValue | None]
    | tuple[None, None]
):
    """``(key, value)`` objects of a stored record; value None for a tombstone.

    Returns ``(None, None)`` for record types this module does not model (key version 3 and up), so
    a replay can skip them.
    """
    k = decode_key(key)
    if isinstance(k, int):
        return None, None
    if isinstance(k, OffsetCommitKey):
        return k, None if value is None else decode_offset_commit_value(value)
    return k, None if value is None else decode_group_metadata_value(value)


# --- record builders -----------------------------------------------------------------------------


def offset_commit_record(group: str, topic: str, partition: int, value: OffsetCommitValue) -> Record:
    return encode_key(OffsetCommitKey(group, topic, partition)), encode_value(value)


def offset_commit_tombstone(group: str, topic: str, partition: int) -> Record:
    return encode_key(OffsetCommitKey(group, topic, partition)), None


def group_metadata_record(group: str, value: GroupMetadataValue) -> Record:
    return encode_key(GroupMetadataKey(group)), encode_value(value)


def group_metadata_tombstone(group: str) -> Record:
    return encode_key(GroupMetadataKey(group)), None
