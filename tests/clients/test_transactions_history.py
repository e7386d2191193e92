"""A Jepsen-style history check of transactions, with real clients against a private Kavka broker.

The workload (like ``jepsen.tests.kafka``): four transactional producers (confluent-kafka
subprocesses, one ``transactional.id`` each) write unique values to random partitions of two topics
of three partitions, and commit or abort each transaction at random; two read_committed consumers
(one assigned from offset 0 that sometimes seeks back to 0, one subscribed in a group) poll all along;
at the end every partition is read in full with read_committed and with read_uncommitted. Writers are
SIGKILLed at random points (mid-transaction, with a commit just requested, or just after a commit
returned, so that the writer never learns the outcome) and restarted, with the same
``transactional.id`` (the new one fences and aborts the old transaction) or a new one (the broker
aborts the old transaction after its ``transaction.timeout.ms``); the broker is killed (-9) and
restarted once in the middle.

Every send, delivery report, commit/abort call and outcome, and every record polled, with its time,
is recorded, and ``txnhistory.check`` looks for Jepsen's anomalies: lost-write, duplicate,
inconsistent-offsets, G1a (aborted read), reads of uncommitted data, nonmonotonic-poll, poll-skip
and fractured reads. The first tests below show on hand-made histories that the checker finds each.

Client subprocesses report progress as ``EV <kind> <args>`` lines on stdout, each written with one
``os.write`` (``print`` writes piece by piece under PYTHONUNBUFFERED, and a SIGKILL or librdkafka's
stderr could cut a line: a lost read would look like a poll-skip); the test waits for those
(conditions with deadlines, no sleeps) and kills at chosen ones. The plan is drawn from a seeded
``random.Random``; the seed is in the test output (``KAVKA_TXN_SEED`` replays one).
"""

from __future__ import annotations

import queue
import random
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections import deque

import pytest

from tests.clients.txnhistory import (
    ABORTED,
    COMMITTED,
    FINAL_COMMITTED,
    FINAL_UNCOMMITTED,
    READ_COMMITTED,
    READ_UNCOMMITTED,
    UNKNOWN,
    History,
    Read,
    Recorder,
    Send,
    Txn,
    check,
    describe,
    fates,
    summary,
)
from tests.clients.txnlib import TXN_OVERRIDES, open_transactions, seeded_rng

# -- the checker on hand-made histories ------------------------------------------------------------------


def rc(reader: str, offset: int, value: str, *, session: int = 1, at: float = 100.0, partition: int = 0) -> Read:
    return Read(reader, session, READ_COMMITTED, "t", partition, offset, value, at)


def ru(offset: int, value: str, partition: int = 0) -> Read:
    return Read(FINAL_UNCOMMITTED, 1, READ_UNCOMMITTED, "t", partition, offset, value, 100.0)


def txn(
    txn_id: str, *sends: tuple[int, str, int | None], outcome: str = COMMITTED, commit_at: float | None = 10.0
) -> Txn:
    """``sends``: (partition, value, offset from the delivery report)."""
    return Txn(txn_id, txn_id.split(".")[0], [Send(v, "t", p, 1.0, o) for p, v, o in sends], commit_at, outcome)


def clean_history() -> History:
    """w1.0 commits a (t-0@0) and b (t-1@0); w2.0 aborts c (t-0@1); w1.1 commits d (t-0@3, after
    w2.0's abort marker at 2). A reader assigned from 0 reads t-0 while it is written."""
    txns = [
        txn("w1.0", (0, "a", 0), (1, "b", 0)),
        txn("w2.0", (0, "c", 1), outcome=ABORTED, commit_at=None),
        txn("w1.1", (0, "d", 3), commit_at=20.0),
    ]
    reads = [
        rc("r", 0, "a", at=15.0),
        rc("r", 3, "d", at=25.0),
        rc(FINAL_COMMITTED, 0, "a"),
        rc(FINAL_COMMITTED, 3, "d"),
        rc(FINAL_COMMITTED, 0, "b", partition=1),
        ru(0, "a"),
        ru(1, "c"),
        ru(3, "d"),
        ru(0, "b", partition=1),
    ]
    starts = {("r", 1, "t", 0): 0, (FINAL_COMMITTED, 1, "t", 0): 0, (FINAL_COMMITTED, 1, "t", 1): 0}
    return History(txns, reads, starts)


