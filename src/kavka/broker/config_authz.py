"""ALTER_CONFIGS checks of AlterConfigs and IncrementalAlterConfigs (Kafka's ``authorizeAlterResource``).

Broker and broker-logger resources need ALTER_CONFIGS on the cluster (CLUSTER_AUTHORIZATION_FAILED),
topics on the topic (TOPIC_AUTHORIZATION_FAILED), groups on the group (GROUP_AUTHORIZATION_FAILED); a
refused resource is answered with that code and no message, the others go on to be altered.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kavka.broker import authz
from kavka.metadata.records import ConfigResourceType
from kavka.protocol.api import ErrorCode
from kavka.security.authorizer import AclOperation, ResourceType

__all__ = ["refused_alters", "split_alters"]


# Kafka's Errors messages (ApiError with no message of its own) for the resources its controller refuses;
# a broker resource is refused by the broker, with no message
_MESSAGES = {
    ErrorCode.cluster_authorization_failed: None,
    ErrorCode.topic_authorization_failed: "Topic authorization failed.",
    ErrorCode.group_authorization_failed: "Group authorization failed.",
}


def _code(ctx: Any, resource_type: int, name: str) -> int | None:
    op = AclOperation.ALTER_CONFIGS
    if resource_type in (
        ConfigResourceType.BROKER,
        ConfigResourceType.BROKER_LOGGER,
        ConfigResourceType.CLIENT_METRICS,
    ):
        return None if authz.authorize_cluster(ctx, op) else ErrorCode.cluster_authorization_failed
    if resource_type == ConfigResourceType.TOPIC:
        return None if authz.authorize(ctx, op, ResourceType.TOPIC, name) else ErrorCode.topic_authorization_failed
    if resource_type == ConfigResourceType.GROUP:
        return None if authz.authorize(ctx, op, ResourceType.GROUP, name) else ErrorCode.group_authorization_failed
    return None


def refused_alters(ctx: Any, resources: Any) -> tuple[list[dict], list[Any]]:
    """(answers for the refused resources, the resources that may be altered)."""
    if not authz.enabled(ctx):
        return [], list(resources)
    denied, allowed = [], []
    for r in resources:
        code = _code(ctx, int(r.resource_type), r.resource_name)
        if code is None:
            allowed.append(r)
        else:
            denied.append(
                {
                    "error_code": code,
                    "error_message": _MESSAGES[code],
                    "resource_type": r.resource_type,
                    "resource_name": r.resource_name,
                }
            )
    return denied, allowed


def split_alters(ctx: Any, req: Any) -> tuple[Any, Any]:
    """(the request with the resources the principal may alter, or None; a function from the answer to
    those to the whole answer, refusals first), for the handler or the node forwarding the request."""
    denied, allowed = refused_alters(ctx, req.resources)

    def merge(answer: Any) -> dict:
        if answer is None:
            responses: list = []
        else:
            responses = list(answer["responses"] if isinstance(answer, dict) else answer.responses)
        return {"throttle_time": 0, "responses": [*denied, *responses]}

    if not allowed:
        return None, merge
    return (req if len(allowed) == len(req.resources) else replace(req, resources=tuple(allowed))), merge
