"""Raw SASL exchanges on a socket, for the negative cases clients cannot be made to send: SaslHandshake
v0-1 and SaslAuthenticate v0-2 (v1 unless asked; v2 is flexible), framed by hand, and their answers parsed."""

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


def authenticate(s: socket.socket, token: bytes, correlation_id: int = 2, version: int = 1) -> AuthAnswer:
    """SaslAuthenticate ``version`` with ``token``: v0 has no session lifetime (answered as 0), v2 is
    flexible (compact lengths, tagged fields, response header v1)."""
    if version >= 2:
        s.sendall(frame(36, version, correlation_id, _uvarint(len(token) + 1) + token + b"\x00", flexible=True))
    else:
        s.sendall(frame(36, version, correlation_id, struct.pack(">i", len(token)) + token))
    data = read_frame(s)
    assert struct.unpack_from(">i", data)[0] == correlation_id
    pos = 4
    if version >= 2:
        assert data[pos] == 0  # no tagged fields in the response header
        pos += 1
    (error,) = struct.unpack_from(">h", data, pos)
    pos += 2
    if version >= 2:
        n, pos = _read_uvarint(data, pos)
        n -= 1
    else:
        (n,) = struct.unpack_from(">h", data, pos)
        pos += 2
    message = None
    if n >= 0:
        message = data[pos : pos + n].decode()
        pos += n
    if version >= 2:
        length, pos = _read_uvarint(data, pos)
        length -= 1
    else:
        (length,) = struct.unpack_from(">i", data, pos)
        pos += 4
    auth = data[pos : pos + length]
    pos += length
    lifetime = struct.unpack_from(">q", data, pos)[0] if version >= 1 else 0
    if version >= 2:
        assert data[pos + 8 :] == b"\x00"  # no tagged fields, nothing after them
    return AuthAnswer(error, message, auth, lifetime)


def _uvarint(n: int) -> bytes:
    out = bytearray()
    while n >= 0x80:
        out.append(n & 0x7F | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


def _read_uvarint(data: bytes, pos: int) -> tuple[int, int]:
    n, shift = 0, 0
    while True:
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos
        shift += 7


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
