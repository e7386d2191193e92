"""Produce codec (and the primitives under it) against kio's reference writers and readers.

Golden bytes: the same data encoded by kio and by kavka.protocol must give identical bytes, for every
version served (3-13; v13 names topics by id). Requests encoded by kio must decode to the same fields, with records as
zero-copy slices. Malformed input must only ever raise ProtocolDecodeError.
"""

from __future__ import annotations

import datetime
import importlib
import io
import struct
import time
import uuid
from dataclasses import fields

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader, entity_writer
from kio.serial.readers import tz_aware_from_i64
from kio.static.primitive import i32Timedelta

from kavka.protocol import primitives as p
from kavka.protocol.primitives import ProtocolDecodeError
from kavka.protocol.produce import (
    NodeEndpoint,
    PartitionResponse,
    decode_produce_request,
    encode_produce_response,
)

VERSIONS = range(3, 14)
FLEXIBLE = range(9, 14)

INT16 = st.integers(-(2**15), 2**15 - 1)
INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
ERROR_CODES = st.sampled_from([int(e) for e in ErrorCode])
NAMES = st.text(max_size=12)
NULLABLE_TEXT = st.none() | st.text(max_size=12)
RECORDS = st.none() | st.binary(max_size=64)


def schema(version: int, kind: str):
    return importlib.import_module(f"kio.schema.produce.v{version}.{kind}")


def build(cls, **values):
    """Instantiate a kio dataclass with the subset of ``values`` its version has."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def topic_key(version: int, name: str):
    """How ``version`` names the topic called ``name``: the name itself, or from v13 an id (a UUID
    made from the name, so each name keeps its own id)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, name) if version >= 13 else name


def topic_field(version: int, name: str) -> dict:
    return {"topic_id": topic_key(version, name)} if version >= 13 else {"name": name}


def kio_bytes(entity) -> bytes:
    out = io.BytesIO()
    entity_writer(type(entity))(out, entity)
    return out.getvalue()


def ms(value: int) -> i32Timedelta:
    return i32Timedelta.parse(datetime.timedelta(milliseconds=value))


# -- requests -----------------------------------------------------------------------------------------

request_topics = st.lists(
    st.tuples(NAMES, st.lists(st.tuples(INT32, RECORDS), max_size=4)),
    max_size=4,
)


def kio_request(version: int, transactional_id, acks, timeout_ms, topics) -> bytes:
    m = schema(version, "request")
    return kio_bytes(
        m.ProduceRequest(
            transactional_id=transactional_id,
            acks=acks,
            timeout=ms(timeout_ms),
            topic_data=tuple(
                m.TopicProduceData(
                    **topic_field(version, name),
                    partition_data=tuple(m.PartitionProduceData(index=i, records=r) for i, r in parts),
                )
                for name, parts in topics
            ),
        )
    )


def as_plain(topics):
    return [(name, [(i, None if r is None else bytes(r)) for i, r in parts]) for name, parts in topics]


@pytest.mark.parametrize("version", VERSIONS)
@given(
    transactional_id=NULLABLE_TEXT,
    acks=INT16,
    timeout_ms=INT32,
    topics=request_topics,
    prefix=st.binary(max_size=8),
)
def test_decode_request_matches_kio(version, transactional_id, acks, timeout_ms, topics, prefix):
    body = kio_request(version, transactional_id, acks, timeout_ms, topics)
    buf = prefix + body + b"trailing"
    req = decode_produce_request(memoryview(buf), len(prefix), version)
    assert req.transactional_id == transactional_id
    assert req.acks == acks
    assert req.timeout_ms == timeout_ms
    assert as_plain(req.topics) == [(topic_key(version, n), list(ps)) for n, ps in topics]
    for _, parts in req.topics:
        for _, records in parts:
            if records is not None:
                assert isinstance(records, memoryview)
                assert records.obj is buf  # a slice of the input, not a copy


def test_decode_accepts_bytes_and_1mib_records_zero_copy():
    records = bytes(range(256)) * 4096
    body = kio_request(9, "tx", -1, 30000, [("big", [(0, records)])])
    req = decode_produce_request(body, 0, 9)
    view = req.topics[0][1][0][1]
    assert view.obj is body and view.nbytes == len(records) and view == records


# A hand-written flexible request encoder that can put tagged fields anywhere, to check that unknown
# tags are skipped (kio's reader would raise on them).


