"""In-memory file system with crash injection, for storage tests.

Each file has two byte strings: ``data`` (what readers see: the page cache) and ``durable`` (what is on
the platter: the state at the last ``fsync``). ``crash()`` models kill -9 of the machine (power loss):
every file reverts to its durable bytes; when the unsynced bytes merely extend the durable ones (appends),
a random prefix of them may survive (``torn=True``), as a partially written tail does on a real disk.
All open handles become unusable (``OSError``), so the code under test must reopen everything.

Directory operations (create, rename, remove, makedirs) are durable at once: the real implementation
fsyncs the parent directory before returning, and this model keeps that promise. A file created and never
fsynced survives a crash empty (or with a torn prefix).

``stats`` counts bytes read and fsyncs, so tests can assert that a clean start scans nothing.
"""

from __future__ import annotations

import posixpath
import random
from collections import Counter

from kavka.storage.fs import FileHandle, FileSystem

__all__ = ["MemoryFileSystem"]


class _Inode:
    __slots__ = ("data", "durable")

    def __init__(self) -> None:
        self.data = bytearray()
        self.durable = b""


def _norm(path: str) -> str:
    return posixpath.normpath("/" + path) if not path.startswith("/") else posixpath.normpath(path)


class MemoryFileHandle(FileHandle):
    def __init__(self, fs: MemoryFileSystem, path: str, inode: _Inode) -> None:
        self._fs = fs
        self.path = path
        self._inode = inode
        self._generation = fs._generation
        self._closed = False

    def _check(self) -> _Inode:
        if self._closed or self._generation != self._fs._generation:
            raise OSError(9, f"bad file descriptor (closed or lost in a crash): {self.path}")
        return self._inode

    def append(self, data) -> int:
        inode = self._check()
        pos = len(inode.data)
        inode.data += data
        return pos

    def pread(self, pos: int, n: int) -> bytes:
        inode = self._check()
        out = bytes(inode.data[pos : pos + n])
        self._fs.stats["bytes_read"] += len(out)
        self._fs.stats["reads"] += 1
        return out

    def pwrite(self, data, pos: int) -> None:
        inode = self._check()
        end = pos + len(data)
        if len(inode.data) < pos:
            inode.data += bytes(pos - len(inode.data))
        inode.data[pos:end] = data

    def truncate(self, size: int) -> None:
        inode = self._check()
        if size < len(inode.data):
            del inode.data[size:]
        else:
            inode.data += bytes(size - len(inode.data))

    def fsync(self) -> None:
        inode = self._check()
        inode.durable = bytes(inode.data)
        self._fs.stats["fsyncs"] += 1

    def size(self) -> int:
        return len(self._check().data)

    def close(self) -> None:
        self._closed = True


class MemoryFileSystem(FileSystem):
    def __init__(self, seed: int | None = None) -> None:
        self._files: dict[str, _Inode] = {}
        self._dirs: set[str] = {"/"}
        self._generation = 0
        self.rng = random.Random(seed)
        self.stats: Counter[str] = Counter()

    # -- crash injection -------------------------------------------------------------------------------

    def crash(self, torn: bool = True, rng: random.Random | None = None) -> None:
        """Lose everything not fsynced; with ``torn``, keep a random prefix of unsynced appended bytes."""
        rng = rng or self.rng
        self._generation += 1
        for path, inode in list(self._files.items()):
            new = _Inode()
            durable = inode.durable
            kept = durable
            data = inode.data
            if torn and len(data) > len(durable) and data[: len(durable)] == durable:
                extra = len(data) - len(durable)
                keep = rng.choice((0, extra, rng.randint(0, extra)))
                kept = durable + bytes(data[len(durable) : len(durable) + keep])
            new.data = bytearray(kept)
            new.durable = bytes(kept)
            self._files[path] = new

    # -- FileSystem --------------------------------------------------------------------------------------

    def _parent_must_exist(self, path: str) -> None:
        parent = posixpath.dirname(path)
        if parent not in self._dirs:
            raise FileNotFoundError(2, "no such directory", parent)

    def open(self, path: str) -> FileHandle:
        path = _norm(path)
        inode = self._files.get(path)
        if inode is None:
            if path in self._dirs:
                raise IsADirectoryError(21, "is a directory", path)
            self._parent_must_exist(path)
            inode = self._files[path] = _Inode()
        return MemoryFileHandle(self, path, inode)

    def read_bytes(self, path: str) -> bytes:
        inode = self._files.get(_norm(path))
        if inode is None:
            raise FileNotFoundError(2, "no such file", path)
        self.stats["bytes_read"] += len(inode.data)
        return bytes(inode.data)

    def file_size(self, path: str) -> int:
        inode = self._files.get(_norm(path))
        if inode is None:
            raise FileNotFoundError(2, "no such file", path)
        return len(inode.data)

    def rename(self, src: str, dst: str) -> None:
        src, dst = _norm(src), _norm(dst)
        if src in self._files:
            self._parent_must_exist(dst)
            self._files[dst] = self._files.pop(src)
            return
        if src in self._dirs:
            if dst in self._dirs or dst in self._files:
                raise FileExistsError(17, "exists", dst)
            prefix = src + "/"
            self._dirs = {dst + d[len(src) :] if d == src or d.startswith(prefix) else d for d in self._dirs}
            for p in [p for p in self._files if p.startswith(prefix)]:
                self._files[dst + p[len(src) :]] = self._files.pop(p)
            return
        raise FileNotFoundError(2, "no such file", src)

    def remove(self, path: str) -> None:
        self._files.pop(_norm(path), None)

    def listdir(self, path: str) -> list[str]:
        path = _norm(path)
        if path not in self._dirs:
            raise FileNotFoundError(2, "no such directory", path)
        prefix = path.rstrip("/") + "/"
        names = {p[len(prefix) :] for p in self._files if p.startswith(prefix) and "/" not in p[len(prefix) :]}
        names.update(d[len(prefix) :] for d in self._dirs if d.startswith(prefix) and "/" not in d[len(prefix) :])
        names.discard("")
        return sorted(names)

    def makedirs(self, path: str) -> None:
        path = _norm(path)
        while path not in self._dirs:
            if path in self._files:
                raise FileExistsError(17, "a file is in the way", path)
            self._dirs.add(path)
            path = posixpath.dirname(path)

    def exists(self, path: str) -> bool:
        path = _norm(path)
        return path in self._files or path in self._dirs

    def isdir(self, path: str) -> bool:
        return _norm(path) in self._dirs

    def rmtree(self, path: str) -> None:
        path = _norm(path)
        prefix = path + "/"
        self._dirs = {d for d in self._dirs if d != path and not d.startswith(prefix)}
        for p in [p for p in self._files if p.startswith(prefix)]:
            del self._files[p]

    # -- test helpers ------------------------------------------------------------------------------------

    def corrupt(self, path: str, pos: int, xor: int = 0xFF) -> None:
        """Flip bits of one byte in both page cache and durable bytes (bit rot on disk)."""
        inode = self._files[_norm(path)]
        inode.data[pos] ^= xor
        if pos < len(inode.durable):
            d = bytearray(inode.durable)
            d[pos] ^= xor
            inode.durable = bytes(d)
