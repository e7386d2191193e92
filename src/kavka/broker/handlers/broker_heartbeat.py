"""BrokerHeartbeat (key 63), v0–2: a registered broker's heartbeat to the active controller (KIP-631).

The controller (``kavka.controller.brokers``) answers whether the broker has caught up with the
metadata log (its offset has reached its registration record), whether it is fenced, and whether it
should shut down; fencing changes and entering controlled shutdown are records, and the answer waits
until they are committed. An unknown broker or an old epoch -> STALE_BROKER_EPOCH (answered, like
Kafka, with the response's defaults: fenced, not caught up). Not the active controller ->
NOT_CONTROLLER. v1 adds offline log dirs, v2 cordoned ones (KIP-1066); Kavka reads neither.
"""

import logging

from kavka.broker.registry import handles
from kavka.controller.brokers import BrokerControlError, BrokerHeartbeatRequest
from kavka.controller.errors import NotControllerError
from kavka.protocol.api import ApiKey, ErrorCode

log = logging.getLogger(__name__)


def _error(code):
    return {"throttle_time": 0, "error_code": code, "is_caught_up": False, "is_fenced": True, "should_shut_down": False}


@handles(ApiKey.BROKER_HEARTBEAT, 0, 2)
async def handle_broker_heartbeat(ctx, req):
    controller = ctx.broker.controller
    if controller is None:
        return _error(ErrorCode.not_controller)
    request = BrokerHeartbeatRequest(
        broker_id=int(req.broker_id),
        broker_epoch=int(req.broker_epoch),
        current_metadata_offset=int(req.current_metadata_offset),
        want_fence=bool(req.want_fence),
        want_shut_down=bool(req.want_shut_down),
    )
    try:
        reply, _ = controller.broker_heartbeat(request)
    except BrokerControlError as e:
        log.debug("BrokerHeartbeat of broker %d refused: %s", request.broker_id, e.message)
        return _error(e.code)
    answer = {
        "throttle_time": 0,
        "error_code": ErrorCode.none,
        "is_caught_up": reply.is_caught_up,
        "is_fenced": reply.is_fenced,
        "should_shut_down": reply.should_shut_down,
    }
    try:
        return await ctx.broker.committed(answer)
    except NotControllerError:
        return _error(ErrorCode.not_controller)
