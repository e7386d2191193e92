"""Transactional offsets (TxnOffsetCommit) in the group coordinator, with no I/O.

The fake ``__consumer_offsets`` log here keeps, per partition, what the broker's log would: plain
records (producer -1), records of transactional batches with their producer id, and COMMIT/ABORT
markers. Reloading a coordinator from it checks that replay reaches the state the live path reached.
"""

from __future__ import annotations

from kavka.coordinator.group import GroupCoordinator
from tests.coordinator.group_harness import Harness, Reply

NONE = 0
ILLEGAL_GENERATION = 22
UNSTABLE_OFFSET_COMMIT = 88
INVALID_PRODUCER_EPOCH = 47
PID, OTHER = 4000, 4001


class RefusedEpoch(Exception):
    error_code = INVALID_PRODUCER_EPOCH


class TxnHarness(Harness):
    def __init__(self, **config):
        self.entries: dict[int, list[tuple]] = {}  # partition -> ("rec", pid, key, value) | ("end", pid, commit)
        self.refuse_epoch_below: dict[int, int] = {}
        super().__init__(**config)

    def new_coordinator(self) -> GroupCoordinator:
        def append(partition, records):
            self.log.append(partition, records)
            self.entries.setdefault(partition, []).extend(("rec", -1, k, v) for k, v in records)

        def append_txn(partition, producer_id, producer_epoch, records):
            if producer_epoch < self.refuse_epoch_below.get(producer_id, -1):
                raise RefusedEpoch()
            self.entries.setdefault(partition, []).extend(("rec", producer_id, k, v) for k, v in records)

        return GroupCoordinator(self.config, append, self.clock, append_transactional=append_txn)

    def txn_commit(
        self,
        group_id: str,
        offsets: dict,
        producer_id: int = PID,
        epoch: int = 0,
        *,
        member_id: str = "",
        generation: int = -1,
    ) -> Reply:
        reply = Reply()
        topics: dict = {}
        for (topic, partition), offset in offsets.items():
            topics.setdefault(topic, []).append((partition, offset, -1, "m"))
        self.coord.commit_transactional_offsets(
            group_id=group_id,
            producer_id=producer_id,
            producer_epoch=epoch,
            generation_id=generation,
            member_id=member_id,
            topics=list(topics.items()),
            respond=reply,
        )
        return reply

    def marker(self, group_id: str, producer_id: int, commit: bool) -> None:
        partition = self.coord.partition_for(group_id)
        self.entries.setdefault(partition, []).append(("end", producer_id, commit))
        self.coord.complete_transaction(partition, producer_id, commit)

    def reload(self) -> None:
        """A new coordinator replaying every partition's log, as after a broker restart."""
        self.coord = self.new_coordinator()
        for p in range(3):
            self.coord.begin_load(p)
            for entry in self.entries.get(p, []):
                if entry[0] == "end":
                    self.coord.replay_end_transaction(p, entry[1], entry[2])
                else:
                    self.coord.replay(p, entry[2], entry[3], entry[1])
            self.coord.complete_load(p)

    def fetch(self, group_id: str, partition: int = 0, require_stable: bool = False) -> tuple[int, int]:
        res = self.coord.fetch_offsets(group_id, [("t", [partition])], require_stable)
        p = res["topics"][0]["partitions"][0]
        return p["committed_offset"], p["error_code"]


def codes(reply: Reply) -> list[int]:
    return [p["error_code"] for t in reply.value["topics"] for p in t["partitions"]]


def test_offsets_count_only_after_the_commit_marker_and_survive_a_restart_in_between():
    h = TxnHarness()
    assert codes(h.txn_commit("g", {("t", 0): 42})) == [NONE]
    assert h.fetch("g") == (-1, NONE)
    assert h.fetch("g", require_stable=True) == (-1, UNSTABLE_OFFSET_COMMIT)
    h.reload()  # crash between TxnOffsetCommit and the marker: still pending, not lost
    assert h.fetch("g") == (-1, NONE)
    assert h.fetch("g", require_stable=True) == (-1, UNSTABLE_OFFSET_COMMIT)
    h.marker("g", PID, commit=True)
    assert h.fetch("g", require_stable=True) == (42, NONE)
    h.reload()
    assert h.fetch("g", require_stable=True) == (42, NONE)


