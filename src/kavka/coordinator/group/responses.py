"""Response bodies of the classic group APIs (kio's field names), shared by the shard and the façade."""

from __future__ import annotations

from kavka.coordinator.group.classic import ClassicGroup
from kavka.coordinator.runtime import ResponseBody
from kavka.protocol.api import ErrorCode

__all__ = ["join_error", "join_ok", "sync_error"]


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
