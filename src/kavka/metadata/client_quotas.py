"""Client quotas in the metadata image (KIP-546): entities, their values, and DescribeClientQuotas'
filters, as Kafka's ``ClientQuotasImage`` answers them.

An entity is one to two ``(entity type, name)`` parts: ``user``, ``client-id``, ``user`` + ``client-id``,
or ``ip``; a name of None is that type's default entity (``--entity-default``). `QuotaEntity` is the
parts sorted by type, so one entity has one key whatever order a request names its parts in. The image
holds ``client_quotas[entity] = {quota key: value}``; an entity whose last key is removed disappears.

Kafka answers with an entity's parts in one fixed order, which clients and ``kafka-configs`` print as
they get it; `answer_order` gives it, so that Kavka echoes entities the same way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    "QuotaEntity",
    "ENTITY_TYPES",
    "USER",
    "CLIENT_ID",
    "IP",
    "MATCH_EXACT",
    "MATCH_DEFAULT",
    "MATCH_ANY",
    "FilterComponent",
    "entity_key",
    "answer_order",
    "describe_client_quotas",
    "DescribeError",
]

USER, CLIENT_ID, IP = "user", "client-id", "ip"
ENTITY_TYPES = (USER, CLIENT_ID, IP)
MATCH_EXACT, MATCH_DEFAULT, MATCH_ANY = 0, 1, 2

QuotaEntity = tuple[tuple[str, str | None], ...]


def entity_key(parts: Iterable[tuple[str, str | None]]) -> QuotaEntity:
    """The image key of an entity: its parts sorted by type (a type named twice keeps the last name)."""
    return tuple(sorted(dict(parts).items()))


_ANSWER_ORDER = {CLIENT_ID: 0, USER: 1, IP: 2}


def answer_order(parts: Iterable[tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    """An entity's parts in the order Kafka 4.4 answers with them (client-id, user, ip, whatever the
    request's order), as seen from Kafka itself; unknown types last, in request order."""
    return sorted(parts, key=lambda part: _ANSWER_ORDER.get(part[0], 3))


@dataclass(frozen=True)
class FilterComponent:
    entity_type: str
    match_type: int
    match: str | None


class DescribeError(ValueError):
    """A filter Kafka refuses: ``code`` (INVALID_REQUEST or UNSUPPORTED_VERSION) and the message."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


_INVALID_REQUEST, _UNSUPPORTED_VERSION = 42, 35


def _check_filter(components: Sequence[FilterComponent]) -> None:
    seen: set[str] = set()
    for c in components:
        if c.entity_type not in ENTITY_TYPES:
            raise DescribeError(_UNSUPPORTED_VERSION, f"Unsupported entity type {c.entity_type}")
        if c.entity_type in seen:
            raise DescribeError(
                _INVALID_REQUEST, f"Entity type {c.entity_type} cannot appear more than once in the filter."
            )
        seen.add(c.entity_type)
        if c.match_type == MATCH_EXACT:
            if c.match is None:
                raise DescribeError(
                    _INVALID_REQUEST, "Request specified MATCH_TYPE_EXACT, but set match string to null."
                )
        elif c.match_type == MATCH_DEFAULT:
            if c.match is not None:
                raise DescribeError(
                    _INVALID_REQUEST, "Request specified MATCH_TYPE_DEFAULT, but also specified a match string."
                )
        elif c.match_type == MATCH_ANY:
            if c.match is not None:
                raise DescribeError(
                    _INVALID_REQUEST, "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string."
                )
        else:
            raise DescribeError(_INVALID_REQUEST, f"Unknown match type {c.match_type}")
    if IP in seen and (USER in seen or CLIENT_ID in seen):
        raise DescribeError(
            _INVALID_REQUEST,
            "Invalid entity filter component combination. IP filter component should not be used with user or "
            "clientId filter component.",
        )


def _matches(entity: QuotaEntity, components: Sequence[FilterComponent], strict: bool) -> bool:
    names = dict(entity)
    for c in components:
        if c.entity_type not in names:
            return False
        name = names[c.entity_type]
        if c.match_type == MATCH_EXACT and name != c.match:
            return False
        if c.match_type == MATCH_DEFAULT and name is not None:
            return False
        if c.match_type == MATCH_ANY and name is None:
            return False
    return not strict or len(names) == len(components)


def describe_client_quotas(
    quotas: Mapping[QuotaEntity, Mapping[str, float]], components: Sequence[FilterComponent], strict: bool
) -> list[tuple[QuotaEntity, dict[str, float]]]:
    """The entities the filter selects with their values, in the image's order. A component selects
    entities that have its type: with that name (exact), as the default (default), or with any name
    but the default (any); ``strict`` also drops entities with a type no component names. Raises
    `DescribeError` for a filter Kafka refuses, with Kafka's message."""
    _check_filter(components)
    return [(entity, dict(values)) for entity, values in quotas.items() if _matches(entity, components, strict)]
