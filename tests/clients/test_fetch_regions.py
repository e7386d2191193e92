"""Streaming a file region to a real socket (kavka.server.regions) while its file changes underneath.

- Deleted during the send: every promised byte still arrives (the region holds its own handle).
- Truncated during the send: the bytes promised by the size prefix no longer exist, so the writer closes
  the connection rather than sending a malformed response (Kafka's ``FileRecords.writeTo`` throws on a
  truncated file and its network layer closes the channel); the region's handle is closed.
- A consumer that does not read holds at most about one chunk in the transport, whatever the region size.
"""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from kavka.server.regions import CHUNK, ResponseWriter
from kavka.storage.file_region import FileRegion
from kavka.storage.fs import OsFileSystem

SIZE = 6 * CHUNK


class _Proto(asyncio.Protocol):
    def __init__(self):
        self.writer: ResponseWriter | None = None
        self.fatal = asyncio.get_event_loop().create_future()

    def connection_made(self, transport):
        self.transport = transport
        self.writer = ResponseWriter(transport, on_fatal=self._fatal)

    def _fatal(self):
        self.transport.close()
        if not self.fatal.done():
            self.fatal.set_result(True)

    def pause_writing(self):
        self.writer.pause_writing()

    def resume_writing(self):
        self.writer.resume_writing()

    def connection_lost(self, exc):
        self.writer.close()


def _data() -> bytes:
    return bytes(range(256)) * (SIZE // 256)


async def _serve(path):
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    b.setblocking(False)
    transport, proto = await loop.connect_accepted_socket(_Proto, sock=a)
    region = FileRegion(OsFileSystem().open(str(path)), 0, SIZE)
    proto.writer.write([b"HEAD", region])
    return transport, proto, region, b


async def _recv_some(loop, b, n) -> bytes:
    return await asyncio.wait_for(loop.sock_recv(b, n), 10)


async def _recv_all(loop, b, out=b"") -> bytes:
    """Receive until the whole response (or EOF); ``out``: what was received already."""
    out = bytearray(out)
    while True:
        chunk = await _recv_some(loop, b, 1 << 20)
        if not chunk:
            return bytes(out)
        out += chunk
        if len(out) == 4 + SIZE:
            return bytes(out)


async def _yield_until(condition, rounds: int = 1000) -> None:
    """Let the event loop run (no timed sleep) until ``condition`` holds; fail after ``rounds`` turns."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


@pytest.mark.parametrize("change", ["delete", "truncate"])
def test_region_send_survives_delete_and_stops_on_truncate(tmp_path, change):
    path = tmp_path / "00000000000000000000.log"
    path.write_bytes(_data())

    async def main():
        loop = asyncio.get_running_loop()
        transport, proto, region, b = await _serve(path)
        try:
            first = await _recv_some(loop, b, 65536)
            assert first[:4] == b"HEAD"
            if change == "delete":
                os.remove(path)
            else:
                os.truncate(path, 2 * CHUNK)
            return await _recv_all(loop, b, first), proto
        finally:
            b.close()
            transport.close()

    got, proto = asyncio.run(main())
    if change == "delete":
        assert got == b"HEAD" + _data()
        assert not proto.fatal.done()
    else:
        assert len(got) < 4 + SIZE  # never padded to look complete
        assert got == (b"HEAD" + _data())[:len(got)]
        assert proto.fatal.done()


def test_unread_region_holds_about_one_chunk(tmp_path):
    path = tmp_path / "00000000000000000000.log"
    path.write_bytes(_data())

    async def main():
        loop = asyncio.get_running_loop()
        transport, proto, region, b = await _serve(path)
        try:
            # The writer runs until the transport pushes back (nothing is read), then waits.
            await _yield_until(lambda: proto.writer.waiting_for_drain)
            buffered = transport.get_write_buffer_size()
            assert buffered <= CHUNK + 65536, buffered
            assert proto.writer.backlog == 1
            rest = await _recv_all(loop, b)
            assert rest == b"HEAD" + _data()
            await _yield_until(lambda: region.closed)
        finally:
            b.close()
            transport.close()

    asyncio.run(main())
