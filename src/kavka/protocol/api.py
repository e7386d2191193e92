"""Request headers, request bodies and low-volume responses, with kio underneath.

This module and :mod:`kavka.protocol.decoder` are the only places that import kio, and only its
public names (``kio.index``, ``kio.serial.entity_writer``, ``kio.schema``). Everything above sees plain
Python: decoded requests are kio's frozen dataclasses (read by attribute), and responses are built from plain dicts and lists by
:func:`encode_response`, which fills the fields a version lacks with zero values and drops the keys it
does not have, so one handler serves every version of its API.

Request header layout (Kafka's RequestHeader v1 / v2)::

    int16  request_api_key
    int16  request_api_version
    int32  correlation_id
    int16  client_id length (-1 = null), then that many bytes   # a legacy string even in v2
    [v2 only] tagged fields: uvarint count, then (uvarint tag, uvarint size, bytes) each

Header v2 is used exactly when the request's API version is flexible (KIP-482). The response header
is v0 (correlation id) or, for flexible responses, v1 (correlation id + an empty tagged-field section);
ApiVersions always answers with header v0 so a client can read the reply before it knows our versions.
"""

from __future__ import annotations

import datetime
import enum
import functools
import io
import struct
import typing
import uuid
from collections.abc import Mapping
from dataclasses import MISSING, fields
from typing import Any, NamedTuple, TypeAlias

from kio.schema.errors import ErrorCode
from kio.serial import entity_writer
from kio.serial.writers import Writer
from kio.static.protocol import Entity, Payload

from kavka.protocol.decoder import decode_with, entity_class, request_decoder
from kavka.protocol.extra_schemas import load_request_schema, load_response_schema
from kavka.protocol.primitives import ProtocolDecodeError, response_header
from kavka.protocol.varint import Buffer

__all__ = [
    "ApiKey",
    "ErrorCode",
    "RequestHeader",
    "ProtocolDecodeError",
    "parse_request_header",
    "is_flexible",
    "decode_request",
    "encode_response",
    "response_header",
]


class ApiKey(enum.IntEnum):
    PRODUCE = 0
    FETCH = 1
    LIST_OFFSETS = 2
    METADATA = 3
    OFFSET_COMMIT = 8
    OFFSET_FETCH = 9
    FIND_COORDINATOR = 10
    JOIN_GROUP = 11
    HEARTBEAT = 12
    LEAVE_GROUP = 13
    SYNC_GROUP = 14
    DESCRIBE_GROUPS = 15
    LIST_GROUPS = 16
    SASL_HANDSHAKE = 17
    API_VERSIONS = 18
    CREATE_TOPICS = 19
    DELETE_TOPICS = 20
    DELETE_RECORDS = 21
    INIT_PRODUCER_ID = 22
    OFFSET_FOR_LEADER_EPOCH = 23
    ADD_PARTITIONS_TO_TXN = 24
    ADD_OFFSETS_TO_TXN = 25
    END_TXN = 26
    WRITE_TXN_MARKERS = 27
    TXN_OFFSET_COMMIT = 28
    DESCRIBE_ACLS = 29
    CREATE_ACLS = 30
    DELETE_ACLS = 31
    DESCRIBE_CONFIGS = 32
    ALTER_CONFIGS = 33
    ALTER_REPLICA_LOG_DIRS = 34
    DESCRIBE_LOG_DIRS = 35
    SASL_AUTHENTICATE = 36
    CREATE_PARTITIONS = 37
    DELETE_GROUPS = 42
    ELECT_LEADERS = 43
    INCREMENTAL_ALTER_CONFIGS = 44
    ALTER_PARTITION_REASSIGNMENTS = 45
    LIST_PARTITION_REASSIGNMENTS = 46
    OFFSET_DELETE = 47
    DESCRIBE_CLIENT_QUOTAS = 48
    ALTER_CLIENT_QUOTAS = 49
    DESCRIBE_USER_SCRAM_CREDENTIALS = 50
    ALTER_USER_SCRAM_CREDENTIALS = 51
    DESCRIBE_QUORUM = 55
    ALTER_PARTITION = 56
    UPDATE_FEATURES = 57
    DESCRIBE_CLUSTER = 60
    DESCRIBE_PRODUCERS = 61
    BROKER_REGISTRATION = 62
    BROKER_HEARTBEAT = 63
    UNREGISTER_BROKER = 64
    DESCRIBE_TRANSACTIONS = 65
    LIST_TRANSACTIONS = 66
    ALLOCATE_PRODUCER_IDS = 67
    CONSUMER_GROUP_HEARTBEAT = 68
    CONSUMER_GROUP_DESCRIBE = 69
    LIST_CONFIG_RESOURCES = 74
    DESCRIBE_TOPIC_PARTITIONS = 75


