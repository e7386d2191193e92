"""Incremental fetch sessions (KIP-227), as Kafka's FetchManager keeps them.

A consumer that sends a full Fetch with session epoch 0 gets a session id back; from then on it sends
only what changed (partitions added or moved on, ``forgotten_topics_data`` for those dropped) with
epoch 1, 2, ..., and the broker answers only the partitions worth telling: records found, a new high
watermark or log start offset, or an error. The broker remembers, per session and partition, the fetch
offset and byte limit last asked for and the high watermark and log start offset last answered.

The rules (Kafka's FetchMetadata and FetchManager.newContext):

- epoch -1 (final): the session named, if any, is closed; the request is read as it is (sessionless),
  answered with session id 0.
- epoch 0 (initial): the session named, if any, is closed; the request is read as it is and a new
  session is made from its partitions (id 0 in the answer when every slot is taken by a session not
  idle long enough and at least as large).
- epoch > 0 (incremental): an unknown session id is FETCH_SESSION_ID_NOT_FOUND, a wrong epoch
  INVALID_FETCH_SESSION_EPOCH, a session made with topic ids (v13+) used by a v12- request or the
  other way round FETCH_SESSION_TOPIC_ID_ERROR (all three with session id 0 and no topics). Otherwise
  the request's partitions are added or updated, the forgotten ones removed (no partition left: the
  session is closed and the request read sessionless), the epoch moves on, and every partition of the
  session is read, in the session's order. A partition answered with records moves to the end of that
  order, so partitions take turns under ``max_bytes``.

Sessions are keyed by topic name up to Fetch v12 and by topic id from v13. Kafka's defaults bound them:
1000 sessions (``max.incremental.fetch.session.cache.slots``), a session idle for 120 s
(``min.incremental.fetch.session.eviction.ms``) may be evicted for a new one, else the smallest one if
the new one is larger. Single-threaded, like the event loop that owns it; time is passed in.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

from kavka.protocol.api import ErrorCode

__all__ = [
    "FINAL_EPOCH",
    "INITIAL_EPOCH",
    "CachedPartition",
    "FetchContext",
    "FetchSession",
    "FetchSessions",
    "next_epoch",
]

INVALID_SESSION_ID = 0
INITIAL_EPOCH = 0
FINAL_EPOCH = -1
MAX_SESSIONS = 1000  # Kafka's max.incremental.fetch.session.cache.slots default
EVICTION_MS = 120_000  # Kafka's min.incremental.fetch.session.eviction.ms default

TopicKey = str | uuid.UUID  # a topic name (v4-12) or id (v13+)


def next_epoch(epoch: int) -> int:
    """Kafka's FetchMetadata.nextEpoch: -1 stays -1, the largest int32 wraps to 1."""
    if epoch < 0:
        return FINAL_EPOCH
    return 1 if epoch == 0x7FFFFFFF else epoch + 1


@dataclass(slots=True)
class CachedPartition:
    """A session's partition: what the consumer last asked for and what it was last told."""

    topic: TopicKey
    index: int
    fetch_offset: int
    max_bytes: int
    high_watermark: int = -1
    log_start_offset: int = -1

    def must_respond(self, error_code: int, high_watermark: int, log_start_offset: int, records_size: int) -> bool:
        """Is this read worth a place in an incremental answer? Remembers what it tells (Kafka's
        CachedPartition.maybeUpdateResponseData)."""
        respond = records_size > 0
        if self.high_watermark != high_watermark:
            respond = True
            self.high_watermark = high_watermark
        if self.log_start_offset != log_start_offset:
            respond = True
            self.log_start_offset = log_start_offset
        if error_code:
            self.high_watermark = -1
            respond = True
        return respond


@dataclass(slots=True)
class FetchSession:
    id: int
    uses_topic_ids: bool
    epoch: int
    last_used_ms: float
    #: (topic, index) -> partition, in the order partitions are read
    partitions: dict[tuple[TopicKey, int], CachedPartition] = field(default_factory=dict)


@dataclass(slots=True)
class FetchContext:
    """How one Fetch request is read and answered.

    ``kind`` is "error" (answer ``error_code`` and nothing else), "sessionless", "full" (make a session
    from the answer: :meth:`FetchSessions.create`) or "incremental" (``session``: answer through
    :meth:`FetchSessions.incremental_answer`). ``partitions`` are ``(topic, index, fetch_offset,
    max_bytes)`` to read, in order.
    """

    kind: str
    partitions: list[tuple[TopicKey, int, int, int]]
    error_code: int = 0
    session: FetchSession | None = None
    request_epoch: int = FINAL_EPOCH


