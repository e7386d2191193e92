"""From one request frame to the response buffers: header, handler lookup, decode, encode.

The server hands each complete frame (without its size prefix) to :meth:`Dispatcher.dispatch` and gets
back either the response buffers (size prefix included), ``None`` for no response, or an awaitable of
either. :class:`CloseConnection` means "close this connection and nothing else", which is what Kafka
does for bytes it cannot parse, an unknown API key, or an unsupported version of any API but
ApiVersions.
"""

from __future__ import annotations

import inspect
import logging
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from kavka.broker.registry import REGISTRY, lookup
from kavka.protocol.api import (
    ApiKey,
    ErrorCode,
    ProtocolDecodeError,
    RequestHeader,
    decode_request,
    encode_response,
    is_flexible,
    parse_request_header,
    response_header,
)

log = logging.getLogger(__name__)

_SIZE = struct.Struct(">i")


class CloseConnection(Exception):
    """Close the connection the request came on; other connections are unaffected."""


@dataclass(slots=True)
class ConnectionInfo:
    peer: Any
    client_software: str | None = None


@dataclass(slots=True)
class RequestContext:
    header: RequestHeader
    conn: ConnectionInfo
    broker: Any
    received_ns: int = field(default_factory=time.monotonic_ns)

    @property
    def version(self) -> int:
        return self.header.api_version


def api_versions_entries() -> list[dict]:
    return [
        {"api_key": h.api_key, "min_version": h.advertised_min, "max_version": h.max_version}
        for h in sorted(REGISTRY.values(), key=lambda h: h.api_key)
    ]


class Dispatcher:
    def __init__(self, broker):
        self.broker = broker
        self.request_counts: dict[int, int] = {}

    def dispatch(self, conn: ConnectionInfo, frame: bytearray):
        try:
            header, body_offset = parse_request_header(frame)
        except ProtocolDecodeError as e:
            raise CloseConnection(f"bad request header: {e}") from None
        handler = lookup(header.api_key, header.api_version)
        if handler is None:
            if header.api_key == ApiKey.API_VERSIONS:
                # KIP-511: answer an unknown ApiVersions version in v0 form so the client can retry.
                body = encode_response(ApiKey.API_VERSIONS, 0, header.correlation_id, {
                    "error_code": ErrorCode.unsupported_version,
                    "api_keys": api_versions_entries(),
                })
                return [_SIZE.pack(len(body)), body]
            raise CloseConnection(
                f"unsupported request: api key {header.api_key} version {header.api_version}"
            )
        self.request_counts[header.api_key] = self.request_counts.get(header.api_key, 0) + 1
        if handler.raw:
            request = memoryview(frame)[body_offset:]
        else:
            try:
                # kio reads only immutable buffers; these requests are small, so the copy is cheap.
                request = decode_request(header.api_key, header.api_version, bytes(frame), body_offset)
            except ProtocolDecodeError as e:
                raise CloseConnection(str(e)) from None
        ctx = RequestContext(header, conn, self.broker)
        result = handler.func(ctx, request)
        if inspect.isawaitable(result):
            return self._finish(ctx, result)
        return self._encode(ctx, result)

    async def _finish(self, ctx: RequestContext, awaitable):
        return self._encode(ctx, await awaitable)

    @staticmethod
    def _encode(ctx: RequestContext, result):
        if result is None:
            return None
        h = ctx.header
        if isinstance(result, list):
            head = response_header(h.correlation_id, is_flexible(h.api_key, h.api_version))
            size = len(head) + sum(len(b) for b in result)
            return [_SIZE.pack(size) + head, *result]
        body = encode_response(h.api_key, h.api_version, h.correlation_id, result)
        return [_SIZE.pack(len(body)) + body]
