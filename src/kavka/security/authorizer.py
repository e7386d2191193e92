"""Kafka's StandardAuthorizer semantics, sans-IO: ACLs, filters and the authorization decision.

The rules (``org.apache.kafka.metadata.authorizer.StandardAuthorizerData``), in the order they apply to
``authorize(principal, host, operation, resource type, resource name)``:

1. A principal named in ``super.users`` (``User:admin;User:broker``) is allowed everything.
2. The ACLs that apply to the resource are those of its type whose pattern matches the name: LITERAL
   with the same name, LITERAL ``*`` (the wildcard), and PREFIXED whose name starts the resource name.
3. Of those, an ACL *matches* the request when its principal is the request's or ``User:*``, its host is
   the client's address or ``*``, and its operation is the requested one or ALL. An ALLOW ACL also
   matches the implied operations: DESCRIBE is implied by READ, WRITE, DELETE and ALTER, DESCRIBE_CONFIGS
   by ALTER_CONFIGS. A DENY ACL never implies (DENY READ does not deny DESCRIBE).
4. A matching DENY wins over any ALLOW; else a matching ALLOW allows.
5. No match: denied when the resource has any ACL at all (for anyone), else the default,
   ``allow.everyone.if.no.acl.found`` (false unless set).

``authorize_by_resource_type`` is Kafka's ``Authorizer.authorizeByResourceType`` (KIP-679): may the
principal perform the operation on *some* resource of the type (idempotent produce's rule).

The index keeps a check cheap with many ACLs: per resource type a dict of literal names and a dict of
prefixes with the set of prefix lengths present, so one check costs one lookup per distinct prefix
length, not one per ACL; decisions are cached until the ACLs change.

Codes are Kafka's wire codes (``AclOperation``, ``ResourceType``, ``PatternType``,
``AclPermissionType``), as the ACL APIs and the metadata records carry them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum

__all__ = [
    "ResourceType",
    "PatternType",
    "AclOperation",
    "PermissionType",
    "Acl",
    "AclFilter",
    "AclIndex",
    "Authorizer",
    "CLUSTER_NAME",
    "WILDCARD",
    "WILDCARD_PRINCIPAL",
    "SUPPORTED_OPERATIONS",
    "parse_super_users",
    "validate_new_acl",
    "validate_filter",
]

CLUSTER_NAME = "kafka-cluster"
WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"


class ResourceType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class PatternType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclOperation(IntEnum):
    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class PermissionType(IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


_O = AclOperation
# AclEntry.supportedOperations: the operations authorized_operations fields report, per resource type.
SUPPORTED_OPERATIONS: dict[int, tuple[AclOperation, ...]] = {
    ResourceType.TOPIC: (
        _O.READ,
        _O.WRITE,
        _O.CREATE,
        _O.DESCRIBE,
        _O.DELETE,
        _O.ALTER,
        _O.DESCRIBE_CONFIGS,
        _O.ALTER_CONFIGS,
    ),  # fmt: skip
    ResourceType.GROUP: (_O.READ, _O.DESCRIBE, _O.DELETE, _O.DESCRIBE_CONFIGS, _O.ALTER_CONFIGS),
    ResourceType.CLUSTER: (
        _O.CREATE,
        _O.CLUSTER_ACTION,
        _O.DESCRIBE_CONFIGS,
        _O.ALTER_CONFIGS,
        _O.IDEMPOTENT_WRITE,
        _O.ALTER,
        _O.DESCRIBE,
    ),  # fmt: skip
    ResourceType.TRANSACTIONAL_ID: (_O.DESCRIBE, _O.WRITE),
    ResourceType.DELEGATION_TOKEN: (_O.DESCRIBE,),
    ResourceType.USER: (_O.CREATE_TOKENS, _O.DESCRIBE_TOKENS),
}

_IMPLIES_DESCRIBE = frozenset({_O.DESCRIBE, _O.READ, _O.WRITE, _O.DELETE, _O.ALTER})
_IMPLIES_DESCRIBE_CONFIGS = frozenset({_O.DESCRIBE_CONFIGS, _O.ALTER_CONFIGS})


@dataclass(frozen=True, slots=True)
class Acl:
    """One ACL binding: a resource pattern and an access control entry (Kafka's ``StandardAcl``)."""

    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission: int

    def grants(self, principal: str, host: str, operation: int) -> int:
        """Kafka's ``findResult``: ALLOW or DENY when this ACL matches the request, else 0."""
        if self.principal != principal and self.principal != WILDCARD_PRINCIPAL:
            return 0
        if self.host != WILDCARD and self.host != host:
            return 0
        op = self.operation
        if op != _O.ALL:
            if self.permission == PermissionType.ALLOW:
                if operation == _O.DESCRIBE:
                    if op not in _IMPLIES_DESCRIBE:
                        return 0
                elif operation == _O.DESCRIBE_CONFIGS:
                    if op not in _IMPLIES_DESCRIBE_CONFIGS:
                        return 0
                elif op != operation:
                    return 0
            elif op != operation:
                return 0
        return PermissionType.ALLOW if self.permission == PermissionType.ALLOW else PermissionType.DENY


@dataclass(frozen=True, slots=True)
class AclFilter:
    """Kafka's ``AclBindingFilter``: ``None`` name/principal/host match anything; ANY codes match any
    value; pattern type MATCH matches the ACLs that would apply to the named resource."""

    resource_type: int
    resource_name: str | None
    pattern_type: int
    principal: str | None
    host: str | None
    operation: int
    permission: int

    def is_unknown(self) -> bool:
        """Kafka's ``patternFilter().isUnknown() || entryFilter().isUnknown()``."""
        return (
            self.resource_type == ResourceType.UNKNOWN
            or self.pattern_type == PatternType.UNKNOWN
            or self.operation == _O.UNKNOWN
            or self.permission == PermissionType.UNKNOWN
        )

    def matches(self, acl: Acl) -> bool:
        if self.resource_type != ResourceType.ANY and self.resource_type != acl.resource_type:
            return False
        pt = self.pattern_type
        if pt not in (PatternType.ANY, PatternType.MATCH) and pt != acl.pattern_type:
            return False
        name = self.resource_name
        if name is not None:
            if pt == PatternType.ANY or pt == acl.pattern_type:
                if name != acl.resource_name:
                    return False
            elif acl.pattern_type == PatternType.LITERAL:
                if name != acl.resource_name and acl.resource_name != WILDCARD:
                    return False
            elif acl.pattern_type == PatternType.PREFIXED:
                if not name.startswith(acl.resource_name):
                    return False
            else:
                return False
        if self.principal is not None and self.principal != acl.principal:
            return False
        if self.host is not None and self.host != acl.host:
            return False
        if self.operation != _O.ANY and self.operation != acl.operation:
            return False
        return self.permission == PermissionType.ANY or self.permission == acl.permission


UNKNOWN_SERVER_ERROR, INVALID_REQUEST = -1, 42


def validate_new_acl(acl: Acl) -> tuple[int, str | None] | None:
    """Kafka's checks before an ACL is created: the (error code, message), or None when it may be.

    An ANY or MATCH code cannot make an ``AclBinding`` at all (Kafka's constructors throw
    IllegalArgumentException, which it answers as UNKNOWN_SERVER_ERROR with no message); then
    AclApis and ``AclControlManager.validateNewAcl`` answer INVALID_REQUEST with a message."""
    if (
        acl.resource_type == ResourceType.ANY
        or acl.pattern_type in (PatternType.ANY, PatternType.MATCH)
        or acl.operation == _O.ANY
        or acl.permission == PermissionType.ANY
    ):
        return UNKNOWN_SERVER_ERROR, None
    message = _invalid_new_acl(acl)
    return None if message is None else (INVALID_REQUEST, message)


def _invalid_new_acl(acl: Acl) -> str | None:
    if ":" not in acl.principal:
        return (
            f"Could not parse principal from `{acl.principal}` "
            "(no colon is present separating the principal type from the principal name)"
        )
    if acl.resource_type == ResourceType.CLUSTER and acl.resource_name != CLUSTER_NAME:
        return f"The only valid name for the CLUSTER resource is {CLUSTER_NAME}"
    if acl.resource_name == "":
        return "Invalid empty resource name"
    if acl.resource_type in (ResourceType.UNKNOWN, ResourceType.ANY):
        return f"Invalid resourceType {_name(ResourceType, acl.resource_type)}"
    if acl.pattern_type not in (PatternType.LITERAL, PatternType.PREFIXED):
        return f"Invalid patternType {_name(PatternType, acl.pattern_type)}"
    if acl.operation in (_O.UNKNOWN, _O.ANY):
        return f"Invalid operation {_name(AclOperation, acl.operation)}"
    if acl.permission not in (PermissionType.ALLOW, PermissionType.DENY):
        return f"Invalid permissionType {_name(PermissionType, acl.permission)}"
    return None


def validate_filter(f: AclFilter) -> str | None:
    """Kafka's ``AclControlManager.validateFilter``: the INVALID_REQUEST message, or None."""
    if f.resource_type == ResourceType.UNKNOWN or f.pattern_type == PatternType.UNKNOWN:
        return "Unknown patternFilter."
    if f.operation == _O.UNKNOWN or f.permission == PermissionType.UNKNOWN:
        return "Unknown entryFilter."
    return None


def _name(enum: type[IntEnum], code: int) -> str:
    try:
        return enum(code).name
    except ValueError:
        return "UNKNOWN"


def parse_super_users(value: str | None) -> frozenset[str]:
    """``super.users``: principals separated by semicolons (Kafka's format), blanks ignored."""
    return frozenset(p.strip() for p in (value or "").split(";") if p.strip())


class _TypeIndex:
    __slots__ = ("literal", "prefixed", "prefix_lengths")

    def __init__(self) -> None:
        self.literal: dict[str, list[Acl]] = {}
        self.prefixed: dict[str, list[Acl]] = {}
        self.prefix_lengths: list[int] = []  # ascending, distinct


class AclIndex:
    """The ACLs by resource type and pattern, for the decisions of :class:`Authorizer`."""

    def __init__(self, acls: Iterable[Acl] = ()) -> None:
        self._types: dict[int, _TypeIndex] = {}
        self._acls: list[Acl] = []
        lengths: dict[int, set[int]] = {}
        for acl in acls:
            self._acls.append(acl)
            ti = self._types.get(acl.resource_type)
            if ti is None:
                ti = self._types[acl.resource_type] = _TypeIndex()
            if acl.pattern_type == PatternType.PREFIXED:
                ti.prefixed.setdefault(acl.resource_name, []).append(acl)
                lengths.setdefault(acl.resource_type, set()).add(len(acl.resource_name))
            else:
                ti.literal.setdefault(acl.resource_name, []).append(acl)
        for rtype, ls in lengths.items():
            self._types[rtype].prefix_lengths = sorted(ls)

    def __len__(self) -> int:
        return len(self._acls)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._acls)

    def applicable(self, resource_type: int, name: str) -> list[Acl]:
        """Every ACL whose pattern applies to the resource (literal name, ``*``, matching prefixes)."""
        ti = self._types.get(resource_type)
        if ti is None:
            return []
        out: list[Acl] = []
        exact = ti.literal.get(name)
        if exact:
            out += exact
        if name != WILDCARD:
            wild = ti.literal.get(WILDCARD)
            if wild:
                out += wild
        if ti.prefix_lengths:
            n = len(name)
            for length in ti.prefix_lengths:
                if length > n:
                    break
                found = ti.prefixed.get(name[:length])
                if found:
                    out += found
        return out

    def of_type(self, resource_type: int) -> Iterable[Acl]:
        ti = self._types.get(resource_type)
        if ti is None:
            return ()
        return [a for lst in (*ti.literal.values(), *ti.prefixed.values()) for a in lst]


