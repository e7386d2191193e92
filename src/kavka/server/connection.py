"""One client connection: framing, ordered responses, backpressure.

Wire framing: every request and response is ``int32 size`` followed by ``size`` bytes. The size is
checked against ``socket.request.max.bytes`` before anything is allocated for the frame; a negative or
oversized size closes this connection only (as Kafka's ``NetworkReceive`` does).

Requests may be pipelined. Each one is dispatched as soon as it is complete; responses go out strictly
in request order, so a slow request (a Fetch long poll) holds back the responses queued behind it, as
Kafka's one-in-flight-per-connection processing does. Reading pauses while too many responses are
outstanding, the transport's write buffer is full, or a response waits behind one whose record data
is being streamed from a segment file (kavka.server.regions).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import struct

from kavka.broker.dispatch import CloseConnection, Dispatcher, ConnectionInfo
from kavka.server.regions import ResponseWriter

log = logging.getLogger(__name__)

_SIZE = struct.Struct(">i")
_MAX_PENDING = 64


class KafkaConnection(asyncio.Protocol):
    def __init__(self, dispatcher: Dispatcher, max_request_size: int, on_close=None):
        self._dispatcher = dispatcher
        self._max_request_size = max_request_size
        self._buf = bytearray()
        self._pos = 0
        self._transport: asyncio.Transport | None = None
        self._pending: collections.deque = collections.deque()  # [future-or-buffers], in request order
        self._paused_reading = False
        self._paused_writing = False
        self._closed = False
        self._on_close = on_close
        self._writer: ResponseWriter | None = None  # response output; streams file regions (server/regions.py)
        self.info: ConnectionInfo | None = None

    # --- asyncio callbacks ------------------------------------------------------------------

    def connection_made(self, transport):
        self._transport = transport
        self._writer = ResponseWriter(transport, on_drained=self._update_reading, on_fatal=self.close)
        peer = transport.get_extra_info("peername")
        self.info = ConnectionInfo(peer=peer)

    def connection_lost(self, exc):
        self._closed = True
        for item in self._pending:
            if isinstance(item, asyncio.Future):
                item.cancel()
        self._pending.clear()
        if self._writer is not None:
            self._writer.close()
        if self._on_close:
            self._on_close(self)

    def pause_writing(self):
        self._paused_writing = True
        self._writer.pause_writing()
        self._update_reading()

    def resume_writing(self):
        self._paused_writing = False
        self._writer.resume_writing()
        self._update_reading()

    def data_received(self, data: bytes):
        buf = self._buf
        buf += data
        pos = self._pos
        end = len(buf)
        while end - pos >= 4:
            (size,) = _SIZE.unpack_from(buf, pos)
            if size < 0 or size > self._max_request_size:
                log.warning("closing %s: frame size %d outside [0, %d]", self.info, size, self._max_request_size)
                self.close()
                return
            if end - pos - 4 < size:
                break
            frame = buf[pos + 4 : pos + 4 + size]
            pos += 4 + size
            self._dispatch(frame)
            if self._closed:
                return
        if pos == end:
            buf.clear()
            self._pos = 0
        elif pos > 65536 and pos > (end >> 1):
            del buf[:pos]
            self._pos = 0
        else:
            self._pos = pos

    # --- requests and responses -------------------------------------------------------------

    def _dispatch(self, frame: bytearray):
        try:
            result = self._dispatcher.dispatch(self.info, frame)
        except CloseConnection as e:
            log.info("closing %s: %s", self.info, e)
            self.close()
            return
        except Exception:
            # A bug in a handler: this connection cannot get an answer in order any more, so it is
            # closed (the client retries elsewhere); the broker and other connections go on.
            log.exception("request failed on %s; closing the connection", self.info)
            self.close()
            return
        if result is None:
            return
        if isinstance(result, list):
            if not self._pending:
                self._write(result)
                return
            self._pending.append(result)
        else:
            fut = asyncio.ensure_future(result)
            fut.add_done_callback(self._on_done)
            self._pending.append(fut)
            self._update_reading()

    def _on_done(self, fut: asyncio.Future):
        if self._closed:
            return
        pending = self._pending
        while pending:
            head = pending[0]
            if isinstance(head, asyncio.Future):
                if not head.done():
                    break
                pending.popleft()
                if head.cancelled():
                    self.close()
                    return
                exc = head.exception()
                if exc is not None:
                    if not isinstance(exc, CloseConnection):
                        log.error("request failed on %s", self.info, exc_info=exc)
                    self.close()
                    return
                buffers = head.result()
                if buffers is not None:
                    self._write(buffers)
            else:
                pending.popleft()
                self._write(head)
        self._update_reading()

    def _write(self, buffers):
        """Hand one response to the writer: plain buffers go to the transport at once, file regions are
        streamed as it drains (kavka.server.regions)."""
        self._writer.write(buffers)

    def _update_reading(self):
        if self._closed or self._transport is None:
            return
        should_pause = self._paused_writing or len(self._pending) >= _MAX_PENDING or self._writer.backlog > 1
        if should_pause and not self._paused_reading:
            self._transport.pause_reading()
            self._paused_reading = True
        elif not should_pause and self._paused_reading:
            self._paused_reading = False
            self._transport.resume_reading()

    def close(self):
        if not self._closed:
            self._closed = True
            if self._transport is not None:
                self._transport.close()
