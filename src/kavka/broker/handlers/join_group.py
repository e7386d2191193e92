"""JoinGroup (key 11), v0–9.

Hands the request to the group coordinator; the answer may come much later (the rebalance waits
for the other members), so the handler returns a future then. v0 has no rebalance timeout (the
session timeout stands for it); v4+ clients are asked for a member id first (MEMBER_ID_REQUIRED,
KIP-394); v5 adds ``group_instance_id`` (static membership); before v7 the protocol name is not
nullable, so an error answer carries "".
"""

from kavka.broker import authz
from kavka.broker.authz import AclOperation, ResourceType
from kavka.broker.group_service import client_host, millis, service_of, shaped
from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


def _fit(version: int, response: dict) -> dict:
    if version < 7 and response.get("protocol_name") is None:
        response = dict(response, protocol_name="")
    response["throttle_time"] = 0
    return response


@handles(ApiKey.JOIN_GROUP, 0, 9)
def handle_join_group(ctx, req):
    version = ctx.version
    if not authz.authorize(ctx, AclOperation.READ, ResourceType.GROUP, req.group_id):
        return _fit(
            version,
            {
                "error_code": ErrorCode.group_authorization_failed,
                "generation_id": -1,
                "protocol_name": "",
                "leader": "",
                "member_id": "",
                "members": [],
            },
        )
    service = service_of(ctx)
    if service is None:
        return _fit(
            version,
            {
                "error_code": ErrorCode.coordinator_not_available,
                "generation_id": -1,
                "leader": "",
                "member_id": req.member_id,
                "members": [],
            },
        )
    session = millis(req.session_timeout)
    rebalance = millis(req.rebalance_timeout) if version >= 1 else session
    result = service.call(
        service.coordinator.join_group,
        group_id=req.group_id,
        member_id=req.member_id,
        protocol_type=req.protocol_type,
        protocols=[(p.name, p.metadata) for p in req.protocols],
        session_timeout_ms=session,
        rebalance_timeout_ms=rebalance,
        group_instance_id=getattr(req, "group_instance_id", None),
        client_id=ctx.header.client_id or "",
        client_host=client_host(ctx),
        api_version=version,
        reason=getattr(req, "reason", None),
    )
    return shaped(result, lambda response: _fit(version, response))
