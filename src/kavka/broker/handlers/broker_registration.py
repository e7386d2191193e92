"""BrokerRegistration (key 62), v0–4: a broker joins the cluster (KIP-631), served by the active
controller (on Kafka, on the CONTROLLER listener only; Kavka registers it with every handler until the
per-listener API sets land).

The rules are ``kavka.controller.brokers``: INCONSISTENT_CLUSTER_ID, DUPLICATE_BROKER_REGISTRATION,
INVALID_REGISTRATION, UNSUPPORTED_VERSION (features), as Kafka 4.4 answers them; a new registration is
fenced, with broker epoch = the offset of its RegisterBrokerRecord. The answer waits until the record is
committed (``Broker.committed``). Not the active controller -> NOT_CONTROLLER. The response has no
message field, so Kafka's message goes to the log. v0 has no log dirs; v4 adds the previous broker epoch
(for ELR's clean-shutdown detection; Kavka has no ELR and ignores it).
"""

import logging

from kavka.broker.registry import handles
from kavka.controller.brokers import BrokerControlError, BrokerRegistrationRequest
from kavka.controller.errors import NotControllerError
from kavka.metadata.records import BrokerEndpoint, BrokerFeature
from kavka.protocol.api import ApiKey, ErrorCode

log = logging.getLogger(__name__)


def _answer(error_code, broker_epoch=-1):
    return {"throttle_time": 0, "error_code": error_code, "broker_epoch": broker_epoch}


@handles(ApiKey.BROKER_REGISTRATION, 0, 4)
async def handle_broker_registration(ctx, req):
    controller = ctx.broker.controller
    if controller is None:
        return _answer(ErrorCode.not_controller)
    request = BrokerRegistrationRequest(
        broker_id=int(req.broker_id),
        cluster_id=req.cluster_id,
        incarnation_id=req.incarnation_id,
        listeners=tuple(
            BrokerEndpoint(lst.name, lst.host, int(lst.port), int(lst.security_protocol)) for lst in req.listeners
        ),
        features=tuple(
            BrokerFeature(f.name, int(f.min_supported_version), int(f.max_supported_version)) for f in req.features
        ),
        rack=req.rack,
        log_dirs=tuple(getattr(req, "log_dirs", ())),
        is_migrating_zk_broker=bool(getattr(req, "is_migrating_zk_broker", False)),
        previous_broker_epoch=int(getattr(req, "previous_broker_epoch", -1)),
    )
    try:
        epoch, _ = controller.broker_registration(request)
    except BrokerControlError as e:
        log.info("BrokerRegistration of broker %d refused: %s", request.broker_id, e.message)
        return _answer(e.code)
    try:
        return await ctx.broker.committed(_answer(ErrorCode.none, epoch))
    except NotControllerError:
        return _answer(ErrorCode.not_controller)