def test_checker_accepts_a_valid_history():
    h = clean_history()
    assert check(h) == {}
    s = summary(h)
    assert (s["txns"], s[COMMITTED], s[ABORTED], s["sends"], s["acked"]) == (3, 2, 1, 4, 4)


def only(anomalies: dict, kind: str) -> list[dict]:
    assert set(anomalies) == {kind}, describe(anomalies)
    return anomalies[kind]


def test_checker_finds_lost_writes():
    h = clean_history()
    h.reads = [r for r in h.reads if not (r.reader == FINAL_COMMITTED and r.value == "d")]
    h.starts = {}  # no poll-skip from the final read's start: just the loss
    (case,) = only(check(h), "lost-write")
    assert case["value"] == "d"
    # gone from the log altogether, though a delivery report gave its offset
    h = clean_history()
    h.reads = [r for r in h.reads if r.value != "c"]
    (case,) = only(check(h), "lost-write")
    assert case["value"] == "c" and "read_uncommitted" in case["why"]


def test_checker_finds_duplicates():
    h = clean_history()
    h.reads.append(ru(4, "d"))  # d at offsets 3 and 4
    (case,) = only(check(h), "duplicate")
    assert case["value"] == "d" and case["positions"] == [("t", 0, 3), ("t", 0, 4)]


def test_checker_finds_inconsistent_offsets():
    h = clean_history()
    h.txns[2].sends[0].offset = 1  # the delivery report puts d where c is
    anomalies = check(h)
    assert anomalies["inconsistent-offsets"][0]["values"] == ["c", "d"]
    assert set(anomalies) == {"inconsistent-offsets", "duplicate"}  # d is also at offset 3


def test_checker_finds_aborted_reads():
    h = clean_history()
    h.reads.insert(1, rc("r", 1, "c", at=16.0))  # an aborted value, read with read_committed
    (case,) = only(check(h), "G1a")
    assert case["read"].value == "c" and case["outcome"] == ABORTED
    # a writer killed before it asked to commit: its transaction can only have aborted
    h = clean_history()
    h.txns.append(txn("w3.0", (1, "e", 1), outcome=UNKNOWN, commit_at=None))
    h.reads += [rc("r", 1, "e", partition=1), ru(1, "e", partition=1)]
    assert fates(h)["w3.0"] == ABORTED
    (case,) = only(check(h), "G1a")
    assert case["read"].value == "e" and case["outcome"] == UNKNOWN


def test_checker_finds_reads_of_uncommitted_data():
    h = clean_history()
    h.reads[1] = rc("r", 3, "d", at=19.5)  # returned before w1.1 called commit (at 20.0)
    (case,) = only(check(h), "uncommitted-read")
    assert case["txn"] == "w1.1"


def test_checker_finds_nonmonotonic_polls():
    h = clean_history()
    h.reads.insert(2, rc("r", 0, "a", at=26.0))  # back to offset 0 without a new session
    (case,) = only(check(h), "nonmonotonic-poll")
    assert case["offsets"] == [3, 0]
    # the same read in a new session (a seek) is fine
    h.reads[2] = rc("r", 0, "a", at=26.0, session=2)
    assert check(h) == {}


def test_checker_finds_poll_skips():
    h = clean_history()
    h.reads = [r for r in h.reads if not (r.reader == "r" and r.value == "a")]  # r went from 0 straight to d
    (case,) = only(check(h), "poll-skip")
    assert case["skipped"] == [(0, "a")] and case["first_read"]
    # between two reads: a committed record at offset 2 in the final read that r jumped over
    h = clean_history()
    h.txns.append(txn("w3.0", (0, "e", 2), commit_at=21.0))
    h.reads.insert(h.reads.index(rc(FINAL_COMMITTED, 3, "d")), rc(FINAL_COMMITTED, 2, "e"))
    h.reads.insert(h.reads.index(ru(3, "d")), ru(2, "e"))
    (case,) = only(check(h), "poll-skip")
    assert (case["from"], case["to"], case["skipped"]) == (0, 3, [(2, "e")])
    # with an unknown start and a single read, nothing can be said
    h.reads = [r for r in h.reads if not (r.reader == "r" and r.value == "a")]
    h.starts.pop(("r", 1, "t", 0))
    assert check(h) == {}


