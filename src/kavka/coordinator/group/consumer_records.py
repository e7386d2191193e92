"""``__consumer_offsets`` records of consumer groups (KIP-848), in Kafka's schemas.

Keys are not flexible: ``version INT16`` (which is also the record type), then the fields as STRING::

    3  ConsumerGroupMetadataKey                 groupId
    4  ConsumerGroupPartitionMetadataKey        groupId
    5  ConsumerGroupMemberMetadataKey           groupId, memberId
    6  ConsumerGroupTargetAssignmentMetadataKey groupId
    7  ConsumerGroupTargetAssignmentMemberKey   groupId, memberId
    8  ConsumerGroupCurrentMemberAssignmentKey  groupId, memberId

Values are all version 0 and flexible (compact strings and arrays: uvarint length + 1, 0 = null;
UUID: 16 bytes; a tagged-field section after every struct)::

    ConsumerGroupMetadataValue                epoch INT32
    ConsumerGroupPartitionMetadataValue       topics [topicId UUID, topicName STRING, numPartitions INT32,
                                                      partitionMetadata [partition INT32, racks [STRING]]]
    ConsumerGroupMemberMetadataValue          instanceId NULLABLE_STRING, rackId NULLABLE_STRING,
                                              clientId STRING, clientHost STRING,
                                              subscribedTopicNames [STRING],
                                              subscribedTopicRegex NULLABLE_STRING,
                                              rebalanceTimeoutMs INT32, serverAssignor NULLABLE_STRING,
                                              tag 0: classicMemberMetadata (nullable struct, only for a
                                              member that uses the classic protocol):
                                                sessionTimeoutMs INT32,
                                                supportedProtocols [name STRING, metadata BYTES]
    ConsumerGroupTargetAssignmentMetadataValue assignmentEpoch INT32
    ConsumerGroupTargetAssignmentMemberValue  topicPartitions [topicId UUID, partitions [INT32]]
    ConsumerGroupCurrentMemberAssignmentValue memberEpoch INT32, previousMemberEpoch INT32, state INT8,
                                              assignedPartitions [topicId UUID, partitions [INT32],
                                                tag 0: assignmentEpochs (nullable [INT32], one
                                                per partition, KIP-1251)],
                                              partitionsPendingRevocation [same]

A tagged nullable struct is written as Kafka's generated code writes it: the tag, the size (struct
size + 1), an unsigned varint 1 (present), then the struct; a marker of 0 reads as null.

A tombstone (value None) of a key removes what the key names. Readers skip unknown tagged fields
(newer Kafka versions add some, e.g. a metadata hash) and ignore trailing bytes.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from kavka.protocol.primitives import (
    ProtocolDecodeError,
    as_view,
    encode_compact_array_length,
    encode_compact_bytes,
    encode_compact_nullable_string,
    encode_compact_string,
    encode_int8,
    encode_int16,
    encode_int32,
    encode_string,
    encode_tagged_fields,
    encode_uvarint,
    read_compact_array_length,
    read_compact_bytes,
    read_compact_nullable_string,
    read_compact_string,
    read_int8,
    read_int16,
    read_int32,
    read_string,
    read_tagged_fields,
    read_uvarint,
    skip_tagged_fields,
)

if TYPE_CHECKING:
    from kavka.coordinator.group.consumer import ConsumerMember

__all__ = [
    "CONSUMER_KEY_VERSIONS",
    "Assignment",
    "PartitionEpochs",
    "assignment_partitions",
    "ConsumerGroupMetadataKey",
    "ConsumerGroupPartitionMetadataKey",
    "ConsumerGroupMemberMetadataKey",
    "ConsumerGroupTargetAssignmentMetadataKey",
    "ConsumerGroupTargetAssignmentMemberKey",
    "ConsumerGroupCurrentMemberAssignmentKey",
    "ConsumerGroupMetadataValue",
    "ConsumerGroupPartitionMetadataValue",
    "TopicMetadata",
    "ClassicMemberMetadata",
    "ConsumerGroupMemberMetadataValue",
    "ConsumerGroupTargetAssignmentMetadataValue",
    "ConsumerGroupTargetAssignmentMemberValue",
    "ConsumerGroupCurrentMemberAssignmentValue",
    "encode_consumer_record",
    "decode_consumer_record",
    "value_as",
    "ConsumerKey",
    "ConsumerValue",
    "member_metadata_record",
    "current_assignment_record",
    "target_assignment_record",
    "target_assignment_epoch_record",
    "group_epoch_record",
    "partition_metadata_record",
    "member_tombstones",
    "group_tombstones",
]

Assignment = dict[uuid.UUID, frozenset[int]]
"""Partitions per topic id; topics with no partitions are left out."""

PartitionEpochs = Mapping[tuple[uuid.UUID, int], int]
"""(topic id, partition) -> the member epoch at which the partition was assigned to the member (KIP-1251)."""


def assignment_partitions(assignment: Assignment) -> list[tuple[uuid.UUID, int]]:
    """Every (topic id, partition) of ``assignment``: the keys of its PartitionEpochs."""
    return [(topic_id, p) for topic_id, partitions in assignment.items() for p in partitions]


# --- keys ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsumerGroupMetadataKey:
    group: str
    VERSION = 3


@dataclass(frozen=True, slots=True)
class ConsumerGroupPartitionMetadataKey:
    group: str
    VERSION = 4


@dataclass(frozen=True, slots=True)
class ConsumerGroupMemberMetadataKey:
    group: str
    member_id: str
    VERSION = 5


@dataclass(frozen=True, slots=True)
class ConsumerGroupTargetAssignmentMetadataKey:
    group: str
    VERSION = 6


@dataclass(frozen=True, slots=True)
class ConsumerGroupTargetAssignmentMemberKey:
    group: str
    member_id: str
    VERSION = 7


@dataclass(frozen=True, slots=True)
class ConsumerGroupCurrentMemberAssignmentKey:
    group: str
    member_id: str
    VERSION = 8


ConsumerKey = (
    ConsumerGroupMetadataKey
    | ConsumerGroupPartitionMetadataKey
    | ConsumerGroupMemberMetadataKey
    | ConsumerGroupTargetAssignmentMetadataKey
    | ConsumerGroupTargetAssignmentMemberKey
    | ConsumerGroupCurrentMemberAssignmentKey
)
"""The key of a consumer group record (key versions 3-8)."""

_GroupKey = type[
    ConsumerGroupMetadataKey | ConsumerGroupPartitionMetadataKey | ConsumerGroupTargetAssignmentMetadataKey
]
_MemberKey = type[
    ConsumerGroupMemberMetadataKey | ConsumerGroupTargetAssignmentMemberKey | ConsumerGroupCurrentMemberAssignmentKey
]
_GROUP_KEYS: dict[int, _GroupKey] = {
    3: ConsumerGroupMetadataKey,
    4: ConsumerGroupPartitionMetadataKey,
    6: ConsumerGroupTargetAssignmentMetadataKey,
}
_MEMBER_KEYS: dict[int, _MemberKey] = {
    5: ConsumerGroupMemberMetadataKey,
    7: ConsumerGroupTargetAssignmentMemberKey,
    8: ConsumerGroupCurrentMemberAssignmentKey,
}
CONSUMER_KEY_VERSIONS = frozenset(_GROUP_KEYS) | frozenset(_MEMBER_KEYS)


# --- values ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ConsumerGroupMetadataValue:
    epoch: int


@dataclass(frozen=True, slots=True)
class TopicMetadata:
    topic_id: uuid.UUID
    topic_name: str
    num_partitions: int


@dataclass(frozen=True, slots=True)
class ConsumerGroupPartitionMetadataValue:
    topics: tuple[TopicMetadata, ...] = ()


@dataclass(frozen=True, slots=True)
class ClassicMemberMetadata:
    """What a member that uses the classic protocol (JoinGroup/SyncGroup) told the coordinator: its
    session timeout and its protocols (name, subscription metadata), in its order of preference."""

    session_timeout_ms: int
    supported_protocols: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True, slots=True)
class ConsumerGroupMemberMetadataValue:
    instance_id: str | None
    rack_id: str | None
    client_id: str
    client_host: str
    subscribed_topic_names: tuple[str, ...]
    subscribed_topic_regex: str | None
    rebalance_timeout_ms: int = -1
    server_assignor: str | None = None
    classic_member_metadata: ClassicMemberMetadata | None = None


@dataclass(frozen=True, slots=True)
class ConsumerGroupTargetAssignmentMetadataValue:
    assignment_epoch: int


@dataclass(frozen=True, slots=True)
class ConsumerGroupTargetAssignmentMemberValue:
    partitions: Assignment = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ConsumerGroupCurrentMemberAssignmentValue:
    member_epoch: int
    previous_member_epoch: int
    state: int
    assigned: Assignment = field(default_factory=dict)
    pending_revocation: Assignment = field(default_factory=dict)
    # the assignment epoch of each partition above; a record without them (written by a Kafka without KIP-1251,
    # or by Kavka before it kept them) reads as an empty map, and the reader defaults to the member epoch
    epochs: PartitionEpochs = field(default_factory=dict)


ConsumerValue = (
    ConsumerGroupMetadataValue
    | ConsumerGroupPartitionMetadataValue
    | ConsumerGroupMemberMetadataValue
    | ConsumerGroupTargetAssignmentMetadataValue
    | ConsumerGroupTargetAssignmentMemberValue
    | ConsumerGroupCurrentMemberAssignmentValue
)
"""The value of a consumer group record; each key type has its own (``XKey`` -> ``XValue``)."""

V = TypeVar("V", bound=ConsumerValue)


def value_as(value: ConsumerValue, cls: type[V]) -> V:
    """``value`` as ``cls``, the value type of the key it was decoded with (:func:`decode_consumer_record`
    pairs them by key version, so anything else is a decoding bug: ProtocolDecodeError)."""
    if not isinstance(value, cls):
        raise ProtocolDecodeError(f"{type(value).__name__} where a {cls.__name__} belongs")
    return value


# --- encoding --------------------------------------------------------------------------------------

_NO_TAGS = b"\x00"


def _encode_key(key: ConsumerKey) -> bytes:
    parts = [encode_int16(key.VERSION), encode_string(key.group)]
    if isinstance(
        key,
        (
            ConsumerGroupMemberMetadataKey,
            ConsumerGroupTargetAssignmentMemberKey,
            ConsumerGroupCurrentMemberAssignmentKey,
        ),
    ):
        parts.append(encode_string(key.member_id))
    return b"".join(parts)


def _encode_topic_partitions(assignment: Assignment, epochs: PartitionEpochs | None = None, default: int = 0) -> bytes:
    """The TopicPartitions array; with ``epochs``, each entry carries tag 0 (AssignmentEpochs) with
    every partition's epoch (``default`` for one it lacks), as Kafka 4.4 writes a current assignment."""
    parts = [encode_compact_array_length(len(assignment))]
    for topic_id in sorted(assignment, key=str):
        partitions = sorted(assignment[topic_id])
        parts += [topic_id.bytes, encode_compact_array_length(len(partitions))]
        parts += [encode_int32(p) for p in partitions]
        if epochs is None:
            parts.append(_NO_TAGS)
        else:
            values = [encode_compact_array_length(len(partitions))]
            values += [encode_int32(epochs.get((topic_id, p), default)) for p in partitions]
            parts.append(encode_tagged_fields({0: b"".join(values)}))
    return b"".join(parts)


