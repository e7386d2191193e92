"""The history checker: a pure function from a recorded history (`tests.faults.history`) to the
anomalies it holds, in the spirit of Jepsen's Kafka checker (jepsen/tests/kafka.clj).

Values are unique per run, so a value names one send. What each anomaly means here:

- ``lost-write``: a write that must be in the log is not in the final read of its partition. Such a
  write is a send the broker acknowledged (outside a transaction) or any send of a transaction whose
  commit was confirmed (a confirmed commit means every record of it was delivered). The final read at
  ``read_uncommitted`` is the reference for plain sends, the one at ``read_committed`` for committed
  transactions (either one when the other is missing). A partition whose final read did not complete is
  not judged (counted as ``unchecked``).
- ``duplicate``: one value at two or more offsets (anywhere: acknowledgements, polls, final reads).
  Idempotent and transactional producers must never write a retried record twice. One case is the
  client's, not the broker's, and is counted in ``stats`` instead (``client-epoch-duplicates``): the
  copies were written by one producer id under different producer epochs (`history.Origins`), and that
  producer instance had sends fail with librdkafka's ``Message timed out``. librdkafka then bumps the
  epoch and re-sends what it had queued, sequences from 0, and a record whose first attempt was written
  but not acknowledged is written again; a broker deduplicates only within an epoch, Apache Kafka
  included (librdkafka's INTRODUCTION.md, "Message timeout considerations"; confluentinc/librdkafka#4953).
  The same epoch twice, two producer ids, or no local timeout is still a ``duplicate``.
- ``inconsistent-offset``: two different values seen at one offset of one partition (an acknowledgement
  that disagrees with a read, or two reads that disagree), as after a truncated and rewritten log.
- ``nonmonotonic-send``: one producer (instance) sent ``x`` before ``y`` to one partition and both were
  acknowledged, but ``y`` is at the lower offset: idempotent producers keep the order of their sends
  per partition, retries included.
- ``nonmonotonic-poll``: one consumer, between two assignment changes, read an offset of a partition at
  or below one it had already read there.
- ``skipped-poll``: one consumer read offsets ``a`` then ``b`` of a partition (nothing else of it in
  between) while the final read at the consumer's isolation level holds a value at some offset strictly
  between. Offsets may skip legitimately (transaction markers, aborted batches, compaction), so a numeric
  gap alone is not a skip: only a value other readers saw counts.
- ``aborted-read``: a ``read_committed`` read (poll or final read) returned a value of a transaction
  whose abort was confirmed.
- ``uncommitted-read``: a ``read_committed`` read returned a value of a transaction that was never
  ended, or a poll returned it before the producer had even asked to commit.
- ``unexpected-value``: a read returned a value no producer of this run sent.

`check` never raises on a strange history; it reports. `CheckResult.valid` is True when no anomaly was
found; ``stats`` counts what was checked, so a vacuous "valid" (nothing acknowledged, nothing read) is
visible in the summary.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from tests.faults.history import Assign, Event, FinalRead, Origins, Poll, Send, Txn

__all__ = ["ANOMALIES", "CheckResult", "check"]

ANOMALIES = (
    "lost-write",
    "duplicate",
    "inconsistent-offset",
    "nonmonotonic-send",
    "nonmonotonic-poll",
    "skipped-poll",
    "aborted-read",
    "uncommitted-read",
    "unexpected-value",
)

Place = tuple[str, int, int]  # topic, partition, offset


@dataclass
class CheckResult:
    anomalies: dict[str, list[dict]] = field(default_factory=dict)
    stats: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not any(self.anomalies.values())

    def add(self, kind: str, **detail: object) -> None:
        self.anomalies.setdefault(kind, []).append(detail)

    def summary(self, examples: int = 3) -> str:
        """Counts, then each anomaly with its number and first few examples; one item a line."""
        lines = ["stats: " + ", ".join(f"{k}={v}" for k, v in sorted(self.stats.items()))]
        if self.valid:
            lines.append("no anomalies")
        for kind in ANOMALIES:
            found = self.anomalies.get(kind, [])
            if found:
                lines.append(f"{kind}: {len(found)}")
                lines.extend(f"    {item}" for item in found[:examples])
        return "\n".join(lines)


@dataclass(frozen=True)
class _Read:
    """One value read at one place, by whom (a consumer or ``final``), at what isolation and when."""

    reader: str
    isolation: str
    place: Place
    value: str
    time: float | None


def check(history: Iterable[Event]) -> CheckResult:
    events = list(history)
    result = CheckResult()
    sends: dict[str, Send] = {}
    txns: dict[str, Txn] = {}
    finals: dict[tuple[str, int, str], FinalRead] = {}
    origins: dict[tuple[str, int], Origins] = {}
    reads: list[_Read] = []
    for event in events:
        if isinstance(event, Send):
            sends.setdefault(event.value, event)
        elif isinstance(event, Txn):
            txns[event.txn] = event
        elif isinstance(event, FinalRead):
            finals[(event.topic, event.partition, event.isolation)] = event
            for offset, value in event.records:
                reads.append(_Read("final", event.isolation, (event.topic, event.partition, offset), value, None))
        elif isinstance(event, Poll):
            for topic, partition, offset, value in event.records:
                reads.append(_Read(event.consumer, event.isolation, (topic, partition, offset), value, event.time))
        elif isinstance(event, Origins):
            origins[(event.topic, event.partition)] = event

    result.stats = {
        "sends": len(sends),
        "acked": sum(1 for s in sends.values() if s.outcome == "ok"),
        "txns": len(txns),
        "committed-txns": sum(1 for t in txns.values() if t.outcome == "commit"),
        "aborted-txns": sum(1 for t in txns.values() if t.outcome == "abort"),
        "polled": sum(1 for r in reads if r.reader != "final"),
        "final-read": sum(1 for r in reads if r.reader == "final"),
        "incomplete-final-reads": sum(1 for f in finals.values() if not f.complete),
        "origin-batches": sum(len(o.batches) for o in origins.values() if o.complete),
        "incomplete-origins": sum(1 for o in origins.values() if not o.complete),
    }
    _lost_writes(result, sends, txns, finals)
    _places(result, sends, reads, _timed_out_producers(events), origins)
    _transactions(result, sends, txns, reads)
    _send_order(result, sends)
    _poll_order(result, events, finals, _aborted_values(sends, txns))
    return result


def _must_be_present(send: Send, txns: dict[str, Txn]) -> bool:
    if send.txn is None:
        return send.outcome == "ok"
    txn = txns.get(send.txn)
    return txn is not None and txn.outcome == "commit"


def _lost_writes(
    result: CheckResult,
    sends: dict[str, Send],
    txns: dict[str, Txn],
    finals: dict[tuple[str, int, str], FinalRead],
) -> None:
    final_values: dict[tuple[str, int, str], set[str]] = {
        key: {value for _, value in read.records} for key, read in finals.items() if read.complete
    }
    unchecked = 0
    for send in sends.values():
        if not _must_be_present(send, txns):
            continue
        if send.partition is None:
            # a committed transaction's record whose own delivery report never came: the commit says it
            # is in some partition, but not which one; look in every final read of the topic
            keys = [k for k in final_values if k[0] == send.topic]
            if keys and not any(send.value in final_values[k] for k in keys):
                result.add("lost-write", value=send.value, topic=send.topic, partition=None, offset=None)
            elif not keys:
                unchecked += 1
            continue
        order = ("read_committed", "read_uncommitted") if send.txn else ("read_uncommitted", "read_committed")
        key = next(
            ((send.topic, send.partition, iso) for iso in order if (send.topic, send.partition, iso) in final_values),
            None,
        )
        if key is None:
            unchecked += 1
        elif send.value not in final_values[key]:
            result.add(
                "lost-write",
                value=send.value,
                topic=send.topic,
                partition=send.partition,
                offset=send.offset,
                txn=send.txn,
            )
    result.stats["unchecked"] = unchecked


def _timed_out_producers(events: list[Event]) -> set[str]:
    """Producer instances that had a send fail with librdkafka's local ``Message timed out``."""
    return {
        e.producer
        for e in events
        if isinstance(e, Send) and e.outcome == "fail" and "Message timed out" in (e.error or "")
    }


