"""The coordinator runtime: shards, one per partition of a coordinator topic, written first, applied after.

Rules this module lives by (DESIGN §5, Kafka's CoordinatorRuntime):

1. A *shard* is the state machine of one partition of ``__consumer_offsets`` or
   ``__transaction_state``. Its state is what replaying that partition's records yields, plus soft
   state (parked requests, timers) that is lost on restart by design.
2. An operation runs synchronously against one shard and fills a :class:`Batch`: the records to
   append, the responses to send, and what to do once the append succeeded or failed.
3. The runtime appends the batch's records to the shard's partition with the ``append`` function it
   was given, *then* replays the records marked for replay into the shard, runs the success (or
   failure) continuations, and only then delivers the responses. A response never reveals state
   that is not in the log. When the append raises, nothing of the batch is applied, the failure
   continuations get the error a client is told (:func:`append_error_to_response_error`), and the
   responses are delivered all the same.
4. A *transactional* write (:meth:`CoordinatorRuntime.write_transactional`, Kafka's
   scheduleTransactionalWriteOperation) follows rule 3 with one difference: its records go into the
   log as one transactional batch of the producer (``append_transactional(partition, producer_id,
   producer_epoch, records)``; the log checks the producer's epoch), and they are replayed with the
   producer id, ``shard.replay(key, value, producer_id)``: the shard holds them pending. The
   transaction's COMMIT or ABORT marker, once it is in the partition's log, is applied with
   :meth:`CoordinatorRuntime.complete_transaction` (``shard.replay_end_transaction``), or, for a
   partition still loading, with :meth:`CoordinatorRuntime.replay_end_transaction` in log order.
   Records that continuations of a transactional write produce are plain batches: only the
   operation's own records belong to the transaction.
5. A partition is either not owned (``NOT_COORDINATOR``), loading (``COORDINATOR_LOAD_IN_PROGRESS``:
   records are being replayed, no operation may run) or active.
6. Time enters only through the ``time_ms`` function; timers are named deadlines per shard and fire
   from :meth:`CoordinatorRuntime.tick`. Nothing here sleeps, awaits or touches a socket.

Where Kafka differs: Kafka's runtime batches the records of several operations (``append.linger.ms``)
and writes the COMMIT/ABORT marker to the partition itself (WriteTxnMarkers reaches the group
coordinator's ``completeTransaction``). Here every operation is one append, made before the next
operation runs, so a transactional batch never has to flush a pending one; and the transaction
service writes every partition's marker the same way and then calls :meth:`complete_transaction`, so
a marker is applied only once it is in the log, as in Kafka.

One owner drives a runtime (the broker's event loop); nothing here takes a lock.
"""

from __future__ import annotations

import heapq
import itertools
import logging
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar, cast

from kavka.protocol.api import ErrorCode
from kavka.protocol.batch import NO_PRODUCER_ID
from kavka.protocol.murmur2 import java_abs, java_string_hashcode

__all__ = [
    "ShardedCoordinator",
    "partition_for",
    "Record",
    "ResponseBody",
    "Respond",
    "Batch",
    "Timer",
    "CoordinatorError",
    "Shard",
    "TransactionalShard",
    "CoordinatorRuntime",
    "append_error_to_response_error",
]

log = logging.getLogger(__name__)

Record = tuple[bytes, bytes | None]
T = TypeVar("T")
R = TypeVar("R")

ResponseBody = dict[str, Any]
"""A response body as kio encodes it: the API's field names (snake_case) to values, lists of such
dicts for arrays of structs. Which fields are present depends on the API; kio defaults the rest."""

Respond = Callable[[ResponseBody], None]
"""The callback an operation answers through, exactly once."""


class CoordinatorError(Exception):
    """An operation refused with a Kafka error code; the caller turns it into the API's error shape."""

    def __init__(self, error_code: int, message: str = ""):
        super().__init__(message or ErrorCode(error_code).name)
        self.error_code = ErrorCode(error_code)


