"""Metadata records (KRaft's ``__cluster_metadata`` records) and their byte encoding.

Record types and api keys are Kafka's (``metadata/src/main/resources/common/metadata/*.json``); field
names are Kafka's in snake_case. Each record is an immutable dataclass; lists are tuples.

Byte layout of one encoded record (the value of one record in a ``__cluster_metadata`` batch), Kafka's
``MetadataRecordSerde``, so ``kafka-dump-log --cluster-metadata-decoder`` reads Kavka's log::

    uvarint  frame version   always 1
    uvarint  api key         Kafka's metadata record api key (TopicRecord = 2, ...)
    uvarint  version         the record's schema version (``VERSION``: 1 for RegisterBrokerRecord, else 0)
    bytes    body            Kafka's flexible-version binary schema of that record and version
                             (kavka.metadata.binary; ``metadata/src/main/resources/common/metadata``)

Fields Kavka does not model are written with Kafka's defaults (PartitionRecord's tagged
LeaderRecoveryState is left out: 0, recovered) and skipped when read (directories, ELR, log dirs,
unknown tags), so logs Kafka wrote in versions 0-3 / 0-2 decode too.

Logs written by Kavka before the binary bodies hold compact JSON bodies (version 0, keys sorted, uuids
as canonical strings). A body that starts with ``{`` and ends with ``}`` is read as such a record: no
binary body can, as every binary body ends with its tagged-field count (0) or a tagged value of a
PartitionChangeRecord, whose first byte is the high byte of a partition id (never 0x7b). Records with an
unknown api key or version are rejected (``MetadataRecordError``), so a log from a newer Kavka is never
half-applied.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, fields
from typing import Any, ClassVar

from kavka.metadata.binary import BinaryError, Reader, Writer
from kavka.protocol.varint import decode_unsigned_varint, encode_unsigned_varint

__all__ = [
    "MetadataRecord",
    "MetadataRecordError",
    "RegisterBrokerRecord",
    "UnregisterBrokerRecord",
    "BrokerEndpoint",
    "BrokerFeature",
    "TopicRecord",
    "PartitionRecord",
    "ConfigRecord",
    "PartitionChangeRecord",
    "RemoveTopicRecord",
    "FeatureLevelRecord",
    "ProducerIdsRecord",
    "NoOpRecord",
    "ConfigResourceType",
    "NO_LEADER",
    "NO_LEADER_CHANGE",
    "RECORD_TYPES",
    "encode_record",
    "decode_record",
    "write_uvarint",
    "read_uvarint",
]

FRAME_VERSION = 1
NO_LEADER = -1
NO_LEADER_CHANGE = -2  # PartitionChangeRecord.leader: keep the current leader


class MetadataRecordError(ValueError):
    """Bytes that are not a metadata record this Kavka understands."""


class ConfigResourceType:
    """``ConfigResource.Type`` ids as used in ``ConfigRecord.resource_type``."""

    UNKNOWN = 0
    TOPIC = 2
    BROKER = 4
    BROKER_LOGGER = 8
    CLIENT_METRICS = 16
    GROUP = 32


class MetadataRecord:
    """Base of all metadata records: ``API_KEY`` and ``VERSION`` identify the body schema."""

    API_KEY: ClassVar[int]
    VERSION: ClassVar[int] = 0

    def to_json(self) -> dict[str, Any]:
        return {f.name: _to_json(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetadataRecord:
        return cls(**data)


def _to_json(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, tuple):
        return [_to_json(v) for v in value]
    if isinstance(value, (BrokerEndpoint, BrokerFeature)):
        return {f.name: getattr(value, f.name) for f in fields(value)}
    return value


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _opt_ints(values: Any) -> tuple[int, ...] | None:
    return None if values is None else _ints(values)


def _uuid(value: Any) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(value)


@dataclass(frozen=True)
class BrokerEndpoint:
    name: str
    host: str
    port: int
    security_protocol: int  # Kafka's SecurityProtocol id: 0 PLAINTEXT, 1 SSL, 2 SASL_PLAINTEXT, 3 SASL_SSL


@dataclass(frozen=True)
class BrokerFeature:
    name: str
    min_supported_version: int
    max_supported_version: int


@dataclass(frozen=True)
class RegisterBrokerRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 0
    VERSION: ClassVar[int] = 1  # v1 adds InControlledShutdown; v2's IsMigratingZkBroker is ZooKeeper's
    broker_id: int
    incarnation_id: uuid.UUID
    broker_epoch: int
    endpoints: tuple[BrokerEndpoint, ...] = ()
    rack: str | None = None
    fenced: bool = False
    in_controlled_shutdown: bool = False
    features: tuple[BrokerFeature, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "incarnation_id", _uuid(self.incarnation_id))
        object.__setattr__(
            self,
            "endpoints",
            tuple(e if isinstance(e, BrokerEndpoint) else BrokerEndpoint(**e) for e in self.endpoints),
        )
        object.__setattr__(
            self,
            "features",
            tuple(f if isinstance(f, BrokerFeature) else BrokerFeature(**f) for f in self.features),
        )


@dataclass(frozen=True)
class UnregisterBrokerRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 1
    broker_id: int
    broker_epoch: int


@dataclass(frozen=True)
class TopicRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 2
    name: str
    topic_id: uuid.UUID

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic_id", _uuid(self.topic_id))


@dataclass(frozen=True)
class PartitionRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 3
    partition_id: int
    topic_id: uuid.UUID
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader: int
    leader_epoch: int = 0
    partition_epoch: int = 0
    removing_replicas: tuple[int, ...] = ()
    adding_replicas: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic_id", _uuid(self.topic_id))
        for name in ("replicas", "isr", "removing_replicas", "adding_replicas"):
            object.__setattr__(self, name, _ints(getattr(self, name)))


@dataclass(frozen=True)
class ConfigRecord(MetadataRecord):
    """Set (``value`` not None) or delete (``value`` None) one config of one resource.

    ``resource_name`` is the topic name, or the broker id as a string ("" = cluster-wide default).
    """

    API_KEY: ClassVar[int] = 4
    resource_type: int
    resource_name: str
    name: str
    value: str | None


@dataclass(frozen=True)
class PartitionChangeRecord(MetadataRecord):
    """A change to an existing partition. ``None`` fields (and ``leader == -2``) mean "unchanged".

    Applying it bumps ``partition_epoch``; a leader change (or a replica-set change) also bumps
    ``leader_epoch``, as Kafka's ``PartitionRegistration.merge`` does.
    """

    API_KEY: ClassVar[int] = 5
    partition_id: int
    topic_id: uuid.UUID
    isr: tuple[int, ...] | None = None
    leader: int = NO_LEADER_CHANGE
    replicas: tuple[int, ...] | None = None
    removing_replicas: tuple[int, ...] | None = None
    adding_replicas: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic_id", _uuid(self.topic_id))
        for name in ("isr", "replicas", "removing_replicas", "adding_replicas"):
            object.__setattr__(self, name, _opt_ints(getattr(self, name)))


@dataclass(frozen=True)
class RemoveTopicRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 9
    topic_id: uuid.UUID

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic_id", _uuid(self.topic_id))


@dataclass(frozen=True)
class FeatureLevelRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 12
    name: str
    feature_level: int


@dataclass(frozen=True)
class ProducerIdsRecord(MetadataRecord):
    """The next producer id block starts at ``next_producer_id`` (InitProducerId allocations)."""

    API_KEY: ClassVar[int] = 15
    broker_id: int
    broker_epoch: int
    next_producer_id: int


@dataclass(frozen=True)
class NoOpRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 20


RECORD_TYPES: dict[int, type[MetadataRecord]] = {
    cls.API_KEY: cls
    for cls in (
        RegisterBrokerRecord,
        UnregisterBrokerRecord,
        TopicRecord,
        PartitionRecord,
        ConfigRecord,
        PartitionChangeRecord,
        RemoveTopicRecord,
        FeatureLevelRecord,
        ProducerIdsRecord,
        NoOpRecord,
    )
}


def write_uvarint(value: int, out: bytearray) -> None:
    """Append ``value`` as an unsigned varint (:mod:`kavka.protocol.varint`; ValueError outside uint32)."""
    out += encode_unsigned_varint(value)


def read_uvarint(data: bytes | memoryview, pos: int) -> tuple[int, int]:
    """Return ``(value, next_pos)``; at most 5 bytes (an unsigned 32-bit value), like Kafka.

    Malformed input (truncated, longer than 5 bytes, above 32 bits) raises MetadataRecordError.
    """
    try:
        return decode_unsigned_varint(data, pos)
    except ValueError as e:
        raise MetadataRecordError(f"bad varint in metadata record frame: {e}") from None


def encode_record(record: MetadataRecord) -> bytes:
    w = Writer()
    w.uvarint(FRAME_VERSION)
    w.uvarint(record.API_KEY)
    w.uvarint(record.VERSION)
    _write_body(w, record)
    return bytes(w.out)


def decode_record(data: bytes | memoryview) -> MetadataRecord:
    frame, pos = read_uvarint(data, 0)
    if frame != FRAME_VERSION:
        raise MetadataRecordError(f"unsupported metadata record frame version {frame}")
    api_key, pos = read_uvarint(data, pos)
    version, pos = read_uvarint(data, pos)
    cls = RECORD_TYPES.get(api_key)
    if cls is None:
        raise MetadataRecordError(f"unknown metadata record api key {api_key}")
    body = bytes(data[pos:])
    if body[:1] == b"{" and body[-1:] == b"}":  # a JSON body from a Kavka before the binary ones
        if version != 0:
            raise MetadataRecordError(f"unsupported {cls.__name__} version {version}")
        try:
            return cls.from_json(json.loads(body.decode()))
        except (ValueError, TypeError) as e:
            raise MetadataRecordError(f"malformed {cls.__name__} body: {e}") from e
    if version > _MAX_VERSION.get(cls, 0):
        raise MetadataRecordError(f"unsupported {cls.__name__} version {version}")
    try:
        r = Reader(body)
        record = _read_body(r, cls, version)
    except (BinaryError, TypeError) as e:
        raise MetadataRecordError(f"malformed {cls.__name__} body: {e}") from e
    if not r.at_end():
        raise MetadataRecordError(f"malformed {cls.__name__} body: {len(body) - r.pos} bytes after the record")
    return record


# The newest version of each record that `_read_body` reads (Kafka's validVersions).
_MAX_VERSION: dict[type[MetadataRecord], int] = {RegisterBrokerRecord: 3, PartitionRecord: 2, PartitionChangeRecord: 2}
_NO_TAGS: list[tuple[int, bytes]] = []


def _int32_bytes(value: int) -> bytes:
    w = Writer()
    w.fixed("int32", value)
    return bytes(w.out)


def _int32s_bytes(values: tuple[int, ...]) -> bytes:
    w = Writer()
    w.int32s(values)
    return bytes(w.out)


def _write_body(w: Writer, r: MetadataRecord) -> None:
    """``r``'s body in Kafka's schema at ``r.VERSION``, tagged fields included."""
    tags = _NO_TAGS
    if isinstance(r, RegisterBrokerRecord):
        w.fixed("int32", r.broker_id)
        w.uuid(r.incarnation_id)
        w.fixed("int64", r.broker_epoch)
        w.uvarint(len(r.endpoints) + 1)
        for e in r.endpoints:
            w.string(e.name)
            w.string(e.host)
            w.fixed("uint16", e.port)
            w.fixed("int16", e.security_protocol)
            w.tagged(_NO_TAGS)
        w.uvarint(len(r.features) + 1)
        for f in r.features:
            w.string(f.name)
            w.fixed("int16", f.min_supported_version)
            w.fixed("int16", f.max_supported_version)
            w.tagged(_NO_TAGS)
        w.string(r.rack)
        w.boolean(r.fenced)
        w.boolean(r.in_controlled_shutdown)
    elif isinstance(r, UnregisterBrokerRecord):
        w.fixed("int32", r.broker_id)
        w.fixed("int64", r.broker_epoch)
    elif isinstance(r, TopicRecord):
        w.string(r.name)
        w.uuid(r.topic_id)
    elif isinstance(r, PartitionRecord):
        w.fixed("int32", r.partition_id)
        w.uuid(r.topic_id)
        for ints in (r.replicas, r.isr, r.removing_replicas, r.adding_replicas):
            w.int32s(ints)
        w.fixed("int32", r.leader)
        w.fixed("int32", r.leader_epoch)
        w.fixed("int32", r.partition_epoch)
    elif isinstance(r, ConfigRecord):
        w.fixed("int8", r.resource_type)
        w.string(r.resource_name)
        w.string(r.name)
        w.string(r.value)
    elif isinstance(r, PartitionChangeRecord):
        w.fixed("int32", r.partition_id)
        w.uuid(r.topic_id)
        tags = [(0, _int32s_bytes(r.isr))] if r.isr is not None else []
        if r.leader != NO_LEADER_CHANGE:
            tags.append((1, _int32_bytes(r.leader)))
        for tag, changed in ((2, r.replicas), (3, r.removing_replicas), (4, r.adding_replicas)):
            if changed is not None:
                tags.append((tag, _int32s_bytes(changed)))
    elif isinstance(r, RemoveTopicRecord):
        w.uuid(r.topic_id)
    elif isinstance(r, FeatureLevelRecord):
        w.string(r.name)
        w.fixed("int16", r.feature_level)
    elif isinstance(r, ProducerIdsRecord):
        w.fixed("int32", r.broker_id)
        w.fixed("int64", r.broker_epoch)
        w.fixed("int64", r.next_producer_id)
    elif not isinstance(r, NoOpRecord):
        raise MetadataRecordError(f"no binary schema for {type(r).__name__}")
    w.tagged(tags)


def _string(r: Reader) -> str:
    value = r.string()
    if value is None:
        raise BinaryError("null where a string is required")
    return value


def _int32s(r: Reader) -> tuple[int, ...]:
    values = r.int32s()
    if values is None:
        raise BinaryError("null where an array is required")
    return values


def _skip_uuids(r: Reader) -> None:
    for _ in range(r.array_length() or 0):
        r.uuid()


def _read_body(r: Reader, cls: type[MetadataRecord], version: int) -> MetadataRecord:
    """A body of ``cls`` at ``version`` in Kafka's schema; fields Kavka does not model are skipped."""
    record: MetadataRecord
    if cls is RegisterBrokerRecord:
        broker_id = r.fixed("int32")
        if version >= 2:
            r.boolean()  # IsMigratingZkBroker
        incarnation, epoch = r.uuid(), r.fixed("int64")
        endpoints = []
        for _ in range(r.array_length() or 0):
            endpoints.append(BrokerEndpoint(_string(r), _string(r), r.fixed("uint16"), r.fixed("int16")))
            r.tagged()
        features = []
        for _ in range(r.array_length() or 0):
            features.append(BrokerFeature(_string(r), r.fixed("int16"), r.fixed("int16")))
            r.tagged()
        rack, fenced = r.string(), r.boolean()
        shutdown = r.boolean() if version >= 1 else False
        record = RegisterBrokerRecord(
            broker_id, incarnation, epoch, tuple(endpoints), rack, fenced, shutdown, tuple(features)
        )
    elif cls is UnregisterBrokerRecord:
        record = UnregisterBrokerRecord(r.fixed("int32"), r.fixed("int64"))
    elif cls is TopicRecord:
        record = TopicRecord(_string(r), r.uuid())
    elif cls is PartitionRecord:
        pid, topic_id = r.fixed("int32"), r.uuid()
        replicas, isr, removing, adding = (_int32s(r) for _ in range(4))
        leader, leader_epoch, partition_epoch = r.fixed("int32"), r.fixed("int32"), r.fixed("int32")
        if version >= 1:
            _skip_uuids(r)  # Directories
        record = PartitionRecord(pid, topic_id, replicas, isr, leader, leader_epoch, partition_epoch, removing, adding)
    elif cls is ConfigRecord:
        record = ConfigRecord(r.fixed("int8"), _string(r), _string(r), r.string())
    elif cls is PartitionChangeRecord:
        pid, topic_id = r.fixed("int32"), r.uuid()
        tags = r.tagged()

        def ints(tag: int) -> tuple[int, ...] | None:
            return Reader(tags[tag]).int32s() if tag in tags else None

        leader = Reader(tags[1]).fixed("int32") if 1 in tags else NO_LEADER_CHANGE
        return PartitionChangeRecord(pid, topic_id, ints(0), leader, ints(2), ints(3), ints(4))
    elif cls is RemoveTopicRecord:
        record = RemoveTopicRecord(r.uuid())
    elif cls is FeatureLevelRecord:
        record = FeatureLevelRecord(_string(r), r.fixed("int16"))
    elif cls is ProducerIdsRecord:
        record = ProducerIdsRecord(r.fixed("int32"), r.fixed("int64"), r.fixed("int64"))
    elif cls is NoOpRecord:
        record = NoOpRecord()
    else:
        raise MetadataRecordError(f"no binary schema for {cls.__name__}")
    r.tagged()
    return record
