"""The metadata quorum of one node: a :class:`RaftNode` over ``__cluster_metadata-0``, the committed
metadata image built from it, and the active controller's view (sans-IO; the server shell moves the
messages).

Two images, as in Kafka (the brokers' MetadataImage, the controller's timeline state):

- ``image`` is the *committed* image: every record below the high watermark, applied in order. Every
  node, voter or observer, has one; brokers serve clients from it, and listeners
  (``add_listener``) hear of each change with the records that made it. ``end_offset`` is the offset
  up to which it is applied.
- ``controller`` (a :class:`ControllerView`, the ``MetadataQuorum`` the controller code needs) is
  valid on the Raft leader only: its ``image`` is the committed image plus every record in the log
  past it (appended by this leader, or left uncommitted by an earlier one: they commit with this
  epoch's first entry), so decisions in a row see each other. ``append`` checks the records against
  that image first (a record that cannot apply is refused before it reaches the log), then proposes
  them as one batch.

Callers ``pump(now)`` after every input (a message received, a tick, an append): it polls the node,
collects the messages to send in ``outbox``, applies what became committed, installs a snapshot the
node fetched, and settles commit waiters: ``when_committed(offset, callback)`` calls back with None once
``offset`` is committed, or with a :class:`NotLeaderError` when this node stops leading first (what it
appended may then be truncated by the next leader). A quorum of one commits inside ``append``.

Snapshots: ``snapshot_reader(bytes) -> MetadataImage`` loads one (at start, and when one is fetched),
``snapshot_writer(image, end_offset, epoch) -> bytes`` writes one when the ``snapshot_policy`` (Kafka's
SnapshotGenerator rule: bytes applied, or time) says so; the node keeps it and the log below goes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from kavka.metadata.image import MetadataDelta, MetadataImage
from kavka.metadata.records import MetadataRecord, decode_record, encode_record
from kavka.raft.entries import is_control
from kavka.raft.messages import Message
from kavka.raft.node import NotLeaderError, RaftNode
from kavka.raft.snapshots import SnapshotPolicy

__all__ = ["RaftMetadataQuorum", "ControllerView", "CommitListener", "LeaderListener", "NotLeaderError"]

# listener(old_image, new_image, records, first_offset)
CommitListener = Callable[[MetadataImage, MetadataImage, Sequence[MetadataRecord], int], None]
# listener(leader_id, epoch): the quorum's leader changed (-1 while unknown)
LeaderListener = Callable[[int, int], None]

_APPLY_CHUNK = 512


class ControllerView:
    """What ``QuorumController`` sees: the leader's latest image and its log end; ``append`` proposes."""

    def __init__(self, quorum: RaftMetadataQuorum) -> None:
        self._quorum = quorum

    @property
    def image(self) -> MetadataImage:
        return self._quorum._latest_image()

    @property
    def end_offset(self) -> int:
        return self._quorum.node.log.end_offset

    def append(self, records: Sequence[MetadataRecord]) -> int:
        return self._quorum.propose(records)


