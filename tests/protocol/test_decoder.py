"""The checked request decoder (kavka.protocol.decoder) for every (API, version) the broker serves.

- random valid requests decode to exactly what kio's own reader builds (and what was encoded);
- every length prefix in a valid body (strings, bytes, arrays, compact and not, tagged-field counts
  and sizes) overwritten with a huge, past-the-end or negative value gives ProtocolDecodeError and
  nothing else (kio's Rust reader aborts the process on some of these);
- null where the schema forbids it is refused with Kafka's message;
- truncations and bit flips of valid bodies raise nothing but ProtocolDecodeError.
"""

from __future__ import annotations

import random
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from kio.serial import entity_reader

from kavka.protocol.api import decode_request, encode_request_body, request_class
from kavka.protocol.decoder import ProtocolDecodeError, decode_with, request_decoder
from kavka.testing.fuzz import length_fields, overwrite_length, random_request, served_versions

VERSIONS = served_versions()
ID = [f"{k}v{v}" for k, v in VERSIONS]


def _bodies(api_key: int, version: int, n: int, seed: int) -> list[bytes]:
    rng = random.Random(seed * 1000 + api_key * 50 + version)
    cls = request_class(api_key, version)
    return [encode_request_body(api_key, version, random_request(cls, rng)) for _ in range(n)]


def test_registry_is_covered():
    assert len(VERSIONS) > 150 and (8, 9) in VERSIONS and (9, 9) in VERSIONS


@pytest.mark.parametrize("api_key,version", VERSIONS, ids=ID)
def test_random_valid_requests_decode_like_kio(api_key, version):
    cls = request_class(api_key, version)
    reader = request_decoder(api_key, version)
    kio_reader = entity_reader(cls)
    for body in _bodies(api_key, version, 8, seed=1):
        ours, end = decode_with(reader, body, 0)
        theirs, size = kio_reader(body, 0)
        assert ours == theirs
        assert end == size == len(body)
        # from any buffer type, and from an offset inside a bigger frame
        assert decode_with(reader, bytearray(b"xyz" + body), 3)[0] == theirs
        assert decode_with(reader, memoryview(body), 0)[0] == theirs


@pytest.mark.parametrize("api_key,version", VERSIONS, ids=ID)
def test_every_length_field_overwritten_is_refused(api_key, version):
    cls = request_class(api_key, version)
    reader = request_decoder(api_key, version)
    checked = 0
    for body in _bodies(api_key, version, 4, seed=2):
        for lf in length_fields(cls, body):
            left = len(body) - lf.offset - lf.width
            if lf.compact:
                must_fail = [2**32 - 2, 2**31 - 1, left + 1, left + 7]
            elif lf.width == 4:
                must_fail = [2**31 - 1, left + 1, left + 7]
            else:  # INT16 string length: 0x7fff at most
                must_fail = [v for v in (0x7FFF, left + 1) if left < v <= 0x7FFF]
            negatives = [-1] if lf.compact else [-1, -2, -(2 ** (8 * lf.width - 1))]
            for value in must_fail:
                with pytest.raises(ProtocolDecodeError):
                    decode_with(reader, overwrite_length(body, lf, value), 0)
                checked += 1
            for value in negatives:
                mutated = overwrite_length(body, lf, value)
                if lf.nullable:  # null is allowed here: it may decode, but only ProtocolDecodeError escapes
                    try:
                        decode_with(reader, mutated, 0)
                    except ProtocolDecodeError:
                        pass
                elif lf.kind in ("string", "bytes", "array"):
                    with pytest.raises(ProtocolDecodeError):
                        decode_with(reader, mutated, 0)
                checked += 1
    assert checked or not any(length_fields(cls, b) for b in _bodies(api_key, version, 1, seed=2))


@pytest.mark.parametrize(
    "api_key,version", [(8, 9), (9, 8), (9, 9)], ids=["OffsetCommit9", "OffsetFetch8", "OffsetFetch9"]
)
def test_the_frames_that_aborted_the_broker(api_key, version):
    """The fuzz run's killers: a collection length of 0xffffffff0f (compact) / 0xfffffffe right after
    the group id. kio 0.6.5 tried to allocate ~34 GB for these and the process aborted."""
    body = encode_request_body(api_key, version, random_request(request_class(api_key, version), random.Random(3)))
    lf = next(f for f in length_fields(request_class(api_key, version), body) if f.kind == "array")
    huge_compact = body[: lf.offset] + bytes.fromhex("ffffffff0f") + body[lf.offset + lf.width :]
    with pytest.raises(ProtocolDecodeError, match="elements claimed"):
        decode_request(api_key, version, huge_compact, 0)


