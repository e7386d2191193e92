"""ApiVersions: every API key and version range Kafka advertises against Kavka's, and the features.

The differences are held in known.API_VERSION_DIFFERENCES (reasons in docs/compatibility.md): a new
difference fails here, and so does one that was fixed until the list is updated.
"""

from __future__ import annotations

from tests.oracle import oracleknown as known
from tests.oracle.oraclediff import differences
from tests.oracle.oraclewire import API_VERSIONS


def _ranges(answer: dict) -> dict[int, tuple[int, int]]:
    return {e["api_key"]: (e["min_version"], e["max_version"]) for e in answer["api_keys"]}


def test_api_keys_and_version_ranges(oracle):
    kafka, kavka = oracle.both(
        API_VERSIONS, 3, {"client_software_name": "kavka-oracle", "client_software_version": "1"}
    )
    assert kafka["error_code"] == kavka["error_code"] == 0
    k, v = _ranges(kafka), _ranges(kavka)
    found = {key: (k.get(key), v.get(key)) for key in sorted(k.keys() | v.keys()) if k.get(key) != v.get(key)}
    assert found == known.API_VERSION_DIFFERENCES


def test_features(oracle):
    kafka, kavka = oracle.both(
        API_VERSIONS, 3, {"client_software_name": "kavka-oracle", "client_software_version": "1"}
    )
    rest = ("supported_features", "finalized_features", "finalized_features_epoch", "zk_migration_ready")
    found = differences({f: kafka[f] for f in rest}, {f: kavka[f] for f in rest})
    assert sorted(found) == sorted(known.FEATURE_DIFFERENCES)


def test_api_versions_v0(oracle):
    """v0 (no tagged fields, no client software) lists the same ranges as v3."""
    kafka, kavka = oracle.both(API_VERSIONS, 0, {})
    assert kafka["error_code"] == kavka["error_code"] == 0
    k, v = _ranges(kafka), _ranges(kavka)
    found = {key: (k.get(key), v.get(key)) for key in sorted(k.keys() | v.keys()) if k.get(key) != v.get(key)}
    assert found == known.API_VERSION_DIFFERENCES