def flexible_request(transactional_id, acks, timeout_ms, topics, tags: bytes, version: int = 9) -> bytes:
    out = bytearray(p.encode_compact_nullable_string(transactional_id))
    out += struct.pack(">hi", acks, timeout_ms)
    out += p.encode_compact_array_length(len(topics))
    for name, parts in topics:
        out += topic_key(version, name).bytes if version >= 13 else p.encode_compact_string(name)
        out += p.encode_compact_array_length(len(parts))
        for index, records in parts:
            out += struct.pack(">i", index)
            out += p.encode_compact_nullable_bytes(records)
            out += tags
        out += tags
    out += tags
    return bytes(out)


TAGS = p.encode_tagged_fields({0: b"\x01\x02", 7: b"", 1000: b"x" * 200, 2**20: b"\xff"})


@pytest.mark.parametrize("version", FLEXIBLE)
def test_decoder_skips_unknown_tagged_fields(version):
    topics = [("a", [(0, b"rec0"), (1, None)]), ("b", [(5, b"")])]
    plain = flexible_request("tx", 1, 500, topics, p.EMPTY_TAGGED_FIELDS, version)
    tagged = flexible_request("tx", 1, 500, topics, TAGS, version)
    assert plain == kio_request(version, "tx", 1, 500, topics)
    assert decode_produce_request(memoryview(tagged), 0, version) == decode_produce_request(
        memoryview(plain), 0, version
    )
    with pytest.raises(Exception):  # noqa: B017 - kio is the one that does not skip them
        entity_reader(schema(version, "request").ProduceRequest)(tagged, 0)


@pytest.mark.parametrize("version", VERSIONS)
@given(
    transactional_id=NULLABLE_TEXT,
    topics=request_topics,
    data=st.data(),
)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_truncated_request_raises_protocol_decode_error(version, transactional_id, topics, data):
    body = kio_request(version, transactional_id, 1, 1000, topics)
    cut = data.draw(st.integers(0, len(body) - 1))
    with pytest.raises(ProtocolDecodeError):
        decode_produce_request(memoryview(body[:cut]), 0, version)


@pytest.mark.parametrize("version", [3, 8, 9, 11, 13])
def test_every_truncation_of_a_request_raises(version):
    tags = TAGS if version >= 9 else b""
    if tags:
        body = flexible_request("tx", -1, 1, [("t", [(0, b"abc"), (1, None)])], tags, version)
    else:
        body = kio_request(version, "tx", -1, 1, [("t", [(0, b"abc"), (1, None)])])
    decode_produce_request(body, 0, version)
    for cut in range(len(body)):
        with pytest.raises(ProtocolDecodeError):
            decode_produce_request(body[:cut], 0, version)


def decode_or_protocol_error(buf, offset, version):
    try:
        decode_produce_request(buf, offset, version)
    except ProtocolDecodeError:
        pass


@pytest.mark.parametrize("version", VERSIONS)
@given(garbage=st.binary(max_size=200))
def test_garbage_never_raises_anything_else(version, garbage):
    decode_or_protocol_error(memoryview(garbage), 0, version)


@pytest.mark.parametrize("version", VERSIONS)
@given(topics=request_topics, data=st.data())
def test_corrupted_request_never_raises_anything_else(version, topics, data):
    body = bytearray(kio_request(version, None, 1, 1000, topics))
    for _ in range(data.draw(st.integers(1, 4))):
        body[data.draw(st.integers(0, len(body) - 1))] = data.draw(st.integers(0, 255))
    decode_or_protocol_error(memoryview(body), 0, version)


def test_decoder_rejects_bad_lengths_and_offsets():
    ok = kio_request(3, None, 1, 1000, [("t", [(0, b"r")])])
    decode_produce_request(ok, 0, 3)
    with pytest.raises(ProtocolDecodeError):
        decode_produce_request(ok, -1, 3)
    with pytest.raises(ProtocolDecodeError):
        decode_produce_request(ok, len(ok) + 1, 3)
    # null topic array, negative string length, huge array count, invalid UTF-8
    for bad in (
        b"\xff\xff" + struct.pack(">hi", 1, 1) + b"\xff\xff\xff\xff",
        b"\xff\xfe",
        b"\xff\xff" + struct.pack(">hi", 1, 1) + struct.pack(">i", 2**31 - 1),
        struct.pack(">h", 2) + b"\xc3\x28",
    ):
        with pytest.raises(ProtocolDecodeError):
            decode_produce_request(bad, 0, 3)
    with pytest.raises(ValueError):
        decode_produce_request(ok, 0, 2)


# -- responses ----------------------------------------------------------------------------------------

