"""The live simulator: real Kafka clients (confluent-kafka, one thread each) against this broker.

Producers send at a chosen rate, keyed from a key set (murmur2 placement, as Java clients do:
``partitioner=murmur2_random``) or unkeyed. Consumers read one topic in one group at a chosen pace,
so lag can rise and fall.

Consumers share partitions as Kafka's do: each one ``subscribe``s, the broker's group coordinator
rebalances, and the assignments come from librdkafka's callbacks. The simulator keeps each consumer's
position (the offset after its last record) for the lag it shows, only for the partitions it is
assigned: a revoke drops the revoked partitions' positions, an assign starts each new partition at the
group's last position the simulator saw (none until the first fetch if it saw none).

Each client has an ``id`` unique across kinds (what ``stop_client`` and the API's
``/api/simulator/clients/{id}`` take) and a ``number`` per kind, from 1: its ``name`` ("producer 1",
"consumer 1") is what the page and the event log show. Its default topic, :data:`DEFAULT_TOPIC`, is its
own, so a new group does not start behind whatever ``kavka bench`` wrote to ``orders``.

Threads talk to the event loop only through :class:`Simulator`'s lock-protected state and event log;
the console reads them on each tick. Nothing here touches the broker's objects.
"""

from __future__ import annotations

import collections
import itertools
import json
import logging
import random
import threading
import time

__all__ = ["Simulator", "MAX_CLIENTS", "MAX_RATE", "DEFAULT_TOPIC", "DEFAULT_PARTITIONS"]

log = logging.getLogger(__name__)

MAX_CLIENTS = 8
MAX_RATE = 1000.0
_EVENTS = 500
_PRODUCE_LOG_EVERY_S = 0.5
# The topic the page offers to create and selects first: the simulator's own, never the README's `orders`
# (which `kavka bench` fills with a million records, so a new group there starts a million behind).
DEFAULT_TOPIC = "simulator-orders"
DEFAULT_PARTITIONS = 3


