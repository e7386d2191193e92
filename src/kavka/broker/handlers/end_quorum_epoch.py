"""EndQuorumEpoch (key 54), v0–1, on the controller listener: a KRaft leader that resigns tells the
voters, with its preferred successors (v0 ``preferred_successors``, v1 ``preferred_candidates``).

The core takes the request and answers nothing, so the response is NONE with the request's leader and
epoch (``kavka.raft.wire.response_for``); a request from another cluster or for another partition is
refused first, as on Kafka. Kafka answers an EndQuorumEpoch of an old epoch with FENCED_LEADER_EPOCH;
the core ignores it and Kavka answers NONE (docs/compatibility.md): the resigned leader acts on neither.
"""

from kavka.broker.handlers.vote import raft_answer
from kavka.broker.registry import handles
from kavka.raft import wire


@handles(wire.END_QUORUM_EPOCH, 0, 1)
def handle_end_quorum_epoch(ctx, req):
    return raft_answer(ctx, wire.END_QUORUM_EPOCH, req)