def test_checker_finds_fractured_reads():
    # a writer killed with its commit requested: the broker committed half of it
    h = clean_history()
    h.txns.append(txn("w3.0", (0, "e", 4), (1, "f", 1), outcome=UNKNOWN, commit_at=30.0))
    h.reads += [rc(FINAL_COMMITTED, 4, "e"), ru(4, "e"), ru(1, "f", partition=1)]
    assert fates(h)["w3.0"] == COMMITTED
    (case,) = only(check(h), "fractured-read")
    assert case["missing"] == ["f"]
    # none of it visible: an abort, which is fine
    h.reads = [r for r in h.reads if not (r.reader == FINAL_COMMITTED and r.value == "e")]
    assert fates(h)["w3.0"] == ABORTED
    assert check(h) == {}


def test_checker_finds_values_nobody_wrote():
    h = clean_history()
    h.reads.append(rc("r", 4, "zzz", at=30.0))
    h.reads.append(ru(4, "zzz"))
    (case,) = only(check(h), "unknown-value")
    assert case["read"].value == "zzz"


def test_recorder_parses_client_events():
    rec = Recorder()
    for kind, arg in [
        ("begin", "w1.0.0"),
        ("send", "w1.0.0 t 2 w1.0.0.0 1.5"),
        ("ack", "w1.0.0.0 2 7"),
        ("send", "w1.0.0 t 0 w1.0.0.1 1.6"),
        ("commit", "w1.0.0 2.0"),
        ("committed", "w1.0.0 2.5"),
        ("begin", "w1.0.1"),
        ("send", "w1.0.1 t 0 w1.0.1.0 3.0"),
        ("abort", "w1.0.1 3.1"),
        ("aborted", "w1.0.1 3.2"),
        ("begin", "w1.0.2"),
    ]:
        rec.writer_event(kind, arg)
    rec.reader_event("r", READ_COMMITTED, "start", "1 t 2 0")
    rec.reader_event("r", READ_COMMITTED, "start", "2 t 2 -1")
    rec.reader_event("r", READ_COMMITTED, "read", "1 t 2 7 w1.0.0.0 2.7")
    h = rec.history
    assert [(t.id, t.writer, t.outcome, t.commit_at) for t in h.txns] == [
        ("w1.0.0", "w1", COMMITTED, 2.0),
        ("w1.0.1", "w1", ABORTED, None),
        ("w1.0.2", "w1", UNKNOWN, None),
    ]
    assert [(s.value, s.partition, s.offset) for s in h.txns[0].sends] == [("w1.0.0.0", 2, 7), ("w1.0.0.1", 0, None)]
    assert h.starts == {("r", 1, "t", 2): 0}
    assert h.reads == [Read("r", 1, READ_COMMITTED, "t", 2, 7, "w1.0.0.0", 2.7)]


# -- the workload, with real clients -----------------------------------------------------------------------

TOPICS, PARTITIONS = 2, 3
WRITERS, TXNS_PER_WRITER = 4, 40
TXN_TIMEOUT_MS = 4000  # a killed writer's transaction abandoned under a new transactional.id ends this soon

