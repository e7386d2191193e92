"""TxnOffsetCommit as a transactional write of the coordinator runtime: what goes into the log, when
the answer comes, and the errors a client is told when the partition or the log refuses."""

from __future__ import annotations

from kavka.coordinator.group import GroupCoordinator
from tests.coordinator.group_harness import AppendFailed, Harness, Reply

NONE = 0
COORDINATOR_LOAD_IN_PROGRESS = 14
NOT_COORDINATOR = 16
INVALID_GROUP_ID = 24
NOT_LEADER_OR_FOLLOWER = 6
COORDINATOR_NOT_AVAILABLE = 15
NOT_ENOUGH_REPLICAS = 19
OFFSET_METADATA_TOO_LARGE = 12
PID, EPOCH = 5000, 2


class EventHarness(Harness):
    """A harness whose transactional appends are recorded in ``events`` (and may be refused)."""

    def __init__(self, **config):
        self.events: list = []
        self.refuse: list[int] = []
        super().__init__(**config)

    def new_coordinator(self) -> GroupCoordinator:
        def append_txn(partition, producer_id, producer_epoch, records):
            if self.refuse:
                raise AppendFailed(self.refuse.pop(0))
            self.events.append(("append", partition, producer_id, producer_epoch, list(records)))

        return GroupCoordinator(self.config, self.log.append, self.clock, append_transactional=append_txn)

    def txn_commit(self, group_id: str, parts, metadata: str = "m") -> Reply:
        reply = Reply()

        def respond(response):
            self.events.append(("respond", response))
            reply(response)

        self.coord.commit_transactional_offsets(
            group_id=group_id,
            producer_id=PID,
            producer_epoch=EPOCH,
            generation_id=-1,
            member_id="",
            topics=[("t", [(p[0], p[1], -1, p[2] if len(p) > 2 else metadata) for p in parts])],
            respond=respond,
        )
        return reply

    def pending(self, group_id: str) -> bool:
        return self.coord.shard_of(group_id).offsets.has_pending(group_id, "t", 0)


def codes(reply: Reply) -> list[int]:
    return [p["error_code"] for t in reply.value["topics"] for p in t["partitions"]]


def test_the_records_are_one_transactional_batch_and_the_answer_follows_the_append():
    h = EventHarness()
    assert codes(h.txn_commit("g", [(0, 10), (1, 11)])) == [NONE, NONE]
    (kind, partition, pid, epoch, records), answer = h.events
    assert (kind, partition, pid, epoch, len(records)) == ("append", h.coord.partition_for("g"), PID, EPOCH, 2)
    assert answer[0] == "respond"
    assert h.pending("g") and h.committed("g", "t", 0) == -1
    h.coord.complete_transaction(h.coord.partition_for("g"), PID, commit=True)
    assert not h.pending("g") and h.committed("g", "t", 0) == 10


def test_refused_appends_are_mapped_and_put_on_every_partition():
    h = EventHarness(offset_metadata_max_bytes=3)
    h.refuse = [NOT_LEADER_OR_FOLLOWER, NOT_ENOUGH_REPLICAS]
    assert codes(h.txn_commit("g", [(0, 10)])) == [NOT_COORDINATOR]
    # a partition already refused for its metadata gets the append's error too (Kafka's getErrorResponse)
    reply = h.txn_commit("g", [(0, 10, "far too long"), (1, 11, "ok")])
    assert codes(reply) == [COORDINATOR_NOT_AVAILABLE, COORDINATOR_NOT_AVAILABLE]
    assert not h.pending("g") and [e for e in h.events if e[0] == "append"] == []
    # nothing to append (every partition refused on its own): answered at once, nothing written
    assert codes(h.txn_commit("g", [(0, 10)], metadata="far too long")) == [OFFSET_METADATA_TOO_LARGE]
    assert [e for e in h.events if e[0] == "append"] == []


def test_partition_states_and_request_checks():
    h = EventHarness()
    assert codes(h.txn_commit("", [(0, 1)])) == [INVALID_GROUP_ID]
    partition = h.coord.partition_for("g")
    h.coord.unload(partition)
    assert codes(h.txn_commit("g", [(0, 1)])) == [NOT_COORDINATOR]
    h.coord.begin_load(partition)
    assert codes(h.txn_commit("g", [(0, 1)])) == [COORDINATOR_LOAD_IN_PROGRESS]
    h.coord.complete_load(partition)
    assert codes(h.txn_commit("g", [(0, 1)])) == [NONE]
