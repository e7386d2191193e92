"""What the group and transaction services share: a coordinator state machine on an internal topic.

A :class:`CoordinatorService` gives a synchronous coordinator (``kavka.coordinator``) what it needs from
the broker, the same way for ``__consumer_offsets`` (:mod:`kavka.broker.group_service`) and
``__transaction_state`` (:mod:`kavka.broker.txn_service`):

- **Appends.** :meth:`_append` writes the coordinator's records for one partition of :attr:`topic` as
  one RecordBatch (compressed with :attr:`compression`) through the replica manager, as a leader write
  with ``acks=-1``, so the high watermark moves and fetchers wake. A refused append raises
  :class:`AppendError` carrying the produce error code, which the coordinator runtime maps to the
  client's error and nothing of the operation is applied.
- **Following leadership** (Kafka's ``onElection`` / ``onResignation``). :meth:`load_led_partitions`
  brings the owned partitions in line with the partitions of :attr:`topic` this broker leads (at
  startup, right after the topic is created, and after every committed metadata change in a
  cluster): a partition it leads and does not own is loaded (``begin_load``, the subclass's
  :meth:`_replay` of the partition log, ``complete_load``), one it owns but no longer leads is
  unloaded (its parked requests answered NOT_COORDINATOR, its timers dropped), and one it still
  leads at a new leader epoch is reloaded when :attr:`reload_on_new_epoch` says so (the transaction
  coordinator: its markers carry the epoch), else only its epoch is noted (the group coordinator, as
  Kafka's CoordinatorRuntime does for an active shard). Loading replays the whole log synchronously,
  so no request sees a partition half loaded.
- **Timers.** A task on the event loop calls :meth:`tick` when the coordinator's next deadline is due,
  at least every 100 ms; ``Broker.tick`` calls :meth:`tick` too, so timers fire without the task. An
  exception in a tick is logged and the loop goes on (one broken timer must not stop the others).
- **Shutdown.** :meth:`shutdown` stops the timers and unloads every owned partition; :meth:`tick` does
  nothing after it.

Everything here runs on the event loop thread.
"""

from __future__ import annotations

import asyncio
import logging

from kavka.protocol.api import ErrorCode
from kavka.protocol.records import Record, build_batch

__all__ = ["CoordinatorService", "AppendError"]

log = logging.getLogger(__name__)

_TIMER_POLL_S = 0.1


class AppendError(Exception):
    """The internal topic's log refused an append; ``error_code`` is the produce error."""

    def __init__(self, error_code: int, message: str | None = None):
        super().__init__(message or ErrorCode(error_code).name)
        self.error_code = error_code


class CoordinatorService:
    """Base of the group and transaction services. Subclasses set :attr:`topic`, build
    ``self.coordinator`` (with :meth:`_append` as its append function) and implement :meth:`_replay`."""

    topic: str = ""
    #: the codec id of the batches :meth:`_append` writes (0: none)
    compression: int = 0
    #: reload an owned partition whose leader epoch changed while this broker kept leading it
    reload_on_new_epoch: bool = False

    def __init__(self, broker):
        self.broker = broker
        self.coordinator = None
        self._timer_task: asyncio.Task | None = None
        self._closed = False
        self._epochs: dict[int, int] = {}  # owned partition -> the leader epoch it was loaded at

    # --- lifecycle ---------------------------------------------------------------------------

    def startup(self) -> None:
        """Load the partitions of :attr:`topic` this broker leads (if the topic exists)."""
        self.load_led_partitions()

    def shutdown(self) -> None:
        self._closed = True
        if self._timer_task is not None:
            self._timer_task.cancel()
            self._timer_task = None
        for partition in self.coordinator.runtime.owned_partitions():
            self.coordinator.unload(partition)
        self._epochs.clear()

    def partition_for(self, key: str) -> int:
        """The partition of :attr:`topic` that owns ``key`` (a group or transactional id)."""
        return self.coordinator.partition_for(key)

    def _ensure_topic(self, partitions: int, replication_factor: int, configs: dict[str, str]) -> int:
        """Create :attr:`topic` if missing and load the partitions this broker leads; NONE or an error code."""
        code = self.broker.ensure_internal_topic(self.topic, partitions, replication_factor, configs)
        if code:
            return code
        self.load_led_partitions()
        return ErrorCode.none

    def tick(self) -> int | None:
        """Fire the coordinator's due timers; its next deadline (ms), or None."""
        if self._closed:
            return None
        return self.coordinator.tick()

    def _ensure_timer_task(self) -> None:
        if self._timer_task is None and not self._closed:
            try:
                self._timer_task = asyncio.get_running_loop().create_task(self._run_timers())
            except RuntimeError:  # no running loop: a test driving the broker synchronously
                pass

    async def _run_timers(self) -> None:
        clock = self.broker.clock_ms
        while not self._closed:
            try:
                deadline = self.tick()
            except Exception:  # a bug in one timer must not stop the others for good
                log.exception("%s timers failed", type(self).__name__)
                deadline = None
            delay = _TIMER_POLL_S if deadline is None else min(_TIMER_POLL_S, max(0, deadline - clock()) / 1000)
            await asyncio.sleep(max(delay, 0.001))

    # --- the internal topic ------------------------------------------------------------------

    def load_led_partitions(self) -> None:
        """Own exactly the partitions of :attr:`topic` this broker leads (see the module docstring)."""
        if self._closed:
            return
        led = dict(self.broker.led_partitions(self.topic))
        for index in self.coordinator.runtime.owned_partitions():
            if index not in led:
                self.coordinator.unload(index)
                self._epochs.pop(index, None)
                log.info("resigned as coordinator of %s-%d", self.topic, index)
        owned = set(self.coordinator.runtime.owned_partitions())
        for index, p in led.items():
            epoch = int(p.leader_epoch)
            if index in owned and (self._epochs.get(index) == epoch or not self.reload_on_new_epoch):
                self._epochs[index] = epoch
                continue
            self._begin_load(index, p)
            self._epochs[index] = epoch
            n = self._replay(index, p.log)
            self.coordinator.complete_load(index)
            log.log(
                logging.INFO if n else logging.DEBUG,
                "loaded %d records of %s-%d at leader epoch %d",
                n,
                self.topic,
                index,
                epoch,
            )

    def _begin_load(self, index: int, partition) -> None:
        self.coordinator.begin_load(index)

    def _replay(self, index: int, plog) -> int:
        """Feed the records of partition ``index``'s log to the coordinator; how many were replayed."""
        raise NotImplementedError

    def _append(self, partition: int, records: list[tuple[bytes, bytes | None]]) -> None:
        now = self.broker.clock_ms()
        batch = build_batch(
            [Record(i, now, key, value) for i, (key, value) in enumerate(records)], compression=self.compression
        )
        self._append_batch(partition, batch)

    def _append_batch(self, partition: int, batch: bytes) -> None:
        """One batch into ``topic-partition`` as a leader write; AppendError if the log refuses it."""
        result = self.broker.replica_manager.append(self.topic, partition, bytearray(batch), acks=-1)
        if result.error_code:
            raise AppendError(result.error_code, result.error_message)
