"""The workload of a fault run: real confluent-kafka clients in threads, every action recorded.

- idempotent producers (``acks=all``, ``enable.idempotence``) send unique values (``<name>-<n>``) to
  the plain topic, round-robin over its partitions, at a steady rate; each send is recorded with its
  outcome from the delivery report (`history.Send`), and what never got one by the end as ``unknown``;
- transactional producers send 1-4 values per transaction to the transactional topic and commit, or
  abort one time in four; each transaction is recorded with its confirmed outcome (`history.Txn`); a
  transaction whose end cannot be confirmed is ``unknown`` and its producer is replaced by a new one
  with the same ``transactional.id`` (which fences the old one and aborts what it left open);
- consumers: one in a group and one with ``assign`` on the plain topic (``read_uncommitted``), one in
  a group at ``read_committed`` on the transactional topic; every non-empty ``consume`` is a
  `history.Poll`, every assignment change an `history.Assign`;
- `final_reads`: after the faults heal, a fresh consumer per topic and isolation level reads every
  partition from its start to its end (a partition EOF at or past the high watermark, or the last
  stable offset at ``read_committed``).

Errors clients report are expected under faults and never stop a thread: an idempotent or
transactional producer that hits a fatal error is replaced by a new one (the values it had in flight
stay ``unknown``); the loop goes on until `stop`.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer, TopicPartition

from kavka.protocol.batch import iter_headers
from tests.clients import adminwire
from tests.faults.history import Assign, FinalRead, Origins, Poll, Recorder, Send, Txn

__all__ = ["Workload", "WorkloadConfig"]

# librdkafka logs every broker failure to stderr; under faults that is thousands of lines, so the
# clients log to a logger with no handler (what they report through callbacks is in the history)
_QUIET = logging.getLogger("kavka.faults.clients")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

CLIENT_TIMEOUTS = {
    "logger": _QUIET,
    "socket.timeout.ms": 5000,
    "reconnect.backoff.max.ms": 500,
    "topic.metadata.refresh.interval.ms": 2000,
}


@dataclass
class WorkloadConfig:
    bootstrap: str
    topic: str
    partitions: int
    txn_topic: str | None = None
    producers: int = 2
    txn_producers: int = 1
    rate: float = 50.0  # values a second per producer
    group_consumers: int = 1
    assign_consumers: int = 1
    txn_consumers: int = 1
    seed: int = 0
    name: str = "run"


class Workload:
    def __init__(self, config: WorkloadConfig, recorder: Recorder) -> None:
        self.config = config
        self.recorder = recorder
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self.errors: list[str] = []  # unexpected exceptions in client threads (a workload bug)
        self._not_ready: set[str] = set()
        self._ready_lock = threading.Lock()
        self._all_ready = threading.Event()

    # -- life ------------------------------------------------------------------------------------

    def start(self) -> Workload:
        c = self.config
        jobs: list[tuple[str, Callable[[str], None]]] = []
        jobs += [(f"p{i}", self._produce) for i in range(c.producers)]
        if c.txn_topic is not None:
            jobs += [(f"tx{i}", self._produce_transactions) for i in range(c.txn_producers)]
            jobs += [(f"rc{i}", self._consume_committed) for i in range(c.txn_consumers)]
        jobs += [(f"g{i}", self._consume_group) for i in range(c.group_consumers)]
        jobs += [(f"a{i}", self._consume_assigned) for i in range(c.assign_consumers)]
        self._not_ready = {name for name, _ in jobs}
        for name, job in jobs:
            thread = threading.Thread(target=self._guard, args=(job, name), name=f"workload-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()
        return self

    def _ready(self, name: str) -> None:
        """A client did its first thing (an acknowledged send, a transaction ended, a poll answered)."""
        with self._ready_lock:
            self._not_ready.discard(name)
            if not self._not_ready:
                self._all_ready.set()

    def wait_ready(self, timeout: float) -> None:
        """Wait until every client has done its first thing: a run's faults hit a workload in its steady
        state, not one still finding its coordinators."""
        if not self._all_ready.wait(timeout):
            raise TimeoutError(f"workload clients not started after {timeout}s: {sorted(self._not_ready)}")

    def wait(self, seconds: float) -> None:
        """Let the workload run for ``seconds`` more (returns early if it is stopped)."""
        self._stop.wait(max(0.0, seconds))

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout)
        alive = [t.name for t in self._threads if t.is_alive()]
        if alive:
            self.errors.append(f"workload threads still running after {timeout}s: {alive}")

    def _guard(self, job: Callable[[str], None], name: str) -> None:
        try:
            job(name)
        except Exception as exc:  # noqa: BLE001 - reported by the run as a workload failure
            self.errors.append(f"{name}: {exc!r}")

    def _client(self, extra: dict) -> dict:
        return {"bootstrap.servers": self.config.bootstrap, **CLIENT_TIMEOUTS, **extra}

    # -- producers -------------------------------------------------------------------------------

    def _produce(self, name: str) -> None:
        c, rec = self.config, self.recorder
        # value -> (producer instance, its send number, time sent): a replaced producer is another
        # instance ("p0.1"), and ordering is promised per instance
        pending: dict[str, tuple[str, int, float]] = {}
        lock = threading.Lock()
        fatal = threading.Event()

        def report(err: KafkaError | None, msg) -> None:
            value = msg.value().decode()
            with lock:
                who, seq, sent_at = pending.pop(value, (name, -1, 0.0))
            if err is None:
                rec.add(Send(who, c.topic, value, "ok", msg.partition(), msg.offset(), time=sent_at, seq=seq))
                self._ready(name)
            else:
                if err.fatal():
                    fatal.set()
                rec.add(Send(who, c.topic, value, "fail", msg.partition(), time=sent_at, error=err.str(), seq=seq))

        def new_producer() -> Producer:
            return Producer(
                self._client({"acks": "all", "enable.idempotence": True, "linger.ms": 5, "message.timeout.ms": 15000})
            )

        producer = new_producer()
        n, instance = 0, 0
        while not self._stop.is_set():
            if fatal.is_set():
                producer.flush(5)
                producer = new_producer()
                instance += 1
                fatal.clear()
            value = f"{name}-{n}"
            with lock:
                pending[value] = (f"{name}.{instance}", n, rec.now())
            try:
                producer.produce(c.topic, value=value, partition=n % c.partitions, on_delivery=report)
            except BufferError:
                with lock:
                    pending.pop(value, None)
                producer.poll(0.1)
                continue
            n += 1
            producer.poll(0)
            self._stop.wait(1.0 / c.rate)
        producer.flush(20)
        with lock:
            for value, (who, seq, sent_at) in pending.items():
                rec.add(Send(who, c.topic, value, "unknown", time=sent_at, seq=seq))
            pending.clear()

    def _produce_transactions(self, name: str) -> None:
        c, rec = self.config, self.recorder
        assert c.txn_topic is not None
        topic = c.txn_topic
        rng = random.Random(f"{c.seed}-{name}")
        # value -> (producer instance, transaction, send number, time sent)
        pending: dict[str, tuple[str, str, int, float]] = {}
        lock = threading.Lock()

        def report(err: KafkaError | None, msg) -> None:
            value = msg.value().decode()
            with lock:
                who, txn, seq, sent_at = pending.pop(value, (name, "?", -1, 0.0))
            if err is None:
                ok = Send(who, topic, value, "ok", msg.partition(), msg.offset(), txn=txn, time=sent_at, seq=seq)
                rec.add(ok)
            else:
                rec.add(
                    Send(who, topic, value, "fail", msg.partition(), txn=txn, time=sent_at, error=err.str(), seq=seq)
                )

        config = self._client(
            {
                "transactional.id": f"{c.name}-{name}",
                "transaction.timeout.ms": 20000,
                "message.timeout.ms": 15000,
                "linger.ms": 5,
            }
        )

        def new_producer() -> Producer | None:
            producer = Producer(config)
            while not self._stop.is_set():
                try:
                    producer.init_transactions(10)
                    return producer
                except KafkaException as exc:
                    if exc.args[0].fatal():
                        producer = Producer(config)
            return None

        producer = new_producer()
        k, instance, seq = 0, 0, 0
        while producer is not None and not self._stop.is_set():
            txn = f"{name}-t{k}"
            k += 1
            outcome, end_time, error = "open", None, None
            try:
                producer.begin_transaction()
                for j in range(rng.randint(1, 4)):
                    value = f"{txn}-{j}"
                    with lock:
                        pending[value] = (f"{name}.{instance}", txn, seq, rec.now())
                    seq += 1
                    producer.produce(topic, value=value, partition=rng.randrange(c.partitions), on_delivery=report)
                    producer.poll(0)
                abort = rng.random() < 0.25
                end_time = rec.now()
                outcome = self._end_transaction(producer, abort)
            except KafkaException as exc:
                error = exc.args[0].str()
                outcome = self._after_failure(producer, exc)
            producer.poll(0)
            with lock:
                # sends of this transaction that never got a report (purged by an abort, or lost with a
                # fatal producer) are unknown
                for value, (who, t, n, sent_at) in list(pending.items()):
                    if t == txn:
                        del pending[value]
                        rec.add(Send(who, topic, value, "unknown", txn=txn, time=sent_at, seq=n))
            rec.add(Txn(name, txn, "unknown" if outcome == "fatal" else outcome, end_time=end_time, error=error))
            if outcome in ("commit", "abort"):
                self._ready(name)
            if outcome == "fatal":
                producer = new_producer()
                instance += 1
            self._stop.wait(5.0 / c.rate)  # a transaction per 5 plain values
        if producer is not None:
            producer.flush(5)

    def _end_transaction(self, producer: Producer, abort: bool) -> str:
        """Commit (or abort) and return the confirmed outcome. A retriable error is retried, as
        librdkafka asks (the same call again until it succeeds); an abortable one turns into an abort."""
        if abort:
            return self._abort(producer)
        for _ in range(5):
            try:
                producer.commit_transaction(10)
                return "commit"
            except KafkaException as exc:
                err = exc.args[0]
                if err.retriable() and not self._stop.is_set():
                    continue
                return self._after_failure(producer, exc)
        return "fatal"  # still unresolved: a new producer (same transactional.id) fences this one

    def _after_failure(self, producer: Producer, exc: KafkaException) -> str:
        err = exc.args[0]
        if err.fatal():
            return "fatal"
        if err.txn_requires_abort():
            return self._abort(producer)
        return "fatal"  # the transaction's state is unknown: start over with a new producer

    def _abort(self, producer: Producer) -> str:
        """abort_transaction until it succeeds (a timed-out abort goes on in the background, and the next
        call waits for it: librdkafka's rule); "fatal" (the producer is replaced) if it never does."""
        for _ in range(5):
            try:
                producer.abort_transaction(10)
                return "abort"
            except KafkaException as exc:
                if exc.args[0].fatal() or self._stop.is_set():
                    return "fatal"
        return "fatal"

    # -- consumers -------------------------------------------------------------------------------

    def _consume(self, name: str, consumer: Consumer, isolation: str) -> None:
        rec = self.recorder
        try:
            while not self._stop.is_set():
                msgs = consumer.consume(200, timeout=0.5)
                if msgs:
                    self._ready(name)
                got = tuple(
                    (m.topic(), m.partition(), m.offset(), m.value().decode())
                    for m in msgs
                    if m.error() is None and m.value() is not None
                )
                if got:
                    rec.add(Poll(name, isolation, got, rec.now()))
        finally:
            consumer.close()

    def _group_consumer(self, name: str, topic: str, isolation: str) -> None:
        rec = self.recorder

        def assigned(_consumer, partitions) -> None:
            rec.add(Assign(name, tuple((p.topic, p.partition) for p in partitions), rec.now()))

        def revoked(_consumer, _partitions) -> None:
            rec.add(Assign(name, (), rec.now()))

        consumer = Consumer(
            self._client(
                {
                    "group.id": f"{self.config.name}-{name}",
                    "auto.offset.reset": "earliest",
                    "isolation.level": isolation,
                    "session.timeout.ms": 10000,
                }
            )
        )
        consumer.subscribe([topic], on_assign=assigned, on_revoke=revoked, on_lost=revoked)
        self._consume(name, consumer, isolation)

    def _consume_group(self, name: str) -> None:
        self._group_consumer(name, self.config.topic, "read_uncommitted")

    def _consume_committed(self, name: str) -> None:
        assert self.config.txn_topic is not None
        self._group_consumer(name, self.config.txn_topic, "read_committed")

    def _consume_assigned(self, name: str) -> None:
        c = self.config
        consumer = Consumer(self._client({"group.id": f"{c.name}-{name}-unused", "enable.auto.commit": False}))
        tps = [TopicPartition(c.topic, p, OFFSET_BEGINNING) for p in range(c.partitions)]
        consumer.assign(tps)
        self.recorder.add(Assign(name, tuple((c.topic, p) for p in range(c.partitions)), self.recorder.now()))
        self._consume(name, consumer, "read_uncommitted")

    # -- the final read --------------------------------------------------------------------------

    def final_reads(self, timeout: float = 60.0) -> None:
        """Read every partition completely at each isolation level that applies and record it."""
        c = self.config
        targets = [(c.topic, "read_uncommitted")]
        if c.txn_topic is not None:
            targets += [(c.txn_topic, "read_uncommitted"), (c.txn_topic, "read_committed")]
        for topic, isolation in targets:
            for read in read_partitions(self.config.bootstrap, topic, c.partitions, isolation, timeout):
                self.recorder.add(read)
        for topic in dict.fromkeys(topic for topic, _ in targets):
            for origins in read_origins(self.config.bootstrap, topic, c.partitions, timeout):
                self.recorder.add(origins)


FETCH = 1


def read_origins(bootstrap: str, topic: str, partitions: int, timeout: float) -> list[Origins]:
    """Who wrote each batch of each partition of ``topic``: raw Fetch v12 requests (read_uncommitted)
    to the partition's leader from its log start to its high watermark, keeping each batch header's
    offsets, producer id and producer epoch. ``complete`` is False for a partition not read to its end
    in time (its leader moving, or unreachable)."""
    meta_client = Producer({"bootstrap.servers": bootstrap, **CLIENT_TIMEOUTS})
    deadline = time.monotonic() + timeout
    out = []
    try:
        for p in range(partitions):
            batches: list[tuple[int, int, int, int]] = []
            offset, end, error = 0, None, None
            while (end is None or offset < end) and time.monotonic() < deadline:
                try:
                    meta = meta_client.list_topics(topic, timeout=5)
                    broker = meta.brokers[meta.topics[topic].partitions[p].leader]
                    answer = adminwire.call(
                        f"{broker.host}:{broker.port}", FETCH, 12, adminwire.fetch_body(topic, p, offset)
                    )
                except (KafkaException, KeyError, OSError) as exc:  # no leader yet, or it just moved
                    error = str(exc) or type(exc).__name__
                    time.sleep(0.2)  # the next attempt's metadata needs time to change; bounded by the deadline
                    continue
                part = answer.responses[0].partitions[0]
                if part.error_code == 1 and offset < part.log_start_offset:  # OFFSET_OUT_OF_RANGE: start later
                    offset = part.log_start_offset
                    continue
                if part.error_code:
                    error = f"error code {part.error_code}"
                    time.sleep(0.2)
                    continue
                end = part.high_watermark
                for _, h in iter_headers(bytes(part.records or b"")):
                    if h.last_offset >= offset:
                        batches.append((h.base_offset, h.last_offset, h.producer_id, h.producer_epoch))
                        offset = h.next_offset
            done = end is not None and offset >= end
            out.append(Origins(topic, p, tuple(batches), complete=done, error=None if done else error))
        return out
    finally:
        meta_client.flush(0)


def read_partitions(bootstrap: str, topic: str, partitions: int, isolation: str, timeout: float) -> list[FinalRead]:
    """Everything in each partition of ``topic`` from its start to its end, as one consumer at
    ``isolation`` sees it. A partition's end is a partition EOF at or past the end offset ListOffsets gives
    at that isolation level (the high watermark, or the last stable offset); ``complete`` is False for a
    partition whose end is not reached in time."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"final-{topic}-{isolation}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
            **CLIENT_TIMEOUTS,
        }
    )
    records: dict[int, list[tuple[int, str]]] = {p: [] for p in range(partitions)}
    ends: dict[int, int] = {}
    done: set[int] = set()
    errors: dict[int, str] = {}
    deadline = time.monotonic() + timeout
    try:
        tps = [TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)]
        for tp in tps:
            while tp.partition not in ends and time.monotonic() < deadline:
                try:
                    ends[tp.partition] = consumer.get_watermark_offsets(tp, timeout=5)[1]
                except KafkaException as exc:
                    errors[tp.partition] = str(exc)
        consumer.assign(tps)
        while len(done) < partitions and time.monotonic() < deadline:
            for msg in consumer.consume(500, timeout=0.2):
                err, p = msg.error(), msg.partition()
                if err is None:
                    records[p].append((msg.offset(), msg.value().decode()))
                elif err.code() == KafkaError._PARTITION_EOF:
                    if msg.offset() >= ends.get(p, 1 << 62):
                        done.add(p)
                else:
                    errors[p] = err.str()
        return [
            FinalRead(topic, p, isolation, tuple(records[p]), complete=p in done, error=errors.get(p))
            for p in range(partitions)
        ]
    finally:
        consumer.close()
