"""ConsumerGroupHeartbeat (key 68), v0–1: the KIP-848 consumer group protocol.

One request does it all: join (member epoch 0, with the subscription and an empty owned list), stay
(the member's epoch, owned partitions when they changed), leave (-1) or, for a static member, leave
for a while (-2). The coordinator answers with the member's epoch, the heartbeat interval and, when
it changed (or on a full request), the partitions the member may own now. v0 lets the coordinator
make the member id when the client sends none; v1 requires the client to make it (KIP-1082).
Fields left null mean "unchanged since the last heartbeat". A member that sends none for
``group.consumer.session.timeout.ms`` is fenced and its partitions go to the others; the interval it
is told to heartbeat at is ``group.consumer.heartbeat.interval.ms`` (both within their
``group.consumer.min/max.*`` bounds, checked at startup).
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import client_host, millis, service_of, shaped
from kavka.broker.registry import handles
from kavka.controller.features import consumer_protocol_enabled
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.CONSUMER_GROUP_HEARTBEAT, 0, 1)
def handle_consumer_group_heartbeat(ctx, req):
    if not consumer_protocol_enabled(ctx.broker.image):  # group.version 0 (UpdateFeatures), as in Kafka
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.unsupported_version,
            "member_epoch": 0,
            "heartbeat_interval": 0,
        }
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.group_authorization_failed,
            "member_epoch": 0,
            "heartbeat_interval": 0,
        }
    service = service_of(ctx)
    if service is None:
        return {
            "throttle_time": 0,
            "error_code": ErrorCode.coordinator_not_available,
            "member_epoch": 0,
            "heartbeat_interval": 0,
        }
    owned = None if req.topic_partitions is None else [(tp.topic_id, tp.partitions) for tp in req.topic_partitions]
    result = service.call(
        service.coordinator.consumer_group_heartbeat,
        group_id=req.group_id,
        member_id=req.member_id,
        member_epoch=req.member_epoch,
        instance_id=req.instance_id,
        rack_id=req.rack_id,
        rebalance_timeout_ms=millis(req.rebalance_timeout),
        subscribed_topic_names=req.subscribed_topic_names,
        subscribed_topic_regex=getattr(req, "subscribed_topic_regex", None),  # v1+
        server_assignor=req.server_assignor,
        topic_partitions=owned,
        client_id=ctx.header.client_id or "",
        client_host=client_host(ctx),
        api_version=ctx.version,
    )
    return shaped(result, lambda response: dict(response, throttle_time=0))