partition_responses = st.builds(
    PartitionResponse,
    index=INT32,
    error_code=ERROR_CODES,
    base_offset=INT64,
    log_append_time_ms=st.just(-1) | st.integers(0, 4_102_444_800_000),
    log_start_offset=INT64,
    record_errors=st.lists(st.tuples(INT32, NULLABLE_TEXT), max_size=3),
    error_message=NULLABLE_TEXT,
    current_leader=st.none() | st.tuples(INT32, INT32),
)
response_topics = st.lists(st.tuples(NAMES, st.lists(partition_responses, max_size=4)), max_size=3)
node_endpoints = st.lists(
    st.builds(NodeEndpoint, node_id=INT32, host=st.text(max_size=10), port=INT32, rack=NULLABLE_TEXT),
    max_size=3,
)


def kio_response(version: int, topics, throttle_time_ms: int, endpoints):
    m = schema(version, "response")
    extra = {}
    if version >= 10:
        extra["node_endpoints"] = tuple(
            m.NodeEndpoint(node_id=e.node_id, host=e.host, port=e.port, rack=e.rack) for e in endpoints
        )

    def partition(r: PartitionResponse):
        values = dict(
            index=r.index,
            error_code=ErrorCode(r.error_code),
            base_offset=r.base_offset,
            log_append_time=None if r.log_append_time_ms == -1 else tz_aware_from_i64(r.log_append_time_ms),
            log_start_offset=r.log_start_offset,
        )
        if version >= 8:
            values["record_errors"] = tuple(
                m.BatchIndexAndErrorMessage(batch_index=i, batch_index_error_message=msg) for i, msg in r.record_errors
            )
            values["error_message"] = r.error_message
        if version >= 10 and r.current_leader is not None:
            values["current_leader"] = m.LeaderIdAndEpoch(
                leader_id=r.current_leader[0], leader_epoch=r.current_leader[1]
            )
        return build(m.PartitionProduceResponse, **values)

    return m.ProduceResponse(
        responses=tuple(
            m.TopicProduceResponse(**topic_field(version, name), partition_responses=tuple(partition(r) for r in parts))
            for name, parts in topics
        ),
        throttle_time=ms(throttle_time_ms),
        **extra,
    )


@pytest.mark.parametrize("version", VERSIONS)
@given(topics=response_topics, throttle_time_ms=st.integers(0, 2**31 - 1), endpoints=node_endpoints)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_encode_response_is_byte_identical_to_kio(version, topics, throttle_time_ms, endpoints):
    expected = kio_response(version, topics, throttle_time_ms, endpoints)
    keyed = [(topic_key(version, name), parts) for name, parts in topics]
    mine = encode_produce_response(version, keyed, throttle_time_ms, node_endpoints=endpoints)
    assert mine == kio_bytes(expected)
    decoded, size = entity_reader(type(expected))(mine, 0)
    assert size == len(mine)
    assert decoded == expected


def test_response_defaults_and_leader_default_omitted():
    r = PartitionResponse(3, 0, 42)
    assert r.log_append_time_ms == -1 and r.log_start_offset == -1 and r.record_errors == ()
    with_default_leader = encode_produce_response(11, [("t", [r._replace(current_leader=(-1, -1))])])
    assert with_default_leader == encode_produce_response(11, [("t", [r])])
    with pytest.raises(ValueError):
        encode_produce_response(14, [])


def test_v12_is_v11_on_the_wire_and_v13_names_topics_by_id():
    topics = [("t", [(0, b"rec")])]
    assert kio_request(12, "tx", -1, 100, topics) == kio_request(11, "tx", -1, 100, topics)
    v13 = decode_produce_request(kio_request(13, "tx", -1, 100, topics), 0, 13)
    assert v13.topics[0][0] == topic_key(13, "t") and isinstance(v13.topics[0][0], uuid.UUID)
    response = encode_produce_response(13, [(topic_key(13, "t"), [PartitionResponse(0, 0, 5)])])
    assert topic_key(13, "t").bytes in response and b"t" not in response[:20]


# -- primitives ---------------------------------------------------------------------------------------


@given(st.integers(0, 2**32 - 1))
def test_uvarint_round_trip(value):
    data = p.encode_uvarint(value)
    assert p.read_uvarint(memoryview(b"\x00" + data), 1) == (value, 1 + len(data))
    for cut in range(len(data)):
        with pytest.raises(ProtocolDecodeError):
            p.read_uvarint(memoryview(data[:cut]), 0)


