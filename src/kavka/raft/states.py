"""The states of a KRaft voter, one class each (Kafka's UnattachedState, ProspectiveState,
CandidateState, LeaderState, FollowerState, ResignedState), and the persisted quorum state.

Every state belongs to one epoch. A state holds only what it needs and answers the questions the
node asks of it; transitions are made by :class:`kavka.raft.node.RaftNode`, which persists
``QuorumState`` before anything that depends on it leaves the node.

Rules kept here (KIP-595, KIP-996, as Kafka 4 applies them):

- A (standard) vote in an epoch is granted at most once, to one candidate, and only to a candidate
  whose log is at least as up to date: (last epoch, end offset) compared in that order.
- A pre-vote changes nothing: it is granted when the log is up to date, except by a follower that has
  heard from its leader within the fetch timeout (so a partitioned node coming back cannot disturb a
  healthy leader), and never by a leader or a resigned leader.
- The leader's high watermark is the largest offset that a majority of voters (itself included, with
  its flushed end offset) have reached, and it only moves once that offset is past the start of the
  leader's own epoch (the leader's first entry, its LeaderChange record, is committed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from kavka.raft.messages import FetchRequest

__all__ = [
    "QuorumState",
    "QuorumStateStore",
    "MemoryQuorumStateStore",
    "StoredQuorumState",
    "Unattached",
    "Prospective",
    "Candidate",
    "Leader",
    "Follower",
    "Resigned",
    "State",
]


@dataclass(frozen=True, slots=True)
class QuorumState:
    """What survives a restart (Kafka's ``quorum-state`` file): the epoch, its leader if known, and the
    candidate this voter voted for in it (-1 for none)."""

    epoch: int
    leader_id: int = -1
    voted_id: int = -1


class QuorumStateStore(Protocol):
    def read(self) -> QuorumState | None: ...

    def write(self, state: QuorumState) -> None: ...


class MemoryQuorumStateStore:
    def __init__(self) -> None:
        self.state: QuorumState | None = None

    def read(self) -> QuorumState | None:
        return self.state

    def write(self, state: QuorumState) -> None:
        self.state = state


def log_up_to_date(candidate_epoch: int, candidate_offset: int, own_epoch: int, own_offset: int) -> bool:
    return (candidate_epoch, candidate_offset) >= (own_epoch, own_offset)


@dataclass(slots=True)
class Unattached:
    """No leader known in ``epoch``; ``voted_id`` is the candidate voted for in it (-1: none)."""

    epoch: int
    election_deadline: int
    voted_id: int = -1

    leader_id = -1

    def can_grant(self, candidate: int, up_to_date: bool, pre_vote: bool, now: int) -> bool:
        if pre_vote:
            return up_to_date
        if self.voted_id >= 0:
            return self.voted_id == candidate
        return up_to_date


@dataclass(slots=True)
class Prospective:
    """Asking for pre-votes to stand in ``epoch + 1``; ``leader_id`` is the leader it last followed in
    ``epoch`` (kept, as Kafka does, so it can go back to it)."""

    epoch: int
    deadline: int
    voters: tuple[int, ...]
    voted_id: int = -1
    leader_id: int = -1
    granted: set[int] = field(default_factory=set)
    rejected: set[int] = field(default_factory=set)

    def can_grant(self, candidate: int, up_to_date: bool, pre_vote: bool, now: int) -> bool:
        if pre_vote:
            return up_to_date
        if self.voted_id >= 0:
            return self.voted_id == candidate
        return up_to_date and self.leader_id < 0


@dataclass(slots=True)
class Candidate:
    epoch: int
    deadline: int
    voters: tuple[int, ...]
    granted: set[int] = field(default_factory=set)
    rejected: set[int] = field(default_factory=set)
    backing_off: bool = False

    leader_id = -1

    def can_grant(self, candidate: int, up_to_date: bool, pre_vote: bool, now: int) -> bool:
        return up_to_date if pre_vote else False


def majority(voters: tuple[int, ...]) -> int:
    return len(voters) // 2 + 1


@dataclass(slots=True)
class Leader:
    epoch: int
    node_id: int
    voters: tuple[int, ...]
    epoch_start_offset: int
    check_quorum_timeout: int
    now: int
    high_watermark: int = 0
    end_offsets: dict[int, int] = field(default_factory=dict)
    last_fetch: dict[int, int] = field(default_factory=dict)
    # Voters that have not yet acknowledged BeginQuorumEpoch nor fetched in this epoch.
    unacked: set[int] = field(default_factory=set)
    # Fetches held until new data, a new high watermark, or their wait ends: replica -> (request, deadline).
    parked: dict[int, tuple[FetchRequest, int]] = field(default_factory=dict)

    # Every fetcher (voters and observers), for DescribeQuorum: replica -> (fetch offset, last fetch
    # time, last caught-up time, the leader's end offset at that fetch); -1 for a time not seen yet.
    replicas: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for v in self.voters:
            self.end_offsets[v] = 0
            self.last_fetch[v] = self.now
        self.unacked = {v for v in self.voters if v != self.node_id}

    def note_fetch(self, replica: int, fetch_offset: int, leader_end: int, now: int) -> None:
        """Kafka's LeaderState.updateReplicaState: a replica is caught up at a fetch that reaches the
        leader's end offset, or, as of its previous fetch, at one that reaches where the leader's log
        ended at that previous fetch."""
        _, last_fetch, caught_up, prev_end = self.replicas.get(replica, (0, -1, -1, -1))
        if fetch_offset >= leader_end:
            caught_up = now
        elif prev_end >= 0 and fetch_offset >= prev_end:
            caught_up = max(caught_up, last_fetch)
        self.replicas[replica] = (fetch_offset, now, caught_up, leader_end)

    @property
    def leader_id(self) -> int:
        return self.node_id

    def can_grant(self, candidate: int, up_to_date: bool, pre_vote: bool, now: int) -> bool:
        return False

    def update_high_watermark(self) -> bool:
        """Recompute from the voters' end offsets; True when it moved forward."""
        offsets = sorted((self.end_offsets[v] for v in self.voters), reverse=True)
        reached = offsets[majority(self.voters) - 1]
        if reached > self.high_watermark and reached > self.epoch_start_offset:
            self.high_watermark = reached
            return True
        return False

    def quorum_lost(self, now: int) -> bool:
        """Check quorum: fewer than a majority of voters (itself included) fetched within the timeout."""
        alive = sum(
            1 for v in self.voters if v == self.node_id or now - self.last_fetch[v] <= self.check_quorum_timeout
        )
        return alive < majority(self.voters)

    def check_quorum_deadline(self) -> int:
        """The earliest time ``quorum_lost`` could become true (for the node's timer)."""
        others = sorted((self.last_fetch[v] for v in self.voters if v != self.node_id), reverse=True)
        needed = majority(self.voters) - 1
        if needed == 0:
            return 1 << 62
        return others[needed - 1] + self.check_quorum_timeout + 1


@dataclass(slots=True)
class Follower:
    epoch: int
    leader_id: int
    fetch_deadline: int  # no answer from the leader by then: stand for election
    high_watermark: int = 0
    # The last successful fetch from the leader (not the transition: a follower that never reached
    # its leader must not shield it from pre-votes).
    last_leader_contact: int = -(1 << 62)
    fetch_in_flight: bool = False
    fetch_sent_at: int = 0
    fetch_correlation: int = 0
    fetch_timeout: int = 0

    def can_grant(self, candidate: int, up_to_date: bool, pre_vote: bool, now: int) -> bool:
        if pre_vote:
            return up_to_date and now - self.last_leader_contact >= self.fetch_timeout
        return False


@dataclass(slots=True)
class Resigned:
    """A leader that gave up its epoch (check quorum failed, or it is shutting down); it waits for a new
    leader and stands again when its election timeout ends."""

    epoch: int
    node_id: int
    election_deadline: int
    preferred_successors: tuple[int, ...]

    @property
    def leader_id(self) -> int:
        return self.node_id

    def can_grant(self, candidate: int, up_to_date: bool, pre_vote: bool, now: int) -> bool:
        return False


State = Unattached | Prospective | Candidate | Leader | Follower | Resigned


class StoredQuorumState:
    """``QuorumStateStore`` over a store of (epoch, leader id, voted id) triples, such as
    ``kavka.storage.quorum_state.FileQuorumStateStore``."""

    def __init__(self, store: TripleStore) -> None:
        self._store = store

    def read(self) -> QuorumState | None:
        found = self._store.read()
        return None if found is None else QuorumState(*found)

    def write(self, state: QuorumState) -> None:
        self._store.write(state.epoch, state.leader_id, state.voted_id)


class TripleStore(Protocol):
    def read(self) -> tuple[int, int, int] | None: ...

    def write(self, epoch: int, leader_id: int, voted_id: int) -> None: ...
