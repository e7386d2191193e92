"""The client side of SASL for this broker's own connections to other nodes: inter-broker traffic
(``sasl.mechanism.inter.broker.protocol`` on ``inter.broker.listener.name``) and controller traffic
(``sasl.mechanism.controller.protocol`` on the controller listener), when that listener is
``SASL_PLAINTEXT`` / ``SASL_SSL``.

The credentials are the ``username`` / ``password`` options of the listener's JAAS config for that
mechanism (``listener.name.<listener>.<mechanism>.sasl.jaas.config``, else ``sasl.jaas.config``), as
Kafka's brokers take them. :func:`login` runs on a fresh connection before anything else:
SaslHandshake v1, then SaslAuthenticate v1 round trips (PLAIN: one; SCRAM: two, the server's signature
checked). A refusal raises :class:`SaslLoginError` with the broker's message.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from kavka.security.jaas import parse_jaas_config
from kavka.security.mechanism import SaslError
from kavka.security.scram import MECHANISMS as SCRAM_MECHANISMS
from kavka.security.scram import ScramClient

__all__ = ["SaslClientSettings", "SaslLoginError", "client_settings", "login", "authenticator"]

_SIZE = struct.Struct(">i")


class SaslLoginError(Exception):
    """This node could not authenticate to another; the message says why."""


@dataclass(frozen=True)
class SaslClientSettings:
    mechanism: str
    username: str
    password: str


def client_settings(config: Any, listener: str, mechanism_config: str) -> SaslClientSettings | None:
    """The credentials to log in on ``listener`` with the mechanism ``config[mechanism_config]`` names,
    or None when ``listener`` is not a SASL listener. ValueError for a mechanism Kavka's client lacks
    or a JAAS config without ``username`` / ``password``."""
    protocol = config.protocol_map.get(listener.upper(), listener.upper())
    if protocol not in ("SASL_PLAINTEXT", "SASL_SSL"):
        return None
    mechanism = config[mechanism_config]
    if mechanism != "PLAIN" and mechanism not in SCRAM_MECHANISMS:
        raise ValueError(f"{mechanism_config}={mechanism}: Kavka's brokers log in with PLAIN or SCRAM only")
    raw = getattr(config, "listener_props", {})
    key = f"listener.name.{listener.lower()}.{mechanism.lower()}.sasl.jaas.config"
    jaas = raw.get(key) or config.get("sasl.jaas.config")
    options = parse_jaas_config(str(jaas)).options if jaas else {}
    if "username" not in options or "password" not in options:
        raise ValueError(f"{key} needs username and password for this broker's own {mechanism} login")
    return SaslClientSettings(mechanism, options["username"], options["password"])


def _frame(api_key: int, version: int, correlation_id: int, client_id: bytes, body: bytes) -> bytes:
    head = struct.pack(">hhih", api_key, version, correlation_id, len(client_id)) + client_id
    return _SIZE.pack(len(head) + len(body)) + head + body


async def _round_trip(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, frame: bytes, correlation_id: int
) -> bytes:
    writer.write(frame)
    await writer.drain()
    (size,) = _SIZE.unpack(await reader.readexactly(4))
    data = await reader.readexactly(size)
    if _SIZE.unpack_from(data, 0)[0] != correlation_id:
        raise SaslLoginError("SASL answer with an unexpected correlation id")
    return data


async def _authenticate(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, token: bytes, cid: int, client_id: bytes
) -> bytes:
    data = await _round_trip(reader, writer, _frame(36, 1, cid, client_id, _SIZE.pack(len(token)) + token), cid)
    error, n = struct.unpack_from(">hh", data, 4)
    pos = 8 + max(n, 0)
    if error:
        message = data[8:pos].decode(errors="replace") if n >= 0 else ""
        raise SaslLoginError(f"SASL authentication failed (error {error}): {message}")
    (length,) = _SIZE.unpack_from(data, pos)
    return data[pos + 4 : pos + 4 + length]


async def login(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, settings: SaslClientSettings, client_id: str
) -> None:
    cid_bytes = client_id.encode()
    m = settings.mechanism.encode()
    data = await _round_trip(reader, writer, _frame(17, 1, 1, cid_bytes, struct.pack(">h", len(m)) + m), 1)
    (error,) = struct.unpack_from(">h", data, 4)
    if error:
        raise SaslLoginError(f"SASL handshake for {settings.mechanism} refused (error {error})")
    try:
        if settings.mechanism == "PLAIN":
            await _authenticate(
                reader, writer, f"\x00{settings.username}\x00{settings.password}".encode(), 2, cid_bytes
            )
            return
        client = ScramClient(settings.mechanism, settings.username, settings.password)
        server_first = await _authenticate(reader, writer, client.first_message(), 2, cid_bytes)
        server_final = await _authenticate(reader, writer, client.final_message(server_first), 3, cid_bytes)
        client.verify(server_final)
    except SaslError as e:
        raise SaslLoginError(str(e)) from None


def authenticator(
    settings: SaslClientSettings | None, client_id: str
) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]] | None:
    """The hook a PeerClient runs on each new connection (None: no SASL on that listener)."""
    if settings is None:
        return None

    async def run(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await login(reader, writer, settings, client_id)

    return run
