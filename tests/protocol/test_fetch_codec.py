"""Fetch response encoder against kio's reference writer and reader, for every version served (4-18; v13+ name topics by id, v16+ may carry node endpoints).

The encoder's buffers, joined, must be byte-identical to kio's output for the same data and must
decode with kio's reader to the same entity; record chunks must come through as the very objects
passed in (never copied).
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
from kio.static.primitive import i32Timedelta

from kavka.protocol.fetch import FetchPartitionResponse, encode_fetch_response
from kavka.protocol.primitives import frame, response_header, response_size

VERSIONS = range(4, 19)

INT32 = st.integers(-(2**31), 2**31 - 1)
INT64 = st.integers(-(2**63), 2**63 - 1)
ERROR_CODES = st.sampled_from([int(e) for e in ErrorCode])
_AS_CHUNK = {
    "bytes": bytes,
    "view": memoryview,
    "segment slice": lambda b: memoryview(bytearray(b"<" + b + b">"))[1:-1],
}
CHUNK = st.tuples(st.binary(max_size=40), st.sampled_from(sorted(_AS_CHUNK))).map(lambda t: _AS_CHUNK[t[1]](t[0]))


def schema(version: int):
    return importlib.import_module(f"kio.schema.fetch.v{version}.response")


def build(cls, **values):
    """Instantiate a kio dataclass with the subset of ``values`` its version has."""
    names = {f.name for f in fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


def kio_bytes(entity) -> bytes:
    out = io.BytesIO()
    entity_writer(type(entity))(out, entity)
    return out.getvalue()


@st.composite
def partitions(draw):
    records = draw(st.none() | st.lists(CHUNK, max_size=3))
    known_size = draw(st.booleans())
    return FetchPartitionResponse(
        partition_index=draw(INT32),
        error_code=draw(ERROR_CODES),
        high_watermark=draw(INT64),
        last_stable_offset=draw(INT64),
        log_start_offset=draw(INT64),
        aborted_transactions=draw(st.none() | st.lists(st.tuples(INT64, INT64), max_size=3)),
        preferred_read_replica=draw(INT32),
        records=records,
        records_size=sum(len(bytes(c)) for c in records) if records is not None and known_size else -1,
        diverging_epoch=draw(st.none() | st.tuples(INT32, INT64)),
        current_leader=draw(st.none() | st.tuples(INT32, INT32)),
        snapshot_id=draw(st.none() | st.tuples(INT64, INT32)),
    )


topics_strategy = st.lists(st.tuples(st.text(max_size=12), st.lists(partitions(), max_size=3)), max_size=3)


def topic_key(version: int, name: str):
    """The topic as ``version`` names it: its name, or from v13 an id (a UUID made from the name)."""
    return uuid.uuid5(uuid.NAMESPACE_URL, name) if version >= 13 else name


ENDPOINTS = st.lists(st.tuples(INT32, st.text(max_size=8), INT32, st.none() | st.text(max_size=5)), max_size=2)


def kio_response(version: int, throttle_time_ms: int, error_code: int, session_id: int, topics, endpoints=()):
    m = schema(version)

    def partition(r: FetchPartitionResponse):
        values = dict(
            partition_index=r.partition_index,
            error_code=ErrorCode(r.error_code),
            high_watermark=r.high_watermark,
            last_stable_offset=r.last_stable_offset,
            log_start_offset=r.log_start_offset,
            aborted_transactions=None
            if r.aborted_transactions is None
            else tuple(
                m.AbortedTransaction(producer_id=pid, first_offset=first) for pid, first in r.aborted_transactions
            ),
            preferred_read_replica=r.preferred_read_replica,
            records=None if r.records is None else b"".join(bytes(c) for c in r.records),
        )
        if version >= 12:
            if r.diverging_epoch is not None:
                values["diverging_epoch"] = m.EpochEndOffset(
                    epoch=r.diverging_epoch[0], end_offset=r.diverging_epoch[1]
                )
            if r.current_leader is not None:
                values["current_leader"] = m.LeaderIdAndEpoch(
                    leader_id=r.current_leader[0], leader_epoch=r.current_leader[1]
                )
            if r.snapshot_id is not None:
                values["snapshot_id"] = m.SnapshotId(end_offset=r.snapshot_id[0], epoch=r.snapshot_id[1])
        return build(m.PartitionData, **values)

    key = "topic_id" if version >= 13 else "topic"
    return build(
        m.FetchResponse,
        throttle_time=i32Timedelta.parse(datetime.timedelta(milliseconds=throttle_time_ms)),
        error_code=ErrorCode(error_code),
        session_id=session_id,
        responses=tuple(
            m.FetchableTopicResponse(**{key: topic_key(version, name)}, partitions=tuple(partition(r) for r in parts))
            for name, parts in topics
        ),
        node_endpoints=tuple(m.NodeEndpoint(node_id=n, host=h, port=port, rack=rack) for n, h, port, rack in endpoints)
        if version >= 16
        else (),
    )


@pytest.mark.parametrize("version", VERSIONS)
@given(
    throttle_time_ms=st.integers(0, 2**31 - 1),
    error_code=ERROR_CODES,
    session_id=INT32,
    topics=topics_strategy,
    endpoints=ENDPOINTS,
)
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_encode_matches_kio(version, throttle_time_ms, error_code, session_id, topics, endpoints):
    buffers = encode_fetch_response(
        version,
        throttle_time_ms=throttle_time_ms,
        error_code=error_code,
        session_id=session_id,
        topics=[(topic_key(version, name), parts) for name, parts in topics],
        node_endpoints=endpoints,
    )
    joined = b"".join(buffers)
    expected = kio_response(version, throttle_time_ms, error_code, session_id, topics, endpoints)
    assert joined == kio_bytes(expected)
    decoded, size = entity_reader(type(expected))(joined, 0)
    assert size == len(joined) == response_size(buffers)
    assert decoded == expected

    # zero copy: the chunks of every non-empty record set come through as the very objects passed in
    expected_chunks = [
        c for _, parts in topics for r in parts if r.records and response_size(r.records) for c in r.records
    ]
    ids = {id(c) for c in expected_chunks}
    assert [id(b) for b in buffers if id(b) in ids] == [id(c) for c in expected_chunks]
    assert all(type(b) is bytes and len(b) >= 3 for b in buffers if id(b) not in ids)


def test_chunks_are_passed_through_uncopied():
    segment = bytearray(b"B" * 1000)
    view = memoryview(segment)[100:900]
    buffers = encode_fetch_response(
        12, topics=[("t", [FetchPartitionResponse(0, high_watermark=5, records=[view, b"tail"])])]
    )
    assert buffers[1] is view and buffers[2] == b"tail"
    segment[100] = ord("X")  # the response sees later writes: it holds the view, not a copy
    assert b"".join(buffers)[len(buffers[0])] == ord("X")


def test_single_buffer_records_and_empty_records():
    one = encode_fetch_response(11, topics=[("t", [FetchPartitionResponse(0, records=b"abc")])])
    lst = encode_fetch_response(11, topics=[("t", [FetchPartitionResponse(0, records=[b"abc"])])])
    assert b"".join(one) == b"".join(lst)
    empty = encode_fetch_response(11, topics=[("t", [FetchPartitionResponse(0, records=[])])])
    assert len(empty) == 1 and empty[0].endswith(b"\x00\x00\x00\x00")  # zero-length, not null
    null = encode_fetch_response(11, topics=[("t", [FetchPartitionResponse(0, records=None)])])
    assert null[0].endswith(b"\xff\xff\xff\xff")


def test_default_tagged_fields_are_omitted():
    plain = FetchPartitionResponse(0, records=[b"r"])
    defaults = plain._replace(diverging_epoch=(-1, -1), current_leader=(-1, -1), snapshot_id=(-1, -1))
    assert b"".join(encode_fetch_response(12, topics=[("t", [plain])])) == b"".join(
        encode_fetch_response(12, topics=[("t", [defaults])])
    )


def test_unsupported_versions():
    for version in (3, 19):
        with pytest.raises(ValueError):
            encode_fetch_response(version, topics=[])
    with pytest.raises(ValueError):  # v13+ name topics by id only
        encode_fetch_response(13, topics=[("t", [])])
    with pytest.raises(ValueError):
        encode_fetch_response(12, topics=[(uuid.uuid4(), [])])


@pytest.mark.parametrize("version", [4, 11, 12, 13, 18])
def test_framed_response(version):
    flexible = version >= 12
    topic = topic_key(version, "t")
    body = encode_fetch_response(version, topics=[(topic, [FetchPartitionResponse(1, records=[b"abc"])])])
    framed = frame(body, response_header(99, flexible))
    wire = b"".join(framed)
    (size, correlation_id) = struct.unpack_from(">ii", wire)
    assert size == len(wire) - 4
    assert correlation_id == 99
    header_len = 5 if flexible else 4
    body_start = 4 + header_len
    m = schema(version)
    decoded, _ = entity_reader(m.FetchResponse)(wire, body_start)
    assert decoded.responses[0].partitions[0].records == b"abc"


def test_timing_encode_one_partition(capsys):
    chunk = memoryview(bytearray(1 << 20))
    topics = [
        (
            "bench-topic",
            [
                FetchPartitionResponse(
                    0,
                    0,
                    high_watermark=1000,
                    last_stable_offset=1000,
                    log_start_offset=0,
                    records=[chunk],
                    records_size=len(chunk),
                )
            ],
        )
    ]
    for version in (11, 12):
        n = 20000
        start = time.perf_counter()
        for _ in range(n):
            encode_fetch_response(version, topics=topics)
        elapsed = (time.perf_counter() - start) / n * 1e6
        with capsys.disabled():
            print(f"\nencode_fetch_response v{version}, 1 topic/1 partition, 1 MiB chunk: {elapsed:.2f} us")