WRITER = """
    import os, random, signal, sys, time
    from confluent_kafka import Producer
    bs, tid, prefix, topics, partitions, count, seed, timeout_ms, die_after = sys.argv[1:10]
    rnd = random.Random(int(seed))
    tps = [(t, p) for t in topics.split(",") for p in range(int(partitions))]

    def ev(*parts):  # one write per line: whole even if killed, and PYTHONUNBUFFERED splits print()
        os.write(1, (" ".join(["EV", *map(str, parts)]) + "\\n").encode())

    def report(err, msg):
        if err is None:
            ev("ack", msg.value().decode(), msg.partition(), msg.offset())
        else:
            ev("nack", msg.value().decode(), err.name())

    txn = "-"
    try:
        p = Producer({"bootstrap.servers": bs, "transactional.id": tid, "transaction.timeout.ms": int(timeout_ms),
                      "linger.ms": rnd.choice([0, 2, 10]), "reconnect.backoff.max.ms": 500})
        p.init_transactions(30)  # fences an earlier writer with this id and aborts its transaction
        ev("ready", tid)
        for n in range(int(count)):
            txn = f"{prefix}.{n}"
            p.begin_transaction()
            ev("begin", txn)
            for seq in range(rnd.randint(1, 4)):
                topic, partition = rnd.choice(tps)
                value = f"{txn}.{seq}"
                ev("send", txn, topic, partition, value, repr(time.monotonic()))
                p.produce(topic, value=value.encode(), partition=partition, on_delivery=report)
                p.poll(0)
            if rnd.random() < 0.5:  # else the commit or abort finds records still in flight
                assert p.flush(30) == 0, "records left after flush"
                if rnd.random() < 0.5:  # the records sit in the log uncommitted for a while
                    p.poll(rnd.uniform(0, 0.1))
            if rnd.random() < 0.7:
                ev("commit", txn, repr(time.monotonic()))
                p.commit_transaction(30)
                if n == int(die_after):  # committed, and nobody will know: the outcome stays unknown
                    os.kill(os.getpid(), signal.SIGKILL)
                ev("committed", txn, repr(time.monotonic()))
            else:
                ev("abort", txn, repr(time.monotonic()))
                p.abort_transaction(30)
                ev("aborted", txn, repr(time.monotonic()))
            p.poll(0)
        p.flush(10)
        ev("done", "-")
    except Exception as e:  # the broker went away, a fence, a timeout: the test restarts the writer
        print(f"writer failed in {txn}: {e!r}", file=sys.stderr, flush=True)
        os._exit(3)
    os._exit(0)
"""

READER = """
    import os, random, sys, threading, time
    from confluent_kafka import Consumer, TopicPartition
    bs, mode, group, topics, partitions, seed = sys.argv[1:7]
    rnd = random.Random(int(seed))
    tps = [(t, p) for t in topics.split(",") for p in range(int(partitions))]
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.readline(), stop.set()), daemon=True).start()

    def ev(*parts):  # one write per line: whole even if killed, and PYTHONUNBUFFERED splits print()
        os.write(1, (" ".join(["EV", *map(str, parts)]) + "\\n").encode())

    session = 0
    c = Consumer({"bootstrap.servers": bs, "group.id": group, "isolation.level": "read_committed",
                  "enable.auto.commit": mode == "subscribe", "auto.offset.reset": "earliest",
                  "reconnect.backoff.max.ms": 500, "session.timeout.ms": 30000})

    def assign_from_start():
        global session
        session += 1
        c.assign([TopicPartition(t, p, 0) for t, p in tps])
        for t, p in tps:
            ev("start", session, t, p, 0)

    def on_assign(consumer, parts):
        global session
        session += 1
        for tp in parts:
            ev("start", session, tp.topic, tp.partition, -1)  # the group's committed offset: not known here

    if mode == "assign":
        assign_from_start()
    else:
        c.subscribe(topics.split(","), on_assign=on_assign)
    ev("ready", mode)
    while not stop.is_set():
        msgs = c.consume(200, 0.2)
        now = repr(time.monotonic())
        for m in msgs:
            if m.error() is None:
                ev("read", session, m.topic(), m.partition(), m.offset(), m.value().decode(), now)
            else:
                print(f"consumer error: {m.error()}", file=sys.stderr, flush=True)
        if mode == "assign" and msgs and rnd.random() < 0.1:
            assign_from_start()  # seek back to the start: a new session
    c.close()
    ev("done", "-")
    os._exit(0)
"""


@pytest.fixture
def txb(broker_factory):
    return broker_factory(overrides=TXN_OVERRIDES)


