"""Raw SASL exchanges on a socket, for the negative cases clients cannot be made to send: SaslHandshake
v1 and SaslAuthenticate v1 (non-flexible), framed by hand, and their answers parsed."""

from __future__ import annotations

import base64
import socket
import struct
from dataclasses import dataclass

from kavka.security.scram import client_proof
from tests.server.rawwire import connect, expect_closed, frame, read_frame, recv_exactly

__all__ = ["connect", "expect_closed", "frame", "read_frame", "recv_exactly"]  # the raw primitives, for the SASL tests


def handshake(s: socket.socket, mechanism: str, correlation_id: int = 1, version: int = 1) -> tuple[int, list[str]]:
    m = mechanism.encode()
    s.sendall(frame(17, version, correlation_id, struct.pack(">h", len(m)) + m))
    data = read_frame(s)
    assert struct.unpack_from(">i", data)[0] == correlation_id
    error, count = struct.unpack_from(">hi", data, 4)
    pos, mechanisms = 10, []
    for _ in range(count):
        (n,) = struct.unpack_from(">h", data, pos)
        mechanisms.append(data[pos + 2 : pos + 2 + n].decode())
        pos += 2 + n
    return error, mechanisms


@dataclass
class AuthAnswer:
    error_code: int
    error_message: str | None
    auth_bytes: bytes
    session_lifetime_ms: int


def authenticate(s: socket.socket, token: bytes, correlation_id: int = 2) -> AuthAnswer:
    s.sendall(frame(36, 1, correlation_id, struct.pack(">i", len(token)) + token))
    data = read_frame(s)
    assert struct.unpack_from(">i", data)[0] == correlation_id
    (error,) = struct.unpack_from(">h", data, 4)
    (n,) = struct.unpack_from(">h", data, 6)
    pos = 8
    message = None
    if n >= 0:
        message = data[pos : pos + n].decode()
        pos += n
    (length,) = struct.unpack_from(">i", data, pos)
    auth = data[pos + 4 : pos + 4 + length]
    (lifetime,) = struct.unpack_from(">q", data, pos + 4 + length)
    return AuthAnswer(error, message, auth, lifetime)


def plain_token(user: str, password: str) -> bytes:
    return f"\x00{user}\x00{password}".encode()


def scram_first(user: str, nonce: str = "clientnonce") -> bytes:
    return f"n,,n={user},r={nonce}".encode()


def scram_final(
    mechanism: str, password: str, client_first: bytes, server_first: bytes, nonce: str | None = None
) -> bytes:
    """The client-final message for ``password`` (``nonce``: send this one instead of the server's)."""
    fields = dict(part.split("=", 1) for part in server_first.decode().split(","))
    salt, iterations = base64.b64decode(fields["s"]), int(fields["i"])
    without_proof = f"c=biws,r={nonce if nonce is not None else fields['r']}"
    auth_message = f"{client_first.decode()[3:]},{server_first.decode()},{without_proof}".encode()
    proof = client_proof(mechanism, password, salt, iterations, auth_message)
    return f"{without_proof},p={base64.b64encode(proof).decode()}".encode()
