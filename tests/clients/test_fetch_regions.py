"""Streaming a file region to a real socket (kavka.server.connection) while its file changes underneath.

- Deleted during the send: every promised byte still arrives (the region holds its own handle).
- Truncated during the send: the bytes promised by the size prefix no longer exist, so the connection
  is closed rather than sending a malformed response (Kafka's ``FileRecords.writeTo`` throws on a
  truncated file and its network layer closes the channel); the region's handle is closed.
- A consumer that does not read holds at most about one piece in the transport, whatever the region size.

The connection is the real ``KafkaConnection`` over a real socket pair; its dispatcher answers every
request with one response made of a small header and a region over a real segment file.
"""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from kavka.server.connection import KafkaConnection
from kavka.storage.file_region import FileRegion
from kavka.storage.fs import OsFileSystem

PIECE = 256 * 1024  # what the connection reads from a region per write
SIZE = 24 * PIECE
# One request frame: its content does not matter to the dispatcher below.
REQUEST = (4).to_bytes(4, "big") + b"ping"


class _RegionDispatcher:
    """Answers any frame with ``[b"HEAD", region]``, as the Fetch handler answers with regions."""

    def __init__(self, path):
        self.path = path
        self.regions: list[FileRegion] = []

    def dispatch(self, info, frame):
        region = FileRegion(OsFileSystem().open(str(self.path)), 0, SIZE)
        self.regions.append(region)
        return [b"HEAD", region]


def _data() -> bytes:
    return bytes(range(256)) * (SIZE // 256)


async def _serve(path):
    loop = asyncio.get_running_loop()
    a, b = socket.socketpair()
    b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    b.setblocking(False)
    dispatcher = _RegionDispatcher(path)
    transport, conn = await loop.connect_accepted_socket(lambda: KafkaConnection(dispatcher, 1 << 20), sock=a)
    await loop.sock_sendall(b, REQUEST)
    await _yield_until(lambda: dispatcher.regions)
    return transport, conn, dispatcher.regions[0], b


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
        transport, conn, region, b = await _serve(path)
        try:
            first = await _recv_some(loop, b, 65536)
            assert first[:4] == b"HEAD"
            if change == "delete":
                os.remove(path)
            else:
                os.truncate(path, 2 * PIECE)
            got = await _recv_all(loop, b, first)
            return got, transport.is_closing(), region.closed
        finally:
            b.close()
            transport.close()

    got, closing, region_closed = asyncio.run(main())
    if change == "delete":
        assert got == b"HEAD" + _data()
        assert not closing
    else:
        assert len(got) < 4 + SIZE  # never padded to look complete
        assert got == (b"HEAD" + _data())[: len(got)]
        assert closing
        assert region_closed


def test_unread_region_holds_about_one_chunk(tmp_path):
    path = tmp_path / "00000000000000000000.log"
    path.write_bytes(_data())

    async def main():
        loop = asyncio.get_running_loop()
        transport, conn, region, b = await _serve(path)
        try:
            # The connection writes until the transport pushes back (nothing is read), then waits.
            await _yield_until(lambda: transport.get_write_buffer_size() > 0)
            buffered = transport.get_write_buffer_size()
            assert buffered <= PIECE + 65536, buffered
            assert not region.closed  # the rest of the region is still to be sent, from the file
            rest = await _recv_all(loop, b)
            assert rest == b"HEAD" + _data()
            await _yield_until(lambda: region.closed)
        finally:
            b.close()
            transport.close()

    asyncio.run(main())