@pytest.fixture
def rng() -> random.Random:
    return seeded_rng()


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Proc:
    """A client script in a subprocess; its ``EV kind args`` lines go to a shared queue as
    ``(proc, kind, args)``, and ``(proc, "exit", "")`` once its output ends."""

    def __init__(self, bus: queue.Queue, label: str, script: str, *args: str, slot: str | None = None):
        self.label = label
        self.slot = slot  # a writer's slot; None for a reader
        self.killed = False
        self.tail: deque[str] = deque(maxlen=30)
        self.mangled: list[str] = []
        self.last_event = time.monotonic()
        # stderr apart: librdkafka's log lines must not land inside an EV line
        self.popen = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.reader_thread = threading.Thread(target=self._read, args=(bus,), daemon=True)
        self.reader_thread.start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read(self, bus: queue.Queue) -> None:
        for line in self.popen.stdout:
            if line.startswith("EV ") and line.endswith("\n"):
                _, kind, arg = (line.rstrip("\n").split(" ", 2) + [""])[:3]
                bus.put((self, kind, arg))
            else:  # an event lost would look like an anomaly: a mangled line fails the test instead
                self.mangled.append(line)
        bus.put((self, "exit", ""))

    def _read_stderr(self) -> None:
        for line in self.popen.stderr:
            self.tail.append(line.rstrip("\n"))

    def kill(self) -> None:
        """SIGKILL; the lines it printed before dying still reach the queue."""
        self.killed = True
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()

    def stop(self) -> None:
        """Ask a reader to close its consumer and exit."""
        self.popen.stdin.write("stop\n")
        self.popen.stdin.flush()

    def output(self) -> str:
        return f"--- {self.label} (exit {self.popen.poll()}):\n" + "\n".join(self.tail)


class Workload:
    """The writers and concurrent readers of one run, and the `Recorder` their events go to."""

    def __init__(self, bootstrap: str, topics: list[str], rng: random.Random):
        self.bs, self.topic_arg, self.rng = bootstrap, ",".join(topics), rng
        self.bus: queue.Queue = queue.Queue()
        self.rec = Recorder()
        self.procs: list[Proc] = []
        self.readers: list[Proc] = []
        self.writers: dict[str, Proc] = {}  # slot -> its running incarnation
        self.slots = [f"w{i}" for i in range(WRITERS)]
        self.tids = {slot: name(f"tx-{slot}") for slot in self.slots}
        self.incarnations = dict.fromkeys(self.slots, 0)
        self.begun = dict.fromkeys(self.slots, 0)
        self.done: set[str] = set()
        self.self_kill_pending = set(rng.sample(self.slots, 2))
        self.restarts = self.failures = self.stalls = self.self_kills = 0

    def start_reader(self, mode: str) -> None:
        proc = Proc(
            self.bus,
            f"reader-{mode}",
            READER,
            self.bs,
            mode,
            name(f"g-{mode}"),
            self.topic_arg,
            str(PARTITIONS),
            str(self.rng.randrange(1 << 30)),
        )
        self.procs.append(proc)
        self.readers.append(proc)

    def start_writer(self, slot: str, same_id: bool = True) -> None:
        if self.incarnations[slot] > 0:
            self.restarts += 1
        if not same_id:  # the old transaction is left to the broker's timeout
            self.tids[slot] = name(f"tx-{slot}")
        prefix = f"{slot}.{self.incarnations[slot]}"
        self.incarnations[slot] += 1
        left = max(1, TXNS_PER_WRITER - self.begun[slot])
        # writers told to kill themselves once, right after a commit returned (until one of them did)
        die_after = self.rng.randint(1, 5) if slot in self.self_kill_pending and left > 6 else -1
        proc = Proc(
            self.bus,
            prefix,
            WRITER,
            self.bs,
            self.tids[slot],
            prefix,
            self.topic_arg,
            str(PARTITIONS),
            str(left),
            str(self.rng.randrange(1 << 30)),
            str(TXN_TIMEOUT_MS),
            str(die_after),
            slot=slot,
        )
        self.procs.append(proc)
        self.writers[slot] = proc

    def next_event(self, timeout: float) -> tuple[Proc, str, str] | None:
        """The next event of any client, recorded; None after ``timeout`` seconds without one."""
        try:
            proc, kind, arg = self.bus.get(timeout=timeout)
        except queue.Empty:
            return None
        if proc.slot is None:
            if kind == "exit" and not proc.killed and proc.popen.wait() != 0:
                pytest.fail(f"a reader failed\n{proc.output()}")
            self.rec.reader_event(proc.label, READ_COMMITTED, kind, arg)
        else:
            proc.last_event = time.monotonic()
            self.rec.writer_event(kind, arg)
            if kind == "begin":
                self.begun[proc.slot] += 1
        return proc, kind, arg

    def current(self, proc: Proc) -> bool:
        """A writer still running as its slot's incarnation (not killed, not replaced)."""
        return proc.slot is not None and self.writers.get(proc.slot) is proc and not proc.killed

    def writer_exited(self, proc: Proc) -> None:
        code = proc.popen.wait()
        if code == 0:
            self.done.add(proc.slot)
            del self.writers[proc.slot]
        elif code == -signal.SIGKILL:  # it killed itself after a commit, as told
            self.self_kill_pending.discard(proc.slot)
            self.self_kills += 1
            self.start_writer(proc.slot, same_id=self.rng.random() < 0.5)
        else:  # the broker restart, a fence by the broker's timeout: start it again
            assert code == 3, proc.output()
            self.failures += 1
            self.start_writer(proc.slot)

    def restart_stalled(self, limit: float) -> None:
        """librdkafka's transactional calls can hang past their timeouts when the broker went away under
        them (confluentinc/librdkafka#5456): a writer silent this long is restarted, as a supervisor would."""
        for slot, w in list(self.writers.items()):
            if time.monotonic() - w.last_event > limit:
                self.stalls += 1
                w.kill()
                self.start_writer(slot)

    def reader_positions(self) -> dict[str, dict[tuple[str, int], int]]:
        out: dict[str, dict[tuple[str, int], int]] = {r.label: {} for r in self.readers}
        for r in self.rec.history.reads:
            if r.reader in out:
                out[r.reader][r.tp] = max(out[r.reader].get(r.tp, -1), r.offset)
        return out

    def outputs(self) -> str:
        return "\n".join(p.output() for p in self.procs)


