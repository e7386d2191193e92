"""Metadata records (KRaft's ``__cluster_metadata`` records) and their byte encoding.

Record types and api keys are Kafka's (``metadata/src/main/resources/common/metadata/*.json``); field
names are Kafka's in snake_case. Each record is an immutable dataclass; lists are tuples.

Byte layout of one encoded record (the value of one record in a ``__cluster_metadata`` batch), as
Kafka's ``MetadataRecordSerde`` writes it, so Kafka's ``kafka-dump-log --cluster-metadata-decoder``
and ``kafka-metadata-shell`` read Kavka's metadata log::

    uvarint  frame version   always 1
    uvarint  api key         Kafka's metadata record api key (TopicRecord = 2, ...)
    uvarint  version         the body's schema version (Kafka's; ``VERSION`` of the class)
    bytes    body            Kafka's flexible binary encoding of the record (metadata.record_schema)

Each class's ``SCHEMA`` lists Kafka's fields in Kafka's order; fields Kavka does not keep are written
as Kafka's defaults and dropped when read, and any version from 0 to ``MAX_VERSION`` is read.

Kavka before 0.5 wrote the body as a UTF-8 JSON object at version 0. ``decode_record`` still reads
those (a body that is not valid binary and starts with ``{``); they leave the log when it is next
snapshotted. Records with an unknown api key are rejected (``MetadataRecordError``), so a log from a
newer Kavka is never half-applied.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from kavka.metadata.record_schema import Field, decode_body, encode_body
from kavka.protocol.varint import decode_unsigned_varint, encode_unsigned_varint

__all__ = [
    "MetadataRecord",
    "MetadataRecordError",
    "RegisterBrokerRecord",
    "UnregisterBrokerRecord",
    "FenceBrokerRecord",
    "UnfenceBrokerRecord",
    "BrokerRegistrationChangeRecord",
    "BrokerEndpoint",
    "BrokerFeature",
    "TopicRecord",
    "PartitionRecord",
    "ConfigRecord",
    "PartitionChangeRecord",
    "RemoveTopicRecord",
    "FeatureLevelRecord",
    "ClientQuotaRecord",
    "QuotaEntityPart",
    "ProducerIdsRecord",
    "UserScramCredentialRecord",
    "RemoveUserScramCredentialRecord",
    "AccessControlEntryRecord",
    "RemoveAccessControlEntryRecord",
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
    VERSION: ClassVar[int] = 0  # the version Kavka writes
    MAX_VERSION: ClassVar[int] = 0  # the newest version Kavka reads
    SCHEMA: ClassVar[tuple[Field, ...]] = ()

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MetadataRecord:
        return cls(**data)

    def write_version(self) -> int:
        """The body version this record is written at (``VERSION``, unless a record picks one per value)."""
        return self.VERSION


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
    broker_id: int
    incarnation_id: uuid.UUID
    broker_epoch: int
    endpoints: tuple[BrokerEndpoint, ...] = ()
    rack: str | None = None
    fenced: bool = True  # Kafka's default: a new registration is fenced until it catches up
    in_controlled_shutdown: bool = False
    features: tuple[BrokerFeature, ...] = ()
    log_dirs: tuple[uuid.UUID, ...] = ()  # the broker's log directories' ``directory.id``s

    VERSION: ClassVar[int] = 3
    MAX_VERSION: ClassVar[int] = 3
    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("broker_id", "int32"),
        Field("_is_migrating_zk_broker", "bool", since=2, default=False),
        Field("incarnation_id", "uuid"),
        Field("broker_epoch", "int64"),
        Field(
            "endpoints",
            "[struct]",
            element=BrokerEndpoint,
            fields=(
                Field("name", "string"),
                Field("host", "string"),
                Field("port", "uint16"),
                Field("security_protocol", "int16"),
            ),
        ),
        Field(
            "features",
            "[struct]",
            element=BrokerFeature,
            fields=(
                Field("name", "string"),
                Field("min_supported_version", "int16"),
                Field("max_supported_version", "int16"),
            ),
        ),
        Field("rack", "string", nullable=True),
        Field("fenced", "bool"),
        Field("in_controlled_shutdown", "bool", since=1),
        Field("log_dirs", "[uuid]", since=3, tag=0, default=()),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "incarnation_id", _uuid(self.incarnation_id))
        object.__setattr__(self, "log_dirs", tuple(_uuid(d) for d in self.log_dirs))
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

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("broker_id", "int32"), Field("broker_epoch", "int64"))


@dataclass(frozen=True)
class FenceBrokerRecord(MetadataRecord):
    """Fence a broker (Kafka's record before ``BrokerRegistrationChangeRecord``; read, not written)."""

    API_KEY: ClassVar[int] = 7
    id: int
    epoch: int

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("id", "int32"), Field("epoch", "int64"))