def _encode_value(value: ConsumerValue) -> bytes:
    parts = [encode_int16(0)]
    if isinstance(value, ConsumerGroupMetadataValue):
        parts.append(encode_int32(value.epoch))
    elif isinstance(value, ConsumerGroupPartitionMetadataValue):
        parts.append(encode_compact_array_length(len(value.topics)))
        for t in value.topics:
            parts += [
                t.topic_id.bytes,
                encode_compact_string(t.topic_name),
                encode_int32(t.num_partitions),
                encode_compact_array_length(0),
                _NO_TAGS,
            ]
    elif isinstance(value, ConsumerGroupMemberMetadataValue):
        parts += [
            encode_compact_nullable_string(value.instance_id),
            encode_compact_nullable_string(value.rack_id),
            encode_compact_string(value.client_id),
            encode_compact_string(value.client_host),
            encode_compact_array_length(len(value.subscribed_topic_names)),
        ]
        parts += [encode_compact_string(name) for name in value.subscribed_topic_names]
        parts += [
            encode_compact_nullable_string(value.subscribed_topic_regex),
            encode_int32(value.rebalance_timeout_ms),
            encode_compact_nullable_string(value.server_assignor),
        ]
        if value.classic_member_metadata is not None:
            body = _encode_classic_member_metadata(value.classic_member_metadata)
            parts.append(encode_tagged_fields({0: encode_uvarint(1) + body}))
            return b"".join(parts)
    elif isinstance(value, ConsumerGroupTargetAssignmentMetadataValue):
        parts.append(encode_int32(value.assignment_epoch))
    elif isinstance(value, ConsumerGroupTargetAssignmentMemberValue):
        parts.append(_encode_topic_partitions(value.partitions))
    elif isinstance(value, ConsumerGroupCurrentMemberAssignmentValue):
        parts += [
            encode_int32(value.member_epoch),
            encode_int32(value.previous_member_epoch),
            encode_int8(value.state),
            _encode_topic_partitions(value.assigned, value.epochs or None, max(value.member_epoch, 0)),
            _encode_topic_partitions(value.pending_revocation, value.epochs or None, max(value.member_epoch, 0)),
        ]
    else:
        raise TypeError(f"not a consumer group record value: {value!r}")
    parts.append(_NO_TAGS)
    return b"".join(parts)


