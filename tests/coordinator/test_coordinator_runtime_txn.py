"""Transactional writes of the coordinator runtime (module rule 4), with a toy shard and no I/O.

The toy shard keeps committed state and, per producer, what its open transaction wrote; the fake log
records every append with the producer it was made for, so the tests see what went into the log as a
transactional batch and in which order things happened.
"""

from __future__ import annotations

import pytest

from kavka.coordinator.runtime import Batch, CoordinatorError, CoordinatorRuntime, Timer
from kavka.protocol.batch import NO_PRODUCER_ID

NOT_COORDINATOR = 16
COORDINATOR_NOT_AVAILABLE = 15
INVALID_PRODUCER_EPOCH = 47
NOT_LEADER_OR_FOLLOWER = 6
PID, EPOCH = 7000, 3


class Clock:
    def __init__(self):
        self.now = 0

    def __call__(self):
        return self.now


class TxnToyShard:
    def __init__(self, clock):
        self.timer = Timer(clock)
        self.state: dict[bytes, bytes] = {}
        self.pending: dict[int, dict[bytes, bytes]] = {}

    def replay(self, key, value, producer_id=NO_PRODUCER_ID):
        if producer_id != NO_PRODUCER_ID:
            self.pending.setdefault(producer_id, {})[key] = value
        elif value is None:
            self.state.pop(key, None)
        else:
            self.state[key] = value

    def replay_end_transaction(self, producer_id, commit):
        written = self.pending.pop(producer_id, {})
        if commit:
            self.state.update(written)

    def on_loaded(self, batch):
        pass

    def on_unloaded(self):
        pass


class Refused(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.error_code = code


def make(*, transactional=True, refuse=None):
    """(runtime, events): ``events`` gets ("append", pid, epoch, records) per append and whatever the
    tests' callbacks add; ``refuse`` is a list of error codes the next transactional appends raise."""
    clock = Clock()
    events: list = []

    def append(partition, records):
        events.append(("append", NO_PRODUCER_ID, -1, list(records)))

    def append_txn(partition, producer_id, producer_epoch, records):
        if refuse:
            raise Refused(refuse.pop(0))
        events.append(("append", producer_id, producer_epoch, list(records)))

    rt = CoordinatorRuntime(lambda p: TxnToyShard(clock), append, clock, append_txn if transactional else None)
    rt.load(0, [])
    return rt, events


def test_a_transactional_write_is_one_batch_of_the_producer_pending_until_its_marker():
    rt, events = make()
    shard = rt.shard(0)

    def op(s, batch: Batch):
        batch.append((b"k", b"v"))
        batch.append((b"j", b"w"))
        batch.respond(lambda r: events.append(("respond", r, dict(s.state), dict(s.pending))), "ok")

    rt.write_transactional(0, PID, EPOCH, op)
    assert events[0] == ("append", PID, EPOCH, [(b"k", b"v"), (b"j", b"w")])
    # answered after the append, with the records replayed as pending, not as committed state
    assert events[1] == ("respond", "ok", {}, {PID: {b"k": b"v", b"j": b"w"}})
    assert rt.complete_transaction(0, PID, commit=True)
    assert shard.state == {b"k": b"v", b"j": b"w"} and shard.pending == {}


def test_an_aborted_transaction_leaves_nothing():
    rt, events = make()
    rt.write_transactional(0, PID, EPOCH, lambda s, b: b.append((b"k", b"v")))
    rt.complete_transaction(0, PID, commit=False)
    assert rt.shard(0).state == {} and rt.shard(0).pending == {}


@pytest.mark.parametrize(
    "refused, told",
    [
        (INVALID_PRODUCER_EPOCH, INVALID_PRODUCER_EPOCH),  # a fenced producer is told so
        (NOT_LEADER_OR_FOLLOWER, NOT_COORDINATOR),  # append_error_to_response_error's mapping
    ],
)
def test_a_refused_transactional_append_applies_nothing_and_maps_the_error(refused, told):
    rt, events = make(refuse=[refused])
    outcome = []

    def op(s, batch: Batch):
        batch.append((b"k", b"v"))
        batch.on_success(lambda f: outcome.append("ok"))
        batch.on_failure(lambda f, code: outcome.append(int(code)))
        batch.respond(outcome.append, "answered")

    rt.write_transactional(0, PID, EPOCH, op)
    assert outcome == [told, "answered"]
    assert rt.shard(0).pending == {} and events == []


def test_records_of_continuations_are_plain_batches():
    rt, events = make()

    def op(s, batch: Batch):
        batch.append((b"txn", b"1"))
        batch.on_success(lambda follow: follow.append((b"plain", b"2")))

    rt.write_transactional(0, PID, EPOCH, op)
    assert [(pid, records) for _, pid, _, records in events] == [
        (PID, [(b"txn", b"1")]),
        (NO_PRODUCER_ID, [(b"plain", b"2")]),
    ]
    assert rt.shard(0).state == {b"plain": b"2"} and rt.shard(0).pending == {PID: {b"txn": b"1"}}


def test_without_a_transactional_append_only_writes_with_records_fail():
    rt, events = make(transactional=False)
    outcome = []
    rt.write_transactional(0, PID, EPOCH, lambda s, b: b.on_success(lambda f: outcome.append("nothing to write")))

    def op(s, batch: Batch):
        batch.append((b"k", b"v"))
        batch.on_failure(lambda f, code: outcome.append(int(code)))

    rt.write_transactional(0, PID, EPOCH, op)
    assert outcome == ["nothing to write", COORDINATOR_NOT_AVAILABLE]


def test_partition_states_and_markers_at_load():
    rt, events = make()
    with pytest.raises(CoordinatorError) as e:
        rt.write_transactional(1, PID, EPOCH, lambda s, b: None)
    assert e.value.error_code == NOT_COORDINATOR
    assert not rt.complete_transaction(1, PID, commit=True)  # not owned: nothing to apply here
    with pytest.raises(ValueError):
        rt.write_transactional(0, NO_PRODUCER_ID, 0, lambda s, b: None)
    # loading: records of transactional batches and markers are replayed in log order
    rt.begin_load(1)
    rt.replay(1, b"a", b"1", PID)
    rt.replay(1, b"b", b"2", PID + 1)
    rt.replay_end_transaction(1, PID, commit=True)
    rt.replay(1, b"c", b"3")
    assert not rt.complete_transaction(1, PID + 1, commit=True)  # still loading: its log has the marker
    rt.complete_load(1)
    shard = rt.shard(1)
    assert shard.state == {b"a": b"1", b"c": b"3"} and shard.pending == {PID + 1: {b"b": b"2"}}
    with pytest.raises(RuntimeError):
        rt.replay_end_transaction(1, PID + 1, commit=True)  # active now: complete_transaction's job
