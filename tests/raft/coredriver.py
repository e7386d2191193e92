"""A Raft driver over a real ``RaftNode``, for tests of the KRaft handlers: the interface the handlers
call (``await driver.exchange(sender, message)`` -> the node's answer to that sender, or None), with the
node fed and polled at once. The server's own driver (``kavka.server.raft_driver``) runs the broker's
metadata quorum; this one stands in for it where a test needs a node with chosen payloads in its log
and a record of what reached the core (``received``), which a broker's real quorum does not give.

``CoreDriver.leader(node_id)`` makes a node that has won its one-voter election and committed
``records`` (data entries), so Vote, BeginQuorumEpoch and Fetch get a leader's answers. Only answers
the node gives at once are returned (a Fetch at the log end, which the core parks, gets None).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from kavka.raft.messages import (
    BeginQuorumEpoch,
    BeginQuorumEpochResponse,
    FetchRequest,
    FetchResponse,
    FetchSnapshotRequest,
    FetchSnapshotResponse,
    Message,
    VoteRequest,
    VoteResponse,
)
from kavka.raft.node import RaftConfig, RaftNode
from kavka.raft.replicated_log import MemoryReplicatedLog
from kavka.raft.states import MemoryQuorumStateStore

_ANSWERS = {
    VoteRequest: VoteResponse,
    BeginQuorumEpoch: BeginQuorumEpochResponse,
    FetchRequest: FetchResponse,
    FetchSnapshotRequest: FetchSnapshotResponse,
}


class CoreDriver:
    def __init__(self, node: RaftNode, now_ms: int = 0) -> None:
        self.node = node
        self.now_ms = now_ms
        self.received: list[tuple[int, Message]] = []

    @classmethod
    def leader(cls, node_id: int, records: Sequence[bytes] = ()) -> CoreDriver:
        node = RaftNode(
            node_id, [node_id], MemoryReplicatedLog(), MemoryQuorumStateStore(), RaftConfig(), random.Random(0), 0
        )
        node.tick(10_000)  # past the election timeout: one voter elects itself
        node.poll(10_000)
        assert node.is_leader, node.role
        if records:
            node.propose(list(records))
            node.poll(10_000)
        return cls(node, 10_000)

    async def exchange(self, sender: int, message: Message) -> Message | None:
        self.received.append((sender, message))
        self.node.receive(sender, message, self.now_ms)
        wanted = _ANSWERS.get(type(message))
        for dest, out in self.node.poll(self.now_ms).messages:
            if dest == sender and wanted is not None and isinstance(out, wanted):
                return out
        return None
