"""Vote (key 52), v0–2, on the controller listener: a KRaft (pre-)vote for ``__cluster_metadata-0``.

The request becomes the Raft core's ``VoteRequest`` (``kavka.raft.wire``), the node's Raft driver
feeds it to the core and resolves with the core's answer to the candidate, which goes back as the
response. Refused before the core sees it, as Kafka refuses it: another cluster's id
(INCONSISTENT_CLUSTER_ID at the top level), another partition (INVALID_REQUEST at the top level), an
impossible epoch or offset (INVALID_REQUEST), a ``voter_id`` naming another node (INVALID_VOTER_KEY).

:func:`raft_answer` is the path every KRaft API of the controller listener shares (BeginQuorumEpoch,
EndQuorumEpoch, FetchSnapshot, and Fetch there). The driver is ``ctx.broker.raft_driver``:
``await driver.exchange(sender_id, message)`` gives the core's answer to that sender, or None for a
message with none. A node without one (no quorum here) has no KRaft API to offer: the connection is
closed, as Kafka closes a connection that sends an API its listener does not serve.
"""

from __future__ import annotations

from typing import Any

from kavka.broker.dispatch import CloseConnection
from kavka.broker.registry import handles
from kavka.raft import wire


def raft_answer(ctx, api_key: int, req: Any):
    """The response (a body dict, or an awaitable of one) to a KRaft request on this node."""
    driver = getattr(ctx.broker, "raft_driver", None)
    if driver is None:
        raise CloseConnection(f"api key {api_key}: this node has no KRaft quorum")
    broker = ctx.broker
    decoded = wire.decode_request(api_key, ctx.version, req, broker.cluster_id, local_id=broker.node_id)
    if isinstance(decoded, wire.RequestError):
        return wire.error_response(api_key, ctx.version, decoded)
    sender, message = decoded
    return _exchange(ctx, driver, api_key, req, sender, message)


async def _exchange(ctx, driver, api_key: int, req: Any, sender: int, message) -> dict:
    answer = await driver.exchange(sender, message)
    broker = ctx.broker
    return wire.response_for(
        api_key,
        ctx.version,
        answer,
        broker.cluster_id,
        request=req,
        timestamp_ms=broker.clock_ms(),
        leader_endpoint=_own_controller_endpoint(broker),
    )


def _own_controller_endpoint(broker) -> tuple[int, str, int] | None:
    """(node id, host, port) of this node's first bound controller listener, if any: Kafka's answers
    name the leader's endpoint, and this node knows its own."""
    names = set(broker.config.controller_listener_names)
    for name, host, port in broker.bound_listeners():
        if name.upper() in names:
            return broker.node_id, host, port
    return None


@handles(wire.VOTE, 0, 2)
def handle_vote(ctx, req):
    return raft_answer(ctx, wire.VOTE, req)
