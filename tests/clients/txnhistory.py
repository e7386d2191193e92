"""A history checker for transactional Kafka workloads, with the anomaly names of Jepsen's Kafka test
(``jepsen.tests.kafka``). Pure functions over a recorded history: no clients, no clock, no I/O.

The history
-----------
- `Txn`: one producer transaction. Its `Send`s (value, partition, the time ``produce()`` was called,
  the offset its delivery report gave, if any), the time ``commit_transaction()`` was *called*
  (``commit_at``; None if it never was), and what the client was told: ``committed`` (commit returned
  OK), ``aborted`` (abort returned OK) or ``unknown`` (the writer was killed or the call failed).
- `Read`: one record a consumer returned: reader, session, isolation level, partition, offset, value,
  and the time the poll returned it. A *session* is a stretch of one reader's polls with no change of
  assignment and no seek; ``History.starts`` gives the position a session began at on a partition when
  the reader knows it (an assign at offset 0).
- Two readers are special: ``final-committed`` and ``final-uncommitted`` read every partition from
  offset 0 to its end after every transaction ended (read_committed and read_uncommitted).

Times must come from one clock shared by every process (``time.monotonic()``: CLOCK_MONOTONIC on Linux).

A transaction's *fate*: committed if the client was told so; aborted if it was told so, or if commit
was never called (a transaction cannot commit unless asked to: the broker must abort it); otherwise
(commit called, outcome unknown) committed if the final read_committed read shows any of its values,
else aborted.

Anomalies
---------
- ``lost-write``: a value of a transaction whose commit was acknowledged is missing from the final
  read_committed read; or a value once in the log (a delivery report gave its offset, or a reader read
  it) is missing from the final read_uncommitted read.
- ``duplicate``: a value at more than one (partition, offset), over every read and delivery report.
- ``inconsistent-offsets``: more than one value at one (partition, offset), over every read and
  delivery report.
- ``G1a`` (aborted read): a read_committed reader returned a value of a transaction whose fate is aborted.
- ``uncommitted-read``: a read_committed reader returned a value of a transaction (that committed)
  *before its writer called commit*: a read of uncommitted data. A read that returned at time t came
  from a fetch before t, and the broker may expose the record only after EndTxn, which is sent after
  ``commit_at``; so ``t < commit_at`` is a sound witness. Adya's G1b (intermediate read) is the case
  where the transaction went on writing to that partition after the read; it is reported under this
  name too. (Jepsen's ``precommitted-read`` is the same mistake seen by the writer's own poll.)
  A read of a transaction that aborted is G1a, whenever it happened.
- ``nonmonotonic-poll``: within one session on one partition, an offset not above the previous one.
- ``poll-skip``: a read_committed session on a partition went from offset a to offset b (or started
  at a known position a and first read b) while the final read_committed read holds a value strictly
  between them. Sound: returning b means the last stable offset passed b, so every transaction with
  records below b was decided, and a committed record below b was already visible.
- ``fractured-read``: the final read_committed read holds some, but not all, of the values of a
  transaction (atomicity across partitions and within one).
- ``unknown-value``: a value read on a partition that no writer ever sent to that partition.

Jepsen also finds G0/G1c cycles, ``int-*`` anomalies inside a transaction that both reads and writes,
and ``unseen`` (liveness); writers here do not read, so those do not apply.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

COMMITTED, ABORTED, UNKNOWN = "committed", "aborted", "unknown"
READ_COMMITTED, READ_UNCOMMITTED = "read_committed", "read_uncommitted"
FINAL_COMMITTED, FINAL_UNCOMMITTED = "final-committed", "final-uncommitted"

ANOMALIES = (
    "lost-write",
    "duplicate",
    "inconsistent-offsets",
    "G1a",
    "uncommitted-read",
    "nonmonotonic-poll",
    "poll-skip",
    "fractured-read",
    "unknown-value",
)

TP = tuple[str, int]


@dataclass
class Send:
    value: str
    topic: str
    partition: int
    at: float
    offset: int | None = None  # from the delivery report

    @property
    def tp(self) -> TP:
        return (self.topic, self.partition)


@dataclass
class Txn:
    id: str
    writer: str
    sends: list[Send] = field(default_factory=list)
    commit_at: float | None = None
    outcome: str = UNKNOWN


@dataclass(frozen=True)
class Read:
    reader: str
    session: int
    isolation: str
    topic: str
    partition: int
    offset: int
    value: str
    at: float

    @property
    def tp(self) -> TP:
        return (self.topic, self.partition)


@dataclass
class History:
    txns: list[Txn] = field(default_factory=list)
    reads: list[Read] = field(default_factory=list)  # each reader's reads in the order it returned them
    # (reader, session, topic, partition) -> the position the session started at, where known
    starts: dict[tuple[str, int, str, int], int] = field(default_factory=dict)


# -- building a history from client events -----------------------------------------------------------


class Recorder:
    """Builds a `History` from the ``EV`` lines of the writer and reader scripts.

    Writer events (``txn`` ids are unique over every writer and incarnation)::

        begin TXN | send TXN TOPIC PARTITION VALUE T | ack VALUE PARTITION OFFSET | nack VALUE ERROR
        commit TXN T | committed TXN T | abort TXN T | aborted TXN T

    Reader events (per reader name)::

        start SESSION TOPIC PARTITION OFFSET   (OFFSET -1: not known)
        read SESSION TOPIC PARTITION OFFSET VALUE T
    """

    def __init__(self) -> None:
        self.history = History()
        self._txns: dict[str, Txn] = {}
        self._sends: dict[str, Send] = {}

    def _txn(self, txn_id: str) -> Txn:
        txn = self._txns.get(txn_id)
        if txn is None:
            txn = self._txns[txn_id] = Txn(txn_id, txn_id.split(".")[0])
            self.history.txns.append(txn)
        return txn

    def writer_event(self, kind: str, arg: str) -> None:
        f = arg.split()
        if kind == "begin":
            self._txn(f[0])
        elif kind == "send":
            txn_id, topic, partition, value, at = f
            send = Send(value, topic, int(partition), float(at))
            self._txn(txn_id).sends.append(send)
            self._sends[value] = send
        elif kind == "ack":
            value, _partition, offset = f
            self._sends[value].offset = int(offset) if int(offset) >= 0 else None
        elif kind == "commit":
            self._txn(f[0]).commit_at = float(f[1])
        elif kind == "committed":
            self._txn(f[0]).outcome = COMMITTED
        elif kind == "aborted":
            self._txn(f[0]).outcome = ABORTED

    def reader_event(self, reader: str, isolation: str, kind: str, arg: str) -> None:
        f = arg.split()
        if kind == "start":
            session, topic, partition, offset = f
            if int(offset) >= 0:
                self.history.starts[(reader, int(session), topic, int(partition))] = int(offset)
        elif kind == "read":
            session, topic, partition, offset, value, at = f
            self.history.reads.append(
                Read(reader, int(session), isolation, topic, int(partition), int(offset), value, float(at))
            )


# -- the checker ---------------------------------------------------------------------------------------


def fates(history: History) -> dict[str, str]:
    """Each transaction's fate (see the module docstring)."""
    final = {r.value for r in history.reads if r.reader == FINAL_COMMITTED}
    out = {}
    for t in history.txns:
        if t.outcome != UNKNOWN:
            out[t.id] = t.outcome
        elif t.commit_at is None:
            out[t.id] = ABORTED
        else:
            out[t.id] = COMMITTED if any(s.value in final for s in t.sends) else ABORTED
    return out