def final_read(
    bootstrap: str, tps: list[tuple[str, int]], isolation: str, reader: str, rec: Recorder, timeout: float = 60.0
) -> dict[tuple[str, int], int]:
    """Read every partition from offset 0 to its end (the last stable offset for read_committed) into
    ``rec`` as reader ``reader``; the position each partition ended at."""
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": name("final"),
            "isolation.level": isolation,
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    try:
        c.assign([TopicPartition(t, p, 0) for t, p in tps])
        for t, p in tps:
            rec.reader_event(reader, isolation, "start", f"1 {t} {p} 0")
        eof: set[tuple[str, int]] = set()
        deadline = time.monotonic() + timeout
        while len(eof) < len(tps):
            assert time.monotonic() < deadline, f"{isolation}: no end of partition on {set(tps) - eof}"
            for m in c.consume(500, 0.2):
                now = time.monotonic()
                tp = (m.topic(), m.partition())
                if m.error() is not None:
                    if m.error().code() == -191:  # _PARTITION_EOF
                        eof.add(tp)
                    continue
                eof.discard(tp)
                rec.reader_event(
                    reader, isolation, "read", f"1 {tp[0]} {tp[1]} {m.offset()} {m.value().decode()} {now!r}"
                )
        positions = c.position([TopicPartition(t, p) for t, p in tps])
        return {(tp.topic, tp.partition): tp.offset for tp in positions}
    finally:
        c.close()


