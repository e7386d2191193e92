"""One connection with a client id of its own, for the quota tests: quotas are per client id (and
user), and a throttled connection is muted, so each test chooses which connection a request goes on.

`QuotaConn.request` sends a request built from a dict (kio's schema) and returns the answer as plain
Python with the seconds it took; `set_quota` / `wait_quota` are AlterClientQuotas / DescribeClientQuotas.
"""

from __future__ import annotations

import socket
import struct
import time

from kio.index import load_response_schema
from kio.serial import entity_reader

from kavka.protocol.api import encode_request_body, is_flexible
from kavka.protocol.extra_schemas import load_request_schema
from kavka.testing.process import wait_until
from tests.oracle.oraclewire import _check_fields, call, plain

ALTER_QUOTAS, DESCRIBE_QUOTAS = 49, 48


class QuotaConn:
    def __init__(self, bootstrap: str, client_id: str) -> None:
        host, port = bootstrap.rsplit(":", 1)
        self.sock = socket.create_connection((host, int(port)), timeout=60)
        self.client_id = client_id.encode()
        self._correlation = 0

    def request(self, api_key: int, version: int, body: dict) -> tuple[dict, float]:
        """(the answer as plain Python, seconds until it came)."""
        _check_fields(load_request_schema(api_key, version), body)  # a misspelt field would be sent as zero
        self._correlation += 1
        frame = struct.pack(">hhih", api_key, version, self._correlation, len(self.client_id)) + self.client_id
        flexible = is_flexible(api_key, version)
        if flexible:  # request header v2: no tagged fields
            frame += b"\x00"
        frame += encode_request_body(api_key, version, body)
        started = time.monotonic()
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", self._read(4))[0]
        payload = self._read(size)
        # the body starts after the correlation id (and the response header's tagged fields if flexible)
        answer, _ = entity_reader(load_response_schema(api_key, version))(payload, 5 if flexible else 4)
        return plain(answer), time.monotonic() - started

    def _read(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            assert chunk, "connection closed"
            data += chunk
        return data

    def close(self) -> None:
        self.sock.close()


def set_quota(bootstrap: str, entity: list[tuple[str, str | None]], values: dict[str, float | None]) -> None:
    """AlterClientQuotas (v1) for one entity (a value of None removes the key), then wait until
    DescribeClientQuotas shows it, as a broker applies quotas from its metadata image."""
    ops = [{"key": k, "value": v or 0.0, "remove": v is None} for k, v in values.items()]
    body = {
        "entries": [{"entity": [{"entity_type": t, "entity_name": n} for t, n in entity], "ops": ops}],
        "validate_only": False,
    }
    assert call(bootstrap, ALTER_QUOTAS, 1, body)["entries"][0]["error_code"] == 0
    components = [{"entity_type": t, "match_type": 0 if n else 1, "match": n} for t, n in entity]
    wanted = {k: v for k, v in values.items() if v is not None}

    def shown() -> bool:
        answer = call(bootstrap, DESCRIBE_QUOTAS, 1, {"components": components, "strict": True})
        got = {v["key"]: v["value"] for e in answer["entries"] or [] for v in e["values"]}
        return got == wanted

    wait_until(shown, 10)