def check(history: History) -> dict[str, list[dict]]:
    """Every anomaly found, by name; an empty dict for a valid history."""
    found: dict[str, list[dict]] = defaultdict(list)
    fate = fates(history)
    sends = {s.value: (t, s) for t in history.txns for s in t.sends}
    final_rc = [r for r in history.reads if r.reader == FINAL_COMMITTED]
    final_rc_values = {r.value for r in final_rc}
    final_ru_values = {r.value for r in history.reads if r.reader == FINAL_UNCOMMITTED}

    # where each value was seen and what each position holds, over reads and delivery reports
    positions: dict[str, set[tuple[str, int, int]]] = defaultdict(set)
    at_position: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    for _t, s in sends.values():
        if s.offset is not None:
            positions[s.value].add((s.topic, s.partition, s.offset))
            at_position[(s.topic, s.partition, s.offset)].add(s.value)
    for r in history.reads:
        positions[r.value].add((r.topic, r.partition, r.offset))
        at_position[(r.topic, r.partition, r.offset)].add(r.value)
    for value, where in positions.items():
        if len(where) > 1:
            found["duplicate"].append({"value": value, "positions": sorted(where)})
    for (topic, partition, offset), values in at_position.items():
        if len(values) > 1:
            found["inconsistent-offsets"].append(
                {"topic": topic, "partition": partition, "offset": offset, "values": sorted(values)}
            )

    unknown = set()
    for r in history.reads:
        sent = sends.get(r.value)
        if sent is None or sent[1].tp != r.tp:
            if (r.value, r.tp) not in unknown:
                unknown.add((r.value, r.tp))
                found["unknown-value"].append({"read": r})

    # lost writes: acknowledged commits missing from read_committed; anything once in the log missing from it
    for t in history.txns:
        if t.outcome == COMMITTED:
            for s in t.sends:
                if s.value not in final_rc_values:
                    found["lost-write"].append(
                        {
                            "value": s.value,
                            "txn": t.id,
                            "offset": s.offset,
                            "why": "commit acknowledged, not in the final read_committed read",
                        }
                    )
    once_in_log = {s.value for _t, s in sends.values() if s.offset is not None}
    once_in_log |= {r.value for r in history.reads if r.value in sends}
    for value in sorted(once_in_log - final_ru_values):
        found["lost-write"].append(
            {"value": value, "txn": sends[value][0].id, "why": "was in the log, not in the final read_uncommitted read"}
        )

    # aborted reads and reads of data not yet committed
    for r in history.reads:
        if r.isolation != READ_COMMITTED or r.value not in sends:
            continue
        t = sends[r.value][0]
        if fate[t.id] == ABORTED:
            found["G1a"].append({"read": r, "txn": t.id, "outcome": t.outcome})
        elif t.commit_at is not None and r.at < t.commit_at and r.reader != FINAL_COMMITTED:
            found["uncommitted-read"].append(
                {"read": r, "txn": t.id, "read_before_commit_s": round(t.commit_at - r.at, 6)}
            )

    # atomicity: the final read_committed read holds all of a committed transaction or none of it
    for t in history.txns:
        seen = [s.value for s in t.sends if s.value in final_rc_values]
        if seen and len(seen) < len(t.sends):
            found["fractured-read"].append(
                {
                    "txn": t.id,
                    "fate": fate[t.id],
                    "seen": seen,
                    "missing": [s.value for s in t.sends if s.value not in final_rc_values],
                }
            )

    # per session and partition: offsets increase, and read_committed sessions skip no committed record
    committed_offsets: dict[TP, list[int]] = defaultdict(list)
    committed_value: dict[tuple[str, int, int], str] = {}
    for r in final_rc:
        committed_offsets[r.tp].append(r.offset)
        committed_value[(r.topic, r.partition, r.offset)] = r.value
    for offsets in committed_offsets.values():
        offsets.sort()
    sessions: dict[tuple[str, int, str, int], list[Read]] = defaultdict(list)
    for r in history.reads:
        sessions[(r.reader, r.session, r.topic, r.partition)].append(r)
    for key, reads in sessions.items():
        reader, session, topic, partition = key
        previous = history.starts.get(key)
        previous_read = None
        for r in reads:
            if previous_read is not None and r.offset <= previous_read.offset:
                found["nonmonotonic-poll"].append(
                    {
                        "reader": reader,
                        "session": session,
                        "topic": topic,
                        "partition": partition,
                        "offsets": [previous_read.offset, r.offset],
                    }
                )
            elif previous is not None and r.isolation == READ_COMMITTED:
                # committed offsets in (previous read, r) -- or in [start, r) for the first read
                low = previous if previous_read is None else previous + 1
                skipped = _between(committed_offsets[(topic, partition)], low, r.offset)
                if skipped:
                    found["poll-skip"].append(
                        {
                            "reader": reader,
                            "session": session,
                            "topic": topic,
                            "partition": partition,
                            "from": previous,
                            "to": r.offset,
                            "first_read": previous_read is None,
                            "skipped": [(o, committed_value[(topic, partition, o)]) for o in skipped],
                        }
                    )
            if previous_read is None or r.offset > previous_read.offset:
                previous, previous_read = r.offset, r
    return dict(found)


