"""The coordinator runtime alone: timers, write-then-apply, failures, partition states."""

from __future__ import annotations

import pytest

from kavka.coordinator.runtime import Batch, CoordinatorError, CoordinatorRuntime, Timer


class Clock:
    def __init__(self):
        self.now = 0

    def __call__(self):
        return self.now


class ToyShard:
    """A shard whose state is a dict built from records: key -> value (None deletes)."""

    def __init__(self, clock):
        self.timer = Timer(clock)
        self.state: dict[bytes, bytes] = {}
        self.loaded = False
        self.unloaded = False

    def replay(self, key, value):
        if value is None:
            self.state.pop(key, None)
        else:
            self.state[key] = value

    def on_loaded(self, batch):
        self.loaded = True

    def on_unloaded(self):
        self.unloaded = True


def make(fail=None):
    clock = Clock()
    log: dict[int, list] = {}
    events: list = []

    def append(partition, records):
        events.append(("append", list(records)))
        if fail and fail[0]:
            e = Exception("refused")
            e.error_code = fail.pop(0)
            raise e
        log.setdefault(partition, []).extend(records)

    rt = CoordinatorRuntime(lambda p: ToyShard(clock), append, clock)
    return rt, clock, log, events


def test_timer_orders_replaces_and_cancels():
    clock = Clock()
    t = Timer(clock)
    fired = []
    t.schedule("a", 10, lambda b: fired.append("a"))
    t.schedule("b", 5, lambda b: fired.append("b"))
    t.schedule("a", 20, lambda b: fired.append("a2"))  # replaces a
    t.schedule("c", 1, lambda b: fired.append("c"))
    t.cancel("c")
    assert t.next_deadline() == 5
    clock.now = 20
    while (fn := t.pop_expired(clock.now)) is not None:
        fn(None)
    assert fired == ["b", "a2"]
    assert t.next_deadline() is None


def test_records_are_appended_then_replayed_then_answered():
    rt, clock, log, events = make()
    rt.load(0, [(b"k0", b"v0")])
    shard = rt.shard(0)
    assert shard.loaded and shard.state == {b"k0": b"v0"}

    def op(s, batch: Batch):
        batch.append((b"k1", b"v1"))
        batch.append((b"k0", None))
        batch.append((b"live", b"x"), replay=False)
        batch.respond(lambda r: events.append(("respond", r, dict(s.state))), "ok")

    rt.write(0, op)
    assert events[0] == ("append", [(b"k1", b"v1"), (b"k0", None), (b"live", b"x")])
    # the response saw the state after the records were applied; the live record was not replayed
    assert events[1] == ("respond", "ok", {b"k1": b"v1"})


def test_a_refused_append_applies_nothing_and_runs_the_failure_path():
    rt, clock, log, events = make(fail=[6])
    rt.load(0, [])
    outcome = []

    def op(s, batch: Batch):
        batch.append((b"k", b"v"))
        batch.on_success(lambda f: outcome.append("ok"))
        batch.on_failure(lambda f, code: outcome.append(("failed", int(code))))

    rt.write(0, op)
    assert outcome == [("failed", 16)]  # NOT_LEADER_OR_FOLLOWER reads as NOT_COORDINATOR
    assert rt.shard(0).state == {}


def test_continuations_may_append_more():
    rt, clock, log, events = make()
    rt.load(0, [])

    def op(s, batch: Batch):
        batch.append((b"a", b"1"))
        batch.on_success(lambda follow: follow.append((b"b", b"2")))

    rt.write(0, op)
    assert log[0] == [(b"a", b"1"), (b"b", b"2")]
    assert rt.shard(0).state == {b"a": b"1", b"b": b"2"}


def test_partition_states():
    rt, clock, log, events = make()
    with pytest.raises(CoordinatorError) as e:
        rt.write(1, lambda s, b: None)
    assert e.value.error_code == 16  # NOT_COORDINATOR
    rt.begin_load(1)
    rt.replay(1, b"k", b"v")
    with pytest.raises(CoordinatorError) as e:
        rt.read(1, lambda s: s.state)
    assert e.value.error_code == 14  # COORDINATOR_LOAD_IN_PROGRESS
    rt.complete_load(1)
    assert rt.read(1, lambda s: s.state) == {b"k": b"v"}
    shard = rt.shard(1)
    rt.unload(1)
    assert shard.unloaded and rt.owned_partitions() == []


def test_tick_runs_due_timers_as_writes():
    rt, clock, log, events = make()
    rt.load(0, [])
    shard = rt.shard(0)
    shard.timer.schedule("t", 100, lambda batch: batch.append((b"timer", b"fired")))
    assert rt.tick() == 100
    clock.now = 100
    assert rt.tick() is None
    assert shard.state == {b"timer": b"fired"}
