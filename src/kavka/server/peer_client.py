"""An asyncio Kafka-protocol client to one node, for the traffic between Kavka nodes (KRaft's Vote,
BeginQuorumEpoch, EndQuorumEpoch, Fetch and FetchSnapshot on the CONTROLLER listener; later the
inter-broker APIs).

``await PeerClient(host, port).request(api_key, version, body, timeout)`` sends one request and returns
the decoded response (kio's entity for that API and version). ``body`` is a dict in kio's field names
or a kio entity (``kavka.protocol.api.encode_request_body``).

The frames, as any Kafka client writes and reads them::

    request   int32 size, int16 api_key, int16 api_version, int32 correlation_id,
              int16 client_id length + bytes, [flexible versions: tagged fields (uvarint 0)], body
    response  int32 size, int32 correlation_id, [flexible versions but ApiVersions: tagged fields], body

Contract:

- Pipelined: any number of requests may be in flight on the one connection; each response is matched
  to its request by correlation id (Kafka answers in order, but nothing here depends on it).
- One connection at a time, opened by the first request and again by the first request after it was
  lost (a refused connect raises at once; nothing retries on its own).
- A request that gets no answer within ``timeout`` seconds raises :class:`PeerTimeout`, and the
  connection is closed, as Kafka's NetworkClient disconnects a node on a request timeout: the other
  requests in flight on it raise :class:`PeerDisconnected`. A connection that fails or is closed by
  the peer fails every request in flight with :class:`PeerDisconnected`; a response that does not
  decode fails its own request with :class:`PeerProtocolError` and closes the connection.
- ``close()`` closes the connection and fails what is in flight; the client can be used again.
- With ``ssl`` (a client context, kavka.server.tls.client_context) the connection is TLS; the peer's
  certificate is checked against ``host`` when the context checks host names
  (``ssl.endpoint.identification.algorithm=https``). A failed handshake is PeerDisconnected.

Every exception names the peer and the request (API name, version) in one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl as ssl_module
import struct
from collections.abc import Awaitable, Callable
from typing import Any

from kavka.protocol.api import ApiKey, encode_request_body, is_flexible, response_class
from kavka.protocol.decoder import decode_with, entity_decoder
from kavka.protocol.primitives import skip_tagged_fields

__all__ = ["PeerClient", "PeerError", "PeerTimeout", "PeerDisconnected", "PeerProtocolError"]

log = logging.getLogger(__name__)

_HEADER = struct.Struct(">hhih")
_SIZE = struct.Struct(">i")
MAX_RESPONSE_BYTES = 256 * 1024 * 1024  # a size above this is a broken stream, not a response
_WRITE_HIGH_WATER = 1024 * 1024  # wait for the socket to drain past this many unsent bytes


class PeerError(Exception):
    """A request to a peer failed; the message names the peer and the request."""


class PeerTimeout(PeerError):
    """No answer within the request's timeout (the connection is closed)."""


class PeerDisconnected(PeerError):
    """The connection could not be opened, or was lost or closed with the request in flight."""


class PeerProtocolError(PeerError):
    """The peer's answer could not be read."""


def _api_name(api_key: int) -> str:
    return ApiKey(api_key).name if api_key in ApiKey._value2member_map_ else f"api key {api_key}"


class _Pending:
    __slots__ = ("api_key", "version", "future")

    def __init__(self, api_key: int, version: int, future: asyncio.Future) -> None:
        self.api_key = api_key
        self.version = version
        self.future = future