def _between(sorted_offsets: list[int], low: int, high: int) -> list[int]:
    """The offsets in [low, high)."""
    return sorted_offsets[bisect.bisect_left(sorted_offsets, low) : bisect.bisect_left(sorted_offsets, high)]


def summary(history: History) -> dict[str, object]:
    """Counts for the test output."""
    fate = fates(history)
    outcomes = {k: sum(1 for t in history.txns if t.outcome == k) for k in (COMMITTED, ABORTED, UNKNOWN)}
    unknown_fates = [fate[t.id] for t in history.txns if t.outcome == UNKNOWN]
    readers: dict[str, int] = defaultdict(int)
    for r in history.reads:
        readers[r.reader] += 1
    return {
        "txns": len(history.txns),
        **outcomes,
        "unknown->committed": unknown_fates.count(COMMITTED),
        "unknown->aborted": unknown_fates.count(ABORTED),
        "sends": sum(len(t.sends) for t in history.txns),
        "acked": sum(1 for t in history.txns for s in t.sends if s.offset is not None),
        "reads": dict(readers),
        "sessions": len({(r.reader, r.session) for r in history.reads}),
    }


def describe(anomalies: dict[str, list[dict]], limit: int = 5) -> str:
    """A short text of the anomalies found, ``limit`` examples per kind."""
    lines = []
    for kind in ANOMALIES:
        cases: Iterable[dict] = anomalies.get(kind, [])
        cases = list(cases)
        if cases:
            lines.append(f"{kind}: {len(cases)}")
            lines.extend(f"    {c}" for c in cases[:limit])
    return "\n".join(lines)
