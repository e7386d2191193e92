"""Kafka's flexible-version message encoding, the little of it that metadata record bodies use.

Types (all big-endian): ``int8`` / ``int16`` / ``uint16`` / ``int32`` / ``int64``; ``bool`` (one byte,
0 or 1); ``uuid`` (16 bytes); compact string (unsigned varint length + 1, 0 = null, then UTF-8); compact
array (unsigned varint count + 1, 0 = null, then the elements); a struct is its fields then its tagged
fields. Tagged fields: unsigned varint count, then per field unsigned varint tag, unsigned varint size
and ``size`` bytes, tags ascending. Readers skip tags they do not know, as Kafka's do.

`Writer` appends to a bytearray; `Reader` walks a buffer and raises `BinaryError` (a ValueError) on
truncated or malformed input.
"""

from __future__ import annotations

import struct
import uuid
from collections.abc import Iterable

from kavka.protocol.varint import decode_unsigned_varint, encode_unsigned_varint

__all__ = ["BinaryError", "Reader", "Writer"]

_FIXED = {"int8": ">b", "int16": ">h", "uint16": ">H", "int32": ">i", "int64": ">q"}


class BinaryError(ValueError):
    """Bytes that do not hold the value the schema says is next."""


class Writer:
    def __init__(self) -> None:
        self.out = bytearray()

    def fixed(self, kind: str, value: int) -> None:
        self.out += struct.pack(_FIXED[kind], value)

    def boolean(self, value: bool) -> None:
        self.out.append(1 if value else 0)

    def uuid(self, value: uuid.UUID) -> None:
        self.out += value.bytes

    def uvarint(self, value: int) -> None:
        self.out += encode_unsigned_varint(value)

    def string(self, value: str | None) -> None:
        if value is None:
            self.uvarint(0)
            return
        raw = value.encode()
        self.uvarint(len(raw) + 1)
        self.out += raw

    def int32s(self, values: Iterable[int] | None) -> None:
        if values is None:
            self.uvarint(0)
            return
        items = list(values)
        self.uvarint(len(items) + 1)
        for v in items:
            self.fixed("int32", v)

    def tagged(self, fields: list[tuple[int, bytes]]) -> None:
        """The tagged-fields section: ``(tag, encoded value)`` pairs, written in tag order."""
        self.uvarint(len(fields))
        for tag, data in sorted(fields):
            self.uvarint(tag)
            self.uvarint(len(data))
            self.out += data


class Reader:
    def __init__(self, data: bytes | memoryview, pos: int = 0) -> None:
        self.data = bytes(data)
        self.pos = pos

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise BinaryError(f"truncated: {n} bytes wanted at {self.pos} of {len(self.data)}")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def fixed(self, kind: str) -> int:
        fmt = _FIXED[kind]
        value: int = struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]
        return value

    def boolean(self) -> bool:
        return self._take(1) != b"\x00"

    def uuid(self) -> uuid.UUID:
        return uuid.UUID(bytes=self._take(16))

    def uvarint(self) -> int:
        try:
            value, self.pos = decode_unsigned_varint(self.data, self.pos)
        except ValueError as e:
            raise BinaryError(f"bad varint at {self.pos}: {e}") from None
        return value

    def string(self) -> str | None:
        n = self.uvarint()
        if n == 0:
            return None
        try:
            return self._take(n - 1).decode()
        except UnicodeDecodeError as e:
            raise BinaryError(f"string is not UTF-8: {e}") from None

    def int32s(self) -> tuple[int, ...] | None:
        n = self.uvarint()
        if n == 0:
            return None
        return tuple(self.fixed("int32") for _ in range(n - 1))

    def array_length(self) -> int | None:
        n = self.uvarint()
        return None if n == 0 else n - 1

    def tagged(self) -> dict[int, bytes]:
        found = {}
        for _ in range(self.uvarint()):
            tag = self.uvarint()
            found[tag] = self._take(self.uvarint())
        return found

    def at_end(self) -> bool:
        return self.pos == len(self.data)