def _encode_classic_member_metadata(m: ClassicMemberMetadata) -> bytes:
    parts = [encode_int32(m.session_timeout_ms), encode_compact_array_length(len(m.supported_protocols))]
    for name, metadata in m.supported_protocols:
        parts += [encode_compact_string(name), encode_compact_bytes(bytes(metadata)), _NO_TAGS]
    parts.append(_NO_TAGS)
    return b"".join(parts)


def encode_consumer_record(key: ConsumerKey, value: ConsumerValue | None = None) -> tuple[bytes, bytes | None]:
    """(key bytes, value bytes); ``value`` None makes a tombstone."""
    return _encode_key(key), None if value is None else _encode_value(value)


# --- decoding --------------------------------------------------------------------------------------


def _read_uuid(buf: memoryview, pos: int) -> tuple[uuid.UUID, int]:
    if pos + 16 > len(buf):
        raise ProtocolDecodeError("truncated uuid")
    return uuid.UUID(bytes=bytes(buf[pos : pos + 16])), pos + 16


def _read_int32s(buf: memoryview, pos: int) -> tuple[tuple[int, ...] | None, int]:
    k, pos = read_compact_array_length(buf, pos)
    if k is None:
        return None, pos
    if pos + 4 * k > len(buf):
        raise ProtocolDecodeError("truncated int32 array")
    return struct.unpack_from(f">{k}i", buf, pos), pos + 4 * k


