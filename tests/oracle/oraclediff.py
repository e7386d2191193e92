"""Compare two brokers' answers: normalise what must differ, then list every remaining difference as
one line ``path: kafka=... kavka=...``, so a test can hold the known differences as literal lines.

Lists of entries are matched by their natural key when they have one (``name``, ``api_key``,
``partition_index``, ``node_id``/``broker_id``, ``resource_name``), so a missing or extra entry reads as
``path[key]: kafka only`` / ``kavka only`` rather than as a shifted list.
"""

from __future__ import annotations

import os
import pprint

# Fields whose values legitimately differ between two clusters: identities, ports, clocks.
VOLATILE = {
    "cluster_id": "<cluster>",
    "topic_id": "<topic-id>",
    "port": "<port>",
    "throttle_time": 0,
    "throttle_time_ms": 0,
    "finalized_features_epoch": "<epoch>",
}
_KEYS = ("name", "api_key", "partition_index", "node_id", "broker_id", "resource_name", "index")


def normalise(value, renames: dict[str, str]):
    """Replace volatile fields by placeholders and the scenario's own names (topics, addresses) by tokens."""
    if isinstance(value, dict):
        return {
            k: (VOLATILE[k] if k in VOLATILE and value[k] not in (None, "") else normalise(v, renames))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [normalise(v, renames) for v in value]
    if isinstance(value, str):
        for old, new in renames.items():
            value = value.replace(old, new)
        return value
    return value


def differences(kafka, kavka, path: str = "") -> list[str]:
    """Every difference between two normalised answers, one line each, in a stable order."""
    if isinstance(kafka, dict) and isinstance(kavka, dict):
        out: list[str] = []
        for k in sorted(set(kafka) | set(kavka)):
            sub = f"{path}.{k}" if path else k
            if k not in kavka:
                out.append(f"{sub}: kafka only")
            elif k not in kafka:
                out.append(f"{sub}: kavka only")
            else:
                out += differences(kafka[k], kavka[k], sub)
        return out
    if isinstance(kafka, list) and isinstance(kavka, list):
        key = _list_key(kafka, kavka)
        if key is None:
            if len(kafka) != len(kavka) or any(not isinstance(x, (dict, list)) for x in kafka + kavka):
                return [] if kafka == kavka else [f"{path}: kafka={_short(kafka)} kavka={_short(kavka)}"]
            return [d for i, (a, b) in enumerate(zip(kafka, kavka)) for d in differences(a, b, f"{path}[{i}]")]
        ka = {x[key]: x for x in kafka}
        kv = {x[key]: x for x in kavka}
        out = []
        for k in sorted(set(ka) | set(kv), key=str):
            sub = f"{path}[{k}]"
            if k not in kv:
                out.append(f"{sub}: kafka only")
            elif k not in ka:
                out.append(f"{sub}: kavka only")
            else:
                out += differences(ka[k], kv[k], sub)
        return out
    return [] if kafka == kavka else [f"{path}: kafka={_short(kafka)} kavka={_short(kavka)}"]


def _list_key(kafka: list, kavka: list) -> str | None:
    """The first of `_KEYS` that every entry has and that is unique within each side, if any."""
    if not (kafka or kavka) or not all(isinstance(x, dict) for x in kafka + kavka):
        return None
    for key in _KEYS:
        if all(key in x for x in kafka + kavka) and all(
            len({repr(x[key]) for x in side}) == len(side) for side in (kafka, kavka)
        ):
            return key
    return None


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 300 else text[:297] + "..."


def without_docs(entries: list[dict]) -> list[dict]:
    return [{k: v for k, v in e.items() if k != "documentation"} for e in entries]


def record(test: str, found) -> None:
    """With KAVKA_ORACLE_DUMP=<file>, append what a test found (to paste into known.py when updating it)."""
    path = os.environ.get("KAVKA_ORACLE_DUMP")
    if path:
        with open(path, "a") as f:
            f.write(f"# {test}\n{pprint.pformat(found, width=110)}\n")
