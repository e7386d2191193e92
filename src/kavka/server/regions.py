"""Writing responses whose record data is a file region, without holding it in memory.

A Fetch response is a list of buffers: structure bytes, record bytes for small reads, and
:class:`~kavka.storage.file_region.FileRegion` objects (file, position, length) for larger ones
(kavka.storage.log ``read_for_fetch``). :class:`ResponseWriter` sends the responses of one connection in
order: buffers go to ``transport.write`` as before; a region is read in chunks of ``CHUNK`` bytes, each
written only once the transport has drained below its low-water mark (asyncio's ``pause_writing`` /
``resume_writing``). So a consumer that never reads costs the transport's buffer plus one chunk, not
its ``max_bytes``: 50 such consumers asking for 50 MB each no longer hold 2.4 GB.

While a response streams, later responses queue behind it (order is the protocol's), and ``backlog``
tells the connection to stop reading requests meanwhile.

Regions are closed once sent, or when the connection closes with them unsent. A region whose file was
deleted during the send still sends every byte (its handle keeps the file); one whose file was truncated
under it cannot keep the length already promised in the size prefix, so the connection is closed, as
Kafka's network layer does when ``FileRecords.writeTo`` finds its file shrunk; the client retries.
"""

from __future__ import annotations

import asyncio
import collections
import logging

from kavka.storage.file_region import FileRegion

__all__ = ["ResponseWriter", "CHUNK"]

log = logging.getLogger(__name__)

#: Bytes read from a region per write.
CHUNK = 1 << 20
# Buffers at least this big go to the transport on their own; smaller neighbours are joined first.
_BIG = 64 * 1024


def _has_region(buffers) -> bool:
    for b in buffers:
        if type(b) is FileRegion:
            return True
    return False


def _close_regions(buffers) -> None:
    for b in buffers:
        if type(b) is FileRegion:
            b.close()


class ResponseWriter:
    """Ordered response output of one connection (see the module docstring).

    ``on_drained`` is called when a stream finishes and the queue is empty (the connection resumes
    reading); ``on_fatal`` when the connection must close (a region's file was truncated, or reading it
    failed)."""

    def __init__(self, transport: asyncio.Transport, *, on_drained=None, on_fatal=None) -> None:
        self._transport = transport
        self._queue: collections.deque = collections.deque()
        self._task: asyncio.Task | None = None
        self._resume: asyncio.Future | None = None
        self._paused = False
        self._closed = False
        self._on_drained = on_drained
        self._on_fatal = on_fatal

    @property
    def backlog(self) -> int:
        """Responses not yet wholly handed to the transport (a streaming one included)."""
        return len(self._queue)

    @property
    def waiting_for_drain(self) -> bool:
        """True while a stream waits for the transport to drain (the peer is not reading)."""
        return self._resume is not None and not self._resume.done()

    def write(self, buffers) -> None:
        if self._closed:
            _close_regions(buffers)
            return
        if self._task is not None:
            self._queue.append(buffers)
            return
        if not _has_region(buffers):
            self._write_plain(buffers)
            return
        self._queue.append(buffers)
        self._task = asyncio.get_running_loop().create_task(self._stream())

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        fut = self._resume
        if fut is not None and not fut.done():
            fut.set_result(None)

    def close(self) -> None:
        """The connection is gone: stop streaming and close every unsent region."""
        if self._closed:
            return
        self._closed = True
        if self._task is not None:
            self._task.cancel()  # its finally closes the regions it holds
        while self._queue:
            _close_regions(self._queue.popleft())

    # -- internals ------------------------------------------------------------------------------

    def _write_plain(self, buffers) -> None:
        """``transport.writelines`` (Python < 3.12) joins every buffer into one new bytes object: a whole
        copy of the record bytes. Small pieces (headers, structure) are joined; big ones written alone."""
        write = self._transport.write
        if len(buffers) == 1:
            write(buffers[0])
            return
        small = []
        for b in buffers:
            if len(b) >= _BIG:
                if small:
                    write(b"".join(small))
                    small = []
                write(b)
            else:
                small.append(b)
        if small:
            write(b"".join(small))

    async def _drain(self) -> None:
        while self._paused and not self._closed:
            self._resume = asyncio.get_running_loop().create_future()
            await self._resume
            self._resume = None

    async def _stream(self) -> None:
        try:
            while self._queue and not self._closed:
                buffers = self._queue[0]
                try:
                    if _has_region(buffers):
                        await self._stream_one(buffers)
                    else:
                        self._write_plain(buffers)
                finally:
                    _close_regions(buffers)
                if self._queue and self._queue[0] is buffers:
                    self._queue.popleft()
        except asyncio.CancelledError:
            pass
        except _Truncated as e:
            log.warning("closing the connection: %s", e)
            self._fatal()
        except OSError as e:
            log.error("closing the connection: reading a log segment to send failed: %s", e)
            self._fatal()
        finally:
            self._task = None
        if not self._closed and self._on_drained is not None:
            self._on_drained()

    def _fatal(self) -> None:
        self.close()
        if self._on_fatal is not None:
            self._on_fatal()

    async def _stream_one(self, buffers) -> None:
        write = self._transport.write
        small = []
        for b in buffers:
            if type(b) is not FileRegion:
                small.append(b)
                continue
            if small:
                write(b"".join(small))
                small = []
            offset = 0
            while offset < b.length:
                await self._drain()
                if self._closed:
                    return
                want = min(CHUNK, b.length - offset)
                chunk = b.read(offset, want)
                if len(chunk) < want:
                    raise _Truncated(f"{b.path} was truncated under a fetch response: {b.position + offset + len(chunk)} "
                                     f"bytes left where {b.position + b.length} were promised")
                write(chunk)
                offset += want
        if small:
            write(b"".join(small))


class _Truncated(Exception):
    pass
