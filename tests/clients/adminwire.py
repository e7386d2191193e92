"""Admin requests at the wire for the admin tests: build a request from a dict with kio's request
classes, send it on a fresh connection, read the response back with kio.

For what the client libraries cannot send: confluent-kafka and kafka-python refuse a broker resource
named "" (the cluster-wide default), route broker "2" to a broker that does not exist, and have no
OffsetForLeaderEpoch or ElectLeaders call.
"""

from __future__ import annotations

import io
import socket
import struct

from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from kavka.protocol.api import build_entity
from kavka.protocol.extra_schemas import load_request_schema, load_response_schema

DESCRIBE_CONFIGS, ALTER_CONFIGS, INCREMENTAL_ALTER_CONFIGS = 32, 33, 44
OFFSET_FOR_LEADER_EPOCH, ELECT_LEADERS, DESCRIBE_LOG_DIRS, DELETE_RECORDS, CREATE_PARTITIONS = 23, 43, 35, 21, 37
TOPIC, BROKER, BROKER_LOGGER = 2, 4, 8


def call(bootstrap: str, api_key: int, version: int, body: dict, *, timeout: float = 15):
    """Send one request (built from ``body``) on a fresh connection; return the decoded response."""
    req_cls = load_request_schema(api_key, version)
    resp_cls = load_response_schema(api_key, version)
    flexible = bool(req_cls.__flexible__)
    header_cls = RequestHeaderV2 if flexible else RequestHeaderV1
    buf = io.BytesIO()
    entity_writer(header_cls)(
        buf,
        header_cls(
            request_api_key=i16(api_key),
            request_api_version=i16(version),
            correlation_id=i32(77),
            client_id="kavka-admin-test",
        ),
    )
    entity_writer(req_cls)(buf, build_entity(req_cls, body))
    frame = buf.getvalue()
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", _recv(s, 4))[0]
        payload = _recv(s, size)
    assert struct.unpack_from(">i", payload)[0] == 77
    # ApiVersions responses always use header v0 (no tagged fields), whatever the version.
    response, _ = entity_reader(resp_cls)(payload, 5 if flexible and api_key != 18 else 4)
    return response


def fetch_body(
    topic: str | None, partition: int, offset: int, max_wait: int = 0, *, topic_id=None, session_epoch: int = -1
) -> dict:
    """A Fetch body for one partition from ``offset``, up to 1 MiB: by ``topic`` name (v4-12) or by
    ``topic_id`` (v13+), sessionless unless ``session_epoch`` says otherwise; every other field takes
    the schema's default."""
    named = {"topic": topic} if topic_id is None else {"topic": topic, "topic_id": topic_id}
    return {
        "max_wait": max_wait,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": session_epoch,
        "forgotten_topics_data": [],
        "rack_id": "",
        "topics": [
            {**named, "partitions": [{"partition": partition, "fetch_offset": offset, "partition_max_bytes": 1 << 20}]}
        ],
    }


def _recv(s: socket.socket, n: int) -> bytes:
    out = b""
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, "connection closed"
        out += chunk
    return out


OPS = {"SET": 0, "DELETE": 1, "APPEND": 2, "SUBTRACT": 3}


def incremental_alter(
    bootstrap: str, resource_type: int, name: str, ops: list[tuple[str, str, str | None]], validate_only: bool = False
) -> tuple[int, str | None]:
    """IncrementalAlterConfigs v1 of one resource with ``[(key, "SET"|..., value)]``: (error code, message)."""
    r = call(
        bootstrap,
        INCREMENTAL_ALTER_CONFIGS,
        1,
        {
            "validate_only": validate_only,
            "resources": [
                {
                    "resource_type": resource_type,
                    "resource_name": name,
                    "configs": [{"name": key, "config_operation": OPS[op], "value": value} for key, op, value in ops],
                }
            ],
        },
    )
    [res] = r.responses
    return int(res.error_code), res.error_message


def describe(
    bootstrap: str, resource_type: int, name: str, keys: list[str] | None = None, synonyms: bool = True
) -> dict:
    """DescribeConfigs v4 of one resource: ``{name: entry}``; raises AssertionError on an error."""
    r = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {
            "resources": [{"resource_type": resource_type, "resource_name": name, "configuration_keys": keys}],
            "include_synonyms": synonyms,
        },
    )
    [res] = r.results
    assert res.error_code == 0, (res.error_code, res.error_message)
    return {c.name: c for c in res.configs}
