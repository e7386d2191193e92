"""Transactions across crashes, with real clients against a private Kavka broker (loopback only).

- The guide's debit/credit pairs across two topics, the transactional producer (a subprocess) killed
  with SIGKILL several times: read_committed sees both halves of every pair or neither.
- Consume-transform-produce exactly once: a copier subprocess (confluent-kafka,
  ``send_offsets_to_transaction``) SIGKILLed at random points and restarted until done, and the broker
  killed (-9) and restarted once in the middle: the output holds every input record once, in order.
- kafka-python's and aiokafka's ``send_offsets_to_transaction``: offsets count on commit only.
- A broker killed with transactions in flight: after the restart every transaction ends committed or
  aborted (an abandoned one after its ``transaction.timeout.ms``), the last stable offset reaches the
  log end, and offsets sent in a transaction before the crash count once it commits after it.

Client subprocesses report progress as ``EV <kind> <n>`` lines on stdout; the test waits for those
(conditions with deadlines, no sleeps) and kills at a chosen one. Kill points are drawn from a seeded
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
from confluent_kafka import Consumer, Producer, TopicPartition

from kavka.testing.process import create_topic, wait_until
from tests.clients.txnlib import TXN_OVERRIDES, open_transactions, read_to_end, seeded_rng


@pytest.fixture
def txb(broker_factory):
    return broker_factory(overrides=TXN_OVERRIDES)


@pytest.fixture
def rng() -> random.Random:
    return seeded_rng()


def name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


# -- client subprocesses ---------------------------------------------------------------------------


class Child:
    """A client script in a subprocess; ``EV kind arg`` lines on its stdout are its events.

    stderr (librdkafka's log lines) has a pipe of its own: merged into stdout, a log line written
    between the two writes of an unbuffered ``print`` would split an event line and lose the event.
    """

    def __init__(self, script: str, *args: str):
        self.popen = subprocess.Popen(
            [sys.executable, "-c", textwrap.dedent(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.events: queue.Queue = queue.Queue()
        self.counts: dict[str, int] = {}
        self.seen: list[tuple[str, str]] = []
        self.tail: deque[str] = deque(maxlen=40)
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stderr(self) -> None:
        for line in self.popen.stderr:
            self.tail.append(line.rstrip("\n"))

    def _read(self) -> None:
        for line in self.popen.stdout:
            line = line.rstrip("\n")
            if line.startswith("EV "):
                _, kind, arg = (line.split(" ", 2) + [""])[:3]
                self.events.put((kind, arg))
            else:
                self.tail.append(line)
        self.events.put(None)  # end of output: the process is gone

    def next_event(self, deadline: float, stall: float | None = None) -> tuple[str, str] | None:
        """The next event, or None once the process exited; fails at ``deadline``. With ``stall``,
        ``("stalled", "")`` when no event came for that many seconds."""
        wait = max(0.0, deadline - time.monotonic())
        try:
            event = self.events.get(timeout=wait if stall is None else min(wait, stall))
        except queue.Empty:
            if stall is not None and time.monotonic() < deadline:
                return "stalled", ""
            self.kill()
            pytest.fail(f"client subprocess made no progress before the deadline\n{self.output()}")
        if event is not None:
            self.counts[event[0]] = self.counts.get(event[0], 0) + 1
            self.seen.append(event)
        return event

    def wait_for(self, kind: str, count: int, deadline: float) -> str:
        """Wait for the ``count``-th ``kind`` event (counted since the start); its argument."""
        while True:
            event = self.next_event(deadline)
            if event is None:
                pytest.fail(f"client exited ({self.popen.wait()}) before {kind} #{count}\n{self.output()}")
            if event[0] == kind and self.counts[kind] == count:
                return event[1]

    def kill(self) -> None:
        """SIGKILL; the events it printed before dying are still read into ``seen``."""
        if self.popen.poll() is None:
            self.popen.send_signal(signal.SIGKILL)
        self.popen.wait()
        while True:
            event = self.events.get(timeout=10)
            if event is None:
                break
            self.seen.append(event)

    def args_of(self, kind: str) -> set[str]:
        return {arg for k, arg in self.seen if k == kind}

    def exit_code(self, deadline: float) -> int:
        """Wait for the process to end (events drained); its exit code."""
        while self.next_event(deadline) is not None:
            pass
        return self.popen.wait(max(0.0, deadline - time.monotonic()))

    def output(self) -> str:
        return "\n".join(self.tail)


def committed(bootstrap: str, group: str, topic: str, partitions: int = 1) -> list[int]:
    """The group's committed offsets, asked as a read_committed consumer does (require_stable)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    try:
        return [tp.offset for tp in c.committed([TopicPartition(topic, p) for p in range(partitions)], timeout=20)]
    finally:
        c.close()


def group_metadata(bootstrap: str, group: str):
    """What ``send_offsets_to_transaction`` needs for a group the caller is not a member of."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        return c.consumer_group_metadata()
    finally:
        c.close()


# -- debit / credit ----------------------------------------------------------------------------------

DEBIT_CREDIT = """
    import os, sys
    from confluent_kafka import Producer
    bs, tid, debit, credit, run, pairs, pause_at = sys.argv[1:8]
    p = Producer({"bootstrap.servers": bs, "transactional.id": tid, "transaction.timeout.ms": 20000,
                  "linger.ms": 0})
    p.init_transactions(30)
    print("EV ready -", flush=True)
    for i in range(int(pairs)):
        pair = f"{run}-{i}".encode()
        p.begin_transaction()
        p.produce(debit, key=pair, value=b"-100")
        p.flush(10)
        print(f"EV half {pair.decode()}", flush=True)
        if pair.decode() == pause_at:
            sys.stdin.readline()  # hold the transaction half written until killed
        p.produce(credit, key=pair, value=b"+100")
        p.flush(10)
        print(f"EV full {pair.decode()}", flush=True)
        p.commit_transaction(30)
        print(f"EV committed {pair.decode()}", flush=True)
    print("EV done -", flush=True)
"""


def test_debit_credit_pairs_are_never_half_visible_across_producer_kills(txb, rng):
    bs = txb.bootstrap
    debit, credit = name("debit"), name("credit")
    create_topic(bs, debit)
    create_topic(bs, credit)
    tid = name("payments")
    deadline = time.monotonic() + 60
    reported: set[str] = set()
    # run 0 is killed with a pair half written (its debit in the log, no credit); runs 1-3 at random points
    kills = [("half", 2, "0-1")] + [
        (rng.choice(["half", "full", "committed"]), rng.randint(1, 4), "") for _ in range(3)
    ]
    for run, (kind, count, pause_at) in enumerate(kills):
        child = Child(DEBIT_CREDIT, bs, tid, debit, credit, str(run), "50", pause_at or "-")
        child.wait_for(kind, count, deadline)
        child.kill()
        reported |= child.args_of("committed")
    last = Child(DEBIT_CREDIT, bs, tid, debit, credit, "last", "3", "-")
    assert last.exit_code(deadline) == 0, last.output()
    reported |= last.args_of("committed")

    committed_debits = {k for k, _ in read_to_end(bs, debit, "read_committed")[0]}
    committed_credits = {k for k, _ in read_to_end(bs, credit, "read_committed")[0]}
    assert committed_debits == committed_credits, "a pair is half visible to read_committed"
    assert {r.encode() for r in reported} <= committed_debits, "a commit the producer saw is lost"
    assert {b"last-0", b"last-1", b"last-2"} <= committed_debits
    # the pair held half written in run 0 was aborted when run 1 fenced its producer
    assert b"0-1" not in committed_debits and b"0-0" in committed_debits
    uncommitted_debits = [k for k, _ in read_to_end(bs, debit, "read_uncommitted")[0]]
    assert b"0-1" in uncommitted_debits  # read_uncommitted sees the aborted half
    assert committed_debits <= set(uncommitted_debits)


# -- exactly-once copier -------------------------------------------------------------------------------

COPIER = """
    import os, sys
    from confluent_kafka import Consumer, Producer, TopicPartition
    bs, tid, group, src, dst, partitions, batch = sys.argv[1:8]
    partitions, batch = int(partitions), int(batch)
    try:
        p = Producer({"bootstrap.servers": bs, "transactional.id": tid, "transaction.timeout.ms": 10000,
                      "linger.ms": 5, "message.timeout.ms": 10000, "socket.timeout.ms": 5000})
        p.init_transactions(20)  # fences the copier killed before and aborts its transaction
        c = Consumer({"bootstrap.servers": bs, "group.id": group, "isolation.level": "read_committed",
                      "enable.auto.commit": False, "auto.offset.reset": "earliest"})
        tps = [TopicPartition(src, i) for i in range(partitions)]
        ends = {i: c.get_watermark_offsets(TopicPartition(src, i), timeout=10)[1] for i in range(partitions)}
        # committed offsets asked with require_stable: a transaction still open holds the answer back
        position = {tp.partition: max(tp.offset, 0) for tp in c.committed(tps, timeout=20)}
        c.assign([TopicPartition(src, i, position[i]) for i in range(partitions)])
        print(f"EV ready {sum(position.values())}", flush=True)
        txn = 0
        while any(position[i] < ends[i] for i in range(partitions)):
            msgs = [m for m in c.consume(batch, timeout=0.5) if not m.error()]
            if not msgs:
                continue
            txn += 1
            p.begin_transaction()
            print(f"EV begun {txn}", flush=True)
            for m in msgs:
                p.produce(dst, key=m.key(), value=m.value(), partition=m.partition())
                position[m.partition()] = m.offset() + 1
            print(f"EV produced {txn}", flush=True)
            p.send_offsets_to_transaction([TopicPartition(src, i, position[i]) for i in range(partitions)],
                                          c.consumer_group_metadata(), 20)
            print(f"EV offsets {txn}", flush=True)
            p.commit_transaction(20)
            print(f"EV committed {txn}", flush=True)
        print("EV done -", flush=True)
    except Exception as e:  # the broker went away, a timeout, ...: the test restarts the copier
        print(f"copier failed: {e!r}", flush=True)
        os._exit(3)
    os._exit(0)
"""


def test_exactly_once_copier_across_copier_and_broker_kills(txb, rng):
    bs = txb.bootstrap
    src, dst, group, tid = name("in"), name("out"), name("copier"), name("copier")
    partitions, n = 2, 10_000
    create_topic(bs, src, partitions)
    create_topic(bs, dst, partitions)
    feeder = Producer({"bootstrap.servers": bs, "linger.ms": 20})
    for i in range(n):
        feeder.produce(src, key=str(i).encode(), value=f"record-{i}".encode(), partition=i % partitions)
    assert feeder.flush(30) == 0
    expected = read_to_end(bs, src, "read_uncommitted", partitions)
    assert sum(len(v) for v in expected.values()) == n

    # three copier kills at random points, the broker killed (-9) and restarted between the 2nd and 3rd;
    # 100 records per transaction leave enough transactions for every step of the plan
    plan = [("copier", rng.choice(["begun", "produced", "offsets", "committed"]), rng.randint(1, 3)) for _ in range(3)]
    plan.insert(2, ("broker", "committed", rng.randint(1, 2)))
    print("plan:", plan)
    deadline = time.monotonic() + 150
    child, starts, failures, stalls = None, 0, 0, 0
    while True:
        if child is None:
            child = Child(COPIER, bs, tid, group, src, dst, str(partitions), "100")
            starts += 1
        target, kind, count = plan[0] if plan else ("", "done", 1)
        # librdkafka's send_offsets_to_transaction can hang past its timeout when the broker went away
        # under it (confluentinc/librdkafka#5456, #5511): a copier silent that long is killed and
        # restarted, as a supervisor would
        event = child.next_event(deadline, stall=6)
        if event == ("stalled", ""):
            stalls += 1
            child.kill()
            child = None
            continue
        if event is None:  # it failed on its own (the broker restart): start it again
            assert child.popen.wait() == 3, child.output()
            failures += 1
            child = None
            continue
        if event[0] == "done" and not plan:
            assert child.exit_code(deadline) == 0, child.output()
            break
        if event[0] == "done":
            pytest.fail(f"copier finished before the plan was through: {plan}")
        if event[0] != kind or child.counts[kind] != count:
            continue
        plan.pop(0)
        if target == "copier":
            child.kill()
            child = None
        else:
            txb.kill()
            txb.start()
    print(f"copier starts: {starts}, failures after the broker restart: {failures}, stalls: {stalls}")
    assert starts >= 4 and stalls <= 2

    got = read_to_end(bs, dst, "read_committed", partitions)
    for p in range(partitions):
        assert len(got[p]) == len(expected[p]), f"partition {p}: {len(got[p])} records, {len(expected[p])} expected"
        assert got[p] == expected[p], f"partition {p}: duplicates, losses or reordering"
    assert committed(bs, group, src, partitions) == [len(expected[p]) for p in range(partitions)]


# -- other clients' send_offsets_to_transaction --------------------------------------------------------


def test_kafka_python_and_aiokafka_offsets_in_transactions(txb):
    """Offsets sent in a transaction count on commit and not on abort (TxnOffsetCommit v0 from
    aiokafka, a newer version from kafka-python 3)."""
    import asyncio

    from aiokafka import AIOKafkaProducer
    from aiokafka.structs import TopicPartition as AkTopicPartition
    from kafka import KafkaProducer
    from kafka.structs import OffsetAndMetadata
    from kafka.structs import TopicPartition as KpTopicPartition

    bs = txb.bootstrap
    src, out = name("src"), name("out")
    create_topic(bs, src)
    create_topic(bs, out)
    kp_group, ak_group = name("kp"), name("ak")

    p = KafkaProducer(bootstrap_servers=bs, transactional_id=name("kp"))
    p.init_transactions()
    p.begin_transaction()
    p.send(out, b"kp-1")
    p.send_offsets_to_transaction({KpTopicPartition(src, 0): OffsetAndMetadata(7, "", -1)}, kp_group)
    p.commit_transaction()
    p.begin_transaction()
    p.send(out, b"kp-aborted")
    p.send_offsets_to_transaction({KpTopicPartition(src, 0): OffsetAndMetadata(9, "", -1)}, kp_group)
    p.abort_transaction()
    p.close()

    async def aiokafka_side() -> None:
        ap = AIOKafkaProducer(bootstrap_servers=bs, transactional_id=name("ak"))
        await ap.start()
        try:
            async with ap.transaction():
                await ap.send_and_wait(out, b"ak-1")
                await ap.send_offsets_to_transaction({AkTopicPartition(src, 0): 11}, ak_group)
            await ap.begin_transaction()
            await ap.send_and_wait(out, b"ak-aborted")
            await ap.send_offsets_to_transaction({AkTopicPartition(src, 0): 13}, ak_group)
            await ap.abort_transaction()
        finally:
            await ap.stop()

    asyncio.run(aiokafka_side())
    assert committed(bs, kp_group, src) == [7]
    assert committed(bs, ak_group, src) == [11]
    assert sorted(v for _, v in read_to_end(bs, out, "read_committed")[0]) == [b"ak-1", b"kp-1"]


# -- broker kill -9 with transactions in flight ----------------------------------------------------------

ABANDONED = """
    import sys
    from confluent_kafka import Consumer, Producer, TopicPartition
    bs, tid, topic, src, group = sys.argv[1:6]
    p = Producer({"bootstrap.servers": bs, "transactional.id": tid, "transaction.timeout.ms": 3000})
    p.init_transactions(30)
    c = Consumer({"bootstrap.servers": bs, "group.id": group})
    p.begin_transaction()
    p.produce(topic, b"abandoned-0", partition=0)
    p.produce(topic, b"abandoned-1", partition=1)
    p.flush(10)
    p.send_offsets_to_transaction([TopicPartition(src, 0, 500)], c.consumer_group_metadata(), 30)
    print("EV open -", flush=True)
    sys.stdin.readline()  # never commits: killed with the broker
"""


def test_broker_kill_9_with_transactions_in_flight(txb):
    bs = txb.bootstrap
    topic, src = name("t"), name("src")
    create_topic(bs, topic, 2)
    create_topic(bs, src)
    group_a, group_b = name("abandoned"), name("survivor")
    # the baseline: group A committed 100 before anything is in flight
    base = Producer({"bootstrap.servers": bs, "transactional.id": name("base")})
    base.init_transactions(30)
    base.begin_transaction()
    base.produce(topic, b"base", partition=0)
    base.send_offsets_to_transaction([TopicPartition(src, 0, 100)], group_metadata(bs, group_a), 30)
    base.commit_transaction(30)
    # in flight at the crash: an abandoned transaction (data on both partitions, offsets 500 for group A)
    # whose producer dies with the broker, and one whose producer commits after the restart (data,
    # offsets 42 for group B)
    abandoned = Child(ABANDONED, bs, name("abandoned"), topic, src, group_a)
    abandoned.wait_for("open", 1, time.monotonic() + 30)
    survivor = Producer(
        {"bootstrap.servers": bs, "transactional.id": name("survivor"), "transaction.timeout.ms": 30000}
    )
    survivor.init_transactions(30)
    survivor.begin_transaction()
    survivor.produce(topic, b"survivor", partition=1)
    survivor.flush(10)
    survivor.send_offsets_to_transaction([TopicPartition(src, 0, 42)], group_metadata(bs, group_b), 30)
    assert len(open_transactions(bs)) == 2
    txb.kill()
    abandoned.kill()
    txb.start()
    restarted = time.monotonic()

    survivor.commit_transaction(30)  # its offsets were in the log before the crash: they count now
    assert committed(bs, group_b, src) == [42]
    # the abandoned transaction is aborted once its 3 s timeout passed: nothing stays open
    wait_until(lambda: open_transactions(bs) == [], timeout=20)
    print(f"every transaction ended {time.monotonic() - restarted:.1f}s after the restart")
    assert committed(bs, group_a, src) == [100]  # the aborted offsets never counted
    got = read_to_end(bs, topic, "read_committed", 2)  # reaching the end: the LSO moved past the abort
    assert got == {0: [(None, b"base")], 1: [(None, b"survivor")]}
    everything = read_to_end(bs, topic, "read_uncommitted", 2)
    assert (None, b"abandoned-0") in everything[0] and (None, b"abandoned-1") in everything[1]