class RequestHeader(NamedTuple):
    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


_HDR = struct.Struct(">hhih")


@functools.cache
def is_flexible(api_key: int, api_version: int) -> bool:
    """Whether this request version uses compact encodings and tagged fields (header v2)."""
    try:
        return bool(load_request_schema(api_key, api_version).__flexible__)
    except Exception:
        return False


def _skip_uvarint(buf: Buffer, pos: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        if pos >= end:
            raise ProtocolDecodeError("truncated varint")
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7
        if shift > 28:
            raise ProtocolDecodeError("varint too long")


def parse_request_header(buf: Buffer, flexible: bool | None = None) -> tuple[RequestHeader, int]:
    """Parse the request header at the start of ``buf``; return it and the offset of the body.

    ``flexible`` defaults to what the API version says. Raises ProtocolDecodeError for short input.
    """
    end = len(buf)
    if end < 10:
        raise ProtocolDecodeError("request header shorter than 10 bytes")
    api_key, api_version, correlation_id, n = _HDR.unpack_from(buf, 0)
    pos = 10
    client_id = None
    if n >= 0:
        if pos + n > end:
            raise ProtocolDecodeError("client id runs past the frame")
        # Java's new String(bytes, UTF_8), which Kafka uses, replaces invalid bytes rather than failing
        client_id = bytes(buf[pos : pos + n]).decode("utf-8", "replace")
        pos += n
    elif n != -1:
        raise ProtocolDecodeError(f"bad client id length {n}")
    if flexible is None:
        flexible = is_flexible(api_key, api_version)
    if flexible:
        count, pos = _skip_uvarint(buf, pos, end)
        for _ in range(count):
            _, pos = _skip_uvarint(buf, pos, end)
            size, pos = _skip_uvarint(buf, pos, end)
            pos += size
            if pos > end:
                raise ProtocolDecodeError("tagged field runs past the frame")
    return RequestHeader(api_key, api_version, correlation_id, client_id), pos


def decode_request(api_key: int, api_version: int, buf: Buffer, offset: int) -> Any:
    """Decode a request body (kio's entity for this version). Raises ProtocolDecodeError for anything
    malformed: every length is checked against the bytes left before it is used, null is refused where
    the schema forbids it, and unknown tagged fields are skipped (KIP-482); see
    :mod:`kavka.protocol.decoder`. ``buf`` may be bytes, bytearray or memoryview.
    """
    try:
        reader = request_decoder(api_key, api_version)
    except Exception as e:  # kio's index has no schema for this key/version
        raise ProtocolDecodeError(f"no schema for {_api_name(api_key)} v{api_version}: {e}") from None
    try:
        return decode_with(reader, buf, offset)[0]
    except ProtocolDecodeError as e:
        raise ProtocolDecodeError(f"cannot decode {_api_name(api_key)} v{api_version}: {e}") from None


def _api_name(api_key: int) -> str:
    return ApiKey(api_key).name if api_key in ApiKey._value2member_map_ else str(api_key)


# --- dict -> kio entity conversion -------------------------------------------------------------


_UTC = datetime.UTC


def _convert_scalar(kafka_type: str | None, value: Any) -> Any:
    if kafka_type == "timedelta_i32" or kafka_type == "timedelta_i64":
        return value if isinstance(value, datetime.timedelta) else datetime.timedelta(milliseconds=value)
    if kafka_type == "error_code":
        return value if isinstance(value, ErrorCode) else ErrorCode(int(value))
    if kafka_type == "datetime_i64":
        if value is None or isinstance(value, datetime.datetime):
            return value
        # -1 ("no time", e.g. an Empty transaction's start) too: kio writes it back as the same int64
        return datetime.datetime.fromtimestamp(value / 1000, _UTC)
    if kafka_type == "uuid":
        if value is None or isinstance(value, uuid.UUID):
            return value
        return uuid.UUID(bytes=value) if isinstance(value, bytes) else uuid.UUID(str(value))
    return value


def _zero(kafka_type: str | None, optional: bool) -> object:
    if optional:
        return None
    return {
        "bool": False,
        "string": "",
        "bytes": b"",
        "records": None,
        "uuid": None,
        "error_code": ErrorCode.none,
        "timedelta_i32": datetime.timedelta(0),
        "timedelta_i64": datetime.timedelta(0),
        "datetime_i64": None,
        "float64": 0.0,
    }.get(kafka_type or "", 0)


def _entity_of(tp: Any) -> tuple[type[Entity] | None, bool]:
    """(entity class, is_sequence) for a field annotation, or (None, is_sequence) for primitives."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is tuple:
        inner = args[0]
        inner_origin = typing.get_origin(inner)
        if inner_origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
            inner = next(a for a in typing.get_args(inner) if a is not type(None))
        return entity_class(inner), True
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for a in args:
            if a is not type(None):
                ent, seq = _entity_of(a)
                return ent, seq
    return entity_class(tp), False


#: One field of an entity: name, kafka type, entity class (None for primitives), is a sequence,
#: is nullable, default (MISSING when the field has none).
_Slot: TypeAlias = tuple[str, str | None, type[Entity] | None, bool, bool, object]


@functools.cache
def _plan(cls: type[Entity]) -> list[_Slot]:
    hints = typing.get_type_hints(cls)
    plan: list[_Slot] = []
    for f in fields(cls):
        tp = hints[f.name]
        entity, seq = _entity_of(tp)
        optional = type(None) in typing.get_args(tp)
        default: object = f.default if f.default is not MISSING else MISSING
        if default is MISSING and f.default_factory is not MISSING:
            default = f.default_factory()
        plan.append((f.name, f.metadata.get("kafka_type"), entity, seq, optional, default))
    return plan


def build_entity(cls: type[Entity], data: Mapping[str, Any]) -> Any:
    """Build a kio entity of ``cls`` from a dict; unknown keys are dropped, missing fields zeroed."""
    kwargs: dict[str, Any] = {}
    for name, kafka_type, entity, seq, optional, default in _plan(cls):
        if name in data:
            value = data[name]
            if entity is not None:
                if seq:
                    value = (
                        None
                        if value is None
                        else tuple(v if isinstance(v, entity) else build_entity(entity, v) for v in value)
                    )
                elif value is not None and not isinstance(value, entity):
                    value = build_entity(entity, value)
            elif seq:
                value = None if value is None else tuple(_convert_scalar(kafka_type, v) for v in value)
            else:
                value = _convert_scalar(kafka_type, value)
        elif default is not MISSING:
            continue
        elif seq:
            value = None if optional else ()
        elif entity is not None:
            value = None if optional else build_entity(entity, {})
        else:
            value = _zero(kafka_type, optional)
        kwargs[name] = value
    return cls(**kwargs)


@functools.cache
def _response_codec(api_key: int, api_version: int) -> tuple[type[Payload], Writer[Payload], bool]:
    cls: type[Payload] = load_response_schema(api_key, api_version)
    return cls, entity_writer(cls), bool(cls.__flexible__)


def response_class(api_key: int, api_version: int) -> type[Payload]:
    return _response_codec(api_key, api_version)[0]


def _as_entity(cls: type[Payload], data: Mapping[str, Any] | Payload) -> Payload:
    """``data`` itself if it is a ``cls``, else the ``cls`` built from the dict ``data``."""
    if isinstance(data, cls):
        return data
    if isinstance(data, Mapping):
        built: Payload = build_entity(cls, data)
        return built
    raise TypeError(f"a {cls.__name__} cannot be built from a {type(data).__name__}")


def encode_response(api_key: int, api_version: int, correlation_id: int, data: Mapping[str, Any] | Payload) -> bytes:
    """Header + body of a response (without the 4-byte size prefix) from a dict or kio entity."""
    cls, writer, flexible = _response_codec(api_key, api_version)
    entity = _as_entity(cls, data)
    out = io.BytesIO()
    out.write(response_header(correlation_id, flexible and api_key != ApiKey.API_VERSIONS))
    writer(out, entity)
    return out.getvalue()


def request_class(api_key: int, api_version: int) -> type[Payload]:
    """kio's request dataclass for this key and version (for tools and tests that build requests)."""
    return load_request_schema(api_key, api_version)


def encode_request_body(api_key: int, api_version: int, data: Mapping[str, Any] | Payload) -> bytes:
    """A request body (no header, no size) from a dict or kio entity, as a client would send it."""
    cls: type[Payload] = load_request_schema(api_key, api_version)
    entity = _as_entity(cls, data)
    out = io.BytesIO()
    _request_writer(cls)(out, entity)
    return out.getvalue()


@functools.cache
def _request_writer(cls: type[Payload]) -> Writer[Payload]:
    return entity_writer(cls)
