"""The console's actions authorized as its principal, as Kafka authorizes the API each stands for.

The console's pages and actions run in the broker's process, not over a connection, so the broker's
handlers never see them. :class:`ConsoleAccess` puts them through the same authorizer
(``broker.authz``, Kafka's StandardAuthorizer) with the principal and host the broker gives the
console's own clients (:func:`kavka.console.clientconfig.console_identity`: ``console.client.config``'s
login from ``console.client.listener``), so a UI user can do what that principal may, as with a Kafka UI
connecting with its own credentials. With no authorizer configured every check passes.

Each check is the one of the Kafka API the action stands for, made before the topic's existence is
looked at (as Kafka's handlers do), so a refusal does not tell whether a hidden topic exists:

==============================  =================================================================
console action                  check (refusal: HTTP 403, ``"<KAFKA_ERROR>: <message> ..."``)
==============================  =================================================================
create a topic (CreateTopics)   CREATE on the cluster or on the topic
delete a topic (DeleteTopics)   DELETE on the cluster, or DESCRIBE and DELETE on the topic
alter topic configs             ALTER_CONFIGS on the topic (IncrementalAlterConfigs)
produce a record (Produce)      WRITE on the topic
browse / tail / explore (Fetch) READ on the topic
reset group offsets             READ on the group, READ on the topic (OffsetCommit)
stop/kill/pause/... a node      ALTER on the cluster
see a topic (Metadata)          DESCRIBE on the topic; else it is not listed and its page answers 404
see its configs                 DESCRIBE_CONFIGS on the topic (DescribeConfigs); else none are shown
see a group (ListGroups etc.)   DESCRIBE on the cluster or the group; else not listed / 403
==============================  =================================================================

When ``console.client.*`` cannot be read, the principal is unknown and, with an authorizer, every
check refuses with the reason (HTTP 500), rather than guessing an identity.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from kavka.console.clientconfig import ConsoleClientError, console_identity
from kavka.console.state import ConsoleError
from kavka.security.authorizer import CLUSTER_NAME, AclOperation, ResourceType

__all__ = ["ConsoleAccess"]

# Kafka's messages: CreateTopics' own, else the ApiException's default (Errors.java)
_CREATE_DENIED = "TOPIC_AUTHORIZATION_FAILED: Authorization failed."
_TOPIC_DENIED = "TOPIC_AUTHORIZATION_FAILED: Topic authorization failed."
_GROUP_DENIED = "GROUP_AUTHORIZATION_FAILED: Group authorization failed."
_CLUSTER_DENIED = "CLUSTER_AUTHORIZATION_FAILED: Cluster authorization failed."


class ConsoleAccess:
    """The console's principal and host, and the checks of its actions (see the module's table)."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self.principal: str | None = None
        self.host: str | None = None
        self.error: str | None = None
        config = server.config
        controllers = {n.upper() for n in config.controller_listener_names}
        bound = [b for b in server.bound if b[0].upper() not in controllers]
        try:
            self.principal, self.host = console_identity(config, bound)
        except ConsoleClientError as e:
            self.error = str(e)

    @property
    def enabled(self) -> bool:
        return bool(self._server.broker.authz.enabled)

    def describe(self) -> dict:
        """What the overview shows: who the console acts as, and whether an authorizer checks it."""
        return {"principal": self.principal, "host": self.host, "authorizer": self.enabled, "error": self.error}

    def allowed(self, operation: int, resource_type: int, name: str) -> bool:
        az = self._server.broker.authz
        if not az.enabled:
            return True
        if self.principal is None or self.host is None:
            raise ConsoleError(500, f"The console's principal is unknown: {self.error}")
        return bool(az.authorize(self.principal, self.host, operation, resource_type, name))

    def _refuse(self, message: str) -> ConsoleError:
        return ConsoleError(403, f"{message} The console acts as {self.principal} (console.client.config).")

    # --- writes ---------------------------------------------------------------------------------

    def check_create_topic(self, name: str) -> None:
        if not (
            self.allowed(AclOperation.CREATE, ResourceType.CLUSTER, CLUSTER_NAME)
            or self.allowed(AclOperation.CREATE, ResourceType.TOPIC, name)
        ):
            raise self._refuse(_CREATE_DENIED)

    def check_delete_topic(self, name: str) -> None:
        if self.allowed(AclOperation.DELETE, ResourceType.CLUSTER, CLUSTER_NAME):
            return
        if not (
            self.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name)
            and self.allowed(AclOperation.DELETE, ResourceType.TOPIC, name)
        ):
            raise self._refuse(_TOPIC_DENIED)

    def check_topic(self, operation: int, name: str) -> None:
        """``operation`` (ALTER_CONFIGS, WRITE, READ) on the topic, else TOPIC_AUTHORIZATION_FAILED."""
        if not self.allowed(operation, ResourceType.TOPIC, name):
            raise self._refuse(_TOPIC_DENIED)

    def check_reset_offsets(self, group: str, topic: str) -> None:
        if not self.allowed(AclOperation.READ, ResourceType.GROUP, group):
            raise self._refuse(_GROUP_DENIED)
        self.check_topic(AclOperation.READ, topic)

    def check_cluster_alter(self) -> None:
        if not self.allowed(AclOperation.ALTER, ResourceType.CLUSTER, CLUSTER_NAME):
            raise self._refuse(_CLUSTER_DENIED)

    # --- reads ----------------------------------------------------------------------------------

    def check_topic_visible(self, name: str) -> None:
        """A topic the principal may not DESCRIBE answers as a missing one (Metadata does not disclose it)."""
        if not self.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, name):
            raise ConsoleError(404, f"Topic {name!r} does not exist.")

    def visible_topics(self, names: Iterable[str]) -> set[str]:
        unique = set(names)
        if not self.enabled:
            return unique
        return {n for n in unique if self.allowed(AclOperation.DESCRIBE, ResourceType.TOPIC, n)}

    def visible_view(self, view: dict) -> dict:
        """A cluster view (:func:`kavka.console.cluster.cluster_view`) with only the partitions of topics
        the principal may DESCRIBE."""
        if not self.enabled:
            return view
        visible = self.visible_topics(p["topic"] for p in view.get("partitions", ()))
        return {**view, "partitions": [p for p in view.get("partitions", ()) if p["topic"] in visible]}

    def visible_groups(self, group_ids: Iterable[str]) -> set[str]:
        """ListGroups: every group with DESCRIBE on the cluster, else those with DESCRIBE on the group."""
        unique = set(group_ids)
        if not self.enabled or self.allowed(AclOperation.DESCRIBE, ResourceType.CLUSTER, CLUSTER_NAME):
            return unique
        return {g for g in unique if self.allowed(AclOperation.DESCRIBE, ResourceType.GROUP, g)}

    def check_group_visible(self, group: str) -> None:
        """DescribeGroups: DESCRIBE on the group, else GROUP_AUTHORIZATION_FAILED."""
        if not self.allowed(AclOperation.DESCRIBE, ResourceType.GROUP, group):
            raise self._refuse(_GROUP_DENIED)