class _Client:
    kind = "client"

    def __init__(self, sim: Simulator, cid: int, number: int, topic: str, rate: float):
        self.sim = sim
        self.id = cid
        self.number = number
        self.name = f"{self.kind} {number}"
        self.topic = topic
        self.rate = rate
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self._run_safely, name=f"kavka-sim-{self.kind}-{number}", daemon=True)
        self.error: str | None = None
        self.started_at = time.time()

    def start(self) -> None:
        self.thread.start()

    def _run_safely(self) -> None:
        try:
            self.run()
        except Exception as e:  # noqa: BLE001 - shown on the page
            self.error = str(e)
            self.sim.event("error", f"{self.name} failed: {e}")
            log.exception("simulated %s failed", self.name)

    def run(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError


class SimProducer(_Client):
    kind = "producer"

    def __init__(self, sim, cid, number, topic, rate, keys: list[str] | None):
        super().__init__(sim, cid, number, topic, rate)
        self.keys = keys or []
        self.sent = 0
        self.acked = 0
        self.errors = 0
        self.per_partition: dict[int, int] = {}
        self._last_logged = 0.0

    def run(self) -> None:
        from confluent_kafka import Producer

        p = Producer(
            {
                **self.sim.client_conf,
                "bootstrap.servers": self.sim.bootstrap,
                "client.id": f"kavka-sim-producer-{self.number}",
                "partitioner": "murmur2_random",
                "linger.ms": 5,
                "log_level": 3,
            }
        )
        rng = random.Random(self.number)
        interval = 1.0 / self.rate
        next_at = time.monotonic()
        seq = 0
        try:
            while not self.stop_event.is_set():
                now = time.monotonic()
                if now < next_at:
                    p.poll(min(next_at - now, 0.2))
                    continue
                next_at = max(next_at + interval, now - 1.0)  # catch up at most one second
                key = rng.choice(self.keys) if self.keys else None
                value = json.dumps({"producer": self.number, "seq": seq, "ts": int(time.time() * 1000)})
                try:
                    p.produce(self.topic, value=value, key=key, on_delivery=self._delivered)
                    seq += 1
                    with self.sim.lock:
                        self.sent += 1
                except BufferError:
                    p.poll(0.1)
                p.poll(0)
        finally:
            p.flush(5)

    def _delivered(self, err, msg) -> None:
        with self.sim.lock:
            if err is not None:
                self.errors += 1
            else:
                self.acked += 1
                self.per_partition[msg.partition()] = self.per_partition.get(msg.partition(), 0) + 1
        if err is not None:
            self.sim.event("error", f"{self.name}: {err.str()}")
        elif time.monotonic() - self._last_logged >= _PRODUCE_LOG_EVERY_S:  # the log stays readable at any rate
            self._last_logged = time.monotonic()
            key = msg.key().decode() if msg.key() else "-"
            self.sim.event(
                "produce",
                f"{self.name} → {msg.topic()}/{msg.partition()} @ {msg.offset()} (key {key})",
                partition=msg.partition(),
            )

    def state(self) -> dict:
        return {
            "id": self.id,
            "number": self.number,
            "name": self.name,
            "topic": self.topic,
            "rate": self.rate,
            "keys": self.keys,
            "sent": self.sent,
            "acked": self.acked,
            "errors": self.errors,
            "error": self.error,
            "per_partition": dict(sorted(self.per_partition.items())),
            "running": self.thread.is_alive(),
        }


class SimConsumer(_Client):
    kind = "consumer"

    def __init__(self, sim, cid, number, topic, rate, group: str):
        super().__init__(sim, cid, number, topic, rate)
        self.group = group
        self.assigned: list[int] = []
        # partition -> the offset after its last record; holds assigned partitions only (see on_assign/revoke)
        self.positions: dict[int, int] = {}
        self.consumed = 0

    def run(self) -> None:
        from confluent_kafka import Consumer

        conf = {
            **self.sim.client_conf,
            "bootstrap.servers": self.sim.bootstrap,
            "client.id": f"kavka-sim-consumer-{self.number}",
            "group.id": self.group,
            "auto.offset.reset": "earliest",
            "log_level": 3,
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 500,
        }
        c = Consumer(conf)
        c.subscribe([self.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
        interval = 1.0 / self.rate if self.rate > 0 else 0.0
        try:
            while not self.stop_event.is_set():
                msg = c.poll(0.2)
                if msg is None:
                    continue
                if msg.error():
                    if not msg.error().retriable() and msg.error().fatal():
                        raise RuntimeError(msg.error().str())
                    continue
                pos = msg.offset() + 1
                with self.sim.lock:
                    self.consumed += 1
                    if msg.partition() in self.assigned:  # a record fetched before a revoke is no position
                        self.positions[msg.partition()] = pos
                self.sim.commit(self.group, self.topic, msg.partition(), pos)
                if interval:
                    self.stop_event.wait(interval)
        finally:
            c.close()  # LeaveGroup, so the others rebalance at once

    def _on_assign(self, consumer, partitions) -> None:
        """The eager protocol's assignment: the whole new set. A partition new to this consumer starts
        at the group's last position the simulator saw (the offset the group resumes from), or at none
        (the page shows "–") until the first record fetched."""
        ps = sorted(tp.partition for tp in partitions)
        with self.sim.lock:
            self.assigned = ps
            # the group's record covers this consumer's own positions too, and is never older
            known = {p: self.sim.committed_locked(self.group, self.topic, p) for p in ps}
            self.positions = {p: o for p, o in known.items() if o is not None}
        self.sim.event("assign", f"{self.name} assigned {ps}")

    def _on_revoke(self, consumer, partitions) -> None:
        ps = sorted(tp.partition for tp in partitions)
        with self.sim.lock:
            self.assigned = [p for p in self.assigned if p not in ps]
            self.positions = {p: o for p, o in self.positions.items() if p not in ps}
        if ps:
            self.sim.event("revoke", f"{self.name} revoked {ps}")

    def state(self) -> dict:
        """``positions`` holds assigned partitions only, and only those with a known position."""
        return {
            "id": self.id,
            "number": self.number,
            "name": self.name,
            "topic": self.topic,
            "group": self.group,
            "rate": self.rate,
            "assigned": list(self.assigned),
            "positions": {p: o for p, o in sorted(self.positions.items()) if p in self.assigned},
            "consumed": self.consumed,
            "error": self.error,
            "running": self.thread.is_alive(),
        }


class Simulator:
    """Start and stop simulated clients; keep their state and an event log. Thread-safe."""

    def __init__(self, bootstrap: str, client_conf: dict[str, str] | None = None):
        self.bootstrap = bootstrap
        # librdkafka settings of every simulated client: the security of console.client.config
        self.client_conf = dict(client_conf or {})
        self.lock = threading.Lock()
        self._ids = itertools.count(1)  # unique across kinds: what stop_client and the API take
        self._numbers = {"producer": itertools.count(1), "consumer": itertools.count(1)}  # what users read
        self.producers: dict[int, SimProducer] = {}
        self.consumers: dict[int, SimConsumer] = {}
        self._committed: dict[tuple[str, str, int], int] = {}
        self._events: collections.deque = collections.deque(maxlen=_EVENTS)
        self._seq = 0

    # --- event log ----------------------------------------------------------------------------

    def event(self, kind: str, text: str, **extra) -> None:
        with self.lock:
            self._seq += 1
            self._events.append({"seq": self._seq, "t": time.time(), "kind": kind, "text": text, **extra})

    def events_since(self, seq: int, limit: int = 100) -> list[dict]:
        with self.lock:
            new = [e for e in self._events if e["seq"] > seq]
        return new[-limit:]

    # --- positions, for the lag shown -----------------------------------------------------------

    def committed(self, group: str, topic: str, partition: int, default: int) -> int:
        with self.lock:
            return self._committed.get((group, topic, partition), default)

    def committed_locked(self, group: str, topic: str, partition: int) -> int | None:
        """The group's last position seen, or None; the caller holds ``lock``."""
        return self._committed.get((group, topic, partition))

    def commit(self, group: str, topic: str, partition: int, offset: int) -> None:
        with self.lock:
            self._committed[(group, topic, partition)] = offset

    # --- clients ------------------------------------------------------------------------------

    def add_producer(self, topic: str, rate: float, keys: list[str] | None) -> dict:
        if len([p for p in self.producers.values() if p.thread.is_alive()]) >= MAX_CLIENTS:
            raise ValueError(f"At most {MAX_CLIENTS} simulated producers run at once.")
        rate = float(rate)
        if not 0 < rate <= MAX_RATE:
            raise ValueError(f"The rate must be between 0 and {MAX_RATE:g} records per second.")
        p = SimProducer(
            self, next(self._ids), next(self._numbers["producer"]), topic, rate, [k for k in (keys or []) if k]
        )
        self.producers[p.id] = p
        p.start()
        self.event(
            "start",
            f"{p.name} started on {topic} at {rate:g}/s" + (f", keys {p.keys}" if p.keys else ", no keys"),
        )
        return p.state()

    def add_consumer(self, topic: str, group: str, rate: float) -> dict:
        if len([c for c in self.consumers.values() if c.thread.is_alive()]) >= MAX_CLIENTS:
            raise ValueError(f"At most {MAX_CLIENTS} simulated consumers run at once.")
        rate = float(rate)
        if not 0 <= rate <= MAX_RATE:
            raise ValueError(f"The rate must be between 0 (unlimited) and {MAX_RATE:g} records per second.")
        if not group:
            raise ValueError("A consumer needs a group id.")
        c = SimConsumer(self, next(self._ids), next(self._numbers["consumer"]), topic, rate, group)
        self.consumers[c.id] = c
        self.event("start", f"{c.name} joined group {group} on {topic}" + (f" at {rate:g}/s" if rate else ""))
        c.start()
        return c.state()

    def stop_client(self, cid: int) -> _Client:
        """Signal client ``cid`` to stop (returns it; join it off the event loop)."""
        client = self.producers.get(cid) or self.consumers.get(cid)
        if client is None:
            raise KeyError(cid)
        client.stop_event.set()
        self.event("stop", f"{client.name} stopped")
        return client

    def stop_all(self) -> list[_Client]:
        clients = [*self.producers.values(), *self.consumers.values()]
        for c in clients:
            c.stop_event.set()
        return clients

    def forget_stopped(self) -> None:
        for table in (self.producers, self.consumers):
            for cid in [i for i, c in table.items() if c.stop_event.is_set() and not c.thread.is_alive()]:
                del table[cid]

    def state(self) -> dict:
        with self.lock:
            return {
                "producers": [p.state() for p in self.producers.values()],
                "consumers": [c.state() for c in self.consumers.values()],
                "last_event": self._seq,
            }