class Batch:
    """What one operation produced: records to append, responses, and continuations.

    - ``append(record, replay=True)``: a record for the log. ``replay`` records are applied to the
      shard by replaying them once they are in the log; live state that the operation already changed
      in memory (a classic group's membership) is appended with ``replay=False``.
    - ``respond(callback, response)``: delivered after the append, whatever its outcome.
    - ``on_success(fn)`` / ``on_failure(fn)``: ``fn(batch)`` / ``fn(batch, error_code)`` run after the
      append; ``batch`` is a fresh follow-up batch (its records are appended in turn).
    """

    __slots__ = ("records", "responses", "success", "failure")

    def __init__(self) -> None:
        self.records: list[tuple[Record, bool]] = []
        self.responses: list[tuple[Callable[[Any], None], Any]] = []
        self.success: list[Callable[[Batch], None]] = []
        self.failure: list[Callable[[Batch, int], None]] = []

    def append(self, record: Record, replay: bool = True) -> None:
        self.records.append((record, replay))

    def respond(self, callback: Callable[[Any], None] | None, response: Any) -> None:
        if callback is not None:
            self.responses.append((callback, response))

    def on_success(self, fn: Callable[[Batch], None]) -> None:
        self.success.append(fn)

    def on_failure(self, fn: Callable[[Batch, int], None]) -> None:
        self.failure.append(fn)

    def is_empty(self) -> bool:
        return not (self.records or self.responses or self.success or self.failure)


class Timer:
    """Named deadlines of one shard. Scheduling a key again replaces its deadline; keys are hashable.

    A callback is ``fn(batch)``; it runs from :meth:`CoordinatorRuntime.tick` once ``time_ms()``
    reaches its deadline, in deadline order (ties in scheduling order).
    """

    def __init__(self, time_ms: Callable[[], int]):
        self._time_ms = time_ms
        self._heap: list[tuple[int, int, Any]] = []
        self._live: dict[Any, tuple[int, Callable[[Batch], None]]] = {}  # key -> (seq, fn)
        self._seq = itertools.count()

    def schedule(self, key: Any, delay_ms: int, fn: Callable[[Batch], None]) -> None:
        seq = next(self._seq)
        self._live[key] = (seq, fn)
        heapq.heappush(self._heap, (self._time_ms() + max(0, int(delay_ms)), seq, key))

    def cancel(self, key: Any) -> None:
        self._live.pop(key, None)

    def is_scheduled(self, key: Any) -> bool:
        return key in self._live

    def clear(self) -> None:
        self._heap.clear()
        self._live.clear()

    def _prune(self) -> None:
        # entries whose key was cancelled or rescheduled are dropped lazily
        while self._heap:
            _, seq, key = self._heap[0]
            live = self._live.get(key)
            if live is not None and live[0] == seq:
                return
            heapq.heappop(self._heap)

    def next_deadline(self) -> int | None:
        self._prune()
        return self._heap[0][0] if self._heap else None

    def pop_expired(self, now_ms: int) -> Callable[[Batch], None] | None:
        """The next callback due at ``now_ms`` (removed from the timer), or None."""
        self._prune()
        if not self._heap or self._heap[0][0] > now_ms:
            return None
        _, _, key = heapq.heappop(self._heap)
        return self._live.pop(key)[1]


class Shard(Protocol):
    timer: Timer

    def replay(self, key: bytes, value: bytes | None) -> None: ...

    def on_loaded(self, batch: Batch) -> None: ...

    def on_unloaded(self) -> None: ...


class TransactionalShard(Shard, Protocol):
    """A shard that takes transactional writes (module rule 4): records of a producer's transaction
    are replayed with its producer id and held until its marker."""

    def replay(self, key: bytes, value: bytes | None, producer_id: int = NO_PRODUCER_ID) -> None: ...

    def replay_end_transaction(self, producer_id: int, commit: bool) -> None: ...


# The shard type one runtime owns: operations and reads see the concrete shard its factory makes.
S = TypeVar("S", bound=Shard)

_LOADING, _ACTIVE = "loading", "active"

