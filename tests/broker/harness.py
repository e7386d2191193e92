"""Broker handlers driven in process: a request in, a response out, no socket.

The level between the codec tests (bytes, no broker) and the client tests (a broker subprocess and
real clients): a real :class:`~kavka.broker.broker.Broker` on a temporary directory (real files, the
real metadata quorum, coordinators and logs), with its own asyncio event loop and an optional fake
clock, and requests that go through the same path a connection's frames take --
:meth:`Dispatcher.dispatch` parses the header, finds the handler, decodes the body (kio, or the
hand-written Produce decoder) and encodes the response -- so the bytes are real.

    h = BrokerHarness(tmp_path)
    r = h.call(ApiKey.METADATA, 12, {"topics": None, "allow_auto_topic_creation": False, ...})
    r.brokers[0].port            # the response as kio decodes it, as a client would read it
    h.close()

Request bodies are dicts in kio's field names (missing fields take their defaults, see
``kavka.protocol.api.build_entity``). Responses that the handler answers later (a Fetch long poll,
a JoinGroup) are awaited on the harness's loop, with a deadline. The broker advertises the
``listeners`` address it is configured with (127.0.0.1:9092 by default) but binds nothing.
"""

from __future__ import annotations

import asyncio
import io
import struct
from pathlib import Path
from typing import Any

from kio.index import load_request_schema, load_response_schema
from kio.schema.request_header.v1.header import RequestHeader as RequestHeaderV1
from kio.schema.request_header.v2.header import RequestHeader as RequestHeaderV2
from kio.serial import entity_reader, entity_writer
from kio.static.primitive import i16, i32

from kavka.broker.broker import Broker
from kavka.broker.dispatch import ConnectionInfo, Dispatcher
from kavka.metadata.config import BrokerConfig
from kavka.protocol.api import ApiKey, build_entity

_SIZE = struct.Struct(">i")
HOST, PORT = "127.0.0.1", 9092


class FakeClock:
    """Milliseconds that move only when a test says so (``advance``); pass as ``clock_ms``."""

    def __init__(self, now_ms: int = 1_700_000_000_000):
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms

    def advance(self, ms: int) -> None:
        self.now_ms += ms


def request_frame(
    api_key: int, version: int, body: dict, correlation_id: int = 1, client_id: str = "kavka-harness"
) -> bytes:
    """The request as a client sends it, without the size prefix: header v1 (v2 when flexible) + body."""
    req_cls = load_request_schema(api_key, version)
    header_cls = RequestHeaderV2 if req_cls.__flexible__ else RequestHeaderV1
    buf = io.BytesIO()
    entity_writer(header_cls)(
        buf,
        header_cls(
            request_api_key=i16(api_key),
            request_api_version=i16(version),
            correlation_id=i32(correlation_id),
            client_id=client_id,
        ),
    )
    entity_writer(req_cls)(buf, build_entity(req_cls, body))
    return buf.getvalue()


def decode_response(api_key: int, version: int, payload: bytes, correlation_id: int | None = None) -> Any:
    """A response (without its size prefix) as kio reads it; checks the header, as a client does.

    ApiVersions always answers with header v0 (no tagged fields), every other flexible version with v1.
    """
    (cid,) = _SIZE.unpack_from(payload, 0)
    if correlation_id is not None:
        assert cid == correlation_id, f"correlation id {cid}, expected {correlation_id}"
    resp_cls = load_response_schema(api_key, version)
    offset = 4
    if resp_cls.__flexible__ and api_key != ApiKey.API_VERSIONS:
        assert payload[4] == 0, "response header v1 with tagged fields"
        offset = 5
    response, size = entity_reader(resp_cls)(payload, offset)
    assert offset + size == len(payload), f"{len(payload) - offset - size} bytes after the response body"
    return response


class BrokerHarness:
    """A started Broker on ``data_dir`` with a dispatcher and its own event loop. ``close()`` stops it."""

    def __init__(
        self, data_dir: str | Path, overrides: dict[str, str] | None = None, *, clock_ms=None, timeout_s: float = 10.0
    ):
        props = dict(BrokerConfig.serve_defaults())
        props["listeners"] = f"PLAINTEXT://{HOST}:{PORT}"
        props["log.dirs"] = str(data_dir)
        props.update(overrides or {})
        self.config = BrokerConfig.from_properties(props)
        self.timeout_s = timeout_s
        self.loop = asyncio.new_event_loop()
        self.broker = Broker(self.config, clock_ms=clock_ms)
        self.dispatcher = Dispatcher(self.broker)
        self.conn = ConnectionInfo(peer=(HOST, 50000))
        self._correlation = 0
        self.run(self._start())

    async def _shutdown(self) -> None:
        self.broker.shutdown()

    async def _start(self) -> None:
        # inside the loop: the coordinators' services schedule their timers on the running loop
        self.broker.startup()
        self.broker.set_bound_listeners([("PLAINTEXT", HOST, PORT)])

    def run(self, awaitable):
        """Run a coroutine (or await a future) on the broker's loop, with the harness's deadline."""
        return self.loop.run_until_complete(asyncio.wait_for(awaitable, self.timeout_s))

    def call_frame(self, frame: bytes) -> bytes | None:
        """Dispatch one request frame (no size prefix); return the response without its size prefix,
        or None for no response (acks=0). Raises CloseConnection when the broker would close."""
        result = self.run(self._dispatch(bytearray(frame)))
        if result is None:
            return None
        data = b"".join(bytes(b) for b in result)
        (size,) = _SIZE.unpack_from(data, 0)
        assert size == len(data) - 4, f"size prefix {size}, {len(data) - 4} bytes follow"
        return data[4:]

    async def _dispatch(self, frame: bytearray):
        # on the loop, as a connection's data_received is: handlers may create futures and tasks
        result = self.dispatcher.dispatch(self.conn, frame)
        if result is not None and not isinstance(result, list):
            result = await result
        return result

    def call(self, api_key: int, version: int, body: dict) -> Any:
        """Send ``body`` as request ``api_key`` v``version``; return the decoded response entity."""
        self._correlation += 1
        payload = self.call_frame(request_frame(api_key, version, body, self._correlation))
        assert payload is not None, "no response"
        return decode_response(api_key, version, payload, self._correlation)

    async def acall(self, api_key: int, version: int, body: dict) -> Any:
        """:meth:`call` from a coroutine already running on the harness's loop."""
        self._correlation += 1
        result = await self._dispatch(bytearray(request_frame(api_key, version, body, self._correlation)))
        data = b"".join(bytes(b) for b in result)
        return decode_response(api_key, version, data[4:], self._correlation)

    def tick(self) -> None:
        """One housekeeping tick (what the server runs every second): flushes, retention, timers."""
        self.run(self._tick())

    async def _tick(self) -> None:
        self.broker.tick()

    def close(self) -> None:
        try:
            self.run(self._shutdown())
            pending = [t for t in asyncio.all_tasks(self.loop) if not t.done()]
            for t in pending:
                t.cancel()
            if pending:
                self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        finally:
            self.loop.close()
