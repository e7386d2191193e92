"""Request headers and the dict -> kio response builder."""

import io
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from kavka.protocol.api import (
    ProtocolDecodeError,
    build_entity,
    encode_response,
    is_flexible,
    parse_request_header,
    response_class,
)


@given(
    api_key=st.sampled_from([0, 1, 3, 18, 19]),
    version=st.integers(0, 12),
    correlation_id=st.integers(-(2**31), 2**31 - 1),
    client_id=st.none() | st.text(max_size=40),
)
def test_header_matches_kio(api_key, version, correlation_id, client_id):
    flexible = is_flexible(api_key, version)
    cls = RequestHeaderV2 if flexible else RequestHeaderV1
    buf = io.BytesIO()
    entity_writer(cls)(
        buf,
        cls(
            request_api_key=i16(api_key),
            request_api_version=i16(version),
            correlation_id=i32(correlation_id),
            client_id=client_id,
        ),
    )
    data = buf.getvalue() + b"body"
    header, body = parse_request_header(data)
    assert (header.api_key, header.api_version, header.correlation_id, header.client_id) == (
        api_key,
        version,
        correlation_id,
        client_id,
    )
    assert data[body:] == b"body"


def test_header_skips_unknown_tagged_fields():
    data = struct.pack(">hhih", 18, 3, 9, 1) + b"x" + b"\x02" + b"\x05\x02ab" + b"\x07\x00" + b"rest"
    header, body = parse_request_header(data)
    assert header.correlation_id == 9 and data[body:] == b"rest"


@given(st.binary(max_size=64))
def test_garbage_header_never_raises_anything_else(data):
    try:
        parse_request_header(data)
    except ProtocolDecodeError:
        pass


@pytest.mark.parametrize("version", range(0, 13))
def test_metadata_response_built_for_every_version(version):
    data = {
        "brokers": [{"node_id": 1, "host": "h", "port": 9092, "rack": None}],
        "cluster_id": "c",
        "controller_id": 1,
        "topics": [
            {
                "error_code": 0,
                "name": "t",
                "topic_id": b"\x01" * 16,
                "is_internal": False,
                "partitions": [
                    {
                        "error_code": 0,
                        "partition_index": 0,
                        "leader_id": 1,
                        "leader_epoch": 3,
                        "replica_nodes": [1],
                        "isr_nodes": [1],
                        "offline_replicas": [],
                    }
                ],
            }
        ],
    }
    raw = encode_response(3, version, 42, data)
    cls = response_class(3, version)
    flexible = cls.__flexible__
    assert struct.unpack_from(">i", raw)[0] == 42
    decoded, _ = entity_reader(cls)(raw, 5 if flexible else 4)
    assert decoded.brokers[0].port == 9092
    assert decoded.topics[0].name == "t"
    assert decoded.topics[0].partitions[0].isr_nodes == (1,)
    if version >= 7:
        assert decoded.topics[0].partitions[0].leader_epoch == 3


def test_build_entity_drops_unknown_and_zeroes_missing():
    cls = response_class(3, 0)
    entity = build_entity(cls, {"brokers": [], "topics": [], "cluster_id": "dropped-in-v0"})
    assert entity.brokers == () and entity.topics == ()


def _encode_request(entity) -> bytes:
    buf = io.BytesIO()
    entity_writer(type(entity))(buf, entity)
    return buf.getvalue()


def test_unknown_tagged_fields_in_a_request_body_are_skipped():
    from kio.schema.api_versions.v3.request import ApiVersionsRequest

    from kavka.protocol.api import decode_request

    plain = _encode_request(ApiVersionsRequest(client_software_name="c", client_software_version="1"))
    assert plain[-1] == 0  # the empty tagged-field section
    with_tags = plain[:-1] + b"\x02" + b"\x05\x02ab" + b"\x21\x00"
    req = decode_request(18, 3, with_tags, 0)
    assert req.client_software_name == "c" and req.client_software_version == "1"


def test_unknown_tagged_fields_nested_in_fetch_topics_are_skipped():
    import datetime

    from kio.schema.fetch.v12.request import FetchPartition, FetchRequest, FetchTopic

    from kavka.protocol.api import decode_request

    req = FetchRequest(
        max_wait=datetime.timedelta(milliseconds=500),
        min_bytes=i32(1),
        topics=(
            FetchTopic(
                topic="t", partitions=(FetchPartition(partition=i32(0), fetch_offset=5, partition_max_bytes=i32(1024)),)
            ),
        ),
        forgotten_topics_data=(),
    )
    raw = bytearray(_encode_request(req))
    # the partition struct ends with an empty tagged-field section right before the topic's own;
    # give the partition an unknown tag 9.
    decoded_plain = decode_request(1, 12, bytes(raw), 0)
    marker = raw.rindex(b"\x00\x00\x04\x00")  # partition_max_bytes = 1024
    patched = bytes(raw[: marker + 4]) + b"\x01\x09\x01z" + bytes(raw[marker + 5 :])
    decoded = decode_request(1, 12, patched, 0)
    assert decoded == decoded_plain
    assert decoded.topics[0].partitions[0].fetch_offset == 5