def _origin(origins: dict[tuple[str, int], Origins], place: Place) -> tuple[int, int] | None:
    """(producer id, producer epoch) of the batch holding ``place``, if the partition's origins say."""
    found = origins.get(place[:2])
    if found is None:
        return None
    i = bisect_right([b[0] for b in found.batches], place[2]) - 1
    if i < 0 or found.batches[i][1] < place[2]:
        return None
    return found.batches[i][2], found.batches[i][3]


def _client_epoch_duplicate(
    send: Send | None, places: set[Place], timed_out: set[str], origins: dict[tuple[str, int], Origins]
) -> bool:
    """The copies are librdkafka's re-sends after its own epoch bump (see the module docstring)."""
    if send is None or send.producer not in timed_out:
        return False
    found = [_origin(origins, place) for place in places]
    if any(o is None for o in found):
        return False
    ids = {o[0] for o in found if o is not None}
    epochs = [o[1] for o in found if o is not None]
    return len(ids) == 1 and min(ids) >= 0 and len(set(epochs)) == len(epochs)


def _places(
    result: CheckResult,
    sends: dict[str, Send],
    reads: list[_Read],
    timed_out: set[str],
    origins: dict[tuple[str, int], Origins],
) -> None:
    """Duplicates, inconsistent offsets and values nobody sent, over acknowledgements and reads."""
    values_at: dict[Place, set[str]] = defaultdict(set)
    places_of: dict[str, set[Place]] = defaultdict(set)
    for send in sends.values():
        if send.outcome == "ok" and send.partition is not None and send.offset is not None:
            place = (send.topic, send.partition, send.offset)
            values_at[place].add(send.value)
            places_of[send.value].add(place)
    unexpected: set[str] = set()
    for read in reads:
        values_at[read.place].add(read.value)
        places_of[read.value].add(read.place)
        if read.value not in sends and read.value not in unexpected:
            unexpected.add(read.value)
            result.add("unexpected-value", value=read.value, place=read.place, reader=read.reader)
    for place, values in sorted(values_at.items()):
        if len(values) > 1:
            result.add("inconsistent-offset", place=place, values=sorted(values))
    client_duplicates = 0
    for value, places in sorted(places_of.items()):
        if len(places) > 1:
            if _client_epoch_duplicate(sends.get(value), places, timed_out, origins):
                client_duplicates += 1
            else:
                result.add("duplicate", value=value, places=sorted(places))
    result.stats["client-epoch-duplicates"] = client_duplicates


