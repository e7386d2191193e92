"""Raw requests for the differential tests: one request, built from a dict with kio's schema classes
(as kavka.protocol encodes them), sent on a fresh connection; the response decoded by kio and turned
into plain Python (dicts, lists, ints, strings) so that two brokers' answers compare with ``==``.

`plain` maps a kio entity to dicts by field name, tuples to lists, UUIDs to strings, durations to
milliseconds and enums to their values.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import io
import socket
import struct
import typing
import uuid

from kio.index import load_request_schema, load_response_schema
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from kavka.protocol.api import build_entity

API_VERSIONS, METADATA, CREATE_TOPICS, DELETE_TOPICS = 18, 3, 19, 20
DESCRIBE_CONFIGS, ALTER_CONFIGS, CREATE_PARTITIONS, INCREMENTAL_ALTER_CONFIGS = 32, 33, 37, 44
DESCRIBE_CLUSTER = 60
TOPIC, BROKER = 2, 4


def call(bootstrap: str, api_key: int, version: int, body: dict) -> dict:
    """Send one request on a fresh connection; return the decoded response as plain Python."""
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
            correlation_id=i32(91),
            client_id="kavka-oracle",
        ),
    )
    _check_fields(req_cls, body)
    entity_writer(req_cls)(buf, build_entity(req_cls, body))
    frame = buf.getvalue()
    host, port = bootstrap.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", _recv(s, 4))[0]
        payload = _recv(s, size)
    assert struct.unpack_from(">i", payload)[0] == 91
    # ApiVersions responses always use header v0 (no tagged fields), whatever the version.
    offset = 4 if (not flexible or api_key == API_VERSIONS) else 5
    response, _ = entity_reader(resp_cls)(payload, offset)
    return plain(response)


def _check_fields(cls, data: dict) -> None:
    """build_entity drops unknown keys (a typo would silently send a zero): refuse them here."""
    fields = {f.name: f.type for f in dataclasses.fields(cls)}
    unknown = set(data) - set(fields)
    if unknown:
        raise KeyError(f"{cls.__qualname__} has no field(s) {sorted(unknown)}; it has {sorted(fields)}")
    for name, value in data.items():
        inner = typing.get_args(fields[name])[:1] or (fields[name],)
        if isinstance(value, dict) and dataclasses.is_dataclass(inner[0]):
            _check_fields(inner[0], value)
        elif isinstance(value, list) and dataclasses.is_dataclass(inner[0]):
            for item in value:
                if isinstance(item, dict):
                    _check_fields(inner[0], item)


def plain(value):
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list, frozenset, set)):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime.timedelta):
        return int(value.total_seconds() * 1000)
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return int(value)
    return value


def _recv(s: socket.socket, n: int) -> bytes:
    out = bytearray()
    while len(out) < n:
        chunk = s.recv(n - len(out))
        assert chunk, "connection closed"
        out += chunk
    return bytes(out)
