"""Replica placement (``controller.topics.place_replicas``) against Kafka 4.4's own
``StripedReplicaPlacer``, run from the pinned jars on the same clusters (tests/controller/PlacerOracle.java,
one JVM for every case): the random choices differ (Java's generator, Python's), so what is compared
is what the rules decide -- how many partitions each broker leads and holds, how many racks each
partition spans, that no leader is fenced -- over 200 of Kafka's seeds and 30 of Kavka's: every outcome
Kavka reaches is one Kafka reaches (where Kafka's is the same for every seed, Kavka's must be too), and
the refusals, word for word."""

from __future__ import annotations

import random
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from kavka.controller.topics import _Reject, place_replicas
from kavka.metadata.image import BrokerRegistration, MetadataImage
from kavka.testing.apache_kafka import java_executable, kafka_lib
from tests.needs import require_kafka

ORACLE = Path(__file__).with_name("PlacerOracle.java")
KAFKA_SEEDS, KAVKA_SEEDS = range(1, 201), range(1, 31)

# (brokers as (id, rack, fenced), partitions, replication factor)
CASES = {
    "3 racks of 2, RF 3": ([(1, "a", 0), (2, "a", 0), (3, "b", 0), (4, "b", 0), (5, "c", 0), (6, "c", 0)], 12, 3),
    "no racks, RF 2": ([(1, None, 0), (2, None, 0), (3, None, 0), (4, None, 0), (5, None, 0)], 10, 2),
    "uneven racks": ([(1, "a", 0), (2, "b", 0), (3, "b", 0), (4, "b", 0)], 8, 2),
    "a fenced broker holds replicas, never leads": ([(1, None, 0), (2, None, 0), (3, None, 1)], 6, 3),
    "a fenced rack": ([(1, "a", 0), (2, "a", 0), (3, "b", 1), (4, "c", 0)], 6, 2),
    "one broker": ([(1, None, 0)], 3, 1),
    "RF above the brokers": ([(1, None, 0), (2, None, 1)], 1, 3),
    "all fenced": ([(1, None, 1), (2, None, 1)], 1, 1),
}


def _image(brokers) -> MetadataImage:
    regs = {b: BrokerRegistration(b, uuid.UUID(int=b), b, (), rack, bool(fenced), False) for b, rack, fenced in brokers}
    return MetadataImage(cluster_id="c", brokers=regs)


def _signature(brokers, placements) -> tuple:
    """What the placer's rules fix, whatever its random choices."""
    rack = {b: r for b, r, _ in brokers}
    fenced = {b for b, _, f in brokers if f}
    leaders = Counter(p[0] for p in placements)
    held = Counter(b for p in placements for b in p)
    return (
        all(len(set(p)) == len(p) for p in placements),
        any(p[0] in fenced for p in placements),
        sorted(leaders[b] for b, *_ in brokers),
        sorted(held[b] for b, *_ in brokers),
        sorted(len({rack[b] for b in p}) for p in placements),
    )


def _kafka(cases) -> dict[str, list[object]]:
    args = []
    for brokers, partitions, rf in cases.values():
        spec = ",".join(f"{b}:{r or ''}:{f}" for b, r, f in brokers)
        args += [f"{seed};{partitions};{rf};{spec}" for seed in KAFKA_SEEDS]
    done = subprocess.run(
        [java_executable(), "-cp", f"{kafka_lib()}/*", str(ORACLE), *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = iter(done.stdout.splitlines())
    out: dict[str, list[object]] = {}
    for name, (brokers, *_) in cases.items():
        answers = [next(lines) for _ in KAFKA_SEEDS]
        out[name] = [
            a if a.startswith("error: ") else _signature(brokers, [[int(b) for b in p.split(",")] for p in a.split()])
            for a in answers
        ]
    return out


def _kavka(brokers, partitions, rf, seed):
    try:
        placements = place_replicas(_image(brokers), partitions, rf, random.Random(seed))
    except _Reject as e:
        message = e.error.message or ""
        return "error: " + message.split("time(s): ", 1)[1]  # Kafka's placer message, without the caller's prefix
    return _signature(brokers, placements)


@pytest.fixture(scope="module")
def kafka_placements():
    require_kafka()
    return _kafka(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_placement_follows_kafkas_striped_placer(kafka_placements, name):
    brokers, partitions, rf = CASES[name]
    kafka = {str(outcome) for outcome in kafka_placements[name]}
    kavka = {str(_kavka(brokers, partitions, rf, seed)) for seed in KAVKA_SEEDS}
    assert kavka <= kafka
