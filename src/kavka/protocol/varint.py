"""Kafka's variable-length integers (protobuf base-128 varints), sans-IO.

Byte layout: seven value bits per byte, least significant group first; the high bit of a byte is set
when another byte follows. Signed values are zigzag-mapped first (0, -1, 1, -2, ... -> 0, 1, 2, 3,
...) so that small negative numbers stay short::

    zigzag(n)   = (n << 1) ^ (n >> 63)        -- n >> 63 is 0 or -1 (arithmetic shift)
    unzigzag(u) = (u >> 1) ^ -(u & 1)

Three flavours appear on the wire:

    varint           signed int32, zigzag, at most 5 bytes   record length, key/value lengths, offsets
    varlong          signed int64, zigzag, at most 10 bytes  record timestamp delta
    unsigned varint  uint32, no zigzag, at most 5 bytes      compact strings/arrays, tagged fields

Encoders raise ValueError for a value outside the flavour's range. Decoders take ``(buf, pos)`` and
return ``(value, next_pos)``; they raise ValueError when the input ends inside a varint (truncated)
or runs past the flavour's maximum length or range (overlong). Like Kafka's ByteUtils, they accept
non-minimal encodings (``80 00`` for 0) as long as they fit the maximum length.

This is Kavka's one varint codec: the protocol primitives (UNSIGNED_VARINT of compact lengths and
tagged fields, :mod:`kavka.protocol.primitives`), record bodies (:mod:`kavka.protocol.records`) and
the metadata record frame (:mod:`kavka.metadata.records`) all read and write through it, wrapping its
ValueError in their own error types.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeAlias

#: What the decoders read: any contiguous byte buffer (the one definition; other modules import it).
Buffer: TypeAlias = bytes | bytearray | memoryview

__all__ = [
    "encode_varint",
    "encode_varlong",
    "encode_unsigned_varint",
    "decode_varint",
    "decode_varlong",
    "decode_unsigned_varint",
    "varint_size",
    "varlong_size",
    "zigzag",
    "unzigzag",
]

_INT32_MIN = -(1 << 31)
_INT32_MAX = (1 << 31) - 1
_INT64_MIN = -(1 << 63)
_INT64_MAX = (1 << 63) - 1
_UINT32_MAX = (1 << 32) - 1
_UINT64_MAX = (1 << 64) - 1

# The 128 one-byte encodings are by far the most common (lengths of small keys, deltas); caching them
# saves building a bytes object per call.
_ONE_BYTE = [bytes((i,)) for i in range(128)]


def zigzag(n: int) -> int:
    """Map a signed 64-bit integer onto an unsigned one, small magnitudes first."""
    return (n << 1) ^ (n >> 63)


def unzigzag(u: int) -> int:
    """Inverse of :func:`zigzag`."""
    return (u >> 1) ^ -(u & 1)


def _encode_unsigned(u: int) -> bytes:
    if u < 0x80:
        return _ONE_BYTE[u]
    out = bytearray()
    while u >= 0x80:
        out.append((u & 0x7F) | 0x80)
        u >>= 7
    out.append(u)
    return bytes(out)


def encode_varint(n: int) -> bytes:
    """Zigzag varint of a signed int32 (1-5 bytes)."""
    if not _INT32_MIN <= n <= _INT32_MAX:
        raise ValueError(f"varint {n} is outside the int32 range")
    return _encode_unsigned((n << 1) ^ (n >> 63))


def encode_varlong(n: int) -> bytes:
    """Zigzag varint of a signed int64 (1-10 bytes)."""
    if not _INT64_MIN <= n <= _INT64_MAX:
        raise ValueError(f"varlong {n} is outside the int64 range")
    return _encode_unsigned((n << 1) ^ (n >> 63))


def encode_unsigned_varint(n: int) -> bytes:
    """Unsigned varint of a uint32 (1-5 bytes), as compact lengths and tagged fields use."""
    # one, two and three bytes written directly: every compact length and tag of a request or response
    # goes through here, and they are nearly always below 2**21
    if 0 <= n < 0x80:
        return _ONE_BYTE[n]
    if 0x80 <= n < 0x4000:
        return bytes(((n & 0x7F) | 0x80, n >> 7))
    if 0x4000 <= n < 0x200000:
        return bytes(((n & 0x7F) | 0x80, ((n >> 7) & 0x7F) | 0x80, n >> 14))
    if not 0 <= n <= _UINT32_MAX:
        raise ValueError(f"unsigned varint {n} is outside the uint32 range")
    return _encode_unsigned(n)


def varint_size(n: int) -> int:
    """Bytes taken by ``encode_varint(n)`` (no range check)."""
    u = ((n << 1) ^ (n >> 63)) & _UINT64_MAX
    size = 1
    while u >= 0x80:
        u >>= 7
        size += 1
    return size


varlong_size = varint_size


def _make_decoder(max_bytes: int, limit: int, signed: bool, what: str) -> Callable[..., tuple[int, int]]:
    # One loop, specialised per flavour by closure, so each decode is a single Python call: record
    # decoding makes millions of them.
    def decode(buf: Buffer, pos: int = 0) -> tuple[int, int]:
        if pos < 0:
            raise ValueError(f"negative position {pos}")
        try:
            b = buf[pos]
        except IndexError:
            raise ValueError(f"truncated {what} at byte {pos}") from None
        if b < 0x80:
            return ((b >> 1) ^ -(b & 1) if signed else b), pos + 1
        result = b & 0x7F
        shift = 7
        last = pos + max_bytes - 1
        n = len(buf)
        while True:
            pos += 1
            if pos >= n:
                raise ValueError(f"truncated {what} at byte {pos}")
            if pos > last:
                raise ValueError(f"{what} longer than {max_bytes} bytes")
            b = buf[pos]
            result |= (b & 0x7F) << shift
            if b < 0x80:
                break
            shift += 7
        if result > limit:
            raise ValueError(f"{what} value {result} overflows")
        return ((result >> 1) ^ -(result & 1) if signed else result), pos + 1

    return decode


decode_unsigned_varint = _make_decoder(5, _UINT32_MAX, False, "unsigned varint")
decode_unsigned_varint.__name__ = "decode_unsigned_varint"
decode_unsigned_varint.__doc__ = "Decode an unsigned varint (uint32) at ``pos``; return ``(value, next_pos)``."

decode_varint = _make_decoder(5, _UINT32_MAX, True, "varint")
decode_varint.__name__ = "decode_varint"
decode_varint.__doc__ = "Decode a zigzag varint (int32) at ``pos``; return ``(value, next_pos)``."

decode_varlong = _make_decoder(10, _UINT64_MAX, True, "varlong")
decode_varlong.__name__ = "decode_varlong"
decode_varlong.__doc__ = "Decode a zigzag varlong (int64) at ``pos``; return ``(value, next_pos)``."
