"""Versions kio does not know, served through kavka.protocol.extra_schemas: DeleteGroups v3 decodes and
encodes with Kafka's layout (DeleteGroupsRequest/Response.json of Kafka 4.4: flexible, v3's results
carry a nullable error message after the error code)."""

from __future__ import annotations

import pytest

from kavka.protocol.api import ProtocolDecodeError, decode_request, encode_response, is_flexible, parse_request_header


def test_delete_groups_v3_request_decodes_as_kafka_sends_it():
    header = b"\x00\x2a\x00\x03\x00\x00\x00\x09\x00\x04test\x00"  # key 42, v3, correlation 9, client "test", no tags
    body = b"\x03\x02a\x03bc\x00"  # compact array of 2: "a", "bc"; no tagged fields
    parsed, offset = parse_request_header(header + body)
    assert is_flexible(42, 3) and (parsed.api_key, parsed.api_version, offset) == (42, 3, len(header))
    assert decode_request(42, 3, header + body, offset).groups_names == ("a", "bc")
    with pytest.raises(ProtocolDecodeError):
        decode_request(42, 3, b"\x03\x02a", 0)  # the second name is missing


def test_delete_groups_v3_response_layout():
    answer = {
        "throttle_time": 0,
        "results": [{"group_id": "a", "error_code": 69}, {"group_id": "b", "error_code": 0, "error_message": "x"}],
    }
    assert encode_response(42, 3, 9, answer) == (
        b"\x00\x00\x00\x09\x00"  # correlation id, header tags
        b"\x00\x00\x00\x00\x03"  # throttle time, compact array of 2
        b"\x02a\x00\x45\x00\x00"  # "a", GROUP_ID_NOT_FOUND, null message, tags
        b"\x02b\x00\x00\x02x\x00"  # "b", NONE, "x", tags
        b"\x00"  # top-level tags
    )