@dataclass(frozen=True)
class UnfenceBrokerRecord(MetadataRecord):
    """Unfence a broker (Kafka's record before ``BrokerRegistrationChangeRecord``; read, not written)."""

    API_KEY: ClassVar[int] = 8
    id: int
    epoch: int

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("id", "int32"), Field("epoch", "int64"))


#: ``BrokerRegistrationChangeRecord.fenced`` values (Kafka's ``BrokerRegistrationFencingChange``)
FENCE, NO_FENCING_CHANGE, UNFENCE = 1, 0, -1
#: ``BrokerRegistrationChangeRecord.in_controlled_shutdown`` (``BrokerRegistrationInControlledShutdownChange``)
NO_SHUTDOWN_CHANGE, IN_CONTROLLED_SHUTDOWN = 0, 1


@dataclass(frozen=True)
class BrokerRegistrationChangeRecord(MetadataRecord):
    """A change to a registered broker: fenced (1), unfenced (-1) or unchanged (0); entering
    controlled shutdown (1) or unchanged (0). Kafka writes it at version 0 for a fencing change and
    at version 1 when it carries ``in_controlled_shutdown`` (``ReplicationControlManager``)."""

    API_KEY: ClassVar[int] = 17
    broker_id: int
    broker_epoch: int
    fenced: int = NO_FENCING_CHANGE
    in_controlled_shutdown: int = NO_SHUTDOWN_CHANGE

    MAX_VERSION: ClassVar[int] = 3
    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("broker_id", "int32"),
        Field("broker_epoch", "int64"),
        Field("fenced", "int8", tag=0, default=NO_FENCING_CHANGE),
        Field("in_controlled_shutdown", "int8", since=1, tag=1, default=NO_SHUTDOWN_CHANGE),
        Field("_log_dirs", "[uuid]", since=2, tag=2, default=()),
        Field("_cordoned_log_dirs", "[uuid]", since=3, nullable=True, tag=3),
    )

    def write_version(self) -> int:
        return 1 if self.in_controlled_shutdown != NO_SHUTDOWN_CHANGE else 0


@dataclass(frozen=True)
class TopicRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 2
    name: str
    topic_id: uuid.UUID

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("name", "string"), Field("topic_id", "uuid"))

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

    MAX_VERSION: ClassVar[int] = 2
    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("partition_id", "int32"),
        Field("topic_id", "uuid"),
        Field("replicas", "[int32]"),
        Field("isr", "[int32]"),
        Field("removing_replicas", "[int32]"),
        Field("adding_replicas", "[int32]"),
        Field("leader", "int32"),
        Field("_leader_recovery_state", "int8", tag=0, default=0),
        Field("leader_epoch", "int32"),
        Field("partition_epoch", "int32"),
        Field("_directories", "[uuid]", since=1),
        Field("_eligible_leader_replicas", "[int32]", since=2, nullable=True, tag=1),
        Field("_last_known_elr", "[int32]", since=2, nullable=True, tag=2),
    )

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

    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("resource_type", "int8"),
        Field("resource_name", "string"),
        Field("name", "string"),
        Field("value", "string", nullable=True),
    )