def test_abort_drops_the_offsets_live_and_at_replay():
    h = TxnHarness()
    h.commit("g", {("t", 0): 5})
    h.txn_commit("g", {("t", 0): 50})
    h.marker("g", PID, commit=False)
    assert h.fetch("g", require_stable=True) == (5, NONE)
    h.reload()
    assert h.fetch("g", require_stable=True) == (5, NONE)


def test_a_later_plain_commit_wins_over_an_earlier_transactional_record():
    h = TxnHarness()
    h.txn_commit("g", {("t", 0): 10, ("t", 1): 11})
    h.commit("g", {("t", 0): 20})  # written after the transaction's record of t-0
    h.marker("g", PID, commit=True)
    assert h.fetch("g", 0) == (20, NONE)
    assert h.fetch("g", 1) == (11, NONE)
    h.reload()
    assert (h.fetch("g", 0), h.fetch("g", 1)) == ((20, NONE), (11, NONE))


def test_two_producers_the_later_record_wins_whatever_the_marker_order():
    h = TxnHarness()
    h.txn_commit("g", {("t", 0): 1}, producer_id=PID)
    h.txn_commit("g", {("t", 0): 2}, producer_id=OTHER)
    h.marker("g", OTHER, commit=True)
    assert h.fetch("g", require_stable=True) == (-1, UNSTABLE_OFFSET_COMMIT)  # PID still open
    h.marker("g", PID, commit=True)
    assert h.fetch("g", require_stable=True) == (2, NONE)
    h.reload()
    assert h.fetch("g") == (2, NONE)


def test_a_tombstone_drops_pending_offsets_of_its_partition():
    h = TxnHarness()
    h.commit("g", {("t", 0): 3})
    h.txn_commit("g", {("t", 0): 30})
    reply = Reply()
    h.coord.delete_offsets(group_id="g", topics=[("t", [0])], respond=reply)
    assert reply.error == NONE
    assert h.fetch("g", require_stable=True) == (-1, NONE)
    h.marker("g", PID, commit=True)
    assert h.fetch("g") == (-1, NONE)


def test_member_checks_and_a_refused_append():
    h = TxnHarness()
    (a, _b), gen = h.form_group("g", 2)
    assert codes(h.txn_commit("g", {("t", 0): 1}, member_id=a, generation=gen + 1)) == [ILLEGAL_GENERATION]
    assert codes(h.txn_commit("g", {("t", 0): 1}, member_id=a, generation=gen)) == [NONE]
    # without member information (an older client) the group need not be empty
    assert codes(h.txn_commit("g", {("t", 1): 1}, producer_id=OTHER)) == [NONE]
    assert codes(h.txn_commit("nope", {("t", 0): 1}, generation=3, member_id="x")) == [ILLEGAL_GENERATION]
    h.refuse_epoch_below[PID] = 5
    assert codes(h.txn_commit("g", {("t", 0): 9}, epoch=1)) == [INVALID_PRODUCER_EPOCH]
    h.marker("g", PID, commit=True)
    assert h.fetch("g") == (1, NONE)  # the refused offset was never pending


def test_pending_offsets_do_not_expire_and_deleting_the_group_drops_them():
    h = TxnHarness(offsets_retention_ms=60_000, offsets_retention_check_interval_ms=1_000)
    h.commit("g", {("t", 0): 1})
    h.txn_commit("g", {("t", 0): 2, ("t", 1): 3})
    h.advance(120_000)  # past retention: t-0 stays, a transaction holds it
    assert h.fetch("g", 0) == (1, NONE)
    reply = Reply()
    h.coord.delete_groups(["g"], respond=reply)
    assert reply.value == [{"group_id": "g", "error_code": NONE}]
    h.marker("g", PID, commit=True)  # a commit after the deletion brings nothing back
    assert h.fetch("g", 0) == (-1, NONE) and h.fetch("g", 1) == (-1, NONE)
    h.reload()
    assert h.fetch("g", 0) == (-1, NONE) and h.fetch("g", 1) == (-1, NONE)
