"""murmur2 against Kafka's own test vectors and kafka-python's port; Java's String.hashCode."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.partitioner.default import murmur2 as kp_murmur2

from kavka.protocol.murmur2 import default_partition, java_abs, java_string_hashcode, murmur2, to_positive


# From Kafka's UtilsTest.testMurmur2.
@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (b"21", -973932308),
        (b"foobar", -790332482),
        (b"a-little-bit-long-string", -985981536),
        (b"a-little-bit-longer-string", -1486304829),
        (b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971),
        (b"abc", 479470107),
    ],
)
def test_kafka_vectors(key, expected):
    assert murmur2(key) == expected


@given(st.binary(max_size=64))
def test_matches_kafka_python(key):
    # kafka-python returns the same 32 bits, unsigned; Java (and Kavka) return them signed.
    h = murmur2(key)
    assert -(2**31) <= h < 2**31
    assert h & 0xFFFFFFFF == kp_murmur2(key)
    assert murmur2(bytearray(key)) == murmur2(memoryview(key)) == h


@given(st.binary(max_size=32), st.integers(1, 1000))
def test_default_partition_is_kafka_python_choice(key, n):
    assert default_partition(key, n) == (kp_murmur2(key) & 0x7FFFFFFF) % n


def test_default_partition_rejects_no_partitions():
    with pytest.raises(ValueError):
        default_partition(b"k", 0)


def test_to_positive_and_abs():
    assert to_positive(-1) == 0x7FFFFFFF
    assert to_positive(-(2**31)) == 0
    assert java_abs(-(2**31)) == 0
    assert java_abs(-5) == 5


@pytest.mark.parametrize(
    ("s", "expected"),
    [
        ("", 0),
        ("hello", 99162322),
        ("Aa", 2112),
        ("BB", 2112),
        ("polygenelubricants", -(2**31)),  # the famous Integer.MIN_VALUE hash
        ("\U0001f600", 0xD83D * 31 + 0xDE00),  # one non-BMP char = two UTF-16 code units
        ("é", 233),
    ],
)
def test_java_string_hashcode(s, expected):
    assert java_string_hashcode(s) == expected


def _reference_hashcode(s: str) -> int:
    units = []
    for ch in s:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            units += [0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF)]
        else:
            units.append(cp)
    h = 0
    for u in units:
        h = (31 * h + u) % 2**32
    return h - 2**32 if h >= 2**31 else h


@given(st.text(max_size=40))
def test_java_string_hashcode_property(s):
    assert java_string_hashcode(s) == _reference_hashcode(s)