def _read_topic_partitions(
    buf: memoryview, pos: int, epochs: dict[tuple[uuid.UUID, int], int] | None = None
) -> tuple[Assignment, int]:
    """The TopicPartitions array; the AssignmentEpochs tag (0) goes into ``epochs`` when given and
    when it has one epoch per partition (Kafka ignores one of another length)."""
    n, pos = read_compact_array_length(buf, pos)
    out: Assignment = {}
    for _ in range(n or 0):
        topic_id, pos = _read_uuid(buf, pos)
        partitions, pos = _read_int32s(buf, pos)
        partitions = partitions or ()
        if epochs is None:
            pos = skip_tagged_fields(buf, pos)
        else:
            tags, pos = read_tagged_fields(buf, pos)
            if 0 in tags:
                values, _ = _read_int32s(tags[0], 0)
                if values is not None and len(values) == len(partitions):
                    epochs.update(((topic_id, p), e) for p, e in zip(partitions, values, strict=True))
        if partitions:
            out[topic_id] = frozenset(partitions)
    return out, pos


def _decode_classic_member_metadata(buf: memoryview) -> ClassicMemberMetadata | None:
    present, pos = read_uvarint(buf, 0)
    if present <= 0:
        return None
    session_timeout, pos = read_int32(buf, pos)
    n, pos = read_compact_array_length(buf, pos)
    protocols = []
    for _ in range(n or 0):
        name, pos = read_compact_string(buf, pos)
        metadata, pos = read_compact_bytes(buf, pos)
        pos = skip_tagged_fields(buf, pos)
        protocols.append((name, bytes(metadata)))
    return ClassicMemberMetadata(session_timeout, tuple(protocols))