class PeerClient:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        client_id: str = "kavka-peer",
        connect_timeout: float = 5.0,
        ssl: ssl_module.SSLContext | None = None,
        authenticate: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]] | None = None,
    ) -> None:
        self.ssl = ssl
        self.host = host
        # SASL: run on each new connection before any request (kavka.server.sasl_client)
        self._authenticate = authenticate
        self.port = port
        self.client_id = client_id.encode()
        self.connect_timeout = connect_timeout
        self._correlation = itertools.count(1)
        self._pending: dict[int, _Pending] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task | None = None
        self._connecting: asyncio.Future | None = None

    def __repr__(self) -> str:
        return f"PeerClient({self.host}:{self.port})"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    @property
    def connected(self) -> bool:
        return self._writer is not None

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def request(self, api_key: int, version: int, body: Any, timeout: float) -> Any:
        """Send one request and return the decoded response (see the module's contract)."""
        what = f"{_api_name(api_key)} v{version} to {self.address}"
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        body_bytes = encode_request_body(api_key, version, body)  # a bad body raises here, before any I/O
        if self._writer is not None:
            writer = self._writer
        else:
            try:
                async with asyncio.timeout(min(self.connect_timeout, timeout)):
                    writer = await self._connect()
            except TimeoutError:
                raise PeerTimeout(
                    f"{what}: could not connect within {min(self.connect_timeout, timeout):g} s"
                ) from None
        correlation_id = next(self._correlation)
        future: asyncio.Future = loop.create_future()
        self._pending[correlation_id] = _Pending(api_key, version, future)
        # a timer rather than wait_for: no task per request on the pipelined path
        timer = loop.call_at(deadline, self._expire, correlation_id, f"{what}: no answer within {timeout:g} s")
        try:
            writer.write(self._frame(api_key, version, correlation_id, body_bytes))
            if writer.transport.get_write_buffer_size() > _WRITE_HIGH_WATER:
                await writer.drain()
            return await future
        except OSError as e:
            self._disconnect(f"lost: {e.strerror or e}")
            raise PeerDisconnected(f"{what}: connection lost: {e.strerror or e}") from None
        finally:
            timer.cancel()
            self._pending.pop(correlation_id, None)

    def _expire(self, correlation_id: int, message: str) -> None:
        """A request's deadline: it fails with PeerTimeout and the connection goes (Kafka's NetworkClient)."""
        pending = self._pending.pop(correlation_id, None)
        if pending is None or pending.future.done():
            return
        pending.future.set_exception(PeerTimeout(message))
        self._disconnect(f"{_api_name(pending.api_key)} v{pending.version} (correlation id {correlation_id}) timed out")

    def _frame(self, api_key: int, version: int, correlation_id: int, body: bytes) -> bytes:
        head = _HEADER.pack(api_key, version, correlation_id, len(self.client_id)) + self.client_id
        if is_flexible(api_key, version):
            head += b"\x00"  # request header v2: no tagged fields
        return _SIZE.pack(len(head) + len(body)) + head + body

    async def _connect(self) -> asyncio.StreamWriter:
        if self._writer is not None:
            return self._writer
        if self._connecting is None:
            self._connecting = asyncio.ensure_future(self._open())
            # retrieved here too, so a failed connect that every caller gave up on logs no warning
            self._connecting.add_done_callback(lambda f: f.cancelled() or f.exception())
        try:
            return await asyncio.shield(self._connecting)
        finally:
            if self._connecting is not None and self._connecting.done():
                self._connecting = None

    async def _open(self) -> asyncio.StreamWriter:
        try:
            if self.ssl is None:
                reader, writer = await asyncio.open_connection(self.host, self.port)
            else:
                reader, writer = await asyncio.open_connection(
                    self.host, self.port, ssl=self.ssl, server_hostname=self.host
                )
        except ssl_module.SSLError as e:  # before OSError: it is one
            raise PeerDisconnected(f"cannot connect to {self.address}: SSL handshake failed: {e.reason or e}") from None
        except OSError as e:
            raise PeerDisconnected(f"cannot connect to {self.address}: {e.strerror or e}") from None
        if self._authenticate is not None:
            try:
                await self._authenticate(reader, writer)
            except Exception as e:  # refused, or the connection failed during the login
                writer.close()
                log.warning("cannot authenticate to %s: %s", self.address, e)
                raise PeerDisconnected(f"cannot authenticate to {self.address}: {e}") from None
        self._writer = writer
        self._reader_task = asyncio.ensure_future(self._read_loop(reader, writer))
        return writer

    async def _read_loop(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        reason = "closed by the peer"
        try:
            while True:
                (size,) = _SIZE.unpack(await reader.readexactly(4))
                if size < 4 or size > MAX_RESPONSE_BYTES:
                    reason = f"implausible response size {size}"
                    return
                frame = await reader.readexactly(size)
                if not self._deliver(frame):
                    reason = "a response that does not decode"
                    return
        except asyncio.IncompleteReadError:
            reason = "closed by the peer"
        except OSError as e:
            reason = f"lost: {e.strerror or e}"
        finally:
            if self._writer is writer:
                self._disconnect(reason)

    def _deliver(self, frame: bytes) -> bool:
        """Resolve the request this frame answers; False when the stream cannot be trusted any more."""
        (correlation_id,) = _SIZE.unpack_from(frame, 0)
        pending = self._pending.pop(correlation_id, None)
        if pending is None or pending.future.done():
            return True  # the answer to a request given up on
        what = f"{_api_name(pending.api_key)} v{pending.version} from {self.address}"
        try:
            offset = 4
            if is_flexible(pending.api_key, pending.version) and pending.api_key != ApiKey.API_VERSIONS:
                offset = skip_tagged_fields(memoryview(frame), offset)
            reader = entity_decoder(response_class(pending.api_key, pending.version))
            response, _ = decode_with(reader, frame, offset)
        except Exception as e:  # handed to the caller, whose request it fails
            pending.future.set_exception(PeerProtocolError(f"{what}: cannot decode the response: {e!r}"))
            return False
        pending.future.set_result(response)
        return True

    def _disconnect(self, reason: str) -> None:
        writer, self._writer = self._writer, None
        task, self._reader_task = self._reader_task, None
        if writer is not None:
            # abort, not close: what is still unsent belongs to requests failed below, and a graceful
            # close would wait for a peer that is paused or cut off to read it (close() awaits that)
            writer.transport.abort()
            if reason and self._pending:
                log.info(
                    "connection to %s: %s; failing %d request(s) in flight", self.address, reason, len(self._pending)
                )
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        pending, self._pending = self._pending, {}
        for p in pending.values():
            if not p.future.done():
                p.future.set_exception(
                    PeerDisconnected(f"{_api_name(p.api_key)} v{p.version} to {self.address}: connection {reason}")
                )

    async def close(self) -> None:
        """Close the connection; requests in flight raise PeerDisconnected."""
        writer = self._writer
        task = self._reader_task
        self._disconnect("closed by this client")
        if task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if writer is not None:
            with contextlib.suppress(OSError):
                await writer.wait_closed()
