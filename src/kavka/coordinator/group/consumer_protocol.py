"""The consumer's embedded protocol: what a classic consumer puts in JoinGroup and gets from SyncGroup.

A classic group is opaque to the broker, except that consumers (protocol type ``consumer``) fill the
member metadata and the assignment with Kafka's ConsumerProtocolSubscription and
ConsumerProtocolAssignment. The group coordinator reads them to serve classic members inside a
consumer group (KIP-848 online migration) and to convert groups between the two protocols.

Both are non-flexible and start with ``version INT16``; a reader parses a newer version with the
newest layout it knows (Kafka's ConsumerProtocol does the same, so versions only ever add fields)::

    ConsumerProtocolSubscription v0-3
        topics         ARRAY of STRING        (INT32 count; INT16 length + UTF-8 each)
        userData       NULLABLE_BYTES         (INT32 length, -1 = null)
        ownedPartitions [v1+] ARRAY of (topic STRING, partitions ARRAY of INT32)
        generationId   [v2+] INT32            (default -1)
        rackId         [v3+] NULLABLE_STRING  (default null)

    ConsumerProtocolAssignment v0-3 (every version has the same layout)
        assignedPartitions ARRAY of (topic STRING, partitions ARRAY of INT32)
        userData           NULLABLE_BYTES

Fields of a newer version that are cut short read as their defaults (they are ``ignorable`` in
Kafka's schema); a malformed prefix raises :class:`ProtocolDecodeError`.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from kavka.protocol.primitives import ProtocolDecodeError

__all__ = [
    "HIGHEST_VERSION",
    "Subscription",
    "decode_subscription",
    "decode_assignment",
    "encode_assignment",
    "protocol_version",
]

HIGHEST_VERSION = 3

_I16 = struct.Struct(">h")
_I32 = struct.Struct(">i")


@dataclass(frozen=True, slots=True)
class Subscription:
    topics: tuple[str, ...]
    user_data: bytes | None = None
    owned_partitions: tuple[tuple[str, tuple[int, ...]], ...] = ()
    generation_id: int = -1
    rack_id: str | None = None
    version: int = 0


class _Reader:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def at_end(self) -> bool:
        return self.pos >= len(self.data)

    def _take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ProtocolDecodeError(f"truncated consumer protocol data at byte {self.pos}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def i16(self) -> int:
        value: int = _I16.unpack(self._take(2))[0]
        return value

    def i32(self) -> int:
        value: int = _I32.unpack(self._take(4))[0]
        return value

    def string(self) -> str:
        n = self.i16()
        if n < 0:
            raise ProtocolDecodeError("null string in consumer protocol data")
        try:
            return self._take(n).decode("utf-8")
        except UnicodeDecodeError as e:
            raise ProtocolDecodeError(f"bad UTF-8 in consumer protocol data: {e}") from None

    def nullable_string(self) -> str | None:
        n = self.i16()
        if n < 0:
            return None
        return self._take(n).decode("utf-8", "replace")

    def nullable_bytes(self) -> bytes | None:
        n = self.i32()
        return None if n < 0 else self._take(n)

    def count(self) -> int:
        n = self.i32()
        if n < 0 or n > len(self.data):
            raise ProtocolDecodeError(f"bad array length {n} in consumer protocol data")
        return n

    def topic_partitions(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        out = []
        for _ in range(self.count()):
            topic = self.string()
            k = self.count()
            out.append((topic, struct.unpack(f">{k}i", self._take(4 * k))))
        return tuple(out)


def protocol_version(data: bytes) -> int:
    """The version of a subscription or assignment, brought into 0..3 as Kafka's ConsumerProtocol does
    (a newer one is read, and answered, as the newest known)."""
    if len(data) < 2:
        raise ProtocolDecodeError("consumer protocol data without a version")
    version: int = _I16.unpack_from(data, 0)[0]
    return min(max(version, 0), HIGHEST_VERSION)


def decode_subscription(data: bytes) -> Subscription:
    r = _Reader(data)
    raw_version = r.i16()
    if raw_version < 0:
        raise ProtocolDecodeError(f"negative consumer protocol version {raw_version}")
    version = min(raw_version, HIGHEST_VERSION)
    topics = tuple(r.string() for _ in range(r.count()))
    user_data = r.nullable_bytes() if not r.at_end() else None
    owned: tuple[tuple[str, tuple[int, ...]], ...] = ()
    generation, rack = -1, None
    if version >= 1 and not r.at_end():
        owned = r.topic_partitions()
    if version >= 2 and not r.at_end():
        generation = r.i32()
    if version >= 3 and not r.at_end():
        rack = r.nullable_string()
    return Subscription(topics, user_data, owned, generation, rack, raw_version)


def decode_assignment(data: bytes) -> dict[str, tuple[int, ...]]:
    """topic -> partitions of a ConsumerProtocolAssignment; {} for empty data (no assignment yet)."""
    if not data:
        return {}
    r = _Reader(data)
    if r.i16() < 0:
        raise ProtocolDecodeError("negative consumer protocol version")
    out: dict[str, tuple[int, ...]] = {}
    for topic, partitions in r.topic_partitions():
        out[topic] = tuple(sorted(set(out.get(topic, ())) | set(partitions)))
    return out


def encode_assignment(
    partitions: Mapping[str, Iterable[int]], version: int = 0, user_data: bytes | None = None
) -> bytes:
    """A ConsumerProtocolAssignment of ``version`` (topics sorted by name, partitions ascending)."""
    parts = [_I16.pack(min(max(version, 0), HIGHEST_VERSION))]
    topics = sorted((t, sorted(ps)) for t, ps in partitions.items())
    parts.append(_I32.pack(len(topics)))
    for topic, ps in topics:
        raw = topic.encode("utf-8")
        parts.append(_I16.pack(len(raw)) + raw + _I32.pack(len(ps)) + struct.pack(f">{len(ps)}i", *ps))
    parts.append(_I32.pack(-1) if user_data is None else _I32.pack(len(user_data)) + user_data)
    return b"".join(parts)