@dataclass(frozen=True)
class PartitionChangeRecord(MetadataRecord):
    """A change to an existing partition. ``None`` fields (and ``leader == -2``) mean "unchanged".

    Applying it bumps ``partition_epoch``; a record that sets ``leader`` (even to the current leader)
    also bumps ``leader_epoch``, as Kafka's ``PartitionRegistration.merge`` does.
    """

    API_KEY: ClassVar[int] = 5
    partition_id: int
    topic_id: uuid.UUID
    isr: tuple[int, ...] | None = None
    leader: int = NO_LEADER_CHANGE
    replicas: tuple[int, ...] | None = None
    removing_replicas: tuple[int, ...] | None = None
    adding_replicas: tuple[int, ...] | None = None

    MAX_VERSION: ClassVar[int] = 2
    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("partition_id", "int32"),
        Field("topic_id", "uuid"),
        Field("isr", "[int32]", nullable=True, tag=0),
        Field("leader", "int32", tag=1, default=NO_LEADER_CHANGE),
        Field("replicas", "[int32]", nullable=True, tag=2),
        Field("removing_replicas", "[int32]", nullable=True, tag=3),
        Field("adding_replicas", "[int32]", nullable=True, tag=4),
        Field("_leader_recovery_state", "int8", tag=5, default=-1),
        Field("_directories", "[uuid]", since=1, nullable=True, tag=8),
        Field("_eligible_leader_replicas", "[int32]", since=2, nullable=True, tag=6),
        Field("_last_known_elr", "[int32]", since=2, nullable=True, tag=7),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic_id", _uuid(self.topic_id))
        for name in ("isr", "replicas", "removing_replicas", "adding_replicas"):
            object.__setattr__(self, name, _opt_ints(getattr(self, name)))


@dataclass(frozen=True)
class RemoveTopicRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 9
    topic_id: uuid.UUID

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("topic_id", "uuid"),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "topic_id", _uuid(self.topic_id))


@dataclass(frozen=True)
class FeatureLevelRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 12
    name: str
    feature_level: int

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("name", "string"), Field("feature_level", "int16"))


@dataclass(frozen=True)
class QuotaEntityPart:
    entity_type: str  # "user", "client-id" or "ip"
    entity_name: str | None  # None: the default entity of this type


@dataclass(frozen=True)
class ClientQuotaRecord(MetadataRecord):
    """Set (``remove`` false) or remove one quota ``key`` of one client quota entity (KIP-546)."""

    API_KEY: ClassVar[int] = 14
    entity: tuple[QuotaEntityPart, ...]
    key: str
    value: float
    remove: bool = False

    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field(
            "entity",
            "[struct]",
            element=QuotaEntityPart,
            fields=(Field("entity_type", "string"), Field("entity_name", "string", nullable=True)),
        ),
        Field("key", "string"),
        Field("value", "float64"),
        Field("remove", "bool"),
    )

    def __post_init__(self) -> None:
        object.__setattr__(
            self,
            "entity",
            tuple(e if isinstance(e, QuotaEntityPart) else QuotaEntityPart(**e) for e in self.entity),
        )
        object.__setattr__(self, "value", float(self.value))


@dataclass(frozen=True)
class ProducerIdsRecord(MetadataRecord):
    """The next producer id block starts at ``next_producer_id`` (InitProducerId allocations)."""

    API_KEY: ClassVar[int] = 15
    broker_id: int
    broker_epoch: int
    next_producer_id: int

    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("broker_id", "int32"),
        Field("broker_epoch", "int64"),
        Field("next_producer_id", "int64"),
    )


@dataclass(frozen=True)
class UserScramCredentialRecord(MetadataRecord):
    """A user's SCRAM credential for one mechanism (1 SCRAM-SHA-256, 2 SCRAM-SHA-512): salt, StoredKey,
    ServerKey and iterations (kavka.security.scram); it replaces any earlier one for that pair."""

    API_KEY: ClassVar[int] = 11
    name: str
    mechanism: int
    salt: bytes
    stored_key: bytes
    server_key: bytes
    iterations: int

    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("name", "string"),
        Field("mechanism", "int8"),
        Field("salt", "bytes"),
        Field("stored_key", "bytes"),
        Field("server_key", "bytes"),
        Field("iterations", "int32"),
    )


