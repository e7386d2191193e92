"""AlterClientQuotas on the controller: validate each entity's changes as Kafka's
``ClientQuotaControlManager`` does and turn them into ``ClientQuotaRecord``s.

Rules (Kafka's, with its messages; every error is INVALID_REQUEST and rejects that entity's changes
only, the other entities of the request still apply):

- An entity is ``user`` and/or ``client-id``, or ``ip`` alone; a name may be None (the default
  entity) but not empty. An ``ip`` name must be an address or a host name that resolves.
- Keys: ``producer_byte_rate``, ``consumer_byte_rate`` (LONG), ``request_percentage``,
  ``controller_mutation_rate`` (DOUBLE) for users and client ids; ``connection_creation_rate`` (INT)
  for ips. A value must be > 0, integral for LONG/INT (within 1e-6) and within the type's range.
- A key named twice in one entry, or an entity named in two entries, answers "Ignoring duplicate
  entity ..." for that entity (the first entry of a duplicated entity still applies, as in Kafka).
- Only changes produce records: setting a key to its current value or removing an absent key writes
  nothing.

Host name resolution is I/O, so it is a parameter (``resolves``), passed in by the broker.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from kavka.metadata.client_quotas import CLIENT_ID, IP, USER, QuotaEntity, answer_order, entity_key
from kavka.metadata.records import ClientQuotaRecord, MetadataRecord, QuotaEntityPart
from kavka.protocol.api import ErrorCode

__all__ = ["QuotaAlteration", "QuotaOp", "AlterQuotaResult", "alter_client_quotas", "QUOTA_KEY_TYPES", "is_ip_literal"]

_LONG, _INT, _DOUBLE = "LONG", "INT", "DOUBLE"
_USER_CLIENT_KEYS = {
    "producer_byte_rate": _LONG,
    "consumer_byte_rate": _LONG,
    "request_percentage": _DOUBLE,
    "controller_mutation_rate": _DOUBLE,
}
_IP_KEYS = {"connection_creation_rate": _INT}
QUOTA_KEY_TYPES = {**_USER_CLIENT_KEYS, **_IP_KEYS}
_LIMITS = {_LONG: (2.0**63, "a LONG"), _INT: (2.0**31 - 1, "an INT")}


@dataclass(frozen=True)
class QuotaOp:
    key: str
    value: float
    remove: bool = False


@dataclass(frozen=True)
class QuotaAlteration:
    """One request entry: the entity's parts as sent (type, name) and its operations."""

    entity: tuple[tuple[str, str | None], ...]
    ops: tuple[QuotaOp, ...]


@dataclass(frozen=True)
class AlterQuotaResult:
    entity: list[tuple[str, str | None]]  # the parts in Kafka's answer order
    error_code: int
    error_message: str | None


def is_ip_literal(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def _entity_string(parts: Sequence[tuple[str, str | None]]) -> str:
    """Kafka's ``ClientQuotaEntity.toString``."""
    inner = ", ".join(f"{t}={'null' if n is None else n}" for t, n in answer_order(parts))
    return f"ClientQuotaEntity(entries={{{inner}}})"


def _check_entity(
    parts: Sequence[tuple[str, str | None]], resolves: Callable[[str], bool]
) -> tuple[str | None, Mapping[str, str]]:
    """(error message or None, the valid keys with their types)."""
    if not parts:
        return "Invalid empty client quota entity", {}
    for entity_type, name in answer_order(parts):
        if entity_type not in (USER, CLIENT_ID, IP):
            return f"Unhandled client quota entity type: {entity_type}", {}
        if name == "":
            return f"Empty {entity_type} not supported", {}
    types = {t for t, _ in parts}
    if IP in types:
        if USER in types or CLIENT_ID in types:
            return "Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId", {}
        ip = dict(parts)[IP]
        if ip is not None and not (is_ip_literal(ip) or resolves(ip)):
            return f"{ip} is not a valid IP or resolvable host.", {}
        return None, _IP_KEYS
    return None, _USER_CLIENT_KEYS


def _check_value(keys: Mapping[str, str], key: str, value: float) -> str | None:
    kind = keys.get(key)
    if kind is None:
        return f"Invalid configuration key {key}"
    if value <= 0.0:
        return f"Quota {key} must be greater than 0"
    if kind == _DOUBLE:
        return None
    limit, name = _LIMITS[kind]
    if value > limit:
        return f"Proposed value for {key} is too large for {name}."
    if abs(value % 1.0) > 1e-6:
        return f"{key} cannot be a fractional value."
    return None


def alter_client_quotas(
    quotas: Mapping[QuotaEntity, Mapping[str, float]],
    alterations: Sequence[QuotaAlteration],
    resolves: Callable[[str], bool],
) -> tuple[list[AlterQuotaResult], list[MetadataRecord]]:
    """One result per distinct entity (in request order) and the records to commit for the valid ones."""
    results: dict[QuotaEntity, AlterQuotaResult] = {}
    records: list[MetadataRecord] = []

    def fail(key: QuotaEntity, parts: Sequence[tuple[str, str | None]], message: str) -> None:
        results[key] = AlterQuotaResult(answer_order(parts), ErrorCode.invalid_request, message)

    for alteration in alterations:
        parts = list(dict(alteration.entity).items())  # a type named twice keeps its last name
        key = entity_key(parts)
        changes: dict[str, float | None] = {}
        duplicate_key = False
        for op in alteration.ops:
            if op.key in changes:
                duplicate_key = True
            else:
                changes[op.key] = None if op.remove else op.value
        if key in results or duplicate_key:
            fail(key, parts, f"Ignoring duplicate entity {_entity_string(parts)}")
            continue
        error, keys = _check_entity(parts, resolves)
        if error is not None:
            fail(key, parts, error)
            continue
        current = quotas.get(key, {})
        entity = tuple(QuotaEntityPart(t, n) for t, n in answer_order(parts))
        new_records: list[MetadataRecord] = []
        for name, value in changes.items():
            if value is None:
                if name in current:
                    new_records.append(ClientQuotaRecord(entity, name, 0.0, remove=True))
                continue
            error = _check_value(keys, name, value)
            if error is not None:
                break
            if current.get(name) != value:
                new_records.append(ClientQuotaRecord(entity, name, value))
        if error is not None:
            fail(key, parts, error)
            continue
        records.extend(new_records)
        results[key] = AlterQuotaResult(answer_order(parts), ErrorCode.none, None)
    return list(results.values()), records
