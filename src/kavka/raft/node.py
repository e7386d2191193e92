"""One voter of a KRaft quorum as a pure state machine (KIP-595 with pre-vote, KIP-996, and check quorum).

The shape is etcd's raft: the caller feeds it ``receive(sender, message, now)`` and ``tick(now)``,
asks the leader to ``propose`` entries, and drains ``poll(now)``, which returns a :class:`Ready`: the
messages to send and the high watermark (everything below it is committed). Time is milliseconds
from any origin, given by the caller; randomness comes from the ``random.Random`` it is given, so a
run is repeatable from a seed. The node does no I/O of its own beyond its two stores: the quorum
state (written before any message that depends on it is queued) and the replicated log (flushed
before the node reports an offset as its own: a follower's fetch offset, a leader's own end offset).

Replication is pull-based, as in KRaft: followers send Fetch with their log end offset and the epoch
of their last entry; the leader checks that pair against its own log and either answers with
entries and its high watermark, or with the diverging epoch and where it ends, and the follower
truncates to that and fetches again (KIP-320's rule, as Kafka's ``truncateToEndOffset``). A fetch
that finds nothing new waits at the leader (up to ``fetch_max_wait``) for new entries or a new high
watermark. A follower that hears nothing from its leader for ``fetch_timeout`` asks for pre-votes;
a leader that hears from less than a majority for 1.5 × ``fetch_timeout`` resigns.

Entries are opaque to the node (``raft.entries`` gives them their meaning); the leader's first entry
in each epoch is Kafka's LeaderChangeMessage control record (``entries.leader_change_entry``), and
nothing is committed in an epoch before it is.

Snapshots (KIP-630): the caller snapshots its state at a committed offset (``take_snapshot``) and may
then drop the log below it; a fetcher that needs what only the snapshot holds is told its id, fetches
it whole with FetchSnapshot, and the caller loads it (``Ready.snapshot``). Observers (a node that is
not among ``voters``: a broker) never vote or stand; they find the leader by fetching from any voter,
follow it, and go back to looking when it stops answering.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from kavka.raft.entries import leader_change_entry
from kavka.raft.messages import (
    FENCED_LEADER_EPOCH,
    NONE,
    NOT_LEADER_OR_FOLLOWER,
    SNAPSHOT_NOT_FOUND,
    UNKNOWN_LEADER_EPOCH,
    BeginQuorumEpoch,
    BeginQuorumEpochResponse,
    EndQuorumEpoch,
    FetchRequest,
    FetchResponse,
    FetchSnapshotRequest,
    FetchSnapshotResponse,
    Message,
    VoteRequest,
    VoteResponse,
)
from kavka.raft.replicated_log import ReplicatedLog, Snapshot
from kavka.raft.states import (
    Candidate,
    Follower,
    Leader,
    Prospective,
    QuorumState,
    QuorumStateStore,
    Resigned,
    State,
    Unattached,
    log_up_to_date,
    majority,
)

__all__ = ["RaftConfig", "Ready", "RaftNode", "NotLeaderError", "RaftInvariantError"]

_NEVER = 1 << 62


class NotLeaderError(Exception):
    """``propose`` on a node that is not the leader (Kafka: NOT_LEADER_OR_FOLLOWER)."""


class RaftInvariantError(Exception):
    """The quorum broke a rule that makes it safe (e.g. a leader asked for truncation below the high
    watermark). Kafka treats these as fatal; so does the node."""


@dataclass(frozen=True, slots=True)
class RaftConfig:
    """Timeouts in ms, named after Kafka's settings (defaults are Kafka's)."""

    election_timeout: int = 1000  # controller.quorum.election.timeout.ms
    fetch_timeout: int = 2000  # controller.quorum.fetch.timeout.ms
    election_backoff_max: int = 1000  # controller.quorum.election.backoff.max.ms
    request_timeout: int = 2000  # controller.quorum.request.timeout.ms
    fetch_max_wait: int = 500  # KafkaRaftClient's FETCH_MAX_WAIT_MS
    max_fetch_entries: int = 64


@dataclass(slots=True)
class Ready:
    """``snapshot`` is set when a snapshot fetched from the leader replaced the log: the caller
    rebuilds its state from it before applying entries from its end offset on."""

    messages: list[tuple[int, Message]]
    high_watermark: int
    snapshot: Snapshot | None = None


class RaftNode:
    def __init__(
        self,
        node_id: int,
        voters: Sequence[int],
        log: ReplicatedLog,
        store: QuorumStateStore,
        config: RaftConfig,
        rng: random.Random,
        now: int,
    ) -> None:
        self.node_id = node_id
        self.voters = tuple(sorted(voters))
        self.log = log
        self.store = store
        self.config = config
        self.rng = rng
        self.is_voter = node_id in self.voters
        self._out: list[tuple[int, Message]] = []
        snapshot = log.snapshot
        self._committed = snapshot[0] if snapshot else 0  # a snapshot holds only committed entries
        self._installed: Snapshot | None = None
        self._begin_resend_at = _NEVER
        saved = store.read() or QuorumState(0)
        self.state: State
        if not self.is_voter:
            self.state = Unattached(saved.epoch, now)
        elif saved.leader_id == node_id:
            # A leader that restarts does not lead again in its old epoch (Kafka: Resigned).
            self.state = Resigned(saved.epoch, node_id, now + self._election_timeout(), ())
        elif saved.leader_id >= 0:
            self.state = self._follower(saved.epoch, saved.leader_id, now)
        else:
            self.state = Unattached(saved.epoch, now + self._election_timeout(), saved.voted_id)
        if self.voters == (node_id,):
            # The only voter needs nobody's vote: it stands and wins at once (Kafka's QuorumState does
            # the same), so a single node serves as soon as it starts.
            self._become_candidate(now)

    # -- what the caller reads --------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        return self.state.epoch

    @property
    def leader_id(self) -> int:
        return self.state.leader_id

    @property
    def is_leader(self) -> bool:
        return isinstance(self.state, Leader)

    @property
    def high_watermark(self) -> int:
        """Everything below is committed; never goes back while the process lives."""
        return self._committed

    @property
    def role(self) -> str:
        return type(self.state).__name__.lower()

    # -- inputs -----------------------------------------------------------------------------------

    def propose(self, payloads: Sequence[bytes]) -> int:
        """Append entries in the leader's epoch; returns the offset of the first."""
        st = self.state
        if not isinstance(st, Leader):
            raise NotLeaderError(f"node {self.node_id} is not the leader (epoch {st.epoch}, leader {st.leader_id})")
        first = self.log.append_as_leader(st.epoch, payloads)
        self._answer_parked(st, None)
        return first

    def take_snapshot(self, end_offset: int, data: bytes) -> None:
        """Record ``data`` as the state after every entry below ``end_offset`` (committed only)."""
        if end_offset > self._committed:
            raise ValueError(f"snapshot at {end_offset} past the high watermark {self._committed}")
        self.log.take_snapshot(end_offset, data)

    def resign(self, now: int) -> None:
        """Give up leadership (a controlled shutdown); a no-op on a non-leader."""
        if isinstance(self.state, Leader):
            self._resign(self.state, now)

    def tick(self, now: int) -> None:
        st = self.state
        if isinstance(st, Unattached):
            if now >= st.election_deadline:
                self._become_prospective(now)
        elif isinstance(st, Prospective):
            if now >= st.deadline:
                self._prospective_lost(st, now)
        elif isinstance(st, Candidate):
            if now >= st.deadline:
                self._become_prospective(now)
        elif isinstance(st, Leader):
            if st.quorum_lost(now):
                self._resign(st, now)
                return
            for replica, (req, deadline) in list(st.parked.items()):
                if now >= deadline:
                    del st.parked[replica]
                    self._send(replica, self._fetch_answer(st, req))
            if now >= self._begin_resend_at:
                # Again to every voter not heard from lately (Kafka resends every fetch_timeout / 2): a
                # voter stuck in a newer epoch it cannot win answers FENCED_LEADER_EPOCH, and this
                # leader then steps into that epoch so that a new election can include it.
                quiet = self.config.fetch_timeout // 2
                for v in self.voters:
                    if v in st.unacked or (v != self.node_id and now - st.last_fetch[v] > quiet):
                        self._send(v, BeginQuorumEpoch(self.node_id, st.epoch))
                self._begin_resend_at = now + quiet
        elif isinstance(st, Follower):
            if now >= st.fetch_deadline:
                self._become_prospective(now)  # an observer goes back to looking for the leader
                return
            if st.fetch_in_flight and now - st.fetch_sent_at >= self.config.request_timeout:
                st.fetch_in_flight = False
            if not st.fetch_in_flight:
                self._send_fetch(st, now)
        elif isinstance(st, Resigned):
            if now >= st.election_deadline:
                self._become_prospective(now)

    def next_deadline(self) -> int:
        """The next time ``tick`` has something to do (for a caller that sleeps between events)."""
        st = self.state
        if isinstance(st, Unattached | Resigned):
            return st.election_deadline
        if isinstance(st, Prospective | Candidate):
            return st.deadline
        if isinstance(st, Leader):
            parked = min((d for _, d in st.parked.values()), default=_NEVER)
            return min(parked, self._begin_resend_at, st.check_quorum_deadline())
        if st.fetch_in_flight:
            return min(st.fetch_deadline, st.fetch_sent_at + self.config.request_timeout)
        return 0  # a fetch to send now

    def poll(self, now: int) -> Ready:
        """Flush the leader's new entries, move the high watermark, and hand out the messages."""
        st = self.state
        if isinstance(st, Leader):
            if self.log.flushed_end_offset < self.log.end_offset:
                self.log.flush()
            st.end_offsets[self.node_id] = self.log.flushed_end_offset
            if st.update_high_watermark():
                self._commit(st.high_watermark)
                self._answer_parked(st, None)
        out, self._out = self._out, []
        installed, self._installed = self._installed, None
        return Ready(out, self._committed, installed)

    def receive(self, sender: int, msg: Message, now: int) -> None:
        if isinstance(msg, FetchRequest):
            self._on_fetch(sender, msg, now)
        elif isinstance(msg, FetchResponse):
            self._on_fetch_response(sender, msg, now)
        elif isinstance(msg, VoteRequest):
            self._on_vote(sender, msg, now)
        elif isinstance(msg, VoteResponse):
            self._on_vote_response(sender, msg, now)
        elif isinstance(msg, BeginQuorumEpoch):
            self._on_begin_epoch(sender, msg, now)
        elif isinstance(msg, BeginQuorumEpochResponse):
            if not self._saw_epoch(msg.leader_epoch, msg.leader_id, now):
                st = self.state
                if isinstance(st, Leader) and msg.leader_epoch == st.epoch:
                    st.unacked.discard(sender)
        elif isinstance(msg, EndQuorumEpoch):
            self._on_end_epoch(msg, now)
        elif isinstance(msg, FetchSnapshotRequest):
            self._on_fetch_snapshot(sender, msg)
        elif isinstance(msg, FetchSnapshotResponse):
            self._on_fetch_snapshot_response(sender, msg, now)

    # -- elections --------------------------------------------------------------------------------

    def _election_timeout(self) -> int:
        t = self.config.election_timeout
        return t + self.rng.randrange(t)

    def _backoff(self) -> int:
        return 1 + self.rng.randrange(self.config.election_backoff_max)

    def _persist(self, epoch: int, leader_id: int = -1, voted_id: int = -1) -> None:
        self.store.write(QuorumState(epoch, leader_id, voted_id))

    def _become_prospective(self, now: int) -> None:
        st = self.state
        if not self.is_voter:
            self._discover(now)
            return
        voted = st.voted_id if isinstance(st, Unattached | Prospective) else -1
        leader = st.leader_id if isinstance(st, Follower | Prospective) else -1
        p = Prospective(st.epoch, now + self._election_timeout(), self.voters, voted, leader)
        p.granted.add(self.node_id)
        self.state = p
        if len(p.granted) >= majority(self.voters):
            self._become_candidate(now)
            return
        req = VoteRequest(self.node_id, st.epoch + 1, self.log.last_epoch, self.log.end_offset, pre_vote=True)
        for v in self.voters:
            if v != self.node_id:
                self._send(v, req)

    def _discover(self, now: int) -> None:
        """An observer without a leader asks a voter, picked at random; any answer names the leader
        (a non-leader answers NOT_LEADER_OR_FOLLOWER with the leader it knows)."""
        epoch = self.state.epoch
        self.state = Unattached(epoch, now + self.config.request_timeout)
        voter = self.rng.choice(self.voters)
        self._send(voter, FetchRequest(self.node_id, epoch, self.log.end_offset, self.log.last_epoch, -1))

    def _prospective_lost(self, st: Prospective, now: int) -> None:
        """No majority of pre-votes: back to the leader it knew, if any (it may be reachable again),
        else wait a randomised election timeout (Kafka's prospectiveTransitionAfterElectionLoss)."""
        if st.leader_id >= 0:
            self._become_follower(st.epoch, st.leader_id, now)
        else:
            self.state = Unattached(st.epoch, now + self._election_timeout(), st.voted_id)

    def _become_candidate(self, now: int) -> None:
        epoch = self.state.epoch + 1
        self._persist(epoch, voted_id=self.node_id)
        c = Candidate(epoch, now + self._election_timeout(), self.voters)
        c.granted.add(self.node_id)
        self.state = c
        if len(c.granted) >= majority(self.voters):
            self._become_leader(now)
            return
        req = VoteRequest(self.node_id, epoch, self.log.last_epoch, self.log.end_offset, pre_vote=False)
        for v in self.voters:
            if v != self.node_id:
                self._send(v, req)

    def _become_leader(self, now: int) -> None:
        epoch = self.state.epoch
        granting = self.state.granted if isinstance(self.state, Candidate) else {self.node_id}
        self._persist(epoch, leader_id=self.node_id, voted_id=self.node_id)
        start = self.log.end_offset
        leader = Leader(epoch, self.node_id, self.voters, start, self.config.fetch_timeout * 3 // 2, now)
        self.state = leader
        self.log.append_as_leader(epoch, [leader_change_entry(self.node_id, self.voters, granting)])
        for v in sorted(leader.unacked):
            self._send(v, BeginQuorumEpoch(self.node_id, epoch))
        self._begin_resend_at = now + self.config.fetch_timeout // 2

    def _follower(self, epoch: int, leader_id: int, now: int) -> Follower:
        return Follower(
            epoch,
            leader_id,
            fetch_deadline=now + self.config.fetch_timeout,
            fetch_timeout=self.config.fetch_timeout,
        )

    def _become_follower(self, epoch: int, leader_id: int, now: int) -> None:
        voted = (
            self.state.voted_id
            if epoch == self.state.epoch and isinstance(self.state, Unattached | Prospective)
            else -1
        )
        self._persist(epoch, leader_id=leader_id, voted_id=voted)
        self.state = self._follower(epoch, leader_id, now)

    def _become_unattached(self, epoch: int, now: int) -> None:
        self._persist(epoch)
        self.state = Unattached(epoch, now + self._election_timeout())

    def _saw_epoch(self, epoch: int, leader_id: int, now: int) -> bool:
        """A message from a newer epoch moves this node into it (following its leader when known);
        True when that happened."""
        if epoch <= self.state.epoch:
            return False
        if leader_id >= 0 and leader_id != self.node_id:
            self._become_follower(epoch, leader_id, now)
        else:
            self._become_unattached(epoch, now)
        return True

    def _resign(self, st: Leader, now: int) -> None:
        successors = tuple(sorted((v for v in self.voters if v != self.node_id), key=lambda v: (-st.end_offsets[v], v)))
        self.state = Resigned(st.epoch, self.node_id, now + self._election_timeout(), successors)
        self._begin_resend_at = _NEVER
        for v in successors:
            self._send(v, EndQuorumEpoch(self.node_id, st.epoch, successors))

    def _on_vote(self, sender: int, req: VoteRequest, now: int) -> None:
        if sender not in self.voters or not self.is_voter:
            return
        if req.candidate_epoch < self.state.epoch:
            self._send(
                sender, VoteResponse(FENCED_LEADER_EPOCH, self.state.leader_id, self.state.epoch, False, req.pre_vote)
            )
            return
        if not req.pre_vote:
            self._saw_epoch(req.candidate_epoch, -1, now)
        st = self.state
        up = log_up_to_date(req.last_offset_epoch, req.last_offset, self.log.last_epoch, self.log.end_offset)
        granted = st.can_grant(req.candidate_id, up, req.pre_vote, now)
        if granted and not req.pre_vote:
            self._persist(st.epoch, voted_id=req.candidate_id)
            self.state = Unattached(st.epoch, now + self._election_timeout(), req.candidate_id)
        self._send(sender, VoteResponse(NONE, self.state.leader_id, self.state.epoch, granted, req.pre_vote))

    def _on_vote_response(self, sender: int, resp: VoteResponse, now: int) -> None:
        if self._saw_epoch(resp.leader_epoch, resp.leader_id, now):
            return
        st = self.state
        if isinstance(st, Prospective) and resp.pre_vote:
            if resp.vote_granted:
                st.granted.add(sender)
                if len(st.granted) >= majority(self.voters):
                    self._become_candidate(now)
                return
            st.rejected.add(sender)
            if (
                st.leader_id < 0
                and resp.leader_id >= 0
                and resp.leader_epoch == st.epoch
                and resp.leader_id != self.node_id
            ):
                # Someone follows a leader of this epoch that this node never found: follow it too
                # rather than disturb it (a node that already lost touch with it keeps standing).
                self._become_follower(st.epoch, resp.leader_id, now)
            elif len(st.rejected) >= majority(self.voters):
                self._prospective_lost(st, now)
        elif isinstance(st, Candidate) and not resp.pre_vote and resp.leader_epoch == st.epoch:
            if resp.vote_granted:
                st.granted.add(sender)
                if len(st.granted) >= majority(self.voters):
                    self._become_leader(now)
            else:
                st.rejected.add(sender)
                if len(st.rejected) >= majority(self.voters) and not st.backing_off:
                    st.backing_off = True
                    st.deadline = now + self._backoff()

    def _on_begin_epoch(self, sender: int, msg: BeginQuorumEpoch, now: int) -> None:
        st = self.state
        if msg.leader_epoch < st.epoch:
            self._send(sender, BeginQuorumEpochResponse(FENCED_LEADER_EPOCH, st.leader_id, st.epoch))
            return
        if msg.leader_epoch > st.epoch or not isinstance(st, Follower | Leader):
            self._become_follower(msg.leader_epoch, msg.leader_id, now)
        self._send(sender, BeginQuorumEpochResponse(NONE, msg.leader_id, msg.leader_epoch))

    def _on_end_epoch(self, msg: EndQuorumEpoch, now: int) -> None:
        st = self.state
        if msg.leader_epoch < st.epoch:
            return
        if msg.leader_epoch > st.epoch:
            self._become_unattached(msg.leader_epoch, now)
            st = self.state
        if isinstance(st, Follower) and st.leader_id == msg.leader_id:
            # The leader is gone: stand soon, the most caught-up successors first (Kafka's backoff).
            position = (
                msg.preferred_successors.index(self.node_id)
                if self.node_id in msg.preferred_successors
                else len(self.voters)
            )
            st.last_leader_contact = -_NEVER
            st.fetch_deadline = (
                now + position * self.config.election_backoff_max // max(1, len(self.voters)) + self._backoff() // 4
            )
        elif isinstance(st, Unattached):
            st.election_deadline = min(st.election_deadline, now + self._backoff())

    # -- replication ------------------------------------------------------------------------------

    def _send_fetch(self, st: Follower, now: int) -> None:
        st.fetch_in_flight = True
        st.fetch_sent_at = now
        st.fetch_correlation += 1
        self._send(
            st.leader_id,
            FetchRequest(
                self.node_id, st.epoch, self.log.end_offset, self.log.last_epoch, st.fetch_correlation, self._committed
            ),
        )

    def _on_fetch(self, sender: int, req: FetchRequest, now: int) -> None:
        st = self.state
        if not isinstance(st, Leader) or req.epoch != st.epoch:
            if req.epoch < st.epoch:
                error = FENCED_LEADER_EPOCH
            elif req.epoch > st.epoch:
                error = UNKNOWN_LEADER_EPOCH
            else:
                error = NOT_LEADER_OR_FOLLOWER
            self._send(
                sender, FetchResponse(error, st.leader_id, st.epoch, -1, (), req.fetch_offset, None, req.correlation_id)
            )
            return
        start = self.log.start_offset
        snap = self.log.snapshot
        at_snapshot = snap is not None and req.fetch_offset == start and req.last_fetched_epoch == snap[1]
        if req.fetch_offset < start:
            self._send_snapshot_id(sender, st, req)
            return
        if not at_snapshot and (req.fetch_offset > 0 or req.last_fetched_epoch > 0):
            epoch, end = self.log.end_offset_for_epoch(req.last_fetched_epoch)
            if (epoch != req.last_fetched_epoch or req.fetch_offset > end) and end < start:
                self._send_snapshot_id(sender, st, req)
                return
            if epoch != req.last_fetched_epoch or req.fetch_offset > end:
                self._send(
                    sender,
                    FetchResponse(
                        NONE,
                        self.node_id,
                        st.epoch,
                        self._leader_hw(st),
                        (),
                        req.fetch_offset,
                        (epoch, end),
                        req.correlation_id,
                    ),
                )
                return
        st.note_fetch(sender, req.fetch_offset, self.log.end_offset, now)
        moved = False
        if sender in st.end_offsets:
            st.end_offsets[sender] = req.fetch_offset
            st.last_fetch[sender] = now
            st.unacked.discard(sender)
            moved = st.update_high_watermark()
        if moved:
            self._commit(st.high_watermark)
            self._answer_parked(st, sender)
        stale_hw = 0 <= req.high_watermark < self._leader_hw(st)
        if not moved and req.fetch_offset >= self.log.end_offset and not stale_hw:
            st.parked[sender] = (req, now + self.config.fetch_max_wait)
            return
        self._send(sender, self._fetch_answer(st, req))

    def _send_snapshot_id(self, sender: int, st: Leader, req: FetchRequest) -> None:
        snap = self.log.snapshot
        assert snap is not None, "a log that starts past 0 has a snapshot"
        resp = FetchResponse(
            NONE,
            self.node_id,
            st.epoch,
            self._leader_hw(st),
            (),
            req.fetch_offset,
            None,
            req.correlation_id,
            (snap[0], snap[1]),
        )
        self._send(sender, resp)

    def _on_fetch_snapshot(self, sender: int, req: FetchSnapshotRequest) -> None:
        st = self.state
        snap = self.log.snapshot
        if not isinstance(st, Leader) or req.epoch != st.epoch:
            error = FENCED_LEADER_EPOCH if req.epoch < st.epoch else NOT_LEADER_OR_FOLLOWER
            self._send(sender, FetchSnapshotResponse(error, st.leader_id, st.epoch, None, req.correlation_id))
        elif snap is None or (snap[0], snap[1]) != req.snapshot_id:
            self._send(
                sender, FetchSnapshotResponse(SNAPSHOT_NOT_FOUND, self.node_id, st.epoch, None, req.correlation_id)
            )
        else:
            self._send(sender, FetchSnapshotResponse(NONE, self.node_id, st.epoch, snap, req.correlation_id))

    def _on_fetch_snapshot_response(self, sender: int, resp: FetchSnapshotResponse, now: int) -> None:
        if self._saw_epoch(resp.leader_epoch, resp.leader_id, now):
            return
        st = self.state
        if not isinstance(st, Follower) or sender != st.leader_id or resp.leader_epoch != st.epoch:
            return
        if resp.correlation_id != st.fetch_correlation:
            return
        st.fetch_in_flight = False
        if resp.error == NONE and resp.snapshot is not None:
            end = resp.snapshot[0]
            if end < self._committed:
                raise RaftInvariantError(
                    f"node {self.node_id}: snapshot at {end} from leader {sender} is behind the high watermark {self._committed}"
                )
            if end > self.log.end_offset or self.log.start_offset < end:
                self.log.install_snapshot(resp.snapshot)
                self._installed = resp.snapshot
                self._commit(end)
                st.high_watermark = max(st.high_watermark, end)
        self._send_fetch(st, now)

    def _leader_hw(self, st: Leader) -> int:
        return st.high_watermark if st.high_watermark > st.epoch_start_offset else -1

    def _fetch_answer(self, st: Leader, req: FetchRequest) -> FetchResponse:
        entries = self.log.read(req.fetch_offset, self.config.max_fetch_entries)
        return FetchResponse(
            NONE, self.node_id, st.epoch, self._leader_hw(st), entries, req.fetch_offset, None, req.correlation_id
        )

    def _answer_parked(self, st: Leader, skip: int | None) -> None:
        for replica in sorted(st.parked):
            if replica == skip:
                continue
            req, _ = st.parked.pop(replica)
            self._send(replica, self._fetch_answer(st, req))

    def _on_fetch_response(self, sender: int, resp: FetchResponse, now: int) -> None:
        if self._saw_epoch(resp.leader_epoch, resp.leader_id, now):
            return
        st = self.state
        if isinstance(st, Unattached) and resp.leader_epoch == st.epoch and 0 <= resp.leader_id != self.node_id:
            # A leader of this epoch exists (an observer's discovery, or a voter that missed BeginQuorumEpoch).
            self._become_follower(st.epoch, resp.leader_id, now)
            return
        if not isinstance(st, Follower) or sender != st.leader_id or resp.leader_epoch != st.epoch:
            return
        if resp.correlation_id != st.fetch_correlation or resp.fetch_offset != self.log.end_offset:
            return  # an answer to an older fetch (timed out, or duplicated by the network)
        st.fetch_in_flight = False
        if resp.error != NONE:
            return
        st.last_leader_contact = now
        st.fetch_deadline = now + self.config.fetch_timeout
        if resp.snapshot_id is not None:
            st.fetch_in_flight = True
            st.fetch_sent_at = now
            st.fetch_correlation += 1
            self._send(
                st.leader_id, FetchSnapshotRequest(self.node_id, st.epoch, resp.snapshot_id, st.fetch_correlation)
            )
            return
        if resp.diverging is not None:
            epoch, end = resp.diverging
            if end < self._committed:
                raise RaftInvariantError(
                    f"node {self.node_id}: leader {sender} (epoch {st.epoch}) asked for truncation to {end}, below the high watermark {self._committed}"
                )
            self.log.truncate_to(self._truncation_offset(epoch, end))
        else:
            if resp.entries:
                self.log.append_as_follower(resp.entries)
                self.log.flush()
            if resp.high_watermark >= 0:
                st.high_watermark = max(st.high_watermark, min(resp.high_watermark, self.log.end_offset))
                self._commit(st.high_watermark)
        self._send_fetch(st, now)

    def _truncation_offset(self, epoch: int, end: int) -> int:
        """Where a follower cuts its log when the leader says its log diverges after (epoch, end)."""
        if epoch == 0:
            return min(end, self.log.end_offset)
        local_epoch, local_end = self.log.end_offset_for_epoch(epoch)
        return min(local_end, end) if local_epoch == epoch else local_end

    def _commit(self, offset: int) -> None:
        if offset > self._committed:
            self._committed = offset

    def _send(self, dest: int, msg: Message) -> None:
        self._out.append((dest, msg))
