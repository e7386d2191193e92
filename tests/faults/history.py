"""The recorded history of a fault run: what every client did and what it saw.

A history is a list of events, each a small frozen dataclass; the checker (`tests.faults.checker`) is a
pure function over it, so hand-made histories test it. Times are seconds since the run began
(``time.monotonic`` based), used only to order events (a read before a transaction's commit was asked
for is an uncommitted read).

Events:

- `Send`: one record a producer sent. ``outcome`` is ``"ok"`` (acknowledged: ``partition`` and
  ``offset`` say where), ``"fail"`` (the client reported an error; under idempotence and retries the
  record may still be in the log, so a failure says nothing either way) or ``"unknown"`` (no answer
  before the run ended). ``txn`` names the transaction it belongs to, if any. ``producer`` names one
  producer instance (a replaced producer is another), ``seq`` numbers its sends in the order it made them.
- `Txn`: one transaction of a transactional producer: its id, when commit or abort was asked for
  (``end_time``) and the ``outcome``: ``"commit"`` / ``"abort"`` (the coordinator confirmed it),
  ``"unknown"`` (an error or timeout while ending it) or ``"open"`` (never ended).
- `Poll`: the records one consumer got from one ``poll``/``consume`` call, as (topic, partition, offset,
  value) tuples, with its isolation level.
- `Assign`: a consumer's assignment changed (a rebalance, or an ``assign``/``seek``). Its next position
  on a partition may legitimately go back or jump, so order checks restart from it.
- `FinalRead`: a complete read of one partition after the faults healed, from its log start to its end
  (the high watermark, or the last stable offset at ``read_committed``), as (offset, value) pairs.

- `Origins`: which producer wrote each batch of one partition's log, read raw after the faults healed
  (no client shows it): ``(base offset, last offset, producer id, producer epoch)`` per batch. The
  checker uses it to tell a broker's duplicate from librdkafka's documented one (see `checker`).

`Recorder` collects events from many client threads; `dump` / `load` keep a history as JSON lines so a
failed run can be checked again or attached to a report.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path

__all__ = ["Assign", "Event", "FinalRead", "Origins", "Poll", "Recorder", "Send", "Txn", "dump", "load"]

SEND_OUTCOMES = ("ok", "fail", "unknown")
TXN_OUTCOMES = ("commit", "abort", "unknown", "open")
ISOLATIONS = ("read_committed", "read_uncommitted")


@dataclass(frozen=True)
class Send:
    producer: str
    topic: str
    value: str
    outcome: str
    partition: int | None = None
    offset: int | None = None
    txn: str | None = None
    time: float = 0.0
    error: str | None = None
    seq: int | None = None


@dataclass(frozen=True)
class Txn:
    producer: str
    txn: str
    outcome: str
    end_time: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Poll:
    consumer: str
    isolation: str
    records: tuple[tuple[str, int, int, str], ...]
    time: float = 0.0


@dataclass(frozen=True)
class Assign:
    consumer: str
    partitions: tuple[tuple[str, int], ...]
    time: float = 0.0


@dataclass(frozen=True)
class FinalRead:
    topic: str
    partition: int
    isolation: str
    records: tuple[tuple[int, str], ...]
    complete: bool = True
    error: str | None = None


@dataclass(frozen=True)
class Origins:
    topic: str
    partition: int
    batches: tuple[tuple[int, int, int, int], ...]  # base offset, last offset, producer id, producer epoch
    complete: bool = True
    error: str | None = None


Event = Send | Txn | Poll | Assign | FinalRead | Origins
_KINDS: dict[str, type] = {
    "send": Send,
    "txn": Txn,
    "poll": Poll,
    "assign": Assign,
    "final": FinalRead,
    "origins": Origins,
}
_NAMES = {cls: name for name, cls in _KINDS.items()}


@dataclass
class Recorder:
    """Thread-safe event log for one run; ``now()`` is seconds since it was made."""

    events: list[Event] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _t0: float = field(default_factory=time.monotonic, repr=False)

    def now(self) -> float:
        return round(time.monotonic() - self._t0, 4)

    def add(self, event: Event) -> None:
        with self._lock:
            self.events.append(event)

    def snapshot(self) -> list[Event]:
        with self._lock:
            return list(self.events)


def _tuples(value: object) -> object:
    """JSON turns tuples into lists; the dataclasses hold tuples (hashable, frozen)."""
    if isinstance(value, list):
        return tuple(_tuples(v) for v in value)
    return value


def dump(events: Iterable[Event], path: str | Path) -> None:
    """Write one JSON object per line: ``{"kind": "send", ...fields}``."""
    with open(path, "w") as f:
        for event in events:
            f.write(json.dumps({"kind": _NAMES[type(event)], **asdict(event)}) + "\n")


def load(path: str | Path) -> list[Event]:
    events: list[Event] = []
    for line in Path(path).read_text().splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        cls = _KINDS[raw.pop("kind")]
        events.append(cls(**{k: _tuples(v) for k, v in raw.items()}))
    return events
