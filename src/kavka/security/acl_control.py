"""The controller's side of the ACL APIs, sans-IO: CreateAcls and DeleteAcls as metadata records.

Kafka's ``AclControlManager``: each valid new ACL becomes an ``AccessControlEntryRecord`` with a fresh
id (an ACL already present succeeds and writes nothing); a delete filter matches ACLs of the image and
writes one ``RemoveAccessControlEntryRecord`` per match (an ACL matched by two filters is removed once
and reported by both). One request's records are committed together. Also DescribeAcls' grouping.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from kavka.metadata.records import AccessControlEntryRecord, MetadataRecord, RemoveAccessControlEntryRecord

from .authorizer import UNKNOWN_SERVER_ERROR, Acl, AclFilter, validate_filter, validate_new_acl

__all__ = [
    "AclResult",
    "DeleteResult",
    "acl_of",
    "create_acls",
    "delete_acls",
    "describe_acls",
    "INVALID_REQUEST",
    "UNKNOWN_SERVER_ERROR",
]

INVALID_REQUEST = 42


@dataclass(frozen=True, slots=True)
class AclResult:
    error_code: int = 0
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class DeleteResult:
    error_code: int = 0
    error_message: str | None = None
    matching: tuple[Acl, ...] = ()


def acl_of(r: AccessControlEntryRecord) -> Acl:
    return Acl(r.resource_type, r.resource_name, r.pattern_type, r.principal, r.host, r.operation, r.permission_type)


def create_acls(
    existing: Mapping[uuid.UUID, AccessControlEntryRecord],
    acls: Sequence[Acl],
    new_id: Callable[[], uuid.UUID] = uuid.uuid4,
) -> tuple[list[AclResult], list[MetadataRecord]]:
    if any(refused[0] == UNKNOWN_SERVER_ERROR for acl in acls if (refused := validate_new_acl(acl)) is not None):
        # Kafka cannot even build the request's bindings: the whole request fails, nothing is created
        return [AclResult(UNKNOWN_SERVER_ERROR) for _ in acls], []
    present = {acl_of(r) for r in existing.values()}
    results: list[AclResult] = []
    records: list[MetadataRecord] = []
    for acl in acls:
        refused = validate_new_acl(acl)
        if refused is not None:
            results.append(AclResult(*refused))
            continue
        if acl not in present:
            present.add(acl)
            acl_id = new_id()
            while acl_id in existing:
                acl_id = new_id()
            records.append(
                AccessControlEntryRecord(
                    acl_id,
                    acl.resource_type,
                    acl.resource_name,
                    acl.pattern_type,
                    acl.principal,
                    acl.host,
                    acl.operation,
                    acl.permission,
                )
            )
        results.append(AclResult())
    return results, records


def delete_acls(
    existing: Mapping[uuid.UUID, AccessControlEntryRecord], filters: Sequence[AclFilter]
) -> tuple[list[DeleteResult], list[MetadataRecord]]:
    results: list[DeleteResult] = []
    removed: dict[uuid.UUID, MetadataRecord] = {}
    for f in filters:
        message = validate_filter(f)
        if message is not None:
            results.append(DeleteResult(INVALID_REQUEST, message))
            continue
        matching: list[Acl] = []
        for acl_id, record in existing.items():
            acl = acl_of(record)
            if f.matches(acl):
                matching.append(acl)
                removed.setdefault(acl_id, RemoveAccessControlEntryRecord(acl_id))
        results.append(DeleteResult(matching=tuple(matching)))
    return results, list(removed.values())


def describe_acls(acls: Iterable[Acl], f: AclFilter) -> list[tuple[tuple[int, str, int], list[Acl]]]:
    """The ACLs matching the filter, grouped by resource pattern (type, name, pattern type), as
    DescribeAclsResponse lists them."""
    groups: dict[tuple[int, str, int], list[Acl]] = {}
    for acl in acls:
        if f.matches(acl):
            groups.setdefault((acl.resource_type, acl.resource_name, acl.pattern_type), []).append(acl)
    return list(groups.items())
