"""The Raft core under a deterministic simulation (kavka.testing.raft_sim): many seeds of lost,
delayed, duplicated and reordered messages, network splits, crashes and restarts, with Raft's safety
properties checked after every event and liveness once the faults stop.

``KAVKA_RAFT_SEEDS`` sets how many seeds run (default 10,000, in chunks so a failure names its
chunk); ``KAVKA_RAFT_SEED=<n>`` replays one seed. Three companion tests break the node on purpose
(double votes, a leader that commits alone, a follower that never truncates) and show the checker
catches each.
"""

from __future__ import annotations

import os

import pytest

from kavka.raft.node import RaftNode
from kavka.raft.states import Leader, Unattached
from kavka.testing.raft_sim import Simulation, SimulationFailure

SEEDS = int(os.environ.get("KAVKA_RAFT_SEEDS", "10000"))
CHUNK = 1000
REPLAY = os.environ.get("KAVKA_RAFT_SEED")


def simulate(seed: int, **kw) -> None:
    """Seeds cycle through quorum shapes: 3 or 5 voters or one, with and without observers."""
    voters = (3, 5, 3, 1)[seed % 4]
    observers = (0, 0, 2, 1, 1)[seed % 5]
    Simulation(seed, voters=voters, observers=observers, **kw).run()


RANGES = [(int(REPLAY), int(REPLAY) + 1)] if REPLAY else [(a, min(a + CHUNK, SEEDS)) for a in range(0, SEEDS, CHUNK)]


@pytest.mark.parametrize(("first", "end"), RANGES)
def test_seeds(first, end):
    for seed in range(first, end):
        simulate(seed)


# -- the checker can fail ----------------------------------------------------------------------------


class VotesForEveryone(RaftNode):
    """Grants every standard vote: two candidates can win one epoch."""

    def _on_vote(self, sender, req, now):
        if not req.pre_vote and req.candidate_epoch >= self.state.epoch:
            self._saw_epoch(req.candidate_epoch, -1, now)
            from kavka.raft.messages import NONE, VoteResponse

            self.state = Unattached(self.state.epoch, now + self._election_timeout(), req.candidate_id)
            self._send(sender, VoteResponse(NONE, -1, self.state.epoch, True, False))
            return
        super()._on_vote(sender, req, now)


class CommitsAlone(RaftNode):
    """A leader that calls everything it wrote committed, majority or not."""

    def poll(self, now):
        st = self.state
        if isinstance(st, Leader):
            self.log.flush()
            self._commit(self.log.end_offset)
        return super().poll(now)


class NeverTruncates(RaftNode):
    """A follower that ignores the leader's diverging-epoch answer and appends anyway."""

    def _truncation_offset(self, epoch, end):
        return self.log.end_offset


@pytest.mark.parametrize("broken", [VotesForEveryone, CommitsAlone, NeverTruncates])
def test_the_checker_catches_a_broken_node(broken):
    caught = None
    for seed in range(500):
        try:
            Simulation(seed, voters=3, node_factory=broken).run()
        except SimulationFailure as e:
            caught = e
            break
    assert caught is not None, f"{broken.__name__}: 500 seeds and the checker saw nothing"
    assert "replay: KAVKA_RAFT_SEED=" in str(caught)


def test_a_seed_replays_exactly():
    a, b = Simulation(1234, voters=5).run(), Simulation(1234, voters=5).run()
    assert a == b and a.events > 0