@pytest.mark.parametrize("value", [0, 127, 128, 16383, 16384, 2**21 - 1, 2**21, 2**28 - 1, 2**28, 2**32 - 1])
def test_uvarint_matches_kio_at_boundaries(value):
    from kio.serial.writers import write_unsigned_varint

    out = io.BytesIO()
    write_unsigned_varint(out, value)
    assert p.encode_uvarint(value) == out.getvalue()


def test_uvarint_limits():
    with pytest.raises(ProtocolDecodeError):
        p.read_uvarint(memoryview(b"\x80\x80\x80\x80\x80\x01"), 0)  # 6 bytes
    with pytest.raises(ProtocolDecodeError):
        p.read_uvarint(memoryview(b"\xff\xff\xff\xff\x7f"), 0)  # > 32 bits
    with pytest.raises(ValueError):
        p.encode_uvarint(-1)


@given(NULLABLE_TEXT, st.none() | st.binary(max_size=300))
def test_strings_and_bytes_round_trip(text, blob):
    cases = [
        (p.encode_nullable_string, p.read_nullable_string, text),
        (p.encode_compact_nullable_string, p.read_compact_nullable_string, text),
        (p.encode_nullable_bytes, p.read_nullable_bytes, blob),
        (p.encode_compact_nullable_bytes, p.read_compact_nullable_bytes, blob),
    ]
    for encode, read, value in cases:
        data = encode(value)
        got, end = read(memoryview(data), 0)
        assert (got if got is None or isinstance(got, str) else bytes(got)) == value
        assert end == len(data)
        for cut in range(len(data)):
            with pytest.raises(ProtocolDecodeError):
                read(memoryview(data[:cut]), 0)
    for encode, read in (
        (p.encode_nullable_string, p.read_string),
        (p.encode_compact_nullable_string, p.read_compact_string),
        (p.encode_nullable_bytes, p.read_bytes),
        (p.encode_compact_nullable_bytes, p.read_compact_bytes),
    ):
        with pytest.raises(ProtocolDecodeError):
            read(memoryview(encode(None)), 0)


@given(st.dictionaries(st.integers(0, 2**31), st.binary(max_size=20), max_size=5))
def test_tagged_fields_round_trip(tags):
    data = p.encode_tagged_fields(tags) + b"next"
    view = memoryview(data)
    got, end = p.read_tagged_fields(view, 0)
    assert {k: bytes(v) for k, v in got.items()} == tags
    assert p.skip_tagged_fields(view, 0) == end == len(data) - 4
    for cut in range(len(data) - 4):
        with pytest.raises(ProtocolDecodeError):
            p.skip_tagged_fields(view[:cut], 0)


def test_fixed_width_readers_raise_protocol_error():
    for read in (p.read_int8, p.read_int16, p.read_int32, p.read_int64):
        with pytest.raises(ProtocolDecodeError):
            read(memoryview(b""), 0)
    assert p.read_int64(memoryview(p.encode_int64(-5)), 0) == (-5, 8)
    assert p.read_array_length(memoryview(p.encode_array_length(None)), 0) == (None, 4)
    assert p.read_compact_array_length(memoryview(p.encode_compact_array_length(None)), 0) == (None, 1)


def test_response_header_and_frame():
    assert p.response_header(7, False) == b"\x00\x00\x00\x07"
    assert p.response_header(7, True) == b"\x00\x00\x00\x07\x00"
    chunk = memoryview(b"xyz")
    framed = p.frame([b"ab", chunk], p.response_header(1, True))
    assert framed[1] == b"ab" and framed[2] is chunk
    joined = b"".join(framed)
    assert struct.unpack(">i", joined[:4])[0] == len(joined) - 4 == 5 + 5


# -- timing (printed, not asserted) -------------------------------------------------------------------


def test_timing_decode_1mib_request(capsys):
    body = kio_request(9, None, -1, 30000, [("bench-topic", [(0, b"\x00" * (1 << 20))])])
    view = memoryview(body)
    response_topics = [("bench-topic", [PartitionResponse(0, 0, 123456, -1, 0)])]
    for label, fn in (
        ("decode_produce_request v9, 1 MiB records", lambda: decode_produce_request(view, 0, 9)),
        ("encode_produce_response v9, 1 topic/1 partition", lambda: encode_produce_response(9, response_topics)),
    ):
        n = 20000
        start = time.perf_counter()
        for _ in range(n):
            fn()
        elapsed = (time.perf_counter() - start) / n * 1e6
        with capsys.disabled():
            print(f"\n{label}: {elapsed:.2f} us")