# Kafka's appendGroupMetadataErrorToResponseError: what a client is told when the log refused.
_APPEND_ERRORS = {
    ErrorCode.unknown_topic_or_partition: ErrorCode.coordinator_not_available,
    ErrorCode.not_enough_replicas: ErrorCode.coordinator_not_available,
    ErrorCode.request_timed_out: ErrorCode.coordinator_not_available,
    ErrorCode.not_leader_or_follower: ErrorCode.not_coordinator,
    ErrorCode.kafka_storage_error: ErrorCode.not_coordinator,
    ErrorCode.message_too_large: ErrorCode.unknown_server_error,
    ErrorCode.record_list_too_large: ErrorCode.unknown_server_error,
    ErrorCode.invalid_fetch_size: ErrorCode.unknown_server_error,
}


def append_error_to_response_error(exc: BaseException) -> ErrorCode:
    """The error code a client gets when appending to the coordinator partition raised ``exc``.

    An exception with an ``error_code`` attribute (a Kafka error) is mapped as Kafka maps it; any
    other exception is a bug or an I/O failure and reads as UNKNOWN_SERVER_ERROR.
    """
    code = getattr(exc, "error_code", None)
    if code is None:
        return ErrorCode.unknown_server_error
    code = ErrorCode(int(code))
    return _APPEND_ERRORS.get(code, code)


