"""Produce (API key 0), versions 3-13: hand-written request decoder and response encoder.

The broker's hot path. Record bytes are never copied: the decoder hands out ``memoryview`` slices of
the request buffer (they keep that buffer alive; copy them if you keep them past the request).

Request body (after the request header); ``flexible`` = v9+, where STRING/ARRAY/BYTES take their
COMPACT_ forms and every struct ends in a tagged-field section (none are defined for this request,
so all are skipped, as KIP-482 says)::

    transactional_id   NULLABLE_STRING           v3+
    acks               INT16
    timeout_ms         INT32
    topic_data         ARRAY of
        name               STRING                v3-12
        topic_id           UUID (16 bytes)       v13+ (KIP-516), instead of the name
        partition_data     ARRAY of
            index              INT32
            records            RECORDS (NULLABLE_BYTES)
            <tagged fields>                      v9+
        <tagged fields>                          v9+
    <tagged fields>                              v9+

Response body (after the response header, which is v1 = flexible from v9)::

    responses          ARRAY of
        name               STRING                v3-12
        topic_id           UUID (16 bytes)       v13+, instead of the name
        partition_responses ARRAY of
            index              INT32
            error_code         INT16
            base_offset        INT64
            log_append_time_ms INT64             -1 unless the topic uses LogAppendTime
            log_start_offset   INT64             v5+
            record_errors      ARRAY of          v8+
                batch_index        INT32
                batch_index_error_message NULLABLE_STRING
                <tagged fields>                  v9+
            error_message      NULLABLE_STRING   v8+
            <tagged fields>                      v9+; tag 0 current_leader (v10+):
                                                 leader_id INT32, leader_epoch INT32, <tagged fields>
        <tagged fields>                          v9+
    throttle_time_ms   INT32
    <tagged fields>                              v9+; tag 0 node_endpoints (v10+): COMPACT_ARRAY of
                                                 node_id INT32, host COMPACT_STRING, port INT32,
                                                 rack COMPACT_NULLABLE_STRING, <tagged fields>

v12 is v11 on the wire (KIP-890 part 2: with transaction version 2 a produce adds its partition to the
transaction, which is the broker's business, not the codec's).

Tagged fields equal to their defaults (current_leader = (-1, -1), node_endpoints = []) are omitted, as
Kafka's generated code does.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

from kavka.protocol.primitives import (
    EMPTY_TAGGED_FIELDS,
    ProtocolDecodeError,
    as_view,
    encode_array_length,
    encode_compact_array_length,
    encode_compact_nullable_string,
    encode_compact_string,
    encode_node_endpoints_tag,
    encode_nullable_string,
    encode_string,
    read_array_length,
    read_compact_array_length,
    read_compact_nullable_bytes,
    read_compact_nullable_string,
    read_compact_string,
    read_int32,
    read_nullable_bytes,
    read_nullable_string,
    read_string,
    skip_tagged_fields,
)
from kavka.protocol.varint import Buffer

__all__ = [
    "MIN_VERSION",
    "MAX_VERSION",
    "FIRST_FLEXIBLE_VERSION",
    "FIRST_TOPIC_ID_VERSION",
    "ProduceRequestData",
    "PartitionResponse",
    "NodeEndpoint",
    "decode_produce_request",
    "encode_produce_response",
]

MIN_VERSION = 3
MAX_VERSION = 13
FIRST_FLEXIBLE_VERSION = 9
FIRST_TOPIC_ID_VERSION = 13


class ProduceRequestData(NamedTuple):
    transactional_id: str | None
    acks: int
    timeout_ms: int
    #: ``[(topic, [(partition index, records slice or None), ...]), ...]`` in request order; the topic is
    #: its name, or from v13 its id (a ``uuid.UUID``)
    topics: list[tuple[str | uuid.UUID, list[tuple[int, memoryview | None]]]]


class PartitionResponse(NamedTuple):
    # Kafka's field name (ProduceResponse's Index). It shadows tuple.index(), which nothing calls; mypy
    # refuses a NamedTuple field over a tuple method, and renaming it would change this public API.
    index: int  # type: ignore[assignment]
    error_code: int = 0
    base_offset: int = -1
    log_append_time_ms: int = -1
    log_start_offset: int = -1  # v5+
    #: ``[(batch_index, message or None), ...]`` (v8+)
    record_errors: Sequence[tuple[int, str | None]] = ()
    error_message: str | None = None  # v8+
    #: ``(leader_id, leader_epoch)`` for NOT_LEADER_OR_FOLLOWER (v10+ tagged field 0); None = omit
    current_leader: tuple[int, int] | None = None


class NodeEndpoint(NamedTuple):
    node_id: int
    host: str
    port: int
    rack: str | None = None


def _check_version(version: int) -> None:
    if not MIN_VERSION <= version <= MAX_VERSION:
        raise ValueError(f"Produce v{version} is not supported (serving v{MIN_VERSION}-v{MAX_VERSION})")


# -- request ------------------------------------------------------------------------------------------


def decode_produce_request(buf: Buffer, offset: int, version: int) -> ProduceRequestData:
    """Decode a Produce request body starting at ``offset`` of ``buf`` (a memoryview, or any buffer).

    Raises ProtocolDecodeError for truncated or malformed input and ValueError for a version outside
    3-13. Bytes after the body are ignored.
    """
    _check_version(version)
    buf = as_view(buf)
    if offset < 0 or offset > len(buf):
        raise ProtocolDecodeError(f"offset {offset} outside a buffer of {len(buf)} bytes")
    if version >= FIRST_FLEXIBLE_VERSION:
        return _decode_flexible(buf, offset, version >= FIRST_TOPIC_ID_VERSION)

    transactional_id, pos = read_nullable_string(buf, offset)
    acks, timeout_ms, pos = _read_acks_timeout(buf, pos)
    n_topics, pos = read_array_length(buf, pos)
    if n_topics is None:
        raise ProtocolDecodeError("null topic_data array")
    topics: list[tuple[str | uuid.UUID, list[tuple[int, memoryview | None]]]] = []
    for _ in range(n_topics):
        name, pos = read_string(buf, pos)
        n_parts, pos = read_array_length(buf, pos)
        if n_parts is None:
            raise ProtocolDecodeError("null partition_data array")
        parts = []
        for _ in range(n_parts):
            index, pos = read_int32(buf, pos)
            records, pos = read_nullable_bytes(buf, pos)
            parts.append((index, records))
        topics.append((name, parts))
    return ProduceRequestData(transactional_id, acks, timeout_ms, topics)


_ACKS_TIMEOUT = struct.Struct(">hi")


def _read_acks_timeout(buf: memoryview, pos: int) -> tuple[int, int, int]:
    try:
        acks, timeout_ms = _ACKS_TIMEOUT.unpack_from(buf, pos)
    except struct.error:
        raise ProtocolDecodeError(f"truncated input: acks/timeout_ms at byte {pos}") from None
    return acks, timeout_ms, pos + 6


def _read_uuid(buf: memoryview, pos: int) -> tuple[uuid.UUID, int]:
    if pos + 16 > len(buf):
        raise ProtocolDecodeError(f"truncated input: topic id at byte {pos}")
    return uuid.UUID(bytes=bytes(buf[pos : pos + 16])), pos + 16


def _decode_flexible(buf: memoryview, pos: int, by_id: bool) -> ProduceRequestData:
    end = len(buf)
    topic: str | uuid.UUID
    transactional_id, pos = read_compact_nullable_string(buf, pos)
    acks, timeout_ms, pos = _read_acks_timeout(buf, pos)
    n_topics, pos = read_compact_array_length(buf, pos)
    if n_topics is None:
        raise ProtocolDecodeError("null topic_data array")
    topics = []
    for _ in range(n_topics):
        if by_id:
            topic, pos = _read_uuid(buf, pos)
        else:
            topic, pos = read_compact_string(buf, pos)
        n_parts, pos = read_compact_array_length(buf, pos)
        if n_parts is None:
            raise ProtocolDecodeError("null partition_data array")
        parts = []
        for _ in range(n_parts):
            index, pos = read_int32(buf, pos)
            records, pos = read_compact_nullable_bytes(buf, pos)
            if pos < end and buf[pos] == 0:  # no tagged fields, the usual case
                pos += 1
            else:
                pos = skip_tagged_fields(buf, pos)
            parts.append((index, records))
        if pos < end and buf[pos] == 0:
            pos += 1
        else:
            pos = skip_tagged_fields(buf, pos)
        topics.append((topic, parts))
    skip_tagged_fields(buf, pos)
    return ProduceRequestData(transactional_id, acks, timeout_ms, topics)


# -- response -----------------------------------------------------------------------------------------

_V3_PARTITION = struct.Struct(">ihqq")  # index, error_code, base_offset, log_append_time
_V5_PARTITION = struct.Struct(">ihqqq")  # + log_start_offset
_I32 = struct.Struct(">i")
_LEADER_TAG = struct.Struct(">BBBiiB")  # count=1, tag 0, size 9, leader_id, leader_epoch, no tags


def encode_produce_response(
    version: int,
    topics: Sequence[tuple[str | uuid.UUID, Sequence[PartitionResponse]]],
    throttle_time_ms: int = 0,
    node_endpoints: Sequence[NodeEndpoint] = (),
) -> bytes:
    """Encode a Produce response body (no size prefix, no response header) for ``version`` 3-13.

    Each topic is its name (v3-12) or its ``uuid.UUID`` id (v13+), as the request named it.
    Fields a version lacks are dropped; ``current_leader`` and ``node_endpoints`` are written only in
    v10+ and only when not their defaults.
    """
    _check_version(version)
    flexible = version >= FIRST_FLEXIBLE_VERSION
    with_leader = version >= 10
    if flexible:
        enc_len = encode_compact_array_length
        enc_str = encode_compact_string
        enc_nstr = encode_compact_nullable_string
    else:
        enc_len = encode_array_length
        enc_str = encode_string
        enc_nstr = encode_nullable_string
    pack_v3 = _V3_PARTITION.pack
    pack_v5 = _V5_PARTITION.pack
    with_log_start = version >= 5
    with_errors = version >= 8

    enc_topic: Callable[[Any], bytes] = _encode_uuid if version >= FIRST_TOPIC_ID_VERSION else enc_str
    out = bytearray(enc_len(len(topics)))
    for name, partitions in topics:
        out += enc_topic(name)
        out += enc_len(len(partitions))
        for p in partitions:
            if with_log_start:
                out += pack_v5(p.index, p.error_code, p.base_offset, p.log_append_time_ms, p.log_start_offset)
            else:
                out += pack_v3(p.index, p.error_code, p.base_offset, p.log_append_time_ms)
            if with_errors:
                record_errors = p.record_errors
                out += enc_len(len(record_errors))
                for batch_index, message in record_errors:
                    out += _I32.pack(batch_index)
                    out += enc_nstr(message)
                    if flexible:
                        out += EMPTY_TAGGED_FIELDS
                out += enc_nstr(p.error_message)
            if flexible:
                leader = p.current_leader
                if with_leader and leader is not None and tuple(leader) != (-1, -1):
                    out += _LEADER_TAG.pack(1, 0, 8 + 1, leader[0], leader[1], 0)
                else:
                    out += EMPTY_TAGGED_FIELDS
        if flexible:
            out += EMPTY_TAGGED_FIELDS
    out += _I32.pack(throttle_time_ms)
    if flexible:
        if with_leader and node_endpoints:
            out += encode_node_endpoints_tag(node_endpoints)
        else:
            out += EMPTY_TAGGED_FIELDS
    return bytes(out)


def _encode_uuid(topic_id: uuid.UUID) -> bytes:
    return topic_id.bytes
