"""Requests at the wire on one connection, for the ACL tests: an admin connection that may change ACLs.

Kafka's admin is ``User:admin`` (a super user) on its SASL_PLAINTEXT CONTROLLER listener, which serves
the ACL APIs: :func:`kafka_admin` authenticates with SASL PLAIN (SaslHandshake v1, SaslAuthenticate v2)
before the requests (:func:`sasl_plain`, which also works on Kavka's SASL_PLAINTEXT listeners). With the
principal under test ``User:ANONYMOUS``, Kavka's admin is ``User:ANONYMOUS`` connecting *from*
127.0.0.2, which an ACL (granted once while ANONYMOUS was a super user, see ``aclfixtures``) allows
everything on the cluster; the principal under test connects from 127.0.0.1. With SASL users, Kavka's
admin is ``User:admin`` on its SASL listener, as Kafka's.
"""

from __future__ import annotations

import io
import socket
import ssl
import struct
from typing import Any

from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from kavka.protocol.api import build_entity
from kavka.protocol.extra_schemas import load_request_schema, load_response_schema
from tests.oracle.oraclewire import plain

SASL_HANDSHAKE, SASL_AUTHENTICATE = 17, 36
ADMIN_SOURCE = "127.0.0.2"


class Connection:
    """One connection; ``call`` sends a request built from a dict and returns the plain answer. With
    ``tls`` the connection is TLS first (the context's certificate, if any, is the client's)."""

    def __init__(
        self,
        host: str,
        port: int,
        source: str | None = None,
        timeout: float = 30,
        client_id: str = "kavka-acl-test",
        tls: ssl.SSLContext | None = None,
    ) -> None:
        sock = socket.create_connection((host, port), timeout=timeout, source_address=(source, 0) if source else None)
        self.sock = tls.wrap_socket(sock, server_hostname=host) if tls is not None else sock
        self._corr = 0
        self.client_id = client_id

    def call(self, api_key: int, version: int, body: dict) -> Any:
        req_cls = load_request_schema(api_key, version)
        resp_cls = load_response_schema(api_key, version)
        flexible = bool(req_cls.__flexible__)
        header_cls = RequestHeaderV2 if flexible else RequestHeaderV1
        self._corr += 1
        buf = io.BytesIO()
        header = header_cls(
            request_api_key=i16(api_key),
            request_api_version=i16(version),
            correlation_id=i32(self._corr),
            client_id=self.client_id,
        )
        entity_writer(header_cls)(buf, header)
        entity_writer(req_cls)(buf, build_entity(req_cls, body))
        frame = buf.getvalue()
        self.sock.sendall(struct.pack(">i", len(frame)) + frame)
        size = struct.unpack(">i", self._recv(4))[0]
        payload = self._recv(size)
        assert struct.unpack_from(">i", payload)[0] == self._corr
        response, _ = entity_reader(resp_cls)(payload, 5 if flexible and api_key != 18 else 4)
        return plain(response)

    def _recv(self, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = self.sock.recv(n - len(out))
            assert chunk, "connection closed"
            out += chunk
        return out

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sasl_plain(
    host: str,
    port: int,
    user: str = "admin",
    password: str = "admin-secret",
    client_id: str = "kavka-acl-test",
    tls: ssl.SSLContext | None = None,
) -> Connection:
    """A connection to a SASL_PLAINTEXT listener (SASL_SSL with ``tls``; Kafka's or Kavka's),
    authenticated with PLAIN: its principal is ``User:<user>``."""
    conn = Connection(host, port, client_id=client_id, tls=tls)
    answer = conn.call(SASL_HANDSHAKE, 1, {"mechanism": "PLAIN"})
    assert answer["error_code"] == 0, answer
    token = b"\0" + user.encode() + b"\0" + password.encode()
    answer = conn.call(SASL_AUTHENTICATE, 2, {"auth_bytes": token})
    assert answer["error_code"] == 0, answer
    return conn


def kafka_admin(host: str, port: int, user: str = "admin", password: str = "admin-secret") -> Connection:
    """A connection to Kafka's SASL_PLAINTEXT CONTROLLER listener as the super user ``User:admin``."""
    return sasl_plain(host, port, user, password)


def kavka_admin(host: str, port: int) -> Connection:
    return Connection(host, port, source=ADMIN_SOURCE)
