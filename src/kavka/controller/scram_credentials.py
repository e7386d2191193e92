"""AlterUserScramCredentials on the controller (KIP-554): validate deletions and upsertions as Kafka's
``ScramControlManager.alterCredentials`` does and turn them into ``UserScramCredentialRecord`` /
``RemoveUserScramCredentialRecord``s, committed together.

Rules, in Kafka's order: a user named twice in one request (in deletions, upsertions or both) gets
DUPLICATE_RESOURCE "A user credential cannot be altered twice in the same request" and nothing of it is
applied; an empty name is UNACCEPTABLE_CREDENTIAL "Username must not be empty"; a mechanism other than
1 (SCRAM-SHA-256) or 2 (SCRAM-SHA-512) is UNSUPPORTED_SASL_MECHANISM "Unknown SCRAM mechanism";
iterations below 4096 or above 16384 are UNACCEPTABLE_CREDENTIAL "Too few iterations" / "Too many
iterations"; deleting a credential that does not exist is RESOURCE_NOT_FOUND "Attempt to delete a user
credential that does not exist". Results: deletions, then upsertions, then errors.

The keys of an upsertion (StoredKey, ServerKey from the client's salted password) are derived by the
caller (kavka.security.scram), so this module holds no cryptography.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from kavka.metadata.records import MetadataRecord, RemoveUserScramCredentialRecord, UserScramCredentialRecord

__all__ = ["ScramDeletion", "ScramUpsertion", "ScramResult", "alter_scram_credentials"]

MIN_ITERATIONS = 4096
MAX_ITERATIONS = 16384
_MECHANISMS = (1, 2)
# Kafka's error codes (Errors.java)
_UNSUPPORTED_SASL_MECHANISM, _RESOURCE_NOT_FOUND, _DUPLICATE_RESOURCE, _UNACCEPTABLE_CREDENTIAL = 33, 91, 92, 93
_DUPLICATE = "A user credential cannot be altered twice in the same request"


@dataclass(frozen=True)
class ScramDeletion:
    name: str
    mechanism: int


@dataclass(frozen=True)
class ScramUpsertion:
    name: str
    mechanism: int
    iterations: int
    salt: bytes
    stored_key: bytes
    server_key: bytes


@dataclass(frozen=True)
class ScramResult:
    user: str
    error_code: int
    error_message: str | None


def _check_name_and_mechanism(name: str, mechanism: int) -> tuple[int, str] | None:
    if not name:
        return _UNACCEPTABLE_CREDENTIAL, "Username must not be empty"
    if mechanism not in _MECHANISMS:
        return _UNSUPPORTED_SASL_MECHANISM, "Unknown SCRAM mechanism"
    return None


def alter_scram_credentials(
    existing: Mapping[tuple[str, int], object],
    deletions: Sequence[ScramDeletion],
    upsertions: Sequence[ScramUpsertion],
) -> tuple[list[ScramResult], list[MetadataRecord]]:
    errors: dict[str, tuple[int, str]] = {}
    to_delete: dict[str, ScramDeletion] = {}
    to_upsert: dict[str, ScramUpsertion] = {}
    for d in deletions:
        if d.name in errors:
            continue
        if to_delete.pop(d.name, None) is not None:
            errors[d.name] = (_DUPLICATE_RESOURCE, _DUPLICATE)
            continue
        error = _check_name_and_mechanism(d.name, d.mechanism)
        if error is None and (d.name, d.mechanism) not in existing:
            error = (_RESOURCE_NOT_FOUND, "Attempt to delete a user credential that does not exist")
        if error is not None:
            errors[d.name] = error
        else:
            to_delete[d.name] = d
    for u in upsertions:
        if u.name in errors:
            continue
        if to_delete.pop(u.name, None) is not None or to_upsert.pop(u.name, None) is not None:
            errors[u.name] = (_DUPLICATE_RESOURCE, _DUPLICATE)
            continue
        error = _check_name_and_mechanism(u.name, u.mechanism)
        if error is None and u.iterations < MIN_ITERATIONS:
            error = (_UNACCEPTABLE_CREDENTIAL, "Too few iterations")
        elif error is None and u.iterations > MAX_ITERATIONS:
            error = (_UNACCEPTABLE_CREDENTIAL, "Too many iterations")
        if error is not None:
            errors[u.name] = error
        else:
            to_upsert[u.name] = u
    results: list[ScramResult] = []
    records: list[MetadataRecord] = []
    for d in to_delete.values():
        results.append(ScramResult(d.name, 0, None))
        records.append(RemoveUserScramCredentialRecord(d.name, d.mechanism))
    for u in to_upsert.values():
        results.append(ScramResult(u.name, 0, None))
        records.append(UserScramCredentialRecord(u.name, u.mechanism, u.salt, u.stored_key, u.server_key, u.iterations))
    for name, (code, message) in errors.items():
        results.append(ScramResult(name, code, message))
    return results, records
