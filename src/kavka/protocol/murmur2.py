"""Kafka's hashes for placing keys: murmur2 (default partitioner) and Java's String.hashCode.

``murmur2`` is Java's ``org.apache.kafka.common.utils.Utils.murmur2``: MurmurHash2, 32-bit, seed
0x9747b28c, little-endian 4-byte words, result as a *signed* int32 (what Java returns). The Java
producer's default partitioner (and librdkafka's ``murmur2_random``, and kafka-python's) puts a keyed
record on ``toPositive(murmur2(key)) % numPartitions`` where ``toPositive(n) = n & 0x7fffffff`` --
not ``abs``, so Integer.MIN_VALUE maps to 0.

``java_string_hashcode`` is ``java.lang.String.hashCode``: ``s[0]*31^(n-1) + ... + s[n-1]`` over
UTF-16 code units (a non-BMP character counts as its two surrogates), signed int32. Kafka places a
group or transactional id on its coordinator partition with
``Utils.abs(id.hashCode()) % partitionCount``.
"""

from __future__ import annotations

import struct

from kavka.protocol.varint import Buffer

__all__ = ["murmur2", "default_partition", "java_string_hashcode", "to_positive", "java_abs"]

_SEED = 0x9747B28C
_M = 0x5BD1E995
_MASK = 0xFFFFFFFF


def _signed32(h: int) -> int:
    return h - 0x100000000 if h & 0x80000000 else h


def murmur2(data: Buffer) -> int:
    """Kafka's murmur2 of ``data`` (bytes-like), as a signed 32-bit int, equal to Java's Utils.murmur2."""
    data = bytes(data)
    length = len(data)
    h = (_SEED ^ length) & _MASK
    n4 = length >> 2
    m = _M
    # every multiplication is reduced mod 2^32 right away, as Java's int arithmetic wraps
    for k in struct.unpack_from(f"<{n4}I", data):
        k = (k * m) & _MASK
        k ^= k >> 24
        k = (k * m) & _MASK
        h = ((h * m) & _MASK) ^ k
    tail = length & 3
    base = length & ~3
    if tail == 3:
        h ^= data[base + 2] << 16
    if tail >= 2:
        h ^= data[base + 1] << 8
    if tail >= 1:
        h ^= data[base]
        h = (h * m) & _MASK
    h ^= h >> 13
    h = (h * m) & _MASK
    h ^= h >> 15
    return _signed32(h)


def to_positive(n: int) -> int:
    """Kafka's Utils.toPositive: clear the sign bit of a 32-bit int."""
    return n & 0x7FFFFFFF


def java_abs(n: int) -> int:
    """Kafka's Utils.abs: absolute value, except Integer.MIN_VALUE maps to 0."""
    return 0 if n == -0x80000000 else abs(n)


def default_partition(key: Buffer, num_partitions: int) -> int:
    """The partition Kafka's default partitioner picks for a non-null ``key``."""
    if num_partitions <= 0:
        raise ValueError(f"num_partitions must be positive, got {num_partitions}")
    return (murmur2(key) & 0x7FFFFFFF) % num_partitions


def java_string_hashcode(s: str) -> int:
    """Java's String.hashCode of ``s``: over UTF-16 code units, signed 32-bit."""
    # surrogatepass: a Java string may hold a lone surrogate, and Python's can too
    units = s.encode("utf-16-be", "surrogatepass")
    h = 0
    for u in struct.unpack(f">{len(units) // 2}H", units):
        h = (31 * h + u) & _MASK
    return _signed32(h)
