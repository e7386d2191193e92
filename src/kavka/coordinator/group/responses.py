"""Response bodies of the classic group APIs (kio's field names), shared by the shard and the façade."""

from __future__ import annotations

from kavka.coordinator.group.classic import ClassicGroup
from kavka.coordinator.runtime import ResponseBody
from kavka.protocol.api import ErrorCode

# authorized_operations when the client did not ask for them (Kafka's INT32_MIN)
NOT_REQUESTED = -2147483648

__all__ = ["join_error", "join_ok", "sync_error", "describe_error", "consumer_describe_error"]


def join_error(error: int, member_id: str = "") -> ResponseBody:
    """A JoinGroup refusal; generation -1 and no protocol, as Kafka answers."""
    return {
        "error_code": error,
        "generation_id": -1,
        "protocol_type": None,
        "protocol_name": None,
        "leader": "",
        "skip_assignment": False,
        "member_id": member_id,
        "members": [],
    }


def join_ok(
    group: ClassicGroup, member_id: str, with_members: bool, leader: str | None = None, skip_assignment: bool = False
) -> ResponseBody:
    """A JoinGroup answer for the group's current generation; only the leader gets the member list."""
    return {
        "error_code": ErrorCode.none,
        "generation_id": group.generation_id,
        "protocol_type": group.protocol_type,
        "protocol_name": group.protocol_name,
        "leader": (group.leader_id if leader is None else leader) or "",
        "skip_assignment": skip_assignment,
        "member_id": member_id,
        "members": group.current_member_list() if with_members else [],
    }


def sync_error(error: int) -> ResponseBody:
    return {"error_code": error, "protocol_type": None, "protocol_name": None, "assignment": b""}


def describe_error(group_id: str, error: int) -> ResponseBody:
    """A DescribeGroups entry for a group that cannot be described here (the coordinator's error)."""
    return {
        "error_code": error,
        "group_id": group_id,
        "group_state": "",
        "protocol_type": "",
        "protocol_data": "",
        "members": [],
        "authorized_operations": NOT_REQUESTED,
    }


def consumer_describe_error(group_id: str, error: int, message: str | None = None) -> ResponseBody:
    """A ConsumerGroupDescribe entry for a group that cannot be described (not a consumer group, or
    the coordinator's error)."""
    return {
        "error_code": error,
        "error_message": message,
        "group_id": group_id,
        "group_state": "",
        "group_epoch": 0,
        "assignment_epoch": 0,
        "assignor_name": "",
        "members": [],
        "authorized_operations": NOT_REQUESTED,
    }