@dataclass(frozen=True)
class RemoveUserScramCredentialRecord(MetadataRecord):
    """Remove a user's SCRAM credential for one mechanism."""

    API_KEY: ClassVar[int] = 22
    name: str
    mechanism: int

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("name", "string"), Field("mechanism", "int8"))


@dataclass(frozen=True)
class AccessControlEntryRecord(MetadataRecord):
    """One ACL, with the id its removal names (codes as in the ACL APIs: ``kavka.security.authorizer``)."""

    API_KEY: ClassVar[int] = 18
    id: uuid.UUID
    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission_type: int

    SCHEMA: ClassVar[tuple[Field, ...]] = (
        Field("id", "uuid"),
        Field("resource_type", "int8"),
        Field("resource_name", "string"),
        Field("pattern_type", "int8"),
        Field("principal", "string"),
        Field("host", "string"),
        Field("operation", "int8"),
        Field("permission_type", "int8"),
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _uuid(self.id))


@dataclass(frozen=True)
class RemoveAccessControlEntryRecord(MetadataRecord):
    """Remove the ACL of an earlier AccessControlEntryRecord, by its id."""

    API_KEY: ClassVar[int] = 19
    id: uuid.UUID

    SCHEMA: ClassVar[tuple[Field, ...]] = (Field("id", "uuid"),)

    def __post_init__(self) -> None:
        object.__setattr__(self, "id", _uuid(self.id))


@dataclass(frozen=True)
class NoOpRecord(MetadataRecord):
    API_KEY: ClassVar[int] = 20


RECORD_TYPES: dict[int, type[MetadataRecord]] = {
    cls.API_KEY: cls
    for cls in (
        RegisterBrokerRecord,
        UnregisterBrokerRecord,
        FenceBrokerRecord,
        UnfenceBrokerRecord,
        BrokerRegistrationChangeRecord,
        TopicRecord,
        PartitionRecord,
        ConfigRecord,
        PartitionChangeRecord,
        RemoveTopicRecord,
        FeatureLevelRecord,
        ClientQuotaRecord,
        ProducerIdsRecord,
        UserScramCredentialRecord,
        RemoveUserScramCredentialRecord,
        AccessControlEntryRecord,
        RemoveAccessControlEntryRecord,
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
    out = bytearray()
    write_uvarint(FRAME_VERSION, out)
    write_uvarint(record.API_KEY, out)
    version = record.write_version()
    write_uvarint(version, out)
    out += encode_body(record.SCHEMA, record, version)
    return bytes(out)


def decode_record(data: bytes | memoryview) -> MetadataRecord:
    frame, pos = read_uvarint(data, 0)
    if frame != FRAME_VERSION:
        raise MetadataRecordError(f"unsupported metadata record frame version {frame}")
    api_key, pos = read_uvarint(data, pos)
    version, pos = read_uvarint(data, pos)
    cls = RECORD_TYPES.get(api_key)
    if cls is None:
        raise MetadataRecordError(f"unknown metadata record api key {api_key}")
    if version > cls.MAX_VERSION:
        raise MetadataRecordError(f"unsupported {cls.__name__} version {version}")
    body = bytes(data[pos:])
    try:
        return decode_body(cls.SCHEMA, cls, body, version)  # type: ignore[no-any-return]
    except (ValueError, TypeError, UnicodeDecodeError) as e:
        if version == 0 and body[:1] == b"{":
            return _decode_legacy_json(cls, body)
        raise MetadataRecordError(f"malformed {cls.__name__} body: {e}") from e


def _decode_legacy_json(cls: type[MetadataRecord], body: bytes) -> MetadataRecord:
    """A body written by Kavka before 0.5: a JSON object of the record's fields."""
    try:
        return cls.from_json(json.loads(body.decode()))
    except (ValueError, TypeError) as e:
        raise MetadataRecordError(f"malformed {cls.__name__} body: {e}") from e
