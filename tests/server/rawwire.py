"""Hand-built Kafka requests on plain sockets, for tests that must misbehave as a client (pipeline
without reading, hold connections open, send a crafted batch or a malformed frame, a SASL exchange
no client would send) where no real client would. The one home of the raw-socket primitives: framing,
reading exactly a frame, and seeing the broker close a connection.

Request header v1: ``int16 api_key, int16 api_version, int32 correlation_id, nullable string
client_id``; header v2 (flexible versions) adds an empty tagged-field section.
Bodies (non-flexible versions only):

- ApiVersions v0: empty.
- Fetch v4: ``int32 replica_id, int32 max_wait_ms, int32 min_bytes, int32 max_bytes, int8 isolation,
  [string topic, [int32 partition, int64 fetch_offset, int32 partition_max_bytes]]``.
- Produce v3: ``nullable string transactional_id, int16 acks, int32 timeout_ms,
  [string topic, [int32 partition, bytes records]]``; its response v3 starts
  ``[string topic, [int32 partition, int16 error_code, ...]]`` after the response header (int32
  correlation id).
"""

from __future__ import annotations

import select
import socket
import struct
import time
from pathlib import Path

import pytest
from crc32c import crc32c

MB = 1024 * 1024


def frame(
    api_key: int,
    version: int,
    correlation_id: int,
    body: bytes = b"",
    client: bytes | None = b"rawwire",
    flexible: bool = False,
) -> bytes:
    """A sized request: header v1 (v2 if ``flexible``), then ``body`` as given. ``client=None`` is a null
    client id."""
    header = struct.pack(">hhi", api_key, version, correlation_id)
    header += struct.pack(">h", -1) if client is None else struct.pack(">h", len(client)) + client
    if flexible:
        header += b"\x00"
    payload = header + body
    return struct.pack(">i", len(payload)) + payload


def api_versions(correlation_id: int = 1) -> bytes:
    return frame(18, 0, correlation_id)


def fetch(
    topic: str,
    correlation_id: int,
    max_bytes: int,
    *,
    max_wait_ms: int = 0,
    min_bytes: int = 1,
    size: int | None = None,
) -> bytes:
    """A Fetch v4 frame; ``size`` pads the client id so that the frame's size field is exactly that."""
    t = topic.encode()
    body = (
        struct.pack(">iiiib", -1, max_wait_ms, min_bytes, max_bytes, 0)
        + struct.pack(">ih", 1, len(t))
        + t
        + struct.pack(">iiqi", 1, 0, 0, max_bytes)
    )
    out = frame(1, 4, correlation_id, body)
    if size is not None:
        out = frame(1, 4, correlation_id, body, b"rawwire" + b"x" * (size - (len(out) - 4)))
        assert len(out) - 4 == size
    return out


def produce(topic: str, records: bytes, correlation_id: int = 1, acks: int = 1) -> bytes:
    t = topic.encode()
    body = (
        struct.pack(">hhi", -1, acks, 30_000)
        + struct.pack(">ih", 1, len(t))
        + t
        + struct.pack(">iii", 1, 0, len(records))
        + records
    )
    return frame(0, 3, correlation_id, body)


def produce_error_code(response: bytes) -> int:
    """The first partition's error code in a Produce v3 response (``response`` without its size)."""
    pos = 4 + 4  # correlation id, topics count
    (name_len,) = struct.unpack_from(">h", response, pos)
    pos += 2 + name_len + 4 + 4  # name, partitions count, partition index
    return struct.unpack_from(">h", response, pos)[0]


def connect(
    bootstrap: str, *, rcvbuf: int | None = None, source: str | None = None, timeout: float = 10
) -> socket.socket:
    host, port = bootstrap.split(":")
    s = socket.socket()
    if rcvbuf is not None:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    if source is not None:
        s.bind((source, 0))
    s.settimeout(timeout)
    s.connect((host, int(port)))
    return s


def recv_exactly(sock: socket.socket, n: int) -> bytes:
    """``n`` bytes; ConnectionError if the broker closed the connection first."""
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(min(n - len(buf), MB))
        if not chunk:
            raise ConnectionError(f"connection closed by the broker after {len(buf)} of {n} bytes")
        buf += chunk
    return bytes(buf)


def read_frame(sock: socket.socket) -> bytes:
    """One whole response (without its size); ConnectionError if the broker closed the connection."""
    (size,) = struct.unpack(">i", recv_exactly(sock, 4))
    return recv_exactly(sock, size)


def expect_closed(sock: socket.socket, timeout: float = 10.0, *, silent: bool = False) -> bytes:
    """Read until the broker closes the connection (fails the test if it is still open after
    ``timeout``); returns what it sent before closing, which must be nothing if ``silent``."""
    sock.settimeout(timeout)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    except TimeoutError:
        pytest.fail(f"connection still open after {timeout}s (received {received[:60]!r})")
    if silent:
        assert received == b"", f"expected the connection closed without a response, got {received[:60]!r}"
    return received


def readable_within(sock: socket.socket, seconds: float) -> bool:
    """True if the broker sent something (or closed) within ``seconds``: used to show it did *not*."""
    r, _, _ = select.select([sock], [], [], seconds)
    return bool(r)


def round_trip(bootstrap: str) -> bool:
    """A fresh connection gets an ApiVersions answer."""
    with connect(bootstrap) as s:
        s.sendall(api_versions(99))
        return len(read_frame(s)) > 0


def proc_status(pid: int, field: str) -> int:
    """A /proc/<pid>/status figure in KiB (VmRSS: resident now, VmHWM: the most it has been)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def batch(payload: bytes, records_count: int, codec: int) -> bytes:
    """A RecordBatch v2 whose records section is ``payload`` as given (already compressed with
    ``codec``), with a correct CRC32C: the broker accepts its header and must look inside to judge it."""
    now = int(time.time() * 1000)
    after_crc = (
        struct.pack(">hiqqqhii", codec, max(records_count - 1, 0), now, now, -1, -1, -1, records_count) + payload
    )
    batch_length = 4 + 1 + 4 + len(after_crc)  # partition leader epoch, magic, crc, then the rest
    return struct.pack(">qiib", 0, batch_length, 0, 2) + struct.pack(">I", crc32c(after_crc)) + after_crc
