"""FetchSnapshot (key 59), v0–1, on the controller listener: a follower or observer fetches the leader's
metadata snapshot (KIP-630).

The core answers with the whole snapshot; the response carries the bytes from the request's
``position``, at most ``max_bytes`` of them, with the snapshot's full ``size``, as Kafka slices it
(POSITION_OUT_OF_RANGE for a position outside it). SNAPSHOT_NOT_FOUND, FENCED_LEADER_EPOCH and
NOT_LEADER_OR_FOLLOWER come from the core; another cluster's id is refused first
(INCONSISTENT_CLUSTER_ID), another partition gets UNKNOWN_TOPIC_OR_PARTITION.
"""

from kavka.broker.handlers.vote import raft_answer
from kavka.broker.registry import handles
from kavka.raft import wire


@handles(wire.FETCH_SNAPSHOT, 0, 1)
def handle_fetch_snapshot(ctx, req):
    return raft_answer(ctx, wire.FETCH_SNAPSHOT, req)
