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
import typing
import uuid

from kavka.protocol.extra_schemas import load_request_schema
from tests.clients import adminwire

API_VERSIONS, METADATA, CREATE_TOPICS, DELETE_TOPICS = 18, 3, 19, 20
DESCRIBE_CONFIGS, ALTER_CONFIGS, CREATE_PARTITIONS, INCREMENTAL_ALTER_CONFIGS = 32, 33, 37, 44
DESCRIBE_CLUSTER = 60
TOPIC, BROKER = 2, 4


def create_topics_body(name: str, partitions: int = 1, configs: dict[str, str] | None = None, **extra) -> dict:
    """A CreateTopics (v7) body for one topic with replication factor 1; ``extra`` sets other fields of
    the request (``validate_only``...)."""
    topic = {
        "name": name,
        "num_partitions": partitions,
        "replication_factor": 1,
        "assignments": [],
        "configs": [{"name": k, "value": v} for k, v in (configs or {}).items()],
    }
    return {"topics": [topic], "timeout": 30000, "validate_only": False, **extra}


def call(bootstrap: str, api_key: int, version: int, body: dict) -> dict:
    """Send one request on a fresh connection (``tests.clients.adminwire.call``); return the decoded
    response as plain Python. Keys of ``body`` the schema does not have are refused first."""
    _check_fields(load_request_schema(api_key, version), body)
    return plain(adminwire.call(bootstrap, api_key, version, body, timeout=30))


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