class FetchSessions:
    """Every fetch session of one broker."""

    def __init__(
        self, *, max_sessions: int = MAX_SESSIONS, eviction_ms: float = EVICTION_MS, rng: random.Random | None = None
    ) -> None:
        self.max_sessions = max_sessions
        self.eviction_ms = eviction_ms
        self._rng = rng or random.Random()
        self.sessions: dict[int, FetchSession] = {}

    def context(
        self,
        version: int,
        session_id: int,
        epoch: int,
        requested: list[tuple[TopicKey, int, int, int]],
        forgotten: list[tuple[TopicKey, int]],
        now_ms: float,
    ) -> FetchContext:
        """The context of a request (Kafka's FetchManager.newContext); changes the session it continues."""
        if epoch in (INITIAL_EPOCH, FINAL_EPOCH):
            if session_id != INVALID_SESSION_ID:
                self.sessions.pop(session_id, None)
            return FetchContext("sessionless" if epoch == FINAL_EPOCH else "full", requested)
        session = self.sessions.get(session_id)
        if session is None:
            return FetchContext("error", [], ErrorCode.fetch_session_id_not_found)
        if session.epoch != epoch:
            return FetchContext("error", [], ErrorCode.invalid_fetch_session_epoch)
        if session.uses_topic_ids != (version >= 13):
            return FetchContext("error", [], ErrorCode.fetch_session_topic_id_error)
        parts = session.partitions
        for topic, index, offset, max_bytes in requested:
            cached = parts.get((topic, index))
            if cached is None:
                parts[(topic, index)] = CachedPartition(topic, index, offset, max_bytes)
            else:
                cached.fetch_offset, cached.max_bytes = offset, max_bytes
        for key in forgotten:
            parts.pop(key, None)
        if not parts:
            del self.sessions[session.id]
            return FetchContext("sessionless", requested)
        session.last_used_ms = now_ms
        session.epoch = next_epoch(session.epoch)
        return FetchContext(
            "incremental",
            [(p.topic, p.index, p.fetch_offset, p.max_bytes) for p in parts.values()],
            session=session,
            request_epoch=epoch,
        )

    def create(self, version: int, answered: list[tuple[TopicKey, int, int, int, int, int]], now_ms: float) -> int:
        """A new session from a full request's answer, ``(topic, index, fetch_offset, max_bytes,
        high_watermark, log_start_offset)`` per partition; its id, or 0 when there is no room."""
        if len(self.sessions) >= self.max_sessions and not self._evict(len(answered), now_ms):
            return INVALID_SESSION_ID
        session_id = INVALID_SESSION_ID
        while session_id == INVALID_SESSION_ID or session_id in self.sessions:
            session_id = self._rng.randint(1, 0x7FFFFFFF)
        session = FetchSession(session_id, version >= 13, next_epoch(INITIAL_EPOCH), now_ms)
        for topic, index, offset, max_bytes, hw, log_start in answered:
            session.partitions[(topic, index)] = CachedPartition(topic, index, offset, max_bytes, hw, log_start)
        self.sessions[session_id] = session
        return session_id

    def _evict(self, new_size: int, now_ms: float) -> bool:
        """Make room for a session of ``new_size`` partitions: the least recently used one if it has been
        idle long enough, else the smallest one if the new one is larger."""
        lru = min(self.sessions.values(), key=lambda s: (s.last_used_ms, s.id))
        if now_ms - lru.last_used_ms > self.eviction_ms:
            del self.sessions[lru.id]
            return True
        smallest = min(self.sessions.values(), key=lambda s: (len(s.partitions), s.id))
        if new_size > len(smallest.partitions):
            del self.sessions[smallest.id]
            return True
        return False

    @staticmethod
    def incremental_answer(ctx: FetchContext, reads: list[tuple[TopicKey, int, int, int, int, int]]) -> list[bool]:
        """Which reads an incremental answer carries, ``(topic, index, error_code, high_watermark,
        log_start_offset, records_size)`` each, in ``ctx.partitions`` order; partitions answered with
        records move to the end of the session's order."""
        session = ctx.session
        assert session is not None
        parts = session.partitions
        keep = []
        for topic, index, error_code, hw, log_start, size in reads:
            cached = parts.get((topic, index))
            respond = cached is not None and cached.must_respond(error_code, hw, log_start, size)
            keep.append(respond)
            if respond and size > 0 and cached is not None:
                del parts[(topic, index)]
                parts[(topic, index)] = cached
        return keep

    def epoch_moved_on(self, ctx: FetchContext) -> bool:
        """Has another request of the session come in since ``ctx`` (a duplicate, Kafka's "possible
        duplicate request")? Its answer is then INVALID_FETCH_SESSION_EPOCH."""
        session = ctx.session
        return session is not None and session.epoch != next_epoch(ctx.request_epoch)