def _decode_value(version: int, data: bytes | memoryview) -> ConsumerValue:
    buf = as_view(data)
    value_version, pos = read_int16(buf, 0)
    if value_version != 0:
        raise ProtocolDecodeError(f"unknown value version {value_version} for record type {version}")
    if version == 3:
        epoch, pos = read_int32(buf, pos)
        return ConsumerGroupMetadataValue(epoch)
    if version == 4:
        n, pos = read_compact_array_length(buf, pos)
        topics = []
        for _ in range(n or 0):
            topic_id, pos = _read_uuid(buf, pos)
            name, pos = read_compact_string(buf, pos)
            num, pos = read_int32(buf, pos)
            k, pos = read_compact_array_length(buf, pos)
            for _ in range(k or 0):  # deprecated rack metadata
                _, pos = read_int32(buf, pos)
                r, pos = read_compact_array_length(buf, pos)
                for _ in range(r or 0):
                    _, pos = read_compact_string(buf, pos)
                pos = skip_tagged_fields(buf, pos)
            pos = skip_tagged_fields(buf, pos)
            topics.append(TopicMetadata(topic_id, name, num))
        return ConsumerGroupPartitionMetadataValue(tuple(topics))
    if version == 5:
        instance_id, pos = read_compact_nullable_string(buf, pos)
        rack_id, pos = read_compact_nullable_string(buf, pos)
        client_id, pos = read_compact_string(buf, pos)
        client_host, pos = read_compact_string(buf, pos)
        n, pos = read_compact_array_length(buf, pos)
        names = []
        for _ in range(n or 0):
            name, pos = read_compact_string(buf, pos)
            names.append(name)
        regex, pos = read_compact_nullable_string(buf, pos)
        rebalance_timeout, pos = read_int32(buf, pos)
        assignor, pos = read_compact_nullable_string(buf, pos)
        classic = None
        if pos < len(buf):
            tags, pos = read_tagged_fields(buf, pos)
            if 0 in tags:
                classic = _decode_classic_member_metadata(tags[0])
        return ConsumerGroupMemberMetadataValue(
            instance_id, rack_id, client_id, client_host, tuple(names), regex, rebalance_timeout, assignor, classic
        )
    if version == 6:
        epoch, pos = read_int32(buf, pos)
        return ConsumerGroupTargetAssignmentMetadataValue(epoch)
    if version == 7:
        partitions, pos = _read_topic_partitions(buf, pos)
        return ConsumerGroupTargetAssignmentMemberValue(partitions)
    if version == 8:
        epoch, pos = read_int32(buf, pos)
        previous, pos = read_int32(buf, pos)
        state, pos = read_int8(buf, pos)
        epochs: dict[tuple[uuid.UUID, int], int] = {}
        assigned, pos = _read_topic_partitions(buf, pos, epochs)
        pending, pos = _read_topic_partitions(buf, pos, epochs)
        return ConsumerGroupCurrentMemberAssignmentValue(epoch, previous, state, assigned, pending, epochs)
    raise ProtocolDecodeError(f"not a consumer group record type: {version}")


def decode_consumer_record(
    key: bytes | memoryview, value: bytes | memoryview | None
) -> tuple[ConsumerKey, ConsumerValue | None] | tuple[None, None]:
    """(key, value) objects of a consumer group record, value None for a tombstone; (None, None) for
    a key version this module does not model."""
    buf = as_view(key)
    version, pos = read_int16(buf, 0)
    group, pos = read_string(buf, pos)
    k: ConsumerKey
    if version in _GROUP_KEYS:
        k = _GROUP_KEYS[version](group)
    elif version in _MEMBER_KEYS:
        member_id, pos = read_string(buf, pos)
        k = _MEMBER_KEYS[version](group, member_id)
    else:
        return None, None
    return k, None if value is None else _decode_value(version, value)


