"""A deterministic simulation of a KRaft quorum: voters as in-process :class:`RaftNode`s on a simulated
network, disk and clock, driven from one seed (Kafka's RaftEventSimulationTest, TigerBeetle's VOPR).

One run (``Simulation(seed).run()``):

1. *Faults* for ``fault_ms`` of simulated time: messages are lost, delayed, duplicated and reordered;
   the network splits into two sides and heals; nodes crash (losing their unflushed log tail, keeping
   what they flushed and their quorum state) and restart; a client proposes entries to whichever
   node believes it leads.
   Every node (voters and ``observers`` alike) applies committed entries to its state, snapshots it
   every ``snapshot_every`` entries and drops most of the log below, so lagging or restarted nodes
   catch up through FetchSnapshot.
2. *Calm* for up to ``calm_ms``: every node runs, the network is whole and loses nothing. A leader
   must emerge and an entry proposed then must be committed on every node (liveness).

Safety is checked after every event (Raft's properties as Kafka states them):

- at most one leader per epoch;
- nothing committed is ever lost or changed: every node's applied state (its snapshot, then its log
  below its high watermark) equals the longest committed prefix seen so far, and a new leader's log
  holds that whole prefix past its snapshot;
- log matching: one payload per (offset, epoch) across all nodes, and at the end, two logs that share
  an entry share everything before it.

A violation raises :class:`SimulationFailure` with the seed and the last events, so that
``KAVKA_RAFT_SEED=<seed>`` replays it exactly. ``node_factory`` lets a test swap in a broken node to
prove the checker can fail.

Logs are ``MemoryReplicatedLog``s unless ``log_factory`` gives each node another ``SimLog`` (a
``ReplicatedLog`` that can ``crash()``: lose what a power loss loses and reopen), such as the on-disk
log over an in-memory file system; such a log must keep snapshots as Kafka snapshot files, so
``snapshot_files`` encodes the state as one (a record per applied entry).
"""

from __future__ import annotations

import heapq
import random
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from kavka.raft.control_records import read_snapshot_records, snapshot_file
from kavka.raft.messages import Entry, Message
from kavka.raft.node import RaftConfig, RaftInvariantError, RaftNode
from kavka.raft.replicated_log import MemoryReplicatedLog, ReplicatedLog, Snapshot
from kavka.raft.states import MemoryQuorumStateStore

__all__ = ["Simulation", "SimulationFailure", "SimulationResult", "NodeFactory", "SimLog", "LogFactory"]

NodeFactory = Callable[
    [int, Sequence[int], ReplicatedLog, MemoryQuorumStateStore, RaftConfig, random.Random, int], RaftNode
]


class SimLog(ReplicatedLog, Protocol):
    def crash(self) -> None:
        """Lose what a power loss would (at most the unflushed tail) and reopen."""


#: ``log_factory(node id)``: the log of one node, for the whole run (it survives its crashes).
LogFactory = Callable[[int], SimLog]


class SimulationFailure(AssertionError):
    pass


@dataclass
class SimulationResult:
    seed: int
    events: int
    committed: int
    leaders: int
    crashes: int
    partitions: int


class _CheckedLog(MemoryReplicatedLog):
    """A log that reports every appended entry to the simulation's (offset, epoch) -> payload map."""

    def __init__(self, sim: Simulation) -> None:
        super().__init__()
        self._sim = sim

    def append_as_follower(self, entries: Sequence[Entry]) -> None:
        base = self.end_offset
        super().append_as_follower(entries)
        seen = self._sim.payload_at
        for i, e in enumerate(entries):
            key = (base + i, e.epoch)
            prior = seen.setdefault(key, e.data)
            if prior != e.data:
                self._sim.fail(f"two payloads at offset {key[0]} epoch {key[1]}: {prior!r} and {e.data!r}")


