"""One client connection: framing, ordered responses, and bounds on what a client can make it hold.

Wire framing: every request and response is ``int32 size`` followed by ``size`` bytes. The size is
checked against ``socket.request.max.bytes`` before anything is allocated for the frame; a negative or
oversized size closes this connection only (as Kafka's ``NetworkReceive`` does).

Requests may be pipelined. Each one is dispatched as soon as it is complete and the connection may
take it; responses go out strictly in request order, so a slow request (a Fetch long poll) holds back
the responses queued behind it.

What one connection can pin is bounded, whatever the client does:

- *Muting.* No further request is dispatched (and the socket is not read) while this connection has
  response bytes the socket has not taken: the transport's write buffer above its high-water mark, or
  response bytes still queued here. Kafka mutes a channel while its response is being sent; this is the
  same rule, applied at the high-water mark so that pipelined small requests still flow. A client that
  sends requests and never reads the answers therefore stalls after at most one transport buffer of
  responses, and the requests it keeps sending wait in its own socket buffers, not in the broker.
- *In flight.* At most ``max_inflight`` requests are dispatched and unanswered at once (64), and no
  more is dispatched while 256 KiB of complete responses wait behind an earlier, unfinished one (a
  long poll). What is still unbounded here is the size of the responses of requests already in flight:
  a Fetch's answer is as big as its ``max_bytes`` until record bytes are streamed from the log.
- *Request bytes.* A frame's size is taken from the broker-wide :class:`RequestMemoryPool`
  (``queued.max.request.bytes``) as soon as its 4-byte length is read, before its body, and given back
  when its response is complete. This connection also stops taking frames while it holds
  ``max_queued_bytes`` of requests itself (16 MiB; non-strict like Kafka's pool, so one request of up
  to ``socket.request.max.bytes`` always fits). A refused frame waits, unread, until bytes come back.
- *Writes.* A response's buffers are handed to the transport in pieces of at most 256 KiB and only
  while it is below its high-water mark; the rest stays referenced (not copied) here. Big log slices are
  never joined into one copy. Record data above 64 KiB comes as a
  :class:`~kavka.storage.file_region.FileRegion` (file, position, length; kavka.storage.log
  ``read_for_fetch``): it is read from the segment 256 KiB at a time, each piece only when the transport
  has room, so a consumer that asks for 50 MB and never reads costs about one piece, not 50 MB.

A region whose file was deleted during the send still sends every byte (it holds its own handle). One
whose file was truncated under it cannot keep the length already promised in the size prefix, so the
connection is closed, as Kafka's network layer does when ``FileRecords.writeTo`` finds its file shrunk;
the client retries. Regions are closed once sent, or when the connection closes with them unsent.

Over TLS (an SSL or SASL_SSL listener) the transport is asyncio's TLS transport: the same writes are
encrypted on their way out (regions were already read in pieces, never sent with sendfile, so nothing
changes for them), and ``connection_made`` comes after the handshake, when the client certificate
gives the principal (kavka.server.tls).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import struct
import time

from kavka.broker.dispatch import CloseConnection, ConnectionInfo, Dispatcher
from kavka.server.acceptor import RateLimitedLog
from kavka.server.memory_pool import RequestMemoryPool
from kavka.server.tls import ListenerTls, TlsAuthenticationError
from kavka.storage.file_region import FileRegion

log = logging.getLogger(__name__)
# a client retrying TLS against a plaintext port would log a line per attempt: one per 10 s at most
_log_tls_on_plaintext = RateLimitedLog(log, logging.WARNING)

__all__ = ["KafkaConnection", "MAX_INFLIGHT", "MAX_QUEUED_BYTES_PER_CONNECTION"]

_SIZE = struct.Struct(">i")
MAX_INFLIGHT = 64
MAX_QUEUED_BYTES_PER_CONNECTION = 16 * 1024 * 1024
# Most bytes handed to the transport in one write; small neighbouring buffers are joined up to this.
_CHUNK = 256 * 1024


class KafkaConnection(asyncio.Protocol):
    def __init__(
        self,
        dispatcher: Dispatcher,
        max_request_size: int,
        on_close=None,
        pool: RequestMemoryPool | None = None,
        *,
        max_inflight: int = MAX_INFLIGHT,
        max_queued_bytes: int = MAX_QUEUED_BYTES_PER_CONNECTION,
        listener_name: str | None = None,
        tls: ListenerTls | None = None,
    ):
        self._dispatcher = dispatcher
        self._listener_name = listener_name
        self._tls = tls
        self._max_request_size = max_request_size
        self._pool = pool if pool is not None else RequestMemoryPool(None)
        self._max_inflight = max_inflight
        self._max_queued_bytes = max_queued_bytes
        self._buf = bytearray()
        self._pos = 0
        self._transport: asyncio.Transport | None = None
        self._pending: collections.deque = collections.deque()  # [future-or-buffers], in request order
        # Bytes of responses complete but waiting behind an earlier, unfinished one (by id of the entry).
        self._parked: dict[int, int] = {}
        self._parked_bytes = 0
        # Response pieces not yet given to the transport: _out[_out_head:] (a list, not a deque: an empty
        # deque costs 760 bytes, and most connections are idle most of the time).
        self._out: list = []
        self._out_head = 0
        self._region_sent = 0  # bytes of the FileRegion at _out[_out_head] already written
        self._head_alloc = -1  # bytes taken from the pool for the next frame (its length read), else -1
        self._held = 0  # request bytes this connection holds in the pool
        self._waiting_memory = False
        self._paused_reading = False
        self._paused_writing = False
        # While _process dispatches the frames of one read, the answers that are ready at once are
        # gathered in _out and written together when it ends (one send for a pipelined burst).
        self._corked = False
        self._corked_bytes = 0
        self._closed = False
        self._throttle_timer: asyncio.TimerHandle | None = None
        self._on_close = on_close
        self.info: ConnectionInfo | None = None
        # SASL listeners: the authentication state in front of the dispatcher (kavka.server.sasl)
        self.sasl = None
        self.last_active = time.monotonic()  # last byte read or handed to the transport

    # --- asyncio callbacks ------------------------------------------------------------------

    def connection_made(self, transport):
        self._transport = transport
        peer = transport.get_extra_info("peername")
        self.info = ConnectionInfo(peer=peer, listener_name=self._listener_name)
        if self._tls is not None:
            # TLS: the handshake is complete before connection_made, so an SSL listener's principal is
            # known before the first request. On SASL_SSL the SASL exchange then runs inside this TLS
            # session and sets the principal itself.
            try:
                self.info.principal = self._tls.principal(transport.get_extra_info("ssl_object"))
            except TlsAuthenticationError as e:
                log.warning("Failed authentication with %s (SSL principal: %s)", _address(peer), e)
                self._closed = True
                transport.close()

    def connection_lost(self, exc):
        self._closed = True
        for item in self._pending:
            if isinstance(item, asyncio.Future):
                if item.done() and not item.cancelled() and item.exception() is None:
                    _close_regions(item.result())
                item.cancel()  # its done callback gives its request bytes back
            else:
                _close_regions(item)
        self._pending.clear()
        self._parked.clear()
        self._parked_bytes = 0
        _close_regions(self._out[self._out_head :])
        self._out = []
        self._out_head = 0
        self._buf = bytearray()
        self._pool.forget(id(self))
        if self._head_alloc >= 0:
            self._release(self._head_alloc)
            self._head_alloc = -1
        if self._on_close:
            self._on_close(self)

    def pause_writing(self):
        self._paused_writing = True
        self._update_reading()

    def resume_writing(self):
        self._paused_writing = False
        self._flush_out()
        self._process()

    def data_received(self, data: bytes):
        self.last_active = time.monotonic()
        self._buf += data
        self._process()

    # --- requests ---------------------------------------------------------------------------

    def idle_since(self) -> float | None:
        """When this connection last read or wrote, or None while it has requests in flight or
        response bytes not yet written (then it is not idle, however long a long poll takes)."""
        if self._pending or self._out or self._closed:  # _out is emptied whenever it is drained
            return None
        return self.last_active

    @property
    def held_bytes(self) -> int:
        """Request bytes this connection holds (read or being read, response not complete)."""
        return self._held

    def _muted(self) -> bool:
        return (
            self._paused_writing
            or (bool(self._out) and not self._corked)
            or len(self._pending) >= self._max_inflight
            or self._parked_bytes >= _CHUNK
            or self._throttled()
        )

    def _throttled(self) -> bool:
        """A client quota's mute (Kafka's KIP-219): no request is read until ``info.throttled_until``;
        a timer takes reading up again then."""
        info = self.info
        if info is None or not info.throttled_until:
            return False
        left = info.throttled_until - time.monotonic()
        if left <= 0:
            info.throttled_until = 0.0
            return False
        if self._throttle_timer is None and self._transport is not None and not self._closed:
            self._throttle_timer = asyncio.get_running_loop().call_later(left, self._throttle_over)
        return True

    def _throttle_over(self) -> None:
        self._throttle_timer = None
        self._process()

    def _process(self) -> None:
        """Dispatch every complete frame in the buffer that the connection may take now.

        Answers ready at once are written when the loop ends, together (see ``_send``); bytes left
        unwritten from before (the transport is paused) mute the connection as usual.
        """
        if self._closed:
            return
        buf = self._buf
        pos = self._pos
        self._corked = not self._out
        try:
            pos = self._take_frames(buf, pos)
        finally:
            self._corked = False
            self._corked_bytes = 0
        if self._closed:
            return
        self._flush_out()
        if self._closed:
            return
        if pos == len(buf):
            buf.clear()
            pos = 0
        elif pos > 65536 and pos > (len(buf) >> 1):
            del buf[:pos]
            pos = 0
        self._pos = pos
        self._update_reading()

    def _take_frames(self, buf: bytearray, pos: int) -> int:
        """The loop of ``_process``: dispatch frames from ``pos``; returns the position after the last."""
        while not self._closed:
            end = len(buf)
            if end - pos < 4 or self._muted():
                break
            (size,) = _SIZE.unpack_from(buf, pos)
            if self.sasl is not None and not self.sasl.complete:
                if self.sasl.state == "FAILED":
                    break  # it closes once its failure is answered; nothing more is read
                if size > self.sasl.frame_limit(self._max_request_size):
                    self.sasl.oversized(self.info, size)
                    break
            if size < 0 or size > self._max_request_size:
                if buf[pos] == 0x16 and buf[pos + 1] == 0x03:  # a TLS record header: a TLS client here
                    _log_tls_on_plaintext(
                        "closing %s: a TLS handshake on plaintext listener %s (a client with "
                        "security.protocol SSL on the wrong port?)",
                        _address(self.info.peer),
                        self.info.listener_name,
                    )
                    self.close()
                    return pos
                log.warning("closing %s: frame size %d outside [0, %d]", self.info, size, self._max_request_size)
                self.close()
                return pos
            if self._head_alloc < 0:
                if self._held >= self._max_queued_bytes:
                    break  # a response completing gives bytes back and calls _process again
                if not self._pool.try_allocate(size):
                    self._waiting_memory = True
                    self._pool.wait(id(self), self._memory_available)
                    break
                self._head_alloc = size
                self._held += size
            if end - pos - 4 < size:
                break
            frame = buf[pos + 4 : pos + 4 + size]
            pos += 4 + size
            alloc, self._head_alloc = self._head_alloc, -1
            self._dispatch(frame, alloc)
        return pos

    def _memory_available(self) -> None:
        self._waiting_memory = False
        self._process()

    def _release(self, size: int) -> None:
        self._held -= size
        self._pool.release(size)

    def _dispatch(self, frame: bytearray, alloc: int) -> None:
        try:
            if self.sasl is not None:
                result = self.sasl.dispatch(self.info, frame)
            else:
                result = self._dispatcher.dispatch(self.info, frame)
        except CloseConnection as e:
            self._release(alloc)
            log.info("closing %s: %s", self.info, e)
            self.close()
            return
        except Exception:
            self._release(alloc)
            # A bug in a handler: this connection cannot get an answer in order any more, so it is
            # closed (the client retries elsewhere); the broker and other connections go on.
            log.exception("request failed on %s; closing the connection", self.info)
            self.close()
            return
        if result is None:
            self._release(alloc)
            return
        if isinstance(result, list):
            self._release(alloc)
            if not self._pending:
                self._send(result)
            else:
                self._park(result, result)
                self._pending.append(result)
            return
        fut = asyncio.ensure_future(result)
        fut.add_done_callback(lambda f, alloc=alloc: self._request_done(f, alloc))
        self._pending.append(fut)

    def _park(self, entry, buffers) -> None:
        size = sum(len(b) for b in buffers if type(b) is not FileRegion)  # a region pins no memory
        self._parked[id(entry)] = size
        self._parked_bytes += size

    def _unpark(self, entry) -> None:
        self._parked_bytes -= self._parked.pop(id(entry), 0)

    def _request_done(self, fut: asyncio.Future, alloc: int) -> None:
        self._release(alloc)
        if self._closed:
            if not fut.cancelled() and fut.exception() is None:
                _close_regions(fut.result())
            return
        pending = self._pending
        if (
            pending
            and pending[0] is not fut
            and not fut.cancelled()
            and fut.exception() is None
            and isinstance(fut.result(), list)
        ):
            self._park(fut, fut.result())  # held until the responses before it are done
        while pending:
            head = pending[0]
            if isinstance(head, asyncio.Future):
                if not head.done():
                    break
                pending.popleft()
                self._unpark(head)
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
                    self._send(buffers)
            else:
                pending.popleft()
                self._unpark(head)
                self._send(head)
        self._process()

    # --- responses --------------------------------------------------------------------------

    def _send(self, buffers) -> None:
        """Queue one response's buffers (referenced, not copied) and write what the transport takes.

        Inside ``_process`` (corked) a response is only queued, so the answers to a burst of pipelined
        requests (a Java producer keeps five Produce requests in flight) leave in one socket write
        instead of one each; a response carrying a file region, or 256 KiB of queued responses, is
        written at once.
        """
        self._out.extend(buffers)
        if self._corked:
            for b in buffers:
                if type(b) is FileRegion:
                    break
                self._corked_bytes += len(b)
            else:
                if self._corked_bytes < _CHUNK:
                    return
            self._corked_bytes = 0
        self._flush_out()

    def _flush_out(self) -> None:
        """Hand queued response bytes to the transport until it reaches its high-water mark.

        Pieces bigger than 256 KiB are cut into 256 KiB views; smaller neighbours are joined up to that
        size. What the socket does not take at once is copied into the transport's buffer, so at most
        one piece past the high-water mark is ever copied; the rest stays as views of the response.
        """
        out = self._out
        if not out:
            return
        self.last_active = time.monotonic()
        write = self._transport.write
        head = self._out_head
        end = len(out)
        while head < end and not self._paused_writing and not self._closed:
            piece = out[head]
            if type(piece) is FileRegion:
                if not self._stream_region(piece):
                    return
                if self._region_sent >= piece.length:
                    piece.close()
                    self._region_sent = 0
                    head += 1
                continue
            n = len(piece)
            if n >= _CHUNK:
                if n > _CHUNK:
                    view = piece if isinstance(piece, memoryview) else memoryview(piece)
                    out[head] = view[_CHUNK:]
                    write(view[:_CHUNK])
                else:
                    head += 1
                    write(piece)
                continue
            small = [piece]
            head += 1
            total = n
            while head < end and type(out[head]) is not FileRegion and total + len(out[head]) <= _CHUNK:
                b = out[head]
                small.append(b)
                total += len(b)
                head += 1
            write(piece if len(small) == 1 else b"".join(small))
        if self._closed:
            return
        if head >= end:
            self._out = []
            self._out_head = 0
        else:
            self._out_head = head

    def _stream_region(self, region: FileRegion) -> bool:
        """Write the next piece of ``region`` (from ``_region_sent``); False if the connection was closed
        because the region could not be read whole."""
        want = min(_CHUNK, region.length - self._region_sent)
        try:
            chunk = region.read(self._region_sent, want)
        except OSError as e:
            log.error("closing %s: reading %s to send failed: %s", self.info, region.path, e)
            self.close()
            return False
        if len(chunk) < want:
            log.warning(
                "closing %s: %s was truncated under a fetch response (%d bytes promised, %d left)",
                self.info,
                region.path,
                region.length,
                self._region_sent + len(chunk),
            )
            self.close()
            return False
        self._region_sent += want
        self._transport.write(chunk)
        return True

    def _update_reading(self) -> None:
        if self._closed or self._transport is None:
            return
        should_pause = (
            self._muted() or self._waiting_memory or (self._head_alloc < 0 and self._held >= self._max_queued_bytes)
        )
        if should_pause and not self._paused_reading:
            self._transport.pause_reading()
            self._paused_reading = True
        elif not should_pause and self._paused_reading:
            self._paused_reading = False
            self._transport.resume_reading()

    def close(self) -> None:
        if not self._closed:
            if self._corked:
                # answers to the requests before the one that closes go out first (the transport
                # writes its buffer before it closes), as they did before gathering
                self._corked = False
                self._flush_out()
            self._closed = True
            if self._transport is not None:
                self._transport.close()


def _address(peer) -> str:
    return f"/{peer[0]}" if isinstance(peer, tuple) else str(peer)


def _close_regions(buffers) -> None:
    """Close the file regions among a response's buffers (it will not be sent, or no longer)."""
    if buffers:
        for b in buffers:
            if type(b) is FileRegion:
                b.close()
