"""docs/protocol.md lists exactly the APIs and versions the broker advertises."""

from __future__ import annotations

import re
from pathlib import Path

import kavka.broker.broker  # noqa: F401  (registers every handler)
from kavka.broker.registry import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
ROW = re.compile(r"^\|\s*(\d+)\s*\|\s*(\w+)\s*\|\s*(\d+)(?:–(\d+))?\s*\|")


def _documented() -> dict[int, tuple[str, int, int]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        m = ROW.match(line)
        if m:
            key, name, low, high = int(m[1]), m[2], int(m[3]), int(m[4] or m[3])
            rows[key] = (name, low, high)
    return rows


def test_protocol_doc_matches_the_registry():
    documented = _documented()
    served = {key: (h.min_version, h.max_version) for key, h in REGISTRY.items()}
    assert {k: (lo, hi) for k, (_, lo, hi) in documented.items()} == served
