"""The iteration order of a ``java.util.HashMap`` of strings, where Kafka's answers list the keys of
one (SaslHandshake's enabled mechanisms are the keys of the listener's callback handlers, a
``new HashMap<>()`` filled in config order), so that Kavka lists them in the same order.

A HashMap made with capacity ``n`` (16 by default) has a table of ``tableSizeFor(n)`` buckets,
doubled whenever its size passes three quarters of the table. A key sits in bucket
``(h ^ (h >>> 16)) & (table - 1)`` where ``h`` is ``String.hashCode`` (``s[0]*31^(k-1) + ... + s[k-1]``
over UTF-16 units, in 32-bit arithmetic); iteration walks the buckets in order and each bucket in
insertion order (a resize keeps that order).
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["java_string_hash", "hashmap_order"]


def java_string_hash(s: str) -> int:
    h = 0
    data = s.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + ((data[i] << 8) | data[i + 1])) & 0xFFFFFFFF
    return h


def _table_size_for(n: int) -> int:
    size = 1
    while size < n:
        size <<= 1
    return size


def hashmap_order(keys: Sequence[str], capacity: int = 16) -> list[str]:
    """``keys`` (distinct, inserted in this order into ``new HashMap<>(capacity)``) as it iterates them."""
    table = _table_size_for(max(1, capacity))
    size = 0
    for _ in keys:
        size += 1
        if size > table * 3 // 4:
            table <<= 1

    def bucket(key: str) -> int:
        h = java_string_hash(key)
        return (h ^ (h >> 16)) & (table - 1)

    return [k for _, _, k in sorted((bucket(k), i, k) for i, k in enumerate(keys))]