class _CheckedProxy:
    """``_CheckedLog``'s reporting around a log from ``log_factory``; ``entry`` and ``epoch_at`` read."""

    def __init__(self, sim: Simulation, inner: SimLog) -> None:
        self._sim = sim
        self.inner = inner

    @property
    def start_offset(self) -> int:
        return self.inner.start_offset

    @property
    def end_offset(self) -> int:
        return self.inner.end_offset

    @property
    def flushed_end_offset(self) -> int:
        return self.inner.flushed_end_offset

    @property
    def last_epoch(self) -> int:
        return self.inner.last_epoch

    @property
    def snapshot(self) -> Snapshot | None:
        return self.inner.snapshot

    def read(self, start: int, max_entries: int) -> tuple[Entry, ...]:
        return self.inner.read(start, max_entries)

    def entry(self, offset: int) -> Entry:
        return self.inner.read(offset, 1)[0]

    def epoch_at(self, offset: int) -> int:
        return self.entry(offset).epoch

    def append_as_leader(self, epoch: int, payloads: Sequence[bytes]) -> int:
        first = self.inner.append_as_leader(epoch, payloads)
        _report(self._sim, first, [Entry(epoch, p) for p in payloads])
        return first

    def append_as_follower(self, entries: Sequence[Entry]) -> None:
        base = self.inner.end_offset
        self.inner.append_as_follower(entries)
        _report(self._sim, base, entries)

    def truncate_to(self, offset: int) -> None:
        self.inner.truncate_to(offset)

    def flush(self) -> None:
        self.inner.flush()

    def end_offset_for_epoch(self, epoch: int) -> tuple[int, int]:
        return self.inner.end_offset_for_epoch(epoch)

    def take_snapshot(self, end_offset: int, data: bytes) -> None:
        self.inner.take_snapshot(end_offset, data)

    def install_snapshot(self, snapshot: Snapshot) -> None:
        self.inner.install_snapshot(snapshot)

    def delete_before(self, offset: int) -> None:
        self.inner.delete_before(offset)

    def crash(self) -> None:
        self.inner.crash()


def _report(sim: Simulation, base: int, entries: Sequence[Entry]) -> None:
    seen = sim.payload_at
    for i, e in enumerate(entries):
        key = (base + i, e.epoch)
        prior = seen.setdefault(key, e.data)
        if prior != e.data:
            sim.fail(f"two payloads at offset {key[0]} epoch {key[1]}: {prior!r} and {e.data!r}")


def _encode_state(entries: Sequence[Entry]) -> bytes:
    return b"\x1f".join(b"%d:%s" % (e.epoch, e.data) for e in entries)


def _decode_state(data: bytes) -> list[Entry]:
    if not data:
        return []
    out = []
    for part in data.split(b"\x1f"):
        epoch, _, payload = part.partition(b":")
        out.append(Entry(int(epoch), payload))
    return out


def _encode_state_file(entries: Sequence[Entry]) -> bytes:
    return snapshot_file([b"%d:%s" % (e.epoch, e.data) for e in entries], epoch=0, last_timestamp=0, now_ms=0)


def _decode_state_file(data: bytes) -> list[Entry]:
    out = []
    for value in read_snapshot_records(data):
        epoch, _, payload = value.partition(b":")
        out.append(Entry(int(epoch), payload))
    return out


@dataclass
class _Slot:
    log: _CheckedLog | _CheckedProxy
    store: MemoryQuorumStateStore
    node: RaftNode | None
    # The node's state machine: every committed entry it applied, in order (checked against the
    # committed prefix as it grows).
    applied: list[Entry] = field(default_factory=list)
    tick_at: int = -1