def _transactions(result: CheckResult, sends: dict[str, Send], txns: dict[str, Txn], reads: list[_Read]) -> None:
    reported: set[tuple[str, str]] = set()
    for read in reads:
        if read.isolation != "read_committed":
            continue
        send = sends.get(read.value)
        if send is None or send.txn is None:
            continue
        txn = txns.get(send.txn)
        kind = None
        if txn is None or txn.outcome == "open" or txn.end_time is None:
            kind = "uncommitted-read"
        elif txn.outcome == "abort":
            kind = "aborted-read"
        elif read.time is not None and read.time < txn.end_time:
            kind = "uncommitted-read"
        if kind is not None and (kind, read.value) not in reported:
            reported.add((kind, read.value))
            result.add(kind, value=read.value, txn=send.txn, reader=read.reader, place=read.place, time=read.time)


def _send_order(result: CheckResult, sends: dict[str, Send]) -> None:
    acked: dict[tuple[str, str, int], list[Send]] = defaultdict(list)
    for send in sends.values():
        if send.outcome == "ok" and send.seq is not None and send.partition is not None and send.offset is not None:
            acked[(send.producer, send.topic, send.partition)].append(send)
    for (producer, topic, partition), group in sorted(acked.items()):
        group.sort(key=lambda s: s.seq or 0)
        for before, after in zip(group, group[1:]):
            assert before.offset is not None and after.offset is not None
            if after.offset <= before.offset:
                result.add(
                    "nonmonotonic-send",
                    producer=producer,
                    topic=topic,
                    partition=partition,
                    first=(before.value, before.offset),
                    then=(after.value, after.offset),
                )


def _aborted_values(sends: dict[str, Send], txns: dict[str, Txn]) -> set[str]:
    aborted = {t.txn for t in txns.values() if t.outcome == "abort"}
    return {s.value for s in sends.values() if s.txn in aborted}


def _poll_order(
    result: CheckResult, events: list[Event], finals: dict[tuple[str, int, str], FinalRead], aborted: set[str]
) -> None:
    # the offsets a consumer must not jump over: those the final read at its isolation level holds,
    # less aborted records a read_committed final read wrongly returned (reported as aborted reads)
    reference: dict[tuple[str, int, str], list[int]] = {
        key: sorted(o for o, v in read.records if key[2] == "read_uncommitted" or v not in aborted)
        for key, read in finals.items()
        if read.complete
    }
    last: dict[tuple[str, str, int], int] = {}  # (consumer, topic, partition) -> last offset read
    for event in events:
        if isinstance(event, Assign):
            for key in [k for k in last if k[0] == event.consumer]:
                del last[key]
            continue
        if not isinstance(event, Poll):
            continue
        for topic, partition, offset, _value in event.records:
            key = (event.consumer, topic, partition)
            prev = last.get(key)
            last[key] = offset
            if prev is None:
                continue
            if offset <= prev:
                result.add(
                    "nonmonotonic-poll",
                    consumer=event.consumer,
                    topic=topic,
                    partition=partition,
                    prev=prev,
                    offset=offset,
                )
                continue
            offsets = reference.get((topic, partition, event.isolation))
            if offsets is None:
                continue
            missed = _between(offsets, prev, offset)
            if missed:
                result.add(
                    "skipped-poll",
                    consumer=event.consumer,
                    topic=topic,
                    partition=partition,
                    prev=prev,
                    offset=offset,
                    missed=missed[:10],
                )


def _between(sorted_offsets: list[int], low: int, high: int) -> list[int]:
    """The offsets strictly between ``low`` and ``high`` (bisection: polls are many)."""
    return sorted_offsets[bisect_right(sorted_offsets, low) : bisect_left(sorted_offsets, high)]