class RaftMetadataQuorum:
    def __init__(
        self,
        node: RaftNode,
        cluster_id: str | None,
        clock_ms: Callable[[], int],
        *,
        snapshot_reader: Callable[[bytes], MetadataImage] | None = None,
        snapshot_writer: Callable[[MetadataImage, int, int], bytes] | None = None,
        snapshot_policy: SnapshotPolicy | None = None,
    ) -> None:
        self.node = node
        self.cluster_id = cluster_id
        self.clock_ms = clock_ms
        self._snapshot_reader = snapshot_reader
        self._snapshot_writer = snapshot_writer
        self._snapshot_policy = snapshot_policy
        self._listeners: list[CommitListener] = []
        self._leader_listeners: list[LeaderListener] = []
        self._waiters: list[tuple[int, Callable[[Exception | None], None]]] = []
        self.outbox: list[tuple[int, Message]] = []
        self.on_output: Callable[[], None] | None = None  # called when pump leaves messages in outbox
        self.controller = ControllerView(self)
        self._image = MetadataImage.empty(cluster_id)
        self._applied = 0
        snapshot = node.log.snapshot
        if snapshot is not None:
            self._image = self._read_snapshot(snapshot[2])
            self._applied = snapshot[0]
        self._latest: MetadataImage | None = None  # the leader's image, built on first use in an epoch
        self._leader = (-1, -1)
        self.pump(clock_ms())

    # -- reads --------------------------------------------------------------------------------------

    @property
    def image(self) -> MetadataImage:
        return self._image

    @property
    def end_offset(self) -> int:
        """Offset up to which ``image`` is applied (the next committed record's offset)."""
        return self._applied

    @property
    def leader_id(self) -> int:
        return self.node.leader_id

    @property
    def is_leader(self) -> bool:
        return self.node.is_leader

    def add_listener(self, listener: CommitListener) -> None:
        self._listeners.append(listener)

    def add_leader_listener(self, listener: LeaderListener) -> None:
        self._leader_listeners.append(listener)

    # -- the leader's side ----------------------------------------------------------------------------

    def _latest_image(self) -> MetadataImage:
        if not self.node.is_leader:
            raise NotLeaderError(f"node {self.node.node_id} is not the active controller")
        if self._latest is None:
            self._latest = self._replay(self._image, self._applied, self.node.log.end_offset)
        return self._latest

    def propose(self, records: Sequence[MetadataRecord]) -> int:
        """Append ``records`` as one batch on the leader; returns the first one's offset. Raises
        NotLeaderError on any other node, and whatever ``MetadataDelta.replay`` raises for a record
        that does not apply (nothing is appended then)."""
        latest = self._latest_image()
        if not records:
            return self.node.log.end_offset
        new_latest = MetadataDelta(latest).replay_all(records).build()
        first = self.node.propose([encode_record(r) for r in records])
        self._latest = new_latest
        self.pump(self.clock_ms())
        return first

    def when_committed(self, offset: int, callback: Callable[[Exception | None], None]) -> None:
        """Call ``callback(None)`` once the record at ``offset`` is committed (at once if it is), or
        ``callback(NotLeaderError)`` if this node stops leading before that."""
        if offset < self.node.high_watermark:
            callback(None)
        elif not self.node.is_leader:
            callback(NotLeaderError(f"node {self.node.node_id} is not the active controller"))
        else:
            self._waiters.append((offset, callback))

    @property
    def uncommitted_end(self) -> int:
        """The leader's log end: what ``when_committed(uncommitted_end - 1, ...)`` waits for."""
        return self.node.log.end_offset

    # -- driving ----------------------------------------------------------------------------------------

    def receive(self, sender: int, msg: Message, now: int) -> None:
        self.node.receive(sender, msg, now)
        self.pump(now)

    def tick(self, now: int) -> None:
        self.node.tick(now)
        self.pump(now)

    def pump(self, now: int) -> None:
        ready = self.node.poll(now)
        self.outbox.extend(ready.messages)
        if ready.snapshot is not None:
            old = self._image
            self._image = self._read_snapshot(ready.snapshot[2])
            self._applied = ready.snapshot[0]
            self._latest = None
            if self._snapshot_policy is not None:
                self._snapshot_policy.snapshot_taken(now)
            for listener in self._listeners:
                listener(old, self._image, (), self._applied)
        self._apply_committed(min(ready.high_watermark, self.node.log.end_offset), now)
        leader = (self.node.leader_id, self.node.epoch)
        if leader != self._leader:
            was_leader = self._leader[0] == self.node.node_id
            self._leader = leader
            self._latest = None
            if was_leader:
                self._fail_waiters()
            for ll in self._leader_listeners:
                ll(*leader)
        self._settle_waiters()
        if self.outbox and self.on_output is not None:
            self.on_output()

    # -- internals --------------------------------------------------------------------------------------

    def _read_snapshot(self, data: bytes) -> MetadataImage:
        if self._snapshot_reader is None:
            raise ValueError("this quorum was given no snapshot reader")
        return self._snapshot_reader(data)

    def _records(self, start: int, end: int) -> Iterator[tuple[int, bytes]]:
        """(offset, record) of the data entries in [start, end), read from the log in chunks."""
        log = self.node.log
        offset = start
        while offset < end:
            entries = log.read(offset, min(_APPLY_CHUNK, end - offset))
            if not entries:
                raise RuntimeError(f"the metadata log has no entry at {offset} (end {log.end_offset})")
            for entry in entries:
                if offset >= end:
                    break
                if not is_control(entry.data):
                    yield offset, entry.data
                offset += 1

    def _replay(self, image: MetadataImage, start: int, end: int) -> MetadataImage:
        if start >= end:
            return image
        delta = MetadataDelta(image)
        for _, data in self._records(start, end):
            delta.replay(decode_record(data))
        return delta.build()

    def _apply_committed(self, hw: int, now: int) -> None:
        if hw <= self._applied:
            return
        first = self._applied
        records: list[MetadataRecord] = []
        nbytes = 0
        for _, data in self._records(first, hw):
            records.append(decode_record(data))
            nbytes += len(data)
        old = self._image
        if records:
            self._image = MetadataDelta(old).replay_all(records).build()
        self._applied = hw
        if records:
            for listener in self._listeners:
                listener(old, self._image, records, first)
        self._maybe_snapshot(nbytes, now)

    def _maybe_snapshot(self, nbytes: int, now: int) -> None:
        policy = self._snapshot_policy
        if self._snapshot_writer is None or policy is None or not policy.record_appended(nbytes, now):
            return
        end = self._applied
        log = self.node.log
        if end > log.start_offset:
            epoch = log.read(end - 1, 1)[0].epoch
        else:
            snapshot = log.snapshot
            epoch = snapshot[1] if snapshot is not None else 0
        self.node.take_snapshot(end, self._snapshot_writer(self._image, end, epoch))
        self.node.log.delete_before(end)  # the log start moves up to the snapshot (Kafka: by retention)
        policy.snapshot_taken(now)

    def _settle_waiters(self) -> None:
        if not self._waiters:
            return
        hw = self.node.high_watermark
        due = [w for w in self._waiters if w[0] < hw]
        if due:
            self._waiters = [w for w in self._waiters if w[0] >= hw]
            for _, callback in due:
                callback(None)

    def _fail_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        hw = self.node.high_watermark
        for offset, callback in waiters:
            if offset < hw:
                callback(None)
            else:
                callback(NotLeaderError(f"node {self.node.node_id} stopped leading before offset {offset} committed"))