@dataclass
class Simulation:
    seed: int
    voters: int = 3
    fault_ms: int = 8_000
    calm_ms: int = 12_000
    loss: float = 0.05
    duplicate: float = 0.02
    max_delay_ms: int = 30
    propose_every_ms: int = 150
    crash_every_ms: int = 2_500
    partition_every_ms: int = 3_000
    observers: int = 0
    snapshot_every: int = 10
    config: RaftConfig = field(default_factory=lambda: RaftConfig())
    node_factory: NodeFactory = RaftNode
    log_factory: LogFactory | None = None
    snapshot_files: bool = False

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.now = 0
        self.voter_ids = list(range(1, self.voters + 1))
        self.ids = list(range(1, self.voters + self.observers + 1))
        self.payload_at: dict[tuple[int, int], bytes] = {}
        self.committed: list[Entry] = []
        self.leader_of: dict[int, int] = {}
        self.trace: deque[str] = deque(maxlen=40)
        self.events = 0
        self.crashes = 0
        self.partitions = 0
        self._queue: list[tuple[int, int, int, int, Message | None]] = []
        self._seq = 0
        self._side: dict[int, int] = {}
        self._proposals = 0
        self._last_payload = b""
        self._lossy = True
        self._announced: dict[int, set[int]] = {}
        self.slots: dict[int, _Slot] = {}
        self._encode, self._decode = (
            (_encode_state_file, _decode_state_file) if self.snapshot_files else (_encode_state, _decode_state)
        )
        for i in self.ids:
            log = _CheckedLog(self) if self.log_factory is None else _CheckedProxy(self, self.log_factory(i))
            store = MemoryQuorumStateStore()
            self.slots[i] = _Slot(log, store, None)
            self._start(i)

    # -- the run ----------------------------------------------------------------------------------

    def run(self) -> SimulationResult:
        try:
            self._faults()
            self._calm()
            self._check_log_matching()
        except RaftInvariantError as e:
            self.fail(f"node raised: {e}")
        return SimulationResult(
            self.seed, self.events, len(self.committed), len(self.leader_of), self.crashes, self.partitions
        )

    def fail(self, what: str) -> None:
        trace = "\n  ".join(self.trace)
        raise SimulationFailure(
            f"seed {self.seed} at {self.now} ms: {what}\n  last events:\n  {trace}\nreplay: KAVKA_RAFT_SEED={self.seed}"
        )

    def _faults(self) -> None:
        next_propose = self.propose_every_ms
        next_crash = self.rng.randrange(self.crash_every_ms)
        next_partition = self.rng.randrange(self.partition_every_ms)
        heal_at: int | None = None
        restarts: dict[int, int] = {}
        while self.now < self.fault_ms:
            if self.now >= next_propose:
                self._propose()
                next_propose = self.now + self.rng.randrange(1, 2 * self.propose_every_ms)
            if self.now >= next_crash:
                up = [i for i in self.ids if self.slots[i].node is not None]
                if up:
                    victim = self.rng.choice(up)
                    self._crash(victim)
                    restarts[victim] = self.now + self.rng.randrange(100, 3_000)
                next_crash = self.now + self.rng.randrange(1, 2 * self.crash_every_ms)
            for i, t in sorted(restarts.items()):
                if self.now >= t:
                    del restarts[i]
                    self._start(i)
            if heal_at is None and self.now >= next_partition:
                self._split()
                heal_at = self.now + self.rng.randrange(200, 3_000)
            elif heal_at is not None and self.now >= heal_at:
                self._heal()
                heal_at = None
                next_partition = self.now + self.rng.randrange(1, 2 * self.partition_every_ms)
            wake = min(
                next_propose,
                next_crash,
                heal_at if heal_at is not None else next_partition,
                *restarts.values(),
                self.fault_ms,
            )
            self._step_until(wake)

    def _calm(self) -> None:
        self._heal()
        self._lossy = False
        for i in self.ids:
            if self.slots[i].node is None:
                self._start(i)
        deadline = self.now + self.calm_ms
        target: int | None = None
        proposed_at = self.now
        while self.now < deadline:
            if target is not None and self.now - proposed_at > 3 * self.config.fetch_timeout:
                target = None  # proposed to a leader that was deposed before it committed: retry, as a client would
            if target is None:
                target = self._propose()
                proposed_at = self.now
            elif all(s.node is not None and s.node.high_watermark > target for s in self.slots.values()):
                return
            self._step_until(min(deadline, self.now + 100))
        states = ", ".join(
            f"{i}:{s.node.role}@{s.node.epoch} hw={s.node.high_watermark} leo={s.log.end_offset}"
            for i, s in self.slots.items()
            if s.node
        )
        self.fail(f"no progress {self.calm_ms} ms after the faults stopped (entry {target}); nodes {states}")

    # -- the world --------------------------------------------------------------------------------

    def _start(self, i: int) -> None:
        slot = self.slots[i]
        node_rng = random.Random(self.rng.getrandbits(64))
        slot.node = self.node_factory(i, self.voter_ids, slot.log, slot.store, self.config, node_rng, self.now)
        snap = slot.log.snapshot
        slot.applied = self._decode(snap[2]) if snap else []
        slot.tick_at = -1
        self.trace.append(f"{self.now} start {i} as {slot.node.role}@{slot.node.epoch}")
        self._after(i)

    def _crash(self, i: int) -> None:
        slot = self.slots[i]
        slot.node = None
        slot.log.crash()
        self.crashes += 1
        self.trace.append(f"{self.now} crash {i} (log {slot.log.end_offset})")

    def _split(self) -> None:
        shuffled = self.ids[:]
        self.rng.shuffle(shuffled)
        cut = self.rng.randrange(1, len(shuffled)) if len(shuffled) > 1 else 1
        self._side = {n: (0 if k < cut else 1) for k, n in enumerate(shuffled)}
        self.partitions += 1
        self.trace.append(f"{self.now} split {sorted(shuffled[:cut])} | {sorted(shuffled[cut:])}")

    def _heal(self) -> None:
        if self._side:
            self.trace.append(f"{self.now} heal")
        self._side = {}

    def _propose(self) -> int | None:
        leaders = [i for i in self.voter_ids if (n := self.slots[i].node) is not None and n.is_leader]
        if not leaders:
            return None
        i = self.rng.choice(leaders)
        self._proposals += 1
        node = self.slots[i].node
        assert node is not None
        self._last_payload = b"v%d" % self._proposals
        offset = node.propose([self._last_payload])
        self.trace.append(f"{self.now} propose v{self._proposals} to {i} at {offset}")
        self._after(i)
        return offset

    def _send(self, src: int, dst: int, msg: Message) -> None:
        if self._side and self._side.get(src) != self._side.get(dst):
            return
        copies = 1
        if self._lossy:
            if self.rng.random() < self.loss:
                return
            if self.rng.random() < self.duplicate:
                copies = 2
        for _ in range(copies):
            self._seq += 1
            heapq.heappush(self._queue, (self.now + self.rng.randint(1, self.max_delay_ms), self._seq, src, dst, msg))

    def _schedule_tick(self, i: int) -> None:
        slot = self.slots[i]
        node = slot.node
        if node is None:
            return
        at = max(self.now, node.next_deadline())
        if slot.tick_at < 0 or at < slot.tick_at or slot.tick_at < self.now:
            slot.tick_at = at
            self._seq += 1
            heapq.heappush(self._queue, (at, self._seq, 0, i, None))

    def _step_until(self, until: int) -> None:
        q = self._queue
        while q and q[0][0] <= until:
            at, _, src, dst, msg = heapq.heappop(q)
            self.now = at
            slot = self.slots[dst]
            node = slot.node
            if node is None:
                continue
            if msg is None:
                if at != slot.tick_at:
                    continue  # superseded
                slot.tick_at = -1
                node.tick(at)
            else:
                if self._side and self._side.get(src) != self._side.get(dst):
                    continue  # in flight when the network split
                node.receive(src, msg, at)
            self.events += 1
            self._after(dst)
        self.now = max(self.now, until)

    def _after(self, i: int) -> None:
        """Drain the node's output, then check the safety properties that can change with its step."""
        node = self.slots[i].node
        assert node is not None
        ready = node.poll(self.now)
        for dst, msg in ready.messages:
            self._send(i, dst, msg)
        if ready.snapshot is not None:
            slot = self.slots[i]
            slot.applied = self._decode(ready.snapshot[2])
            self.trace.append(f"{self.now} {i} installed snapshot at {ready.snapshot[0]}")
            self._check_prefix(i, slot.applied, 0)
        self._check_node(i, node.is_leader)
        self._schedule_tick(i)

    # -- the checker ------------------------------------------------------------------------------

    def _check_node(self, i: int, leader: bool) -> None:
        slot = self.slots[i]
        node = slot.node
        assert node is not None
        log = slot.log
        if leader:
            owner = self.leader_of.setdefault(node.epoch, i)
            if owner != i:
                self.fail(f"two leaders in epoch {node.epoch}: {owner} and {i}")
            if i not in self._announced.get(node.epoch, ()):
                self._announced.setdefault(node.epoch, set()).add(i)
                self.trace.append(f"{self.now} leader {i} epoch {node.epoch} log {log.end_offset}")
                for off in range(log.start_offset, len(self.committed)):
                    entry = self.committed[off]
                    if off >= log.end_offset or log.entry(off) != entry:
                        self.fail(f"leader {i} of epoch {node.epoch} lacks committed entry {off} {entry}")
        hw = node.high_watermark
        if hw > log.end_offset:
            self.fail(f"node {i} high watermark {hw} past its log end {log.end_offset}")
        applied = slot.applied
        if len(applied) < log.start_offset:
            self.fail(f"node {i} applied {len(applied)} entries but its log starts at {log.start_offset}")
        first = len(applied)
        applied.extend(log.entry(off) for off in range(first, hw))
        self._check_prefix(i, applied, first)
        if log.end_offset < len(applied):
            self.fail(f"node {i} truncated to {log.end_offset}, below what it applied ({len(applied)})")
        if len(applied) - log.start_offset >= self.snapshot_every:
            node.take_snapshot(len(applied), self._encode(applied))
            log.delete_before(len(applied) - self.rng.randrange(4))

    def _check_prefix(self, i: int, applied: list[Entry], first: int) -> None:
        committed = self.committed
        for off in range(first, len(applied)):
            if off < len(committed):
                if committed[off] != applied[off]:
                    self.fail(
                        f"node {i} applied {applied[off]} at committed offset {off}, committed was {committed[off]}"
                    )
            else:
                committed.append(applied[off])

    def _check_log_matching(self) -> None:
        logs = [self.slots[i].log for i in self.ids]
        for a in range(len(logs)):
            for b in range(a + 1, len(logs)):
                la, lb = logs[a], logs[b]
                lo, hi = max(la.start_offset, lb.start_offset), min(la.end_offset, lb.end_offset)
                last_match = -1
                for off in range(lo, hi):
                    if la.epoch_at(off) == lb.epoch_at(off):
                        last_match = off
                for off in range(lo, last_match + 1):
                    if la.entry(off) != lb.entry(off):
                        self.fail(
                            f"logs of {self.ids[a]} and {self.ids[b]} share an entry at {last_match} but differ at {off}"
                        )