class CoordinatorRuntime(Generic[S]):
    """Owns the shards of one coordinator topic (of type ``S``) and runs operations against them.

    ``shard_factory(partition)`` makes an empty shard; ``append(partition, records)`` must put the
    records in that partition's log (durably enough for the broker's acks) or raise.
    ``append_transactional(partition, producer_id, producer_epoch, records)``, if given, does the same
    in one transactional batch of that producer (or raises: a fenced epoch, among others); without it
    a transactional write that has records fails with COORDINATOR_NOT_AVAILABLE.
    """

    def __init__(
        self,
        shard_factory: Callable[[int], S],
        append: Callable[[int, list[Record]], None],
        time_ms: Callable[[], int],
        append_transactional: Callable[[int, int, int, list[Record]], None] | None = None,
    ):
        self._shard_factory = shard_factory
        self._append = append
        self._append_transactional = append_transactional
        self.time_ms = time_ms
        self._shards: dict[int, S] = {}
        self._states: dict[int, str] = {}

    # --- ownership and loading ---------------------------------------------------------------

    def begin_load(self, partition: int) -> None:
        """Start owning ``partition`` with an empty shard; operations get LOAD_IN_PROGRESS until
        :meth:`complete_load`."""
        if partition in self._shards:
            self.unload(partition)
        self._shards[partition] = self._shard_factory(partition)
        self._states[partition] = _LOADING

    def replay(self, partition: int, key: bytes, value: bytes | None, producer_id: int = NO_PRODUCER_ID) -> None:
        """Apply one record of the partition's log to its loading shard; ``producer_id`` for a record
        of a transactional batch (the shard must then be a :class:`TransactionalShard`)."""
        shard = self._loading_shard(partition)
        if producer_id == NO_PRODUCER_ID:
            shard.replay(key, value)
        else:
            cast(TransactionalShard, shard).replay(key, value, producer_id)

    def replay_end_transaction(self, partition: int, producer_id: int, commit: bool) -> None:
        """Apply a COMMIT/ABORT marker of the loading partition's log, in log order."""
        cast(TransactionalShard, self._loading_shard(partition)).replay_end_transaction(producer_id, commit)

    def _loading_shard(self, partition: int) -> S:
        if self._states.get(partition) != _LOADING:
            raise RuntimeError(f"partition {partition} is not loading")
        return self._shards[partition]

    def complete_load(self, partition: int) -> None:
        if self._states.get(partition) != _LOADING:
            raise RuntimeError(f"partition {partition} is not loading")
        self._states[partition] = _ACTIVE
        shard = self._shards[partition]
        batch = Batch()
        shard.on_loaded(batch)
        self._commit(partition, shard, batch)

    def load(self, partition: int, records: Iterable[Record]) -> None:
        """Replay ``records`` (the partition's log, oldest first) into a fresh shard and activate it."""
        self.begin_load(partition)
        for key, value in records:
            self.replay(partition, key, value)
        self.complete_load(partition)

    def unload(self, partition: int) -> None:
        """Stop owning ``partition``; parked requests are answered NOT_COORDINATOR by the shard."""
        shard = self._shards.pop(partition, None)
        self._states.pop(partition, None)
        if shard is not None:
            shard.timer.clear()
            shard.on_unloaded()

    def owned_partitions(self) -> list[int]:
        return sorted(self._shards)

    def is_active(self, partition: int) -> bool:
        return self._states.get(partition) == _ACTIVE

    def partition_error(self, partition: int) -> ErrorCode:
        """NONE for an active partition, else the error an operation on it gets."""
        state = self._states.get(partition)
        if state == _ACTIVE:
            return ErrorCode.none
        if state == _LOADING:
            return ErrorCode.coordinator_load_in_progress
        return ErrorCode.not_coordinator

    def shard(self, partition: int) -> S:
        """The active shard of ``partition``; CoordinatorError when it is loading or not owned."""
        error = self.partition_error(partition)
        if error:
            raise CoordinatorError(error)
        return self._shards[partition]

    def active_shards(self) -> list[tuple[int, S]]:
        return [(p, s) for p, s in sorted(self._shards.items()) if self._states[p] == _ACTIVE]

    # --- operations --------------------------------------------------------------------------

    def read(self, partition: int, fn: Callable[[S], T]) -> T:
        """Run a read-only ``fn(shard)``; CoordinatorError if the partition is not active."""
        return fn(self.shard(partition))

    def write(self, partition: int, op: Callable[[S, Batch], None]) -> None:
        """Run ``op(shard, batch)``, append its records, then apply and respond (module rules 2-3).

        CoordinatorError from a partition that is not active, or raised by ``op`` before it touched
        the batch, propagates to the caller, which answers with the API's error shape.
        """
        shard = self.shard(partition)
        batch = Batch()
        op(shard, batch)
        self._commit(partition, shard, batch)

    def write_transactional(
        self, partition: int, producer_id: int, producer_epoch: int, op: Callable[[S, Batch], None]
    ) -> None:
        """:meth:`write` whose records are one transactional batch of the producer (module rule 4):
        appended with ``append_transactional``, replayed with ``producer_id`` (pending until the
        transaction's marker), then continuations and responses as for any write."""
        if producer_id == NO_PRODUCER_ID:
            raise ValueError("a transactional write needs a producer id")
        shard = self.shard(partition)
        batch = Batch()
        op(shard, batch)
        self._commit(partition, shard, batch, (producer_id, producer_epoch))

    def complete_transaction(self, partition: int, producer_id: int, commit: bool) -> bool:
        """The COMMIT/ABORT marker of ``producer_id`` is now in ``partition``'s log: apply it to the
        active shard (Kafka's completeTransaction, after its marker write). False when the partition is
        not active here: a loading partition reads the marker from its log, and an unowned one is the
        business of its new owner."""
        if not self.is_active(partition):
            return False
        cast(TransactionalShard, self._shards[partition]).replay_end_transaction(producer_id, commit)
        return True

    def _append_batch(self, partition: int, records: list[Record], producer: tuple[int, int] | None) -> None:
        if producer is None:
            self._append(partition, records)
        elif self._append_transactional is None:
            raise CoordinatorError(ErrorCode.coordinator_not_available, "no transactional append")
        else:
            self._append_transactional(partition, producer[0], producer[1], records)

    def _commit(self, partition: int, shard: Shard, batch: Batch, producer: tuple[int, int] | None = None) -> None:
        # Continuations may produce records of their own (a follow-up batch, always a plain one); bound
        # the chain so a bug cannot loop forever.
        for _ in range(16):
            error = ErrorCode.none
            if batch.records:
                try:
                    self._append_batch(partition, [record for record, _ in batch.records], producer)
                except Exception as e:  # the log refused: nothing of this batch is applied
                    error = append_error_to_response_error(e)
                    # a transactional batch is refused for the producer's own reasons (a fenced
                    # epoch) as a matter of course; a plain one only when the log is in trouble
                    log.log(
                        logging.WARNING if producer is None else logging.DEBUG,
                        "append to coordinator partition %d failed: %r",
                        partition,
                        e,
                    )
            follow = Batch()
            if error == ErrorCode.none:
                for (key, value), replay in batch.records:
                    if not replay:
                        continue
                    if producer is None:
                        shard.replay(key, value)
                    else:
                        cast(TransactionalShard, shard).replay(key, value, producer[0])
                for fn in batch.success:
                    fn(follow)
            else:
                for on_failure in batch.failure:
                    on_failure(follow, error)
            for callback, response in batch.responses:
                try:
                    callback(response)
                except Exception:  # one broken callback must not starve the others
                    log.exception("coordinator response callback failed")
            if follow.is_empty():
                return
            batch, producer = follow, None
        log.error("coordinator partition %d: continuation chain too long; dropped", partition)

    # --- time ---------------------------------------------------------------------------------

    def tick(self) -> int | None:
        """Run every timer that is due; return the earliest remaining deadline (or None)."""
        now = self.time_ms()
        for partition, shard in self.active_shards():
            while self.is_active(partition):
                fn = shard.timer.pop_expired(now)
                if fn is None:
                    break
                batch = Batch()
                fn(batch)
                self._commit(partition, shard, batch)
        return self.next_deadline()

    def next_deadline(self) -> int | None:
        deadlines = [d for _, s in self.active_shards() if (d := s.timer.next_deadline()) is not None]
        return min(deadlines) if deadlines else None


