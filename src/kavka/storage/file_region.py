"""A byte range of a segment's ``.log`` to send without holding it in memory (Kafka's ``FileRecords``
slice handed to ``transferTo``).

A :class:`FileRegion` owns its own read handle on the file, opened when the region is made (while the
segment is certainly live), so it stays readable if the segment is rolled, renamed ``.deleted``,
removed by retention or the segment's pooled handle is closed: on POSIX an open descriptor keeps an
unlinked file's bytes. Truncation is the one thing it cannot survive: ``read`` then returns fewer bytes
than asked (a short read, as Kafka's ``FileRecords`` sees it), and the sender must not pad what it
already promised in a size prefix (kavka.server.connection closes the connection, as Kafka's network layer
does when ``FileRecords.writeTo`` finds the file truncated).

``len(region)`` is its length, so response encoders count it like a buffer. The owner calls ``close()``
once the bytes are sent or dropped; a region garbage-collected unclosed closes its handle then.
"""

from __future__ import annotations

from kavka.storage.fs import FileHandle

__all__ = ["FileRegion"]


class FileRegion:
    __slots__ = ("path", "position", "length", "_handle")

    def __init__(self, handle: FileHandle, position: int, length: int) -> None:
        self._handle: FileHandle | None = handle
        self.path = handle.path
        self.position = position
        self.length = length

    def __len__(self) -> int:
        return self.length

    @property
    def nbytes(self) -> int:
        return self.length

    def read(self, offset: int, n: int) -> bytes:
        """Up to ``n`` bytes at ``offset`` within the region; fewer only past the region's end or if the
        file was truncated under it."""
        handle = self._handle
        if handle is None:
            raise ValueError(f"region of {self.path} is closed")
        n = min(n, self.length - offset)
        if n <= 0:
            return b""
        return handle.pread(self.position + offset, n)

    def tobytes(self) -> bytes:
        """All of it, in memory (tests and small consumers only)."""
        return self.read(0, self.length)

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            handle.close()

    @property
    def closed(self) -> bool:
        return self._handle is None

    def __del__(self) -> None:
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass

    def __repr__(self) -> str:
        return f"FileRegion({self.path!r}, position={self.position}, length={self.length})"
