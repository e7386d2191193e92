"""The broker's authorizer: Kafka's StandardAuthorizer over the ACLs of the metadata image.

On only when ``authorizer.class.name`` is ``org.apache.kafka.metadata.authorizer.StandardAuthorizer``
(Kafka's config); otherwise every request is allowed and the ACL APIs answer SECURITY_DISABLED, as on a
Kafka broker without an authorizer. ``super.users`` and ``allow.everyone.if.no.acl.found`` are read
from the server properties, as Kafka's authorizer reads them.

Handlers call :func:`authorize` with ``(ctx, operation, resource type, name)``: the principal is the
connection's (``ConnectionInfo.principal``), the host its peer address. The index over the image's
ACLs is rebuilt when the image's ACL map changes (a new map object: images are immutable), so a check
on the produce path is a cache lookup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from kavka.security.acl_control import acl_of
from kavka.security.authorizer import (
    CLUSTER_NAME,
    SUPPORTED_OPERATIONS,
    AclIndex,
    AclOperation,
    Authorizer,
    ResourceType,
    parse_super_users,
)

__all__ = [
    "STANDARD_AUTHORIZER",
    "BrokerAuthorizer",
    "authorize",
    "authorize_cluster",
    "enabled",
    "denied_message",
    "filter_authorized",
    "host_of",
    "AclOperation",
    "ResourceType",
    "CLUSTER_NAME",
]

STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"


def host_of(peer: Any) -> str:
    """The client's address as ACL hosts name it (Kafka's ``InetAddress.getHostAddress``)."""
    if isinstance(peer, tuple) and peer:
        return str(peer[0])
    return str(peer) if peer is not None else ""


class BrokerAuthorizer:
    """The authorizer of one broker, fed from its metadata image (``acls()`` returns the image's map)."""

    def __init__(self, config: Any, acls: Callable[[], Mapping[Any, Any]]) -> None:
        self.enabled = config["authorizer.class.name"] == STANDARD_AUTHORIZER
        extra = getattr(config, "authorizer_configs", {})
        allow = str(extra.get("allow.everyone.if.no.acl.found", "false")).strip().lower() == "true"
        self.authorizer = Authorizer(parse_super_users(extra.get("super.users")), allow)
        self._acls = acls
        self._seen: Mapping[Any, Any] | None = None

    def current(self) -> Authorizer:
        acls = self._acls()
        if acls is not self._seen:
            self.authorizer.update(AclIndex(acl_of(r) for r in acls.values()))
            self._seen = acls
        return self.authorizer

    def authorize(self, principal: str, host: str, operation: int, resource_type: int, name: str) -> bool:
        if not self.enabled:
            return True
        return self.current().authorize(principal, host, operation, resource_type, name)


def denied_message(ctx: Any, operation: int) -> str:
    """Kafka's ClusterAuthorizationException message for a request refused on the cluster ("Request
    Request(...) needs ALTER permission."), naming the connection as Kafka does in its own way."""
    conn = ctx.conn
    listener = conn.listener_name or "PLAINTEXT"
    request = f"Request(principal={conn.principal}, host={host_of(conn.peer)}, listenerName=ListenerName({listener}))"
    return f"Request {request} needs {AclOperation(operation).name} permission."


def enabled(ctx: Any) -> bool:
    return bool(ctx.broker.authz.enabled)


def authorize(ctx: Any, operation: int, resource_type: int, name: str) -> bool:
    """May the request's principal perform ``operation`` on the resource? Always, with no authorizer."""
    az = ctx.broker.authz
    if not az.enabled:
        return True
    conn = ctx.conn
    return bool(az.current().authorize(conn.principal, host_of(conn.peer), operation, resource_type, name))


def authorize_cluster(ctx: Any, operation: int) -> bool:
    return authorize(ctx, operation, ResourceType.CLUSTER, CLUSTER_NAME)


def filter_authorized(ctx: Any, operation: int, resource_type: int, names: Iterable[str]) -> set[str]:
    """The names among ``names`` the principal may perform ``operation`` on (each checked once)."""
    az = ctx.broker.authz
    unique = set(names)
    if not az.enabled:
        return unique
    a = az.current()
    conn = ctx.conn
    host = host_of(conn.peer)
    return {n for n in unique if a.authorize(conn.principal, host, operation, resource_type, n)}


def authorized_operations(ctx: Any, resource_type: int, name: str) -> list[int]:
    """The operations of the resource type the principal may perform (every one with no authorizer)."""
    az = ctx.broker.authz
    if not az.enabled:
        return list(SUPPORTED_OPERATIONS.get(resource_type, ()))
    conn = ctx.conn
    return az.current().authorized_operations(conn.principal, host_of(conn.peer), resource_type, name)


def authorize_by_resource_type(ctx: Any, operation: int, resource_type: int) -> bool:
    az = ctx.broker.authz
    if not az.enabled:
        return True
    conn = ctx.conn
    return bool(az.current().authorize_by_resource_type(conn.principal, host_of(conn.peer), operation, resource_type))