def partition_for(key: str, num_partitions: int) -> int:
    """The partition of a coordinator topic that owns ``key`` (a group id or a transactional id):
    Kafka's partitionFor, ``abs(hashCode(key)) % num_partitions`` with Java's String.hashCode and
    Kafka's Utils.abs (Integer.MIN_VALUE maps to 0)."""
    return java_abs(java_string_hashcode(key)) % num_partitions


class ShardedCoordinator(Generic[S]):
    """What the group and the transaction coordinator share: keys routed to the partition of their
    coordinator topic (:func:`partition_for`), and the ownership calls handed to one runtime.

    A subclass sets ``runtime`` and says how many partitions its topic has (`num_partitions`).
    """

    runtime: CoordinatorRuntime[S]

    def num_partitions(self) -> int:
        raise NotImplementedError

    def partition_for(self, key: str) -> int:
        return partition_for(key, self.num_partitions())

    def replay(self, partition: int, key: bytes, value: bytes | None, producer_id: int = NO_PRODUCER_ID) -> None:
        """Apply one record of a loading partition; ``producer_id`` for a record of a transactional batch."""
        self.runtime.replay(partition, key, value, producer_id)

    def complete_load(self, partition: int) -> None:
        self.runtime.complete_load(partition)

    def unload(self, partition: int) -> None:
        self.runtime.unload(partition)

    def tick(self) -> int | None:
        """Fire the shards' due timers; the next deadline, if any."""
        return self.runtime.tick()

    def next_deadline(self) -> int | None:
        return self.runtime.next_deadline()

    def shard_of(self, key: str) -> S:
        """The active shard that owns ``key`` (CoordinatorError otherwise); for tools and tests."""
        return self.runtime.shard(self.partition_for(key))

    def _write(
        self, key: str, op: Callable[[S, Batch], None], respond: Callable[[R], None], on_error: Callable[[int], R]
    ) -> None:
        """Run ``op`` on the shard of ``key``; when that partition is not active, answer ``on_error(code)``."""
        try:
            self.runtime.write(self.partition_for(key), op)
        except CoordinatorError as e:
            respond(on_error(e.error_code))
