"""A ConsumerGroupHeartbeat (KIP-848) as the group coordinator takes it, and what Kafka checks before
it looks at any group: ``HeartbeatRequest`` (the request's fields), ``validate_heartbeat`` (Kafka's
``throwIfConsumerGroupHeartbeatRequestIsInvalid``: INVALID_REQUEST with its messages, a bad regex,
an unknown server assignor), ``heartbeat_error`` (an answer carrying only an error) and
``new_member_id`` (the id a member gets when it joins)."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from kavka.coordinator.group.consumer import (
    LEAVE_GROUP_MEMBER_EPOCH,
    LEAVE_GROUP_STATIC_MEMBER_EPOCH,
    compile_regex,
    regex_error,
)
from kavka.coordinator.runtime import ResponseBody
from kavka.metadata.ids import new_cluster_id
from kavka.protocol.api import ErrorCode

__all__ = ["HeartbeatRequest", "validate_heartbeat", "heartbeat_error", "new_member_id"]


@dataclass(frozen=True, slots=True)
class HeartbeatRequest:
    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None = None
    rack_id: str | None = None
    rebalance_timeout_ms: int = -1
    subscribed_topic_names: tuple[str, ...] | None = None
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    owned: tuple[tuple[uuid.UUID, tuple[int, ...]], ...] | None = None
    client_id: str = ""
    client_host: str = ""
    api_version: int = 1


def validate_heartbeat(req: HeartbeatRequest, assignors: Iterable[str]) -> tuple[int, str] | None:
    """(error code, message) for a request Kafka refuses before looking at any group, else None."""

    def invalid(message: str) -> tuple[int, str]:
        return ErrorCode.invalid_request, message

    if req.api_version >= 1 and not req.member_id:
        return invalid("MemberId can't be empty.")
    if not req.group_id:
        return invalid("GroupId can't be empty.")
    if req.instance_id == "":
        return invalid("InstanceId can't be empty.")
    if req.rack_id == "":
        return invalid("RackId can't be empty.")
    epoch = req.member_epoch
    if epoch > 0 or epoch == LEAVE_GROUP_MEMBER_EPOCH:
        if not req.member_id:
            return invalid("MemberId can't be empty.")
    elif epoch == 0:
        if req.rebalance_timeout_ms == -1:
            return invalid("RebalanceTimeoutMs must be provided in first request.")
        if req.owned is None or len(req.owned) > 0:
            return invalid("TopicPartitions must be empty when (re-)joining.")
        if req.subscribed_topic_names is None and req.subscribed_topic_regex is None:
            return invalid("Either SubscribedTopicNames or SubscribedTopicRegex must be non-null when (re-)joining.")
    elif epoch == LEAVE_GROUP_STATIC_MEMBER_EPOCH:
        if not req.member_id:
            return invalid("MemberId can't be empty.")
        if req.instance_id is None:
            return invalid("InstanceId can't be null.")
    else:
        return invalid("MemberEpoch is invalid.")
    if req.subscribed_topic_regex:
        try:
            compile_regex(req.subscribed_topic_regex)
        except re.error as e:
            return (
                ErrorCode.invalid_regular_expression,
                f"SubscribedTopicRegex `{req.subscribed_topic_regex}` is not a valid regular expression: "
                f"{regex_error(e)}.",
            )
    if req.server_assignor is not None and req.server_assignor not in set(assignors):
        return (
            ErrorCode.unsupported_assignor,
            f"ServerAssignor {req.server_assignor} is not supported. Supported assignors: "
            + ", ".join(assignors)
            + ".",
        )
    return None


def heartbeat_error(code: int, message: str | None = None) -> ResponseBody:
    return {
        "error_code": code,
        "error_message": message,
        "member_id": None,
        "member_epoch": 0,
        "heartbeat_interval": 0,
        "assignment": None,
    }


def new_member_id() -> str:
    # Kafka's Uuid.randomUuid().toString(): never reserved, never starting with "-"
    return new_cluster_id()