_CACHE_LIMIT = 65536


class Authorizer:
    """Decisions over one set of ACLs (replace the index with :meth:`update` when the ACLs change).

    ``super_users``: principals allowed everything; ``allow_if_no_acl``: the decision for a resource
    with no ACL at all (``allow.everyone.if.no.acl.found``)."""

    def __init__(self, super_users: Iterable[str] = (), allow_if_no_acl: bool = False) -> None:
        self.super_users = frozenset(super_users)
        self.allow_if_no_acl = allow_if_no_acl
        self.index = AclIndex()
        self._cache: dict[tuple[str, str, int, int, str], bool] = {}

    def update(self, index: AclIndex) -> None:
        self.index = index
        self._cache = {}

    def authorize(self, principal: str, host: str, operation: int, resource_type: int, name: str) -> bool:
        if principal in self.super_users:
            return True
        key = (principal, host, operation, resource_type, name)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        result = self._decide(principal, host, operation, resource_type, name)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = result
        return result

    def _decide(self, principal: str, host: str, operation: int, resource_type: int, name: str) -> bool:
        acls = self.index.applicable(resource_type, name)
        if not acls:
            return self.allow_if_no_acl
        allowed = False
        for acl in acls:
            r = acl.grants(principal, host, operation)
            if r == PermissionType.DENY:
                return False
            if r == PermissionType.ALLOW:
                allowed = True
        return allowed

    def authorized_operations(self, principal: str, host: str, resource_type: int, name: str) -> list[int]:
        """The supported operations of the resource type the principal may perform on the resource."""
        return [
            op
            for op in SUPPORTED_OPERATIONS.get(resource_type, ())
            if self.authorize(principal, host, op, resource_type, name)
        ]

    def authorize_by_resource_type(self, principal: str, host: str, operation: int, resource_type: int) -> bool:
        """Kafka's ``Authorizer.authorizeByResourceType``: allowed on a probe name ("hardcode", so super
        users and the no-ACL default pass), else when some ALLOW pattern for the principal is not
        dominated by a DENY (a wildcard DENY denies all; a DENY prefix dominates any pattern it starts)."""
        if self.authorize(principal, host, operation, resource_type, "hardcode"):
            return True
        deny_literal: set[str] = set()
        deny_prefixed: set[str] = set()
        allow: list[tuple[int, str]] = []
        for acl in self.index.of_type(resource_type):
            if acl.host != host and acl.host != WILDCARD:
                continue
            if acl.principal != principal and acl.principal != WILDCARD_PRINCIPAL:
                continue
            if acl.operation != operation and acl.operation != _O.ALL:
                continue
            if acl.permission == PermissionType.DENY:
                if acl.pattern_type == PatternType.LITERAL:
                    if acl.resource_name == WILDCARD:
                        return False
                    deny_literal.add(acl.resource_name)
                elif acl.pattern_type == PatternType.PREFIXED:
                    deny_prefixed.add(acl.resource_name)
            elif acl.permission == PermissionType.ALLOW:
                if acl.pattern_type == PatternType.LITERAL and acl.resource_name == WILDCARD:
                    return True
                allow.append((acl.pattern_type, acl.resource_name))
        for pattern_type, name in allow:
            if pattern_type == PatternType.LITERAL and name in deny_literal:
                continue
            if not any(name[:i] in deny_prefixed for i in range(1, len(name) + 1)):
                return True
        return False
