"""The broker-wide budget of request bytes read but not yet handled: Kafka's ``queued.max.request.bytes``.

Kafka gives every request's receive buffer from one ``MemoryPool`` sized by ``queued.max.request.bytes``
(``-1``, the default, or ``0`` means no pool: unbounded; a positive value must be at least
``socket.request.max.bytes``). The pool is *not strict*: an allocation succeeds while
any memory is left, even if the request is larger than what is left, so one request of up to
``socket.request.max.bytes`` always fits an otherwise idle broker and the budget is overshot by at most
one request per connection. When nothing is left, no connection reads another request until a handled
request gives its bytes back.

Here a connection allocates a frame's size as soon as it has read the frame's 4-byte length (before the
body is read) and releases it when the request's response is complete. A connection refused by the pool
registers a wake-up callback; :meth:`release` calls every registered callback (on the next loop turn,
through ``schedule``) once memory is available again, and each retries.
"""

from __future__ import annotations

from collections.abc import Callable

__all__ = ["RequestMemoryPool"]


class RequestMemoryPool:
    """``capacity`` bytes (``None``, 0 or a negative value: unbounded), handed out non-strictly."""

    def __init__(self, capacity: int | None, schedule: Callable[[Callable[[], None]], object] | None = None):
        self.capacity = None if capacity is None or capacity <= 0 else capacity
        self.used = 0
        self._waiters: dict[int, Callable[[], None]] = {}
        self._schedule = schedule or (lambda cb: cb())

    @property
    def available(self) -> int | None:
        return None if self.capacity is None else self.capacity - self.used

    def try_allocate(self, size: int) -> bool:
        """Take ``size`` bytes if any memory is left (Kafka's non-strict pool); False if none is."""
        if self.capacity is not None and self.used >= self.capacity:
            return False
        self.used += size
        return True

    def release(self, size: int) -> None:
        self.used -= size
        if self._waiters and (self.capacity is None or self.used < self.capacity):
            waiters = list(self._waiters.values())
            self._waiters.clear()
            for wake in waiters:
                self._schedule(wake)

    def wait(self, key: int, wake: Callable[[], None]) -> None:
        """Call ``wake`` once memory is available again (one registration per ``key``)."""
        self._waiters[key] = wake

    def forget(self, key: int) -> None:
        self._waiters.pop(key, None)
