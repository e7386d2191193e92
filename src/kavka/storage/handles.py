"""A bounded pool of open segment files (what Kafka's ``LazyIndex`` and a file-descriptor LRU give).

A broker with 10,000 partitions has at least 30,000 segment files (``.log``, ``.index``,
``.timeindex``); keeping each open hits a default ``ulimit -n`` (1024 soft) long before that. Segments
and indexes therefore open their files through a :class:`HandlePool`: a :class:`PooledHandle` is a
``FileHandle`` whose descriptor is opened on first use and closed again when it is the least recently
used of more than ``capacity`` open ones. Closing loses nothing: the bytes are in the page cache (or
already durable), an ``fsync`` through a re-opened descriptor syncs the same file, and the size is
remembered, so ``size()`` never needs a descriptor.

Contract:

- every operation of ``FileHandle`` works at any time until ``close()``; a handle evicted from the pool
  re-opens its path on next use. If the path is gone by then (a rename the owner did not go through
  ``PooledHandle``), the re-open raises ``FileNotFoundError`` instead of creating an empty file.
- ``close()`` is final: the handle leaves the pool.
- ``capacity`` defaults to half of the process's soft ``RLIMIT_NOFILE`` (at least 64), so sockets,
  snapshots and checkpoints keep the rest (``kavka serve`` first raises the soft limit to the hard one,
  as the JVM does for Kafka). A pool smaller than the files in use costs an open and a close per miss
  (a round-robin over more files than the pool holds misses every time), so it is sized from the limit
  rather than a small constant. One pool per ``FileSystem`` (``pool_for``).

Not thread-safe: one event loop owns the storage.
"""

from __future__ import annotations

import weakref
from collections import OrderedDict

from kavka.protocol.varint import Buffer
from kavka.storage.fs import FileHandle, FileSystem

__all__ = ["HandlePool", "PooledHandle", "pool_for", "default_capacity"]

_MIN_CAPACITY = 64
_MAX_CAPACITY = 1 << 20


def default_capacity() -> int:
    """Half of the soft open-files limit, at least 64."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    except (ImportError, OSError, ValueError):  # pragma: no cover - not POSIX
        return 256
    if soft == resource.RLIM_INFINITY or soft <= 0:
        return _MAX_CAPACITY
    return max(_MIN_CAPACITY, min(_MAX_CAPACITY, soft // 2))


class PooledHandle(FileHandle):
    """A file handle whose descriptor the pool may close between uses (see the module docstring)."""

    __slots__ = ("path", "_pool", "_inner", "_size", "_closed")

    def __init__(self, pool: HandlePool, path: str) -> None:
        self.path = path
        self._pool = pool
        self._inner: FileHandle | None = None
        self._size = -1  # known size while evicted (-1: never opened)
        self._closed = False
        self._use()  # opens (and creates) the file now, as FileSystem.open does

    def _use(self) -> FileHandle:
        inner = self._inner
        if inner is not None:
            self._pool._touch(self)
            return inner
        if self._closed:
            raise ValueError(f"{self.path}: handle is closed")
        if self._size >= 0 and not self._pool.fs.exists(self.path):
            raise FileNotFoundError(f"{self.path}: file vanished while its handle was idle")
        inner = self._inner = self._pool.fs.open(self.path)
        self._pool._opened(self)
        return inner

    def _evict(self) -> None:
        inner = self._inner
        if inner is not None:
            self._size = inner.size()
            self._inner = None
            inner.close()

    @property
    def is_open(self) -> bool:
        """True while a descriptor is held."""
        return self._inner is not None

    def append(self, data: Buffer) -> int:
        inner = self._inner
        if inner is not None:  # the common case, inlined: every produce request appends here
            self._pool._open.move_to_end(id(self))
            return inner.append(data)
        return self._use().append(data)

    def pread(self, pos: int, n: int) -> bytes:
        return self._use().pread(pos, n)

    def pwrite(self, data: Buffer, pos: int) -> None:
        self._use().pwrite(data, pos)

    def truncate(self, size: int) -> None:
        self._use().truncate(size)

    def fsync(self) -> None:
        self._use().fsync()

    def size(self) -> int:
        inner = self._inner
        if inner is not None:
            return inner.size()
        if self._closed and self._size < 0:
            return 0
        return self._size

    def close(self) -> None:
        if not self._closed:
            self._pool._forget(self)
            self._evict()
            self._closed = True

    def reopen(self) -> FileHandle:
        """A new, independent handle on the same file (outside the pool): stays valid for reads after
        this one is closed, renamed or its file deleted. The caller closes it."""
        if self._closed:
            raise ValueError(f"{self.path}: handle is closed")
        if self._inner is None and not self._pool.fs.exists(self.path):
            raise FileNotFoundError(self.path)
        return self._pool.fs.open(self.path)


class HandlePool:
    """At most ``capacity`` open descriptors among its handles; least recently used closed first."""

    def __init__(self, fs: FileSystem, capacity: int | None = None) -> None:
        self.fs = fs
        self.capacity = max(1, capacity if capacity is not None else default_capacity())
        self._open: OrderedDict[int, PooledHandle] = OrderedDict()
        self.opens = 0  # descriptors opened so far (re-opens included): a measure of churn

    def open(self, path: str) -> PooledHandle:
        return PooledHandle(self, path)

    @property
    def open_count(self) -> int:
        return len(self._open)

    def _touch(self, handle: PooledHandle) -> None:
        self._open.move_to_end(id(handle))

    def _opened(self, handle: PooledHandle) -> None:
        self.opens += 1
        self._open[id(handle)] = handle
        while len(self._open) > self.capacity:
            _key, victim = self._open.popitem(last=False)
            victim._evict()

    def _forget(self, handle: PooledHandle) -> None:
        self._open.pop(id(handle), None)


_POOLS: weakref.WeakKeyDictionary[FileSystem, HandlePool] = weakref.WeakKeyDictionary()


def pool_for(fs: FileSystem) -> HandlePool:
    """The pool shared by every segment on ``fs`` (created on first use)."""
    pool = _POOLS.get(fs)
    if pool is None:
        pool = _POOLS[fs] = HandlePool(fs)
    return pool
