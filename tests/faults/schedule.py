"""The fault schedule: a pure function of a seed, so one seed replays the same faults.

`make_schedule` lays faults one after another (never two at once, so a 3-node cluster keeps a
majority except for the brief moments a kind says otherwise): a warm-up with no fault, then each fault
starts, lasts ``duration`` seconds and is healed, then a gap, until ``total - cooldown``.

Kinds (`KINDS`):

- ``kill``: kill -9 a node, start it again after the duration;
- ``pause``: SIGSTOP a node, SIGCONT after the duration;
- ``partition``: cut the network between two nodes (both still reach the rest), heal after;
- ``isolate``: cut one node from every other node (clients still reach it), heal after;
- ``kill-leader``: kill -9 whichever node leads partition ``partition`` when the fault starts;
- ``shutdown-kill-leader``: SIGTERM the leader of ``partition`` (a controlled shutdown begins) and
  kill -9 it ``delay`` seconds later, in the middle of it; start it again after the duration;
- ``reassign-kill-leader``: move ``partition`` to another replica set (AlterPartitionReassignments) and
  kill -9 its leader ``delay`` seconds later, while the reassignment runs.

Leaders are resolved when the fault starts (they depend on the run); everything else is in the schedule.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["KINDS", "NETWORK_KINDS", "Fault", "make_schedule"]

KINDS = ("kill", "pause", "partition", "isolate", "kill-leader", "shutdown-kill-leader", "reassign-kill-leader")
NETWORK_KINDS = ("partition", "isolate")


@dataclass(frozen=True)
class Fault:
    at: float
    kind: str
    duration: float
    nodes: tuple[int, ...] = ()
    partition: int | None = None
    delay: float = 0.0

    def describe(self) -> str:
        target = f"nodes {list(self.nodes)}" if self.nodes else f"leader of partition {self.partition}"
        extra = f" after {self.delay:.1f}s" if self.delay else ""
        return f"t={self.at:5.1f}s {self.kind} {target}{extra} for {self.duration:.1f}s"


def make_schedule(
    seed: int,
    node_ids: Sequence[int],
    total: float,
    kinds: Sequence[str] = ("kill", "pause", "partition"),
    *,
    partitions: int = 1,
    warmup: float = 5.0,
    cooldown: float = 5.0,
    fault_seconds: tuple[float, float] = (3.0, 8.0),
    gap_seconds: tuple[float, float] = (2.0, 5.0),
) -> list[Fault]:
    """Faults for a run of ``total`` seconds over ``node_ids``, drawn from ``random.Random(seed)``.

    Every kind in ``kinds`` appears at least once when the run is long enough (the first faults go
    through the kinds in a seeded order, the rest are drawn at random)."""
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(KINDS)}")
    if not kinds:
        return []
    if len(node_ids) < 2 and any(k in NETWORK_KINDS for k in kinds):
        raise ValueError("network faults need two nodes or more")
    rng = random.Random(seed)
    nodes = sorted(node_ids)
    order = list(kinds)
    rng.shuffle(order)
    faults: list[Fault] = []
    t = warmup
    while True:
        duration = round(rng.uniform(*fault_seconds), 2)
        if t + duration > total - cooldown:
            break
        kind = order[len(faults)] if len(faults) < len(order) else rng.choice(list(kinds))
        fault = Fault(at=round(t, 2), kind=kind, duration=duration)
        if kind in ("kill", "pause", "isolate"):
            fault = Fault(fault.at, kind, duration, nodes=(rng.choice(nodes),))
        elif kind == "partition":
            fault = Fault(fault.at, kind, duration, nodes=tuple(sorted(rng.sample(nodes, 2))))
        else:
            delay = round(rng.uniform(0.05, 1.0), 2) if kind != "kill-leader" else 0.0
            fault = Fault(fault.at, kind, duration, partition=rng.randrange(partitions), delay=delay)
        faults.append(fault)
        t += duration + rng.uniform(*gap_seconds)
    return faults
