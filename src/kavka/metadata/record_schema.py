"""Kafka's binary encoding of metadata record bodies, driven by a per-record field list.

Every KRaft metadata record is a *flexible* Kafka message (``flexibleVersions: "0+"`` in Kafka's
``metadata/src/main/resources/common/metadata/*.json``), so a body is, field by field in schema order::

    int8/int16/uint16/int32/int64   big-endian, fixed width; float64 is an IEEE-754 double
    bool                             one byte, 0 or 1
    uuid                             16 bytes
    string                           uvarint(len + 1) then UTF-8 bytes; 0 = null (nullable only)
    bytes                            uvarint(len + 1) then the bytes (never null here)
    array                            uvarint(count + 1) then the elements; 0 = null (nullable only)
    struct (array element)           its fields, then its own tagged-field section
    tagged-field section             uvarint(count), then per field (ascending tag):
                                     uvarint(tag) uvarint(size) and the field's bytes

A tagged field is written only when it differs from its default. Fields outside the version being
written are skipped; unknown tags are skipped when reading (KIP-482). ``decode_body`` must consume the
body exactly, or it raises ``ValueError``.

A ``Field`` names the Python attribute, Kafka's type, the first version that has it, and the tag
when it is tagged. Struct arrays name their element class and its own field list. A field whose
attribute starts with ``_`` is one of Kafka's that Kavka does not keep: it is written as its default
and dropped when read.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kavka.protocol.varint import decode_unsigned_varint, encode_unsigned_varint

__all__ = ["Field", "encode_body", "decode_body"]


@dataclass(frozen=True)
class Field:
    attr: str
    kind: str  # int8 int16 uint16 int32 int64 float64 bool uuid string [int32] [uuid] [struct]
    since: int = 0
    nullable: bool = False
    tag: int | None = None
    default: Any = None
    element: type | None = None  # for [struct]: the element class
    fields: tuple[Field, ...] = ()  # for [struct]: the element's fields


_FIXED = {"int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "int64": ">q", "float64": ">d"}


def _write(f: Field, value: Any, out: bytearray, version: int) -> None:
    kind = f.kind
    if kind in _FIXED:
        out += struct.pack(_FIXED[kind], value)
    elif kind == "bool":
        out.append(1 if value else 0)
    elif kind == "uuid":
        out += value.bytes
    elif kind == "bytes":
        out += encode_unsigned_varint(len(value) + 1)
        out += value
    elif kind == "string":
        if value is None:
            if not f.nullable:
                raise ValueError(f"{f.attr} is not nullable")
            out.append(0)
        else:
            data = value.encode()
            out += encode_unsigned_varint(len(data) + 1)
            out += data
    elif kind.startswith("["):
        if value is None:
            if not f.nullable:
                raise ValueError(f"{f.attr} is not nullable")
            out.append(0)
            return
        out += encode_unsigned_varint(len(value) + 1)
        if kind == "[int32]":
            out += struct.pack(f">{len(value)}i", *value)
        elif kind == "[uuid]":
            for u in value:
                out += u.bytes
        else:
            for element in value:
                _write_fields(f.fields, element, out, version)
    else:
        raise ValueError(f"unknown field kind {kind}")


def _write_fields(fields: Sequence[Field], obj: Any, out: bytearray, version: int) -> None:
    tagged: list[tuple[int, bytes]] = []
    for f in fields:
        if version < f.since:
            continue
        # A field Kavka does not keep (its attr starts with "_") is written as its default.
        value = f.default if f.attr.startswith("_") else getattr(obj, f.attr)
        if f.tag is not None:
            if value == f.default or (f.kind.startswith("[") and not f.nullable and not value):
                continue
            buf = bytearray()
            _write(f, value, buf, version)
            tagged.append((f.tag, bytes(buf)))
        else:
            _write(f, value, out, version)
    out += encode_unsigned_varint(len(tagged))
    for tag, data in sorted(tagged):
        out += encode_unsigned_varint(tag)
        out += encode_unsigned_varint(len(data))
        out += data


def encode_body(fields: Sequence[Field], obj: Any, version: int) -> bytes:
    out = bytearray()
    _write_fields(fields, obj, out, version)
    return bytes(out)


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ValueError(f"body ends at {len(self.data)}; needed {n} bytes at {self.pos}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def uvarint(self) -> int:
        value, self.pos = decode_unsigned_varint(self.data, self.pos)
        return value


def _read(f: Field, r: _Reader, version: int) -> Any:
    kind = f.kind
    if kind in _FIXED:
        fmt = _FIXED[kind]
        return struct.unpack(fmt, r.take(struct.calcsize(fmt)))[0]
    if kind == "bool":
        return r.take(1) != b"\x00"
    if kind == "uuid":
        return uuid.UUID(bytes=r.take(16))
    if kind == "bytes":
        return r.take(r.uvarint() - 1)
    if kind == "string":
        n = r.uvarint()
        if n == 0:
            if not f.nullable:
                raise ValueError(f"null {f.attr} is not allowed")
            return None
        return r.take(n - 1).decode()
    if kind.startswith("["):
        n = r.uvarint()
        if n == 0:
            if not f.nullable:
                raise ValueError(f"null {f.attr} is not allowed")
            return None
        count = n - 1
        if kind == "[int32]":
            return struct.unpack(f">{count}i", r.take(4 * count))
        if kind == "[uuid]":
            return tuple(uuid.UUID(bytes=r.take(16)) for _ in range(count))
        if count > len(r.data) - r.pos:
            raise ValueError(f"{f.attr}: {count} elements in {len(r.data) - r.pos} bytes")
        assert f.element is not None
        return tuple(_read_fields(f.fields, f.element, r, version) for _ in range(count))
    raise ValueError(f"unknown field kind {kind}")


def _read_fields(fields: Sequence[Field], make: Callable[..., Any], r: _Reader, version: int) -> Any:
    values: dict[str, Any] = {}
    by_tag = {f.tag: f for f in fields if f.tag is not None and version >= f.since}
    for f in fields:
        if version < f.since:
            continue
        if f.tag is None:
            values[f.attr] = _read(f, r, version)
        else:
            values[f.attr] = f.default
    for _ in range(r.uvarint()):
        tag = r.uvarint()
        size = r.uvarint()
        chunk = r.take(size)
        known = by_tag.get(tag)
        if known is not None:
            sub = _Reader(chunk)
            values[known.attr] = _read(known, sub, version)
            if sub.pos != len(chunk):
                raise ValueError(f"tagged field {known.attr}: {len(chunk) - sub.pos} bytes left over")
    return make(**{k: v for k, v in values.items() if not k.startswith("_")})


def decode_body(fields: Sequence[Field], make: Callable[..., Any], data: bytes, version: int) -> Any:
    r = _Reader(bytes(data))
    obj = _read_fields(fields, make, r, version)
    if r.pos != len(r.data):
        raise ValueError(f"{len(r.data) - r.pos} bytes after the last field")
    return obj