def high_watermarks(bootstrap: str, tps: list[tuple[str, int]]) -> dict[tuple[str, int], int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": name("probe")})
    try:
        return {tp: c.get_watermark_offsets(TopicPartition(*tp), timeout=10)[1] for tp in tps}
    finally:
        c.close()


def test_randomized_transactions_have_no_anomalies(txb, rng):
    from kavka.testing.process import create_topic, wait_until

    started = time.monotonic()
    bs = txb.bootstrap
    topics = [name(f"h{i}") for i in range(TOPICS)]
    for t in topics:
        create_topic(bs, t, PARTITIONS)
    tps = [(t, p) for t in topics for p in range(PARTITIONS)]
    # the plan: writers killed at the n-th send and at the n-th commit request (counted over all
    # writers), the broker killed (-9) and restarted at the n-th commit acknowledged; two writers
    # also kill themselves once right after a commit returned (`Workload.start_writer`)
    plan = {("send", n) for n in rng.sample(range(10, 300), 3)} | {("commit", n) for n in rng.sample(range(5, 80), 3)}
    plan.add(("committed", rng.randint(20, 60)))
    print("plan:", sorted(plan))
    counts = {"send": 0, "commit": 0, "committed": 0}
    kills: list[str] = []
    broker_kills = 0
    w = Workload(bs, topics, rng)
    try:
        for mode in ("assign", "subscribe"):
            w.start_reader(mode)
        ready: set[str] = set()
        while len(ready) < len(w.readers):
            event = w.next_event(timeout=30)
            assert event is not None, f"readers not ready\n{w.outputs()}"
            if event[1] == "ready":
                ready.add(event[0].label)
        for slot in w.slots:
            w.start_writer(slot)
        deadline = time.monotonic() + 150
        while len(w.done) < len(w.slots):
            assert time.monotonic() < deadline, f"workload unfinished: {plan} left\n{w.outputs()}"
            event = w.next_event(timeout=1.0)
            w.restart_stalled(limit=20)
            if event is None or not w.current(event[0]):
                continue  # a reader's event, or a late line of a writer killed or replaced
            proc, kind, _arg = event
            if kind == "exit":
                w.writer_exited(proc)
            if kind not in counts:
                continue
            counts[kind] += 1
            if (kind, counts[kind]) not in plan:
                continue
            plan.remove((kind, counts[kind]))
            if kind == "committed":
                broker_kills += 1
                txb.kill()
                txb.start()
            else:
                same_id = rng.random() < 0.5
                kills.append(f"{proc.label} at {kind} #{counts[kind]} ({'same' if same_id else 'new'} id)")
                proc.kill()
                w.start_writer(proc.slot, same_id)
        workload_s = time.monotonic() - started

        # every transaction ends (abandoned ones after their timeout); then read everything
        wait_until(lambda: open_transactions(bs) == [], timeout=40, message="no open transaction")
        ends_rc = final_read(bs, tps, READ_COMMITTED, FINAL_COMMITTED, w.rec)
        ends_ru = final_read(bs, tps, READ_UNCOMMITTED, FINAL_UNCOMMITTED, w.rec)
        high = high_watermarks(bs, tps)
        assert ends_rc == high and ends_ru == high, f"ends: committed {ends_rc}, uncommitted {ends_ru}, high {high}"

        # the concurrent readers catch up with the last committed record of every partition, then stop
        last = {}
        for r in w.rec.history.reads:
            if r.reader == FINAL_COMMITTED:
                last[r.tp] = max(last.get(r.tp, -1), r.offset)

        def caught_up() -> bool:
            while w.next_event(timeout=0.05) is not None:
                pass
            return all(
                seen.get(tp, -1) >= offset for seen in w.reader_positions().values() for tp, offset in last.items()
            )

        wait_until(
            caught_up,
            timeout=60,
            interval=0.05,
            message=lambda: f"readers to catch up with {last}: {w.reader_positions()}",
        )
        for r in w.readers:
            r.stop()
        for r in w.readers:
            assert r.popen.wait(30) == 0, r.output()
        for p in w.procs:
            p.reader_thread.join(10)
        while w.next_event(timeout=0) is not None:  # the readers' last reads
            pass
    finally:
        for p in w.procs:
            if p.popen.poll() is None:
                p.kill()

    mangled = [(p.label, line) for p in w.procs for line in p.mangled]
    assert not mangled, f"stdout lines that are not whole events: {mangled[:5]}"
    h = w.rec.history
    s = summary(h)
    print(
        f"workload {workload_s:.1f}s, total {time.monotonic() - started:.1f}s; writer kills: {kills}; "
        f"self-kills after a commit {w.self_kills}, restarts {w.restarts}, failures {w.failures}, "
        f"stalls {w.stalls}, broker kills {broker_kills}"
    )
    print("summary:", s)
    anomalies = check(h)
    assert not anomalies, "anomalies found (seed above):\n" + describe(anomalies)
    # the workload did what it is for
    assert broker_kills == 1 and len(kills) == 6, (plan, kills)
    assert s[COMMITTED] >= 20 and s[ABORTED] >= 3, s
    assert all(s["reads"].get(r.label, 0) > 0 for r in w.readers), s
