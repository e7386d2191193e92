"""A Fetch v4 request at the wire, for consumers no client library can play: one that asks for a big
``max_bytes`` and then does not read its socket. Shared by the slow-consumer test and bench scripts."""

from __future__ import annotations

import socket
import struct

from kavka.protocol.batch import iter_headers

_CORRELATION = 7


def fetch_request(topic: str, partition: int, offset: int, max_bytes: int, *, max_wait_ms: int = 0) -> bytes:
    """A framed Fetch v4 request (header v1) for one partition."""
    client = b"slow-consumer"
    t = topic.encode()
    body = struct.pack(">hhih", 1, 4, _CORRELATION, len(client)) + client
    body += struct.pack(">iiiib", -1, max_wait_ms, 1, max_bytes, 0)
    body += struct.pack(">ih", 1, len(t)) + t
    body += struct.pack(">iiqi", 1, partition, offset, max_bytes)
    return struct.pack(">i", len(body)) + body


def slow_socket(bootstrap: str, rcvbuf: int = 4096) -> socket.socket:
    """A connected socket with a small receive buffer (set before connecting, so the window is small)."""
    host, port = bootstrap.rsplit(":", 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(30)
    s.connect((host, int(port)))
    return s


def recv_exactly(s: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = s.recv(min(n - len(buf), 1 << 20))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def read_fetch_response(s: socket.socket) -> tuple[int, int, bytes]:
    """Read one Fetch v4 response for one partition: ``(error code, high watermark, record bytes)``."""
    (size,) = struct.unpack(">i", recv_exactly(s, 4))
    data = recv_exactly(s, size)
    pos = 0
    (corr, _throttle, ntopics) = struct.unpack_from(">iii", data, pos)
    assert corr == _CORRELATION and ntopics == 1, (corr, ntopics)
    pos += 12
    (tlen,) = struct.unpack_from(">h", data, pos)
    pos += 2 + tlen
    (nparts, _p, error, hw, _lso, naborted) = struct.unpack_from(">iihqqi", data, pos)
    assert nparts == 1
    pos += 4 + 4 + 2 + 8 + 8 + 4 + max(naborted, 0) * 16
    (rsize,) = struct.unpack_from(">i", data, pos)
    pos += 4
    records = data[pos : pos + max(rsize, 0)]
    assert pos + max(rsize, 0) == len(data), (pos, rsize, len(data))
    return error, hw, records


def batch_offsets(records: bytes) -> list[tuple[int, int]]:
    """``[(base offset, last offset)]`` of the whole batches in ``records``."""
    return [(h.base_offset, h.base_offset + h.last_offset_delta) for _pos, h in iter_headers(records)]