def test_legacy_array_length_fffffffe_is_refused():
    # ListOffsets v1: replica_id, then the topics array (INT32 count)
    body = struct.pack(">i", -1) + bytes.fromhex("fffffffe")
    with pytest.raises(ProtocolDecodeError):
        decode_request(2, 1, body, 0)
    body = struct.pack(">i", -1) + struct.pack(">i", 2**31 - 1)
    with pytest.raises(ProtocolDecodeError, match="elements claimed"):
        decode_request(2, 1, body, 0)


@pytest.mark.parametrize(
    "api_key,version,field",
    [
        (2, 1, "topics"),  # ListOffsets
        (9, 1, "topics"),  # OffsetFetch v1: topics not nullable before v2
        (10, 4, "coordinator_keys"),  # FindCoordinator
        (8, 2, "topics"),  # OffsetCommit
    ],
)
def test_null_array_where_the_schema_forbids_it_is_refused(api_key, version, field):
    cls = request_class(api_key, version)
    body = encode_request_body(api_key, version, random_request(cls, random.Random(4)))
    lf = next(f for f in length_fields(cls, body) if f.path == f"{cls.__name__}.{field}")
    assert not lf.nullable
    with pytest.raises(ProtocolDecodeError, match=f"non-nullable field .*{field} was serialized as null"):
        decode_request(api_key, version, overwrite_length(body, lf, -1), 0)


def test_null_metadata_topics_is_allowed_where_kafka_allows_it():
    body = encode_request_body(3, 12, {"topics": None, "allow_auto_topic_creation": True})
    assert decode_request(3, 12, body, 0).topics is None


def test_strings_are_utf8_with_replacement_like_java():
    body = encode_request_body(10, 4, {"key_type": 0, "coordinator_keys": ["ab"]})
    i = body.index(b"ab")
    req = decode_request(10, 4, body[:i] + b"\xff\xfe" + body[i + 2 :], 0)
    assert req.coordinator_keys == ("\ufffd\ufffd",)


def test_string_longer_than_0x7fff_is_refused():
    name = "g" * 0x8000
    body = encode_request_body(10, 4, {"key_type": 0, "coordinator_keys": [name]})
    with pytest.raises(ProtocolDecodeError, match="invalid length 32768"):
        decode_request(10, 4, body, 0)


def test_known_and_unknown_tagged_fields():
    # Fetch v12: cluster_id is tag 0 (COMPACT_NULLABLE_STRING); tag 7 is unknown and skipped
    plain = encode_request_body(1, 12, {"topics": [], "forgotten_topics_data": [], "rack_id": ""})
    assert plain[-1] == 0
    tags = b"\x02" + b"\x00\x04\x04abc" + b"\x07\x02zz"  # tag 0 (4 bytes: "abc"), tag 7 (2 bytes)
    req = decode_request(1, 12, plain[:-1] + tags, 0)
    assert req.cluster_id == "abc"
    with pytest.raises(ProtocolDecodeError, match="tagged field"):
        decode_request(1, 12, plain[:-1] + b"\x01\x07\x7fzz", 0)
    with pytest.raises(ProtocolDecodeError, match="tagged fields claimed"):
        decode_request(1, 12, plain[:-1] + b"\xff\xff\xff\xff\x0f", 0)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_truncations_and_bit_flips_raise_only_protocol_decode_error(data):
    api_key, version = data.draw(st.sampled_from(VERSIONS))
    body = data.draw(st.sampled_from(_bodies(api_key, version, 2, seed=5)))
    if data.draw(st.booleans()):
        mutated = body[: data.draw(st.integers(0, max(len(body) - 1, 0)))]
    else:
        b = bytearray(body or b"\x00")
        for _ in range(data.draw(st.integers(1, 6))):
            b[data.draw(st.integers(0, len(b) - 1))] ^= 1 << data.draw(st.integers(0, 7))
        mutated = bytes(b)
    try:
        decode_request(api_key, version, mutated, 0)
    except ProtocolDecodeError:
        pass
