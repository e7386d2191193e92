"""AllocateProducerIds (key 67), v0: a broker reserves the next block of producer ids (KIP-730) from the
active controller, so producer ids are unique across the cluster.

Each request gets its own block of 1000 (a ``ProducerIdsRecord`` holding the block's end), answered
once committed. The broker epoch must be the broker's current one, else STALE_BROKER_EPOCH with an
empty block (start 0, length 0), as Kafka answers. Not the active controller -> NOT_CONTROLLER.
"""

import logging

from kavka.broker.registry import handles
from kavka.controller.brokers import BrokerControlError
from kavka.controller.errors import NotControllerError
from kavka.protocol.api import ApiKey, ErrorCode

log = logging.getLogger(__name__)


def _error(code):
    return {"throttle_time": 0, "error_code": code, "producer_id_start": 0, "producer_id_len": 0}


@handles(ApiKey.ALLOCATE_PRODUCER_IDS, 0, 0)
async def handle_allocate_producer_ids(ctx, req):
    controller = ctx.broker.controller
    if controller is None:
        return _error(ErrorCode.not_controller)
    try:
        first, size, _ = controller.allocate_producer_ids(int(req.broker_id), int(req.broker_epoch))
    except BrokerControlError as e:
        log.info("AllocateProducerIds of broker %d refused: %s", int(req.broker_id), e.message)
        return _error(e.code)
    answer = {"throttle_time": 0, "error_code": ErrorCode.none, "producer_id_start": first, "producer_id_len": size}
    try:
        return await ctx.broker.committed(answer)
    except NotControllerError:
        return _error(ErrorCode.not_controller)
