"""RaftMetadataQuorum: the committed image and the leader's view over a RaftNode, on one node and on
three nodes whose messages a test router carries (no sockets: the server shell is tested elsewhere)."""

import random
import uuid

import pytest

from kavka.controller.controller import QuorumController
from kavka.controller.topics import CreatableTopic
from kavka.metadata.config import BrokerConfig
from kavka.metadata.image import MetadataApplyError
from kavka.metadata.records import FeatureLevelRecord, PartitionRecord, TopicRecord
from kavka.raft.node import NotLeaderError, RaftConfig, RaftNode
from kavka.raft.quorum import RaftMetadataQuorum
from kavka.raft.replicated_log import MemoryReplicatedLog
from kavka.raft.states import MemoryQuorumStateStore

T = uuid.UUID(int=77)


class Clock:
    def __init__(self) -> None:
        self.now = 0

    def __call__(self) -> int:
        return self.now


def quorum(node_id, voters, clock, log=None, store=None, seed=0):
    node = RaftNode(
        node_id,
        voters,
        log if log is not None else MemoryReplicatedLog(),
        store if store is not None else MemoryQuorumStateStore(),
        RaftConfig(),
        random.Random(seed + node_id),
        clock(),
    )
    return RaftMetadataQuorum(node, "cid", clock)


def test_a_quorum_of_one_leads_at_once_and_commits_inside_append():
    clock = Clock()
    log = MemoryReplicatedLog()
    q = quorum(1, [1], clock, log)
    assert q.is_leader and q.leader_id == 1
    seen = []
    q.add_listener(lambda old, new, recs, first: seen.append((len(recs), first)))
    first = q.controller.append([FeatureLevelRecord("metadata.version", 25)])
    # offset 0 is the epoch's LeaderChangeMessage, so the first metadata record is at 1
    assert first == 1 and q.end_offset == 2 and q.image.metadata_version == 25
    assert seen == [(1, 1)]
    done = []
    q.when_committed(first, done.append)
    assert done == [None]


def test_a_record_that_cannot_apply_never_reaches_the_log():
    clock = Clock()
    log = MemoryReplicatedLog()
    q = quorum(1, [1], clock, log)
    end = log.end_offset
    with pytest.raises(MetadataApplyError):
        q.controller.append([TopicRecord("t", T), PartitionRecord(0, uuid.UUID(int=5), (1,), (1,), 1)])
    assert log.end_offset == end and q.image.topic("t") is None


def test_a_restarted_node_replays_its_log_into_the_same_image():
    clock = Clock()
    log, store = MemoryReplicatedLog(), MemoryQuorumStateStore()
    q = quorum(1, [1], clock, log, store)
    controller = QuorumController(q.controller, BrokerConfig.for_serve({}))
    controller.bootstrap()
    controller.register_broker(1, [])
    [r], _ = controller.create_topics([CreatableTopic("orders", 3, 1)])
    assert r.error_code == 0
    again = quorum(1, [1], clock, log, store)
    assert again.image == q.image and again.image.topic("orders").num_partitions == 3
    assert again.node.epoch == q.node.epoch + 1  # a restarted sole voter stands again, in a new epoch


class Cluster:
    """Three quorums; ``run`` delivers every outbox message and ticks the clock until ``cond`` holds."""

    def __init__(self, n=3):
        self.clock = Clock()
        self.voters = list(range(1, n + 1))
        self.down: set[int] = set()
        self.nodes = {i: quorum(i, self.voters, self.clock, seed=42) for i in self.voters}

    def step(self):
        for i, q in self.nodes.items():
            out, q.outbox = q.outbox, []
            if i in self.down:
                continue
            for dest, msg in out:
                if dest not in self.down:
                    self.nodes[dest].receive(i, msg, self.clock.now)
        self.clock.now += 10
        for i, q in self.nodes.items():
            if i not in self.down:
                q.tick(self.clock.now)

    def run(self, cond, limit_ms=60_000):
        deadline = self.clock.now + limit_ms
        while not cond():
            assert self.clock.now < deadline, "condition not reached in simulated time"
            self.step()

    def leader(self):
        leaders = [q for i, q in self.nodes.items() if q.is_leader and i not in self.down]
        return leaders[0] if len(leaders) == 1 else None


def test_three_nodes_elect_a_leader_whose_records_reach_every_image():
    c = Cluster()
    c.run(lambda: c.leader() is not None)
    leader = c.leader()
    controller = QuorumController(leader.controller, BrokerConfig.for_serve({}))
    controller.bootstrap()
    controller.register_broker(1, [])
    [result], _ = controller.create_topics([CreatableTopic("orders", 2, 1)])
    assert result.error_code == 0
    assert leader.image.topic("orders") is None  # not committed before a majority has it
    waited = []
    leader.when_committed(leader.uncommitted_end - 1, waited.append)
    c.run(lambda: all(q.image.topic("orders") is not None for q in c.nodes.values()))
    assert waited == [None]
    images = [q.image for q in c.nodes.values()]
    assert all(image == images[0] for image in images)


def test_a_new_leader_continues_from_the_same_state_and_the_old_ones_waiters_fail():
    c = Cluster()
    c.run(lambda: c.leader() is not None)
    old = c.leader()
    QuorumController(old.controller, BrokerConfig.for_serve({})).register_broker(1, [])
    QuorumController(old.controller, BrokerConfig.for_serve({})).create_topics([CreatableTopic("a", 1, 1)])
    c.run(lambda: all(q.image.topic("a") is not None for q in c.nodes.values()))
    # cut the leader off with an uncommitted append in flight
    c.down.add(old.node.node_id)
    QuorumController(old.controller, BrokerConfig.for_serve({})).create_topics([CreatableTopic("lost", 1, 1)])
    failed = []
    old.when_committed(old.uncommitted_end - 1, failed.append)
    c.run(lambda: c.leader() is not None and c.leader() is not old)
    new = c.leader()
    assert new.controller.image.topic("a") is not None and new.controller.image.topic("lost") is None
    [r], _ = QuorumController(new.controller, BrokerConfig.for_serve({})).create_topics([CreatableTopic("b", 1, 1)])
    assert r.error_code == 0
    c.down.clear()
    c.run(lambda: all(q.image.topic("b") is not None for q in c.nodes.values()))
    assert len(failed) == 1 and isinstance(failed[0], NotLeaderError)
    assert all(q.image.topic("lost") is None for q in c.nodes.values())
    with pytest.raises(NotLeaderError):
        old.controller.append([FeatureLevelRecord("metadata.version", 25)])
