"""BeginQuorumEpoch (key 53), v0–1, on the controller listener: a new KRaft leader announces its epoch.

The request becomes the Raft core's ``BeginQuorumEpoch`` and the core's ``BeginQuorumEpochResponse``
is the answer (error, the leader and epoch this node now knows), through the node's Raft driver
(``kavka.broker.handlers.vote.raft_answer``). A request from another cluster, for another partition,
with no leader, or naming another voter is refused first, as on Kafka.
"""

from kavka.broker.handlers.vote import raft_answer
from kavka.broker.registry import handles
from kavka.raft import wire


@handles(wire.BEGIN_QUORUM_EPOCH, 0, 1)
def handle_begin_quorum_epoch(ctx, req):
    return raft_answer(ctx, wire.BEGIN_QUORUM_EPOCH, req)
