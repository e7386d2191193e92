"""Zigzag varints: round trips over the full ranges, agreement with kafka-python, hostile input."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kafka.record import util as kp_util

from kavka.protocol.varint import (
    decode_unsigned_varint,
    decode_varint,
    decode_varlong,
    encode_unsigned_varint,
    encode_varint,
    encode_varlong,
    unzigzag,
    varint_size,
    zigzag,
)

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
UINT32 = st.integers(0, 2**32 - 1)


@given(INT32, st.binary(max_size=4), st.binary(max_size=4))
def test_varint_round_trip(n, before, after):
    enc = encode_varint(n)
    assert 1 <= len(enc) <= 5
    assert len(enc) == varint_size(n)
    assert decode_varint(before + enc + after, len(before)) == (n, len(before) + len(enc))


@given(INT64)
def test_varlong_round_trip(n):
    enc = encode_varlong(n)
    assert 1 <= len(enc) <= 10
    assert decode_varlong(enc) == (n, len(enc))


@given(UINT32)
def test_unsigned_varint_round_trip(n):
    enc = encode_unsigned_varint(n)
    assert decode_unsigned_varint(enc) == (n, len(enc))


@given(INT64)
def test_zigzag_inverse(n):
    assert unzigzag(zigzag(n)) == n
    assert zigzag(n) >= 0


@given(INT64)
def test_matches_kafka_python(n):
    out = bytearray()
    kp_util.encode_varint(n, out.append)  # kafka-python's varint is Kafka's varlong
    assert encode_varlong(n) == bytes(out)
    assert kp_util.decode_varint(bytes(out), 0) == decode_varlong(bytes(out))


@pytest.mark.parametrize(
    ("n", "expected"),
    [(0, b"\x00"), (-1, b"\x01"), (1, b"\x02"), (-64, b"\x7f"), (64, b"\x80\x01"), (300, b"\xd8\x04"),
     (2**31 - 1, b"\xfe\xff\xff\xff\x0f"), (-(2**31), b"\xff\xff\xff\xff\x0f")],
)  # fmt: skip
def test_known_encodings(n, expected):
    assert encode_varint(n) == expected
    assert decode_varint(expected) == (n, len(expected))


def test_encoders_reject_out_of_range():
    for bad in (2**31, -(2**31) - 1):
        with pytest.raises(ValueError):
            encode_varint(bad)
    for bad in (2**63, -(2**63) - 1):
        with pytest.raises(ValueError):
            encode_varlong(bad)
    for bad in (-1, 2**32):
        with pytest.raises(ValueError):
            encode_unsigned_varint(bad)


@given(INT64)
def test_every_strict_prefix_is_truncated(n):
    enc = encode_varlong(n)
    for cut in range(len(enc)):
        with pytest.raises(ValueError):
            decode_varlong(enc[:cut])


def test_overlong_and_overflowing_input():
    with pytest.raises(ValueError):
        decode_varint(b"\x80\x80\x80\x80\x80\x00")  # six bytes
    with pytest.raises(ValueError):
        decode_varint(b"\xff\xff\xff\xff\x1f")  # five bytes but 33 bits
    with pytest.raises(ValueError):
        decode_unsigned_varint(b"\xff\xff\xff\xff\x10")
    with pytest.raises(ValueError):
        decode_varlong(b"\x80" * 10 + b"\x00")  # eleven bytes
    with pytest.raises(ValueError):
        decode_varlong(b"\xff" * 9 + b"\x02")  # ten bytes but 65 bits
    with pytest.raises(ValueError):
        decode_varint(b"\x00", 5)  # pos past the end
    # Non-minimal but within the maximum length is accepted, as Kafka does.
    assert decode_varint(b"\x80\x00") == (0, 2)


@given(st.binary(max_size=12), st.integers(0, 12))
def test_arbitrary_bytes_raise_only_value_error(data, pos):
    for fn in (decode_varint, decode_varlong, decode_unsigned_varint):
        try:
            value, end = fn(data, pos)
        except ValueError:
            continue
        assert pos < end <= len(data)
