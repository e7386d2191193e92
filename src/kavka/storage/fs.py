"""The file system, injected: an interface, and the real implementation over ``os``.

Storage never calls ``open``/``os`` directly; it receives a ``FileSystem``. Tests pass
``kavka.testing.memfs.MemoryFileSystem``, which keeps page-cache bytes and durable bytes apart and can
crash (drop everything not fsynced), so power loss and kill -9 are simulated without a VM.

Contract of a ``FileHandle`` (one open file, read + append):

- ``append(data)`` writes at the end and returns the position written at. Bytes are in the page cache:
  readable at once, durable only after ``fsync()``.
- ``pread(pos, n)`` returns up to ``n`` bytes at ``pos`` (fewer at end of file). One copy, no seek state.
- ``pwrite(data, pos)`` overwrites in place; ``truncate(size)`` shrinks (or extends with zeros).
- ``size()`` is the current (page-cache) length.

Directory operations (``rename``, ``remove``, ``makedirs``, ``write_atomic``) are made durable before they
return (the OS implementation fsyncs the parent directory), so a marker removed or a checkpoint replaced
stays so after a crash. Paths are plain ``str`` joined with ``/``.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
from abc import ABC, abstractmethod

from kavka.protocol.varint import Buffer

__all__ = ["FileHandle", "FileLock", "FileSystem", "OsFileSystem"]


class FileHandle(ABC):
    path: str

    @abstractmethod
    def append(self, data: Buffer) -> int: ...

    @abstractmethod
    def pread(self, pos: int, n: int) -> bytes: ...

    @abstractmethod
    def pwrite(self, data: Buffer, pos: int) -> None: ...

    @abstractmethod
    def truncate(self, size: int) -> None: ...

    @abstractmethod
    def fsync(self) -> None: ...

    @abstractmethod
    def size(self) -> int: ...

    @abstractmethod
    def close(self) -> None: ...

    def read_all(self) -> bytes:
        return self.pread(0, self.size())


class FileSystem(ABC):
    @abstractmethod
    def open(self, path: str) -> FileHandle:
        """Open ``path`` for read + append, creating it (empty) if missing."""

    @abstractmethod
    def read_bytes(self, path: str) -> bytes: ...

    @abstractmethod
    def file_size(self, path: str) -> int: ...

    @abstractmethod
    def rename(self, src: str, dst: str) -> None:
        """Atomically rename (replacing ``dst``), durable on return."""

    @abstractmethod
    def remove(self, path: str) -> None:
        """Remove a file, durable on return. Missing files are ignored."""

    @abstractmethod
    def listdir(self, path: str) -> list[str]: ...

    @abstractmethod
    def makedirs(self, path: str) -> None: ...

    @abstractmethod
    def exists(self, path: str) -> bool: ...

    @abstractmethod
    def isdir(self, path: str) -> bool: ...

    @abstractmethod
    def rmtree(self, path: str) -> None: ...

    def fsync_dir(self, path: str) -> None:  # noqa: B027 - a default no-op, not abstract
        """Make the directory's entries (files created in it) durable. A file system whose creations are
        durable at once needs nothing here."""

    def try_lock(self, path: str) -> FileLock | None:
        """An exclusive advisory lock on ``path`` (created if missing), or None if another holder has it.
        A file system with no other process (in memory) grants it always."""
        return FileLock()

    def write_atomic(self, path: str, data: bytes) -> None:
        """Replace a small file atomically: write ``path.tmp``, fsync, rename over ``path``."""
        tmp = path + ".tmp"
        self.remove(tmp)
        handle = self.open(tmp)
        try:
            handle.append(data)
            handle.fsync()
        finally:
            handle.close()
        self.rename(tmp, path)


class FileLock:
    """A held lock (``FileSystem.try_lock``); ``release`` lets it go (a process exit does too)."""

    def release(self) -> None:
        pass


class _FlockLock(FileLock):
    def __init__(self, fd: int) -> None:
        self._fd = fd

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = -1


class OsFileHandle(FileHandle):
    __slots__ = ("path", "_fd", "_size")

    def __init__(self, path: str) -> None:
        self.path = path
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        self._size = os.fstat(self._fd).st_size

    def append(self, data: Buffer) -> int:
        pos = self._size
        n = data.nbytes if type(data) is memoryview else len(data)
        done = os.pwrite(self._fd, data, pos)
        if done < n:  # a short write (a signal, a full disk on the next call): finish or raise
            view = memoryview(data).cast("B")
            while done < n:
                done += os.pwrite(self._fd, view[done:], pos + done)
        self._size = pos + n
        return pos

    def pread(self, pos: int, n: int) -> bytes:
        data = os.pread(self._fd, n, pos)
        if len(data) < n and pos + len(data) < self._size:  # short read: finish it
            parts = [data]
            got = len(data)
            while got < n:
                more = os.pread(self._fd, n - got, pos + got)
                if not more:
                    break
                parts.append(more)
                got += len(more)
            data = b"".join(parts)
        return data

    def pwrite(self, data: Buffer, pos: int) -> None:
        view = memoryview(data)
        done = 0
        while done < len(view):
            done += os.pwrite(self._fd, view[done:], pos + done)
        self._size = max(self._size, pos + len(view))

    def truncate(self, size: int) -> None:
        os.ftruncate(self._fd, size)
        self._size = size

    def fsync(self) -> None:
        os.fsync(self._fd)

    def size(self) -> int:
        return self._size

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _fsync_dir(path: str) -> None:
    try:
        fd = os.open(path or ".", os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class OsFileSystem(FileSystem):
    """The real file system. Keeps no state; handles own their file descriptors."""

    def open(self, path: str) -> FileHandle:
        return OsFileHandle(path)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as f:
            return f.read()

    def file_size(self, path: str) -> int:
        return os.stat(path).st_size

    def rename(self, src: str, dst: str) -> None:
        os.replace(src, dst)
        _fsync_dir(os.path.dirname(dst))
        if os.path.dirname(src) != os.path.dirname(dst):
            _fsync_dir(os.path.dirname(src))

    def remove(self, path: str) -> None:
        try:
            os.remove(path)
        except FileNotFoundError:
            return
        _fsync_dir(os.path.dirname(path))

    def fsync_dir(self, path: str) -> None:
        _fsync_dir(path)

    def try_lock(self, path: str) -> FileLock | None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return None
        except BaseException:
            os.close(fd)
            raise
        return _FlockLock(fd)

    def listdir(self, path: str) -> list[str]:
        return os.listdir(path)

    def makedirs(self, path: str) -> None:
        if not os.path.isdir(path):
            os.makedirs(path, exist_ok=True)
            _fsync_dir(os.path.dirname(path.rstrip("/")))

    def exists(self, path: str) -> bool:
        return os.path.exists(path)

    def isdir(self, path: str) -> bool:
        return os.path.isdir(path)

    def rmtree(self, path: str) -> None:
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            return
        except OSError as e:  # pragma: no cover - racing deletes
            if e.errno != errno.ENOENT:
                raise
        _fsync_dir(os.path.dirname(path.rstrip("/")))
