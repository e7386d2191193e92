"""Kafka protocol primitive types: bounds-checked readers and byte-producing encoders.

These are the building blocks of Kavka's hand-written hot-path codecs (Produce, Fetch). Everything is
big-endian. The wire forms, as Kafka's protocol guide defines them::

    INT8/16/32/64          1/2/4/8 bytes, two's complement
    UNSIGNED_VARINT        7 bits per byte, low group first, high bit = "more follows"; at most 5 bytes
    STRING                 INT16 length N >= 0, then N bytes of UTF-8
    NULLABLE_STRING        as STRING; length -1 is null
    COMPACT_STRING         UNSIGNED_VARINT N+1, then N bytes of UTF-8
    COMPACT_NULLABLE_STR   as COMPACT_STRING; 0 is null
    BYTES / NULLABLE_BYTES INT32 length N (-1 = null), then N bytes
    COMPACT_(NULLABLE_)BYTES  UNSIGNED_VARINT N+1 (0 = null), then N bytes
    ARRAY                  INT32 count N (-1 = null), then N elements
    COMPACT_ARRAY          UNSIGNED_VARINT N+1 (0 = null), then N elements
    TAGGED_FIELDS          UNSIGNED_VARINT count, then per field: UNSIGNED_VARINT tag,
                           UNSIGNED_VARINT size, size bytes of data (KIP-482)

Readers take ``(buf, offset)`` where ``buf`` is a one-dimensional byte ``memoryview`` (see
:func:`as_view`) and return ``(value, next_offset)``. Malformed or truncated input raises
:class:`ProtocolDecodeError` (a ``ValueError``), never ``IndexError`` or ``struct.error``. Byte fields
come back as zero-copy ``memoryview`` slices of ``buf``. Readers never look at bytes before
``offset``; callers must start at a non-negative offset.

Encoders (``encode_*``) return ``bytes``; the ``*_STRUCT`` objects are exported so codecs can pack
several fixed-width fields in one call.

Response framing: a response on the wire is ``INT32 size`` + response header + body. Header v0 is the
INT32 correlation id; header v1 (flexible APIs, except ApiVersions which always uses v0) adds an empty
tagged-field section.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence, Sized
from typing import TypeAlias

from .varint import Buffer, decode_unsigned_varint, encode_unsigned_varint

__all__ = [
    "encode_node_endpoints_tag",
    "ProtocolDecodeError",
    "as_view",
    # readers
    "read_int8",
    "read_int16",
    "read_int32",
    "read_int64",
    "read_uvarint",
    "read_string",
    "read_nullable_string",
    "read_compact_string",
    "read_compact_nullable_string",
    "read_bytes",
    "read_nullable_bytes",
    "read_compact_bytes",
    "read_compact_nullable_bytes",
    "read_array_length",
    "read_compact_array_length",
    "skip_tagged_fields",
    "read_tagged_fields",
    # encoders
    "INT8_STRUCT",
    "INT16_STRUCT",
    "INT32_STRUCT",
    "INT64_STRUCT",
    "EMPTY_TAGGED_FIELDS",
    "encode_int8",
    "encode_int16",
    "encode_int32",
    "encode_int64",
    "encode_uvarint",
    "encode_string",
    "encode_nullable_string",
    "encode_compact_string",
    "encode_compact_nullable_string",
    "encode_bytes",
    "encode_nullable_bytes",
    "encode_compact_bytes",
    "encode_compact_nullable_bytes",
    "encode_array_length",
    "encode_compact_array_length",
    "encode_tagged_fields",
    # framing
    "response_header",
    "frame",
    "response_size",
]


class ProtocolDecodeError(ValueError):
    """The bytes do not form a valid message of the expected type and version (Kafka: a malformed
    request, answered by closing the connection or INVALID_REQUEST)."""


INT8_STRUCT = struct.Struct(">b")
INT16_STRUCT = struct.Struct(">h")
INT32_STRUCT = struct.Struct(">i")
INT64_STRUCT = struct.Struct(">q")

_unpack_i8 = INT8_STRUCT.unpack_from
_unpack_i16 = INT16_STRUCT.unpack_from
_unpack_i32 = INT32_STRUCT.unpack_from
_unpack_i64 = INT64_STRUCT.unpack_from
_pack_i16 = INT16_STRUCT.pack
_pack_i32 = INT32_STRUCT.pack

EMPTY_TAGGED_FIELDS = b"\x00"


def as_view(buf: Buffer) -> memoryview:
    """Return ``buf`` as a one-dimensional unsigned-byte memoryview (no copy)."""
    view = buf if type(buf) is memoryview else memoryview(buf)
    if view.format != "B" or view.ndim != 1:
        view = view.cast("B")
    return view


def _truncated(what: str, offset: int) -> ProtocolDecodeError:
    return ProtocolDecodeError(f"truncated input: {what} at byte {offset}")


# -- readers ------------------------------------------------------------------------------------------


def read_int8(buf: memoryview, offset: int) -> tuple[int, int]:
    try:
        return _unpack_i8(buf, offset)[0], offset + 1
    except struct.error:
        raise _truncated("INT8", offset) from None


def read_int16(buf: memoryview, offset: int) -> tuple[int, int]:
    try:
        return _unpack_i16(buf, offset)[0], offset + 2
    except struct.error:
        raise _truncated("INT16", offset) from None


def read_int32(buf: memoryview, offset: int) -> tuple[int, int]:
    try:
        return _unpack_i32(buf, offset)[0], offset + 4
    except struct.error:
        raise _truncated("INT32", offset) from None


def read_int64(buf: memoryview, offset: int) -> tuple[int, int]:
    try:
        return _unpack_i64(buf, offset)[0], offset + 8
    except struct.error:
        raise _truncated("INT64", offset) from None


def read_uvarint(buf: memoryview, offset: int) -> tuple[int, int]:
    """UNSIGNED_VARINT (32-bit): at most 5 bytes, as Kafka's ByteUtils.readUnsignedVarint.

    The codec is :func:`kavka.protocol.varint.decode_unsigned_varint`; here its ValueError becomes a
    ProtocolDecodeError, and the one-byte case (a tagged-field count, nearly always 0) is inline.
    """
    try:
        b = buf[offset]
    except IndexError:
        raise _truncated("UNSIGNED_VARINT", offset) from None
    if b < 0x80:
        return b, offset + 1
    try:
        return decode_unsigned_varint(buf, offset)
    except ValueError as e:
        raise ProtocolDecodeError(f"UNSIGNED_VARINT at byte {offset}: {e}") from None


def _slice(buf: memoryview, offset: int, length: int, what: str) -> memoryview:
    end = offset + length
    if end > len(buf):
        raise _truncated(what, offset)
    return buf[offset:end]


def _utf8(buf: memoryview, start: int, end: int) -> str:
    if end > len(buf):
        raise _truncated("string", start)
    try:
        return buf[start:end].tobytes().decode()  # faster than str(view, "utf-8") for short names
    except UnicodeDecodeError:
        raise ProtocolDecodeError(f"invalid UTF-8 in string at byte {start}") from None


# The readers below are flat (one call deep in the common case, single-byte varints inline): they are
# the hot path of every decode.


def read_nullable_string(buf: memoryview, offset: int) -> tuple[str | None, int]:
    try:
        length = _unpack_i16(buf, offset)[0]
    except struct.error:
        raise _truncated("STRING length", offset) from None
    pos = offset + 2
    if length < 0:
        if length == -1:
            return None, pos
        raise ProtocolDecodeError(f"string length {length} at byte {offset}")
    return _utf8(buf, pos, pos + length), pos + length


def read_string(buf: memoryview, offset: int) -> tuple[str, int]:
    try:
        length = _unpack_i16(buf, offset)[0]
    except struct.error:
        raise _truncated("STRING length", offset) from None
    pos = offset + 2
    if length < 0:
        raise ProtocolDecodeError(f"string length {length} at byte {offset} (null for a non-nullable STRING)")
    return _utf8(buf, pos, pos + length), pos + length


def _compact_length(buf: memoryview, offset: int) -> tuple[int, int]:
    """The N+1 of a compact string/bytes/array, with the one-byte case inline."""
    try:
        n = buf[offset]
    except IndexError:
        raise _truncated("compact length", offset) from None
    if n < 0x80:
        return n, offset + 1
    return read_uvarint(buf, offset)


def read_compact_nullable_string(buf: memoryview, offset: int) -> tuple[str | None, int]:
    length, pos = _compact_length(buf, offset)
    if length == 0:
        return None, pos
    end = pos + length - 1
    return _utf8(buf, pos, end), end


def read_compact_string(buf: memoryview, offset: int) -> tuple[str, int]:
    length, pos = _compact_length(buf, offset)
    if length == 0:
        raise ProtocolDecodeError(f"null for a non-nullable COMPACT_STRING at byte {offset}")
    end = pos + length - 1
    return _utf8(buf, pos, end), end


def read_nullable_bytes(buf: memoryview, offset: int) -> tuple[memoryview | None, int]:
    """NULLABLE_BYTES (also RECORDS in non-flexible versions) as a zero-copy slice."""
    try:
        length = _unpack_i32(buf, offset)[0]
    except struct.error:
        raise _truncated("BYTES length", offset) from None
    pos = offset + 4
    if length < 0:
        if length == -1:
            return None, pos
        raise ProtocolDecodeError(f"bytes length {length} at byte {offset}")
    end = pos + length
    if end > len(buf):
        raise _truncated("BYTES", pos)
    return buf[pos:end], end


def read_bytes(buf: memoryview, offset: int) -> tuple[memoryview, int]:
    value, pos = read_nullable_bytes(buf, offset)
    if value is None:
        raise ProtocolDecodeError(f"null for non-nullable BYTES at byte {offset}")
    return value, pos


def read_compact_nullable_bytes(buf: memoryview, offset: int) -> tuple[memoryview | None, int]:
    """COMPACT_NULLABLE_BYTES (also RECORDS in flexible versions) as a zero-copy slice."""
    length, pos = _compact_length(buf, offset)
    if length == 0:
        return None, pos
    end = pos + length - 1
    if end > len(buf):
        raise _truncated("COMPACT_BYTES", pos)
    return buf[pos:end], end


def read_compact_bytes(buf: memoryview, offset: int) -> tuple[memoryview, int]:
    value, pos = read_compact_nullable_bytes(buf, offset)
    if value is None:
        raise ProtocolDecodeError(f"null for non-nullable COMPACT_BYTES at byte {offset}")
    return value, pos


def read_array_length(buf: memoryview, offset: int) -> tuple[int | None, int]:
    """ARRAY count; ``None`` for a null array. A count that cannot fit the remaining bytes (every
    element takes at least one) is rejected before anyone loops over it."""
    count, pos = read_int32(buf, offset)
    if count < 0:
        if count == -1:
            return None, pos
        raise ProtocolDecodeError(f"array length {count} at byte {offset}")
    if count > len(buf) - pos:
        raise ProtocolDecodeError(f"array length {count} at byte {offset} exceeds the input")
    return count, pos


def read_compact_array_length(buf: memoryview, offset: int) -> tuple[int | None, int]:
    """COMPACT_ARRAY count; ``None`` for a null array. Same sanity bound as :func:`read_array_length`."""
    count, pos = _compact_length(buf, offset)
    if count == 0:
        return None, pos
    count -= 1
    if count > len(buf) - pos:
        raise ProtocolDecodeError(f"array length {count} at byte {offset} exceeds the input")
    return count, pos


def skip_tagged_fields(buf: memoryview, offset: int) -> int:
    """Skip a tagged-field section, returning the offset after it. KIP-482: a reader ignores tags it
    does not know, so every tag is skipped here."""
    if offset < len(buf) and buf[offset] == 0:  # the common case: no tagged fields
        return offset + 1
    count, pos = read_uvarint(buf, offset)
    end = len(buf)
    for _ in range(count):
        _tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        pos += size
        if pos > end:
            raise _truncated("tagged field", offset)
    return pos


def read_tagged_fields(buf: memoryview, offset: int) -> tuple[dict[int, memoryview], int]:
    """Read a tagged-field section as ``{tag: raw bytes}``; the caller decodes the tags it knows and
    ignores the rest (KIP-482)."""
    count, pos = read_uvarint(buf, offset)
    fields: dict[int, memoryview] = {}
    for _ in range(count):
        tag, pos = read_uvarint(buf, pos)
        size, pos = read_uvarint(buf, pos)
        fields[tag] = _slice(buf, pos, size, "tagged field")
        pos += size
    return fields, pos


# -- encoders -----------------------------------------------------------------------------------------


def encode_int8(value: int) -> bytes:
    return INT8_STRUCT.pack(value)


def encode_int16(value: int) -> bytes:
    return _pack_i16(value)


def encode_int32(value: int) -> bytes:
    return _pack_i32(value)


def encode_int64(value: int) -> bytes:
    return INT64_STRUCT.pack(value)


encode_uvarint = encode_unsigned_varint  # UNSIGNED_VARINT; ValueError outside the uint32 range


def encode_string(value: str) -> bytes:
    data = value.encode()
    if len(data) > 0x7FFF:
        raise ValueError(f"string of {len(data)} bytes is too long for STRING")
    return _pack_i16(len(data)) + data


def encode_nullable_string(value: str | None) -> bytes:
    if value is None:
        return b"\xff\xff"
    return encode_string(value)


def encode_compact_string(value: str) -> bytes:
    data = value.encode()
    return encode_uvarint(len(data) + 1) + data


def encode_compact_nullable_string(value: str | None) -> bytes:
    if value is None:
        return b"\x00"
    return encode_compact_string(value)


def encode_bytes(value: bytes) -> bytes:
    return _pack_i32(len(value)) + value


def encode_nullable_bytes(value: bytes | None) -> bytes:
    if value is None:
        return b"\xff\xff\xff\xff"
    return _pack_i32(len(value)) + value


def encode_compact_bytes(value: bytes) -> bytes:
    return encode_uvarint(len(value) + 1) + value


def encode_compact_nullable_bytes(value: bytes | None) -> bytes:
    if value is None:
        return b"\x00"
    return encode_uvarint(len(value) + 1) + value


def encode_array_length(count: int | None) -> bytes:
    return b"\xff\xff\xff\xff" if count is None else _pack_i32(count)


def encode_compact_array_length(count: int | None) -> bytes:
    return b"\x00" if count is None else encode_uvarint(count + 1)


def encode_tagged_fields(fields: dict[int, bytes] | Iterable[tuple[int, bytes]]) -> bytes:
    """A tagged-field section from ``{tag: encoded value}``; tags are written in ascending order, as
    KIP-482 requires."""
    items = sorted(fields.items() if isinstance(fields, dict) else fields)
    if not items:
        return EMPTY_TAGGED_FIELDS
    parts = [encode_uvarint(len(items))]
    for tag, data in items:
        parts.append(encode_uvarint(tag))
        parts.append(encode_uvarint(len(data)))
        parts.append(data)
    return b"".join(parts)


# -- framing ------------------------------------------------------------------------------------------


def response_header(correlation_id: int, flexible: bool) -> bytes:
    """Response header v1 (``flexible``: correlation id + empty tagged fields) or v0 (correlation id).
    ApiVersions responses always use v0, whatever the request version."""
    if flexible:
        return _pack_i32(correlation_id) + EMPTY_TAGGED_FIELDS
    return _pack_i32(correlation_id)


#: One piece of a response, written as-is: a byte buffer, or an object the connection streams (a
#: storage FileRegion); encoders here only take its ``len()``.
Chunk: TypeAlias = Buffer | Sized


def response_size(buffers: Iterable[Chunk]) -> int:
    """Total bytes in ``buffers`` (memoryviews counted by ``nbytes``)."""
    return sum(buf.nbytes if type(buf) is memoryview else len(buf) for buf in buffers)


def frame(buffers: Sequence[Chunk], header: bytes = b"") -> list[Chunk]:
    """Prepend the INT32 size prefix (and ``header``, e.g. :func:`response_header`) to ``buffers``.

    Returns a new list ready for ``transport.writelines``; the buffers themselves are not copied.
    """
    size = len(header) + response_size(buffers)
    return [_pack_i32(size) + header, *buffers]


def encode_node_endpoints_tag(node_endpoints: Sequence[tuple[int, str, int, str | None]]) -> bytes:
    """A response's NodeEndpoints as its one tagged field, tag 0 (Produce v10+, Fetch v16+, KIP-951):
    ``uvarint 1 (one field), uvarint 0 (the tag), uvarint size``, then a compact array of
    ``(int32 node id, compact string host, int32 port, compact nullable string rack, tagged fields)``."""
    value = bytearray(encode_compact_array_length(len(node_endpoints)))
    for node_id, host, port, rack in node_endpoints:
        value += struct.pack(">i", node_id)
        value += encode_compact_string(host)
        value += struct.pack(">i", port)
        value += encode_compact_nullable_string(rack)
        value += EMPTY_TAGGED_FIELDS
    return b"\x01\x00" + encode_unsigned_varint(len(value)) + bytes(value)
