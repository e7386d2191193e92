"""Server-side assignors of consumer groups (KIP-848): ``uniform`` and ``range``.

An assignor gets, for one group epoch, each member's subscribed topic ids and its current target
assignment, and the partition count of every subscribed topic; it returns the new target assignment
of every member (members with nothing get an empty assignment). Assignors are pure functions.

- ``uniform`` (Kafka's UniformAssignor, the default): every partition of a subscribed topic goes to
  one of its subscribers, counts are as even as the subscriptions allow (with identical
  subscriptions, no two members differ by more than one), and a partition stays where the previous
  target put it whenever balance permits (sticky).
- ``range`` (Kafka's RangeAssignor): per topic, the subscribers sorted by member id each get a
  contiguous range of partitions; the first ``partitions % members`` get one more. Members with the
  same subscriptions get the same partition numbers of co-partitioned topics.

``group.consumer.assignors`` lists them by short name or by Kafka's class name; the first is the
default for groups whose members name none.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from kavka.coordinator.group.consumer_records import Assignment

__all__ = ["MemberSpec", "ASSIGNORS", "assignor_name", "uniform_assign", "range_assign"]


@dataclass(frozen=True, slots=True)
class MemberSpec:
    subscribed: frozenset[uuid.UUID]
    current: Assignment


Assignor = Callable[[Mapping[str, MemberSpec], Mapping[uuid.UUID, int]], dict[str, Assignment]]


def _freeze(out: dict[str, dict[uuid.UUID, set[int]]]) -> dict[str, Assignment]:
    return {mid: {t: frozenset(ps) for t, ps in parts.items() if ps} for mid, parts in out.items()}


def range_assign(members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, int]) -> dict[str, Assignment]:
    out: dict[str, dict[uuid.UUID, set[int]]] = {mid: {} for mid in members}
    for topic_id, count in topics.items():
        subscribers = sorted(mid for mid, spec in members.items() if topic_id in spec.subscribed)
        if not subscribers or count <= 0:
            continue
        base, extra = divmod(count, len(subscribers))
        start = 0
        for i, mid in enumerate(subscribers):
            n = base + (1 if i < extra else 0)
            if n:
                out[mid][topic_id] = set(range(start, start + n))
            start += n
    return _freeze(out)


def uniform_assign(members: Mapping[str, MemberSpec], topics: Mapping[uuid.UUID, int]) -> dict[str, Assignment]:
    out: dict[str, dict[uuid.UUID, set[int]]] = {mid: {} for mid in members}
    counts = {mid: 0 for mid in members}
    owner: dict[tuple[uuid.UUID, int], str] = {}
    subscribers = {t: sorted(mid for mid, spec in members.items() if t in spec.subscribed) for t in topics}
    total = sum(count for t, count in topics.items() if subscribers[t])
    # a member never keeps more than the even share rounded up, so stickiness cannot unbalance
    cap = -(-total // max(1, len(members)))
    # 1. stickiness: keep what the previous target gave, where still valid and within the cap
    for mid in sorted(members):
        spec = members[mid]
        for topic_id in sorted(spec.current, key=str):
            if topic_id not in spec.subscribed or topic_id not in topics:
                continue
            for p in sorted(spec.current[topic_id]):
                if p < topics[topic_id] and (topic_id, p) not in owner and counts[mid] < cap:
                    owner[(topic_id, p)] = mid
                    out[mid].setdefault(topic_id, set()).add(p)
                    counts[mid] += 1
    # 2. every other partition to its least loaded subscriber
    for topic_id in sorted(topics, key=lambda t: (-len(subscribers[t]) if subscribers[t] else 0, str(t))):
        subs = subscribers[topic_id]
        if not subs:
            continue
        for p in range(topics[topic_id]):
            if (topic_id, p) in owner:
                continue
            mid = min(subs, key=lambda m: (counts[m], m))
            owner[(topic_id, p)] = mid
            out[mid].setdefault(topic_id, set()).add(p)
            counts[mid] += 1
    # 3. balance: move partitions from the most to the least loaded subscriber while it helps
    for _ in range(total + 1):
        moved = False
        for (topic_id, p), mid in sorted(owner.items(), key=lambda kv: (-counts[kv[1]], str(kv[0][0]), kv[0][1])):
            target = min(subscribers[topic_id], key=lambda m: (counts[m], m))
            if counts[target] + 1 < counts[mid]:
                out[mid][topic_id].discard(p)
                out[target].setdefault(topic_id, set()).add(p)
                counts[mid] -= 1
                counts[target] += 1
                owner[(topic_id, p)] = target
                moved = True
        if not moved:
            break
    return _freeze(out)


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform_assign, "range": range_assign}

_CLASS_NAMES = {
    "org.apache.kafka.coordinator.group.assignor.UniformAssignor": "uniform",
    "org.apache.kafka.coordinator.group.assignor.RangeAssignor": "range",
}


def assignor_name(configured: str) -> str:
    """The short name of an assignor given by short name or Kafka class name; ValueError if unknown."""
    name = _CLASS_NAMES.get(configured.strip(), configured.strip())
    if name not in ASSIGNORS:
        raise ValueError(f"unknown consumer group assignor: {configured}")
    return name