# --- record builders -------------------------------------------------------------------------------
# ``m`` is a :class:`~kavka.coordinator.group.consumer.ConsumerMember` (imported for the type checker
# only: that module imports this one).


def member_metadata_record(group_id: str, m: ConsumerMember) -> tuple[bytes, bytes | None]:
    return encode_consumer_record(
        ConsumerGroupMemberMetadataKey(group_id, m.member_id),
        ConsumerGroupMemberMetadataValue(
            m.instance_id,
            m.rack_id,
            m.client_id,
            m.client_host,
            m.subscribed_topic_names,
            m.subscribed_topic_regex,
            m.rebalance_timeout_ms,
            m.server_assignor,
            m.classic,
        ),
    )


def current_assignment_record(group_id: str, m: ConsumerMember) -> tuple[bytes, bytes | None]:
    return encode_consumer_record(
        ConsumerGroupCurrentMemberAssignmentKey(group_id, m.member_id),
        ConsumerGroupCurrentMemberAssignmentValue(
            m.member_epoch,
            m.previous_member_epoch,
            int(m.state),
            m.assigned,
            m.pending_revocation,
            m.assignment_epochs,
        ),
    )


def target_assignment_record(group_id: str, member_id: str, assignment: Assignment) -> tuple[bytes, bytes | None]:
    return encode_consumer_record(
        ConsumerGroupTargetAssignmentMemberKey(group_id, member_id),
        ConsumerGroupTargetAssignmentMemberValue(dict(assignment)),
    )


def target_assignment_epoch_record(group_id: str, epoch: int) -> tuple[bytes, bytes | None]:
    return encode_consumer_record(
        ConsumerGroupTargetAssignmentMetadataKey(group_id), ConsumerGroupTargetAssignmentMetadataValue(epoch)
    )


def group_epoch_record(group_id: str, epoch: int) -> tuple[bytes, bytes | None]:
    return encode_consumer_record(ConsumerGroupMetadataKey(group_id), ConsumerGroupMetadataValue(epoch))


def partition_metadata_record(
    group_id: str, metadata: Mapping[str, tuple[uuid.UUID, int]]
) -> tuple[bytes, bytes | None]:
    """``metadata``: topic name -> (topic id, partition count)."""
    topics = tuple(TopicMetadata(info[0], name, info[1]) for name, info in sorted(metadata.items()))
    return encode_consumer_record(
        ConsumerGroupPartitionMetadataKey(group_id), ConsumerGroupPartitionMetadataValue(topics)
    )


def member_tombstones(group_id: str, member_id: str) -> list[tuple[bytes, bytes | None]]:
    """A member's records, deleted (Kafka's removeMember order)."""
    return [
        encode_consumer_record(ConsumerGroupCurrentMemberAssignmentKey(group_id, member_id)),
        encode_consumer_record(ConsumerGroupTargetAssignmentMemberKey(group_id, member_id)),
        encode_consumer_record(ConsumerGroupMemberMetadataKey(group_id, member_id)),
    ]


def group_tombstones(group_id: str, member_ids: Iterable[str]) -> list[tuple[bytes, bytes | None]]:
    """Records deleting a group and its members, in Kafka's createGroupTombstoneRecords order."""
    ids = list(member_ids)
    out = [encode_consumer_record(ConsumerGroupCurrentMemberAssignmentKey(group_id, mid)) for mid in ids]
    out += [encode_consumer_record(ConsumerGroupTargetAssignmentMemberKey(group_id, mid)) for mid in ids]
    out.append(encode_consumer_record(ConsumerGroupTargetAssignmentMetadataKey(group_id)))
    out += [encode_consumer_record(ConsumerGroupMemberMetadataKey(group_id, mid)) for mid in ids]
    out += [
        encode_consumer_record(ConsumerGroupPartitionMetadataKey(group_id)),
        encode_consumer_record(ConsumerGroupMetadataKey(group_id)),
    ]
    return out
