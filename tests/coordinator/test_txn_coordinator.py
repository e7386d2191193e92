"""The transaction coordinator as a state machine: fake clock, in-memory log, no sockets."""

from __future__ import annotations

import pytest

from kavka.coordinator.txn import TransactionCoordinator, TxnConfig, TxnState
from kavka.coordinator.txn.records import decode_key, decode_value
from kavka.protocol.api import ErrorCode

TID = "payments"


class Harness:
    """A coordinator over an in-memory ``__transaction_state``, with a clock and a marker writer."""

    def __init__(self, **config):
        self.now = 1_000_000
        self.config = TxnConfig(transaction_state_log_num_partitions=4, **config)
        self.logs: dict[int, list] = {}
        self.fail_appends = 0
        self.fail_code = ErrorCode.not_leader_or_follower  # what a failed append raises
        self.next_pid = 1000
        self.markers: list[tuple] = []  # (topic, partition, pid, epoch, commit, coordinator epoch)
        self.refuse: set = set()  # partitions whose markers fail (retried)
        self.auto_markers = True
        self.coordinator = self._new()
        for p in range(4):
            self.coordinator.load(p, [])

    def _new(self):
        return TransactionCoordinator(self.config, self._append, lambda: self.now, self._pid)

    def _pid(self):
        self.next_pid += 1
        return self.next_pid

    def _append(self, partition, records):
        if self.fail_appends:
            self.fail_appends -= 1
            err = Exception("no")
            err.error_code = self.fail_code
            raise err
        self.logs.setdefault(partition, []).extend(records)

    def call(self, method, **kw):
        out = []
        getattr(self.coordinator, method)(respond=out.append, **kw)
        assert len(out) == 1
        self.pump()
        return out[0]

    def pump(self):
        """Write the markers the coordinator asks for (as the broker would), then report."""
        while self.auto_markers and self.coordinator.has_marker_jobs():
            for job in self.coordinator.take_marker_jobs():
                failed = set()
                for tp in sorted(job.partitions):
                    if tp in self.refuse:
                        failed.add(tp)
                    else:
                        self.markers.append(
                            (*tp, job.producer_id, job.producer_epoch, job.commit, job.coordinator_epoch)
                        )
                self.coordinator.markers_written(job, failed)

    def advance(self, ms):
        self.now += ms
        self.coordinator.tick()
        self.pump()

    def init(self, tid=TID, timeout=60_000, **kw):
        return self.call("init_producer_id", transactional_id=tid, transaction_timeout_ms=timeout, **kw)

    def add(self, pid, epoch, *tps, tid=TID):
        return self.call(
            "add_partitions_to_txn", transactional_id=tid, producer_id=pid, producer_epoch=epoch, partitions=list(tps)
        )

    def end(self, pid, epoch, commit, tid=TID):
        return self.call("end_txn", transactional_id=tid, producer_id=pid, producer_epoch=epoch, commit=commit)

    def state(self, tid=TID):
        return self.coordinator.shard_of(tid).txns[tid]

    def restart(self, coordinator_epoch=1):
        self.coordinator = self._new()
        for p in range(4):
            self.coordinator.load(p, list(self.logs.get(p, [])), coordinator_epoch)
        self.pump()


@pytest.fixture
def h():
    return Harness()


def test_init_new_then_bump(h):
    r = h.init()
    assert r == {"error_code": 0, "producer_id": 1001, "producer_epoch": 0}
    r2 = h.init()
    assert r2["producer_id"] == 1001 and r2["producer_epoch"] == 1
    m = h.state()
    assert m.state == TxnState.EMPTY and m.txn_timeout_ms == 60_000
    # the records are Kafka's: key = transactional id, status Empty, partitions null
    key, value = h.logs[h.coordinator.partition_for(TID)][-1]
    assert decode_key(key) == TID
    v = decode_value(value)
    assert (v.producer_id, v.producer_epoch, v.transaction_status) == (1001, 1, 0)


def test_invalid_timeout_and_empty_id(h):
    assert h.init(timeout=0)["error_code"] == ErrorCode.invalid_transaction_timeout
    assert h.init(timeout=900_001)["error_code"] == ErrorCode.invalid_transaction_timeout
    assert h.init(tid="")["error_code"] == ErrorCode.invalid_request


def test_commit_flow_writes_markers_then_complete(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    assert h.add(pid, epoch, ("a", 0), ("b", 1)) == 0
    assert h.state().state == TxnState.ONGOING and h.state().txn_start_ms == h.now
    assert h.add(pid, epoch, ("a", 0)) == 0  # already in: nothing written
    assert h.end(pid, epoch, True) == 0
    assert sorted(h.markers) == [("a", 0, pid, epoch, True, 0), ("b", 1, pid, epoch, True, 0)]
    m = h.state()
    assert m.state == TxnState.COMPLETE_COMMIT and m.partitions == set()
    states = [decode_value(v).transaction_status for k, v in h.logs[h.coordinator.partition_for(TID)]]
    assert states == [0, 1, 2, 4]
    # retry of the same EndTxn: NONE; the opposite outcome: INVALID_TXN_STATE
    assert h.end(pid, epoch, True) == 0
    assert h.end(pid, epoch, False) == ErrorCode.invalid_txn_state
    # a new transaction on the same epoch
    assert h.add(pid, epoch, ("c", 0)) == 0
    assert h.end(pid, epoch, False) == 0
    assert h.state().state == TxnState.COMPLETE_ABORT
    assert h.markers[-1] == ("c", 0, pid, epoch, False, 0)


def test_end_txn_errors(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    assert h.end(pid, epoch, True) == ErrorCode.invalid_txn_state  # Empty
    assert h.end(pid + 1, epoch, True) == ErrorCode.invalid_producer_id_mapping
    assert h.end(pid, epoch + 1, True) == ErrorCode.producer_fenced
    assert (
        h.call("end_txn", transactional_id="unknown", producer_id=1, producer_epoch=0, commit=True)
        == ErrorCode.invalid_producer_id_mapping
    )
    assert h.add(pid, epoch - 1, ("a", 0)) == ErrorCode.producer_fenced


def test_concurrent_transactions_while_markers_pending(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    h.add(pid, epoch, ("a", 0))
    h.refuse.add(("a", 0))
    assert h.end(pid, epoch, True) == 0  # answered once PrepareCommit is written
    assert h.state().state == TxnState.PREPARE_COMMIT
    assert h.end(pid, epoch, True) == ErrorCode.concurrent_transactions
    assert h.end(pid, epoch, False) == ErrorCode.invalid_txn_state
    assert h.add(pid, epoch, ("b", 0)) == ErrorCode.concurrent_transactions
    assert h.init()["error_code"] == ErrorCode.concurrent_transactions
    h.refuse.clear()
    h.advance(h.config.marker_retry_backoff_ms)
    assert h.state().state == TxnState.COMPLETE_COMMIT
    assert h.markers == [("a", 0, pid, epoch, True, 0)]
    assert h.init()["producer_epoch"] == epoch + 1


def test_second_producer_fences_the_first_mid_transaction(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    h.add(pid, epoch, ("a", 0))
    # the new instance: the open transaction is aborted with epoch + 1, the caller retries
    assert h.init()["error_code"] == ErrorCode.concurrent_transactions
    assert h.markers == [("a", 0, pid, epoch + 1, False, 0)]
    assert h.state().state == TxnState.COMPLETE_ABORT
    r2 = h.init()
    assert r2 == {"error_code": 0, "producer_id": pid, "producer_epoch": epoch + 2}
    # the zombie is fenced everywhere
    assert h.add(pid, epoch, ("a", 0)) == ErrorCode.producer_fenced
    assert h.end(pid, epoch, True) == ErrorCode.producer_fenced
    assert h.init(producer_id=pid, producer_epoch=epoch)["error_code"] == ErrorCode.producer_fenced


def test_kip_360_bump_by_the_current_producer_and_its_retry(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    r2 = h.init(producer_id=pid, producer_epoch=epoch)
    assert r2["producer_epoch"] == epoch + 1
    again = h.init(producer_id=pid, producer_epoch=epoch)  # retry of that call: same answer, no new bump
    assert again == r2
    assert h.init(producer_id=pid + 7, producer_epoch=0)["error_code"] == ErrorCode.producer_fenced


def test_epoch_exhaustion_rotates_the_producer_id(h):
    r = h.init()
    pid = r["producer_id"]
    m = h.state()
    m.producer_epoch = 32766
    r2 = h.init()
    assert r2["producer_id"] != pid and r2["producer_epoch"] == 0
    assert h.state().previous_producer_id == pid


def test_transaction_timeout_aborts_and_fences(h):
    h = Harness(abort_timed_out_transactions_interval_ms=100)
    r = h.init(timeout=1000)
    pid, epoch = r["producer_id"], r["producer_epoch"]
    h.add(pid, epoch, ("a", 0), ("b", 0))
    h.advance(900)
    assert h.state().state == TxnState.ONGOING
    h.advance(200)
    m = h.state()
    assert m.state == TxnState.COMPLETE_ABORT and m.producer_epoch == epoch + 1
    assert sorted(h.markers) == [("a", 0, pid, epoch + 1, False, 0), ("b", 0, pid, epoch + 1, False, 0)]
    assert h.end(pid, epoch, True) == ErrorCode.producer_fenced
    assert h.init()["producer_epoch"] == epoch + 2


def test_expiration_writes_a_tombstone(h):
    h = Harness(transactional_id_expiration_ms=5000, remove_expired_transactions_interval_ms=1000)
    r = h.init()
    h.add(r["producer_id"], r["producer_epoch"], ("a", 0), tid=TID)
    h.init(tid="other")
    h.advance(6000)
    shard = h.coordinator.shard_of("other")
    assert "other" not in shard.txns
    assert TID in h.coordinator.shard_of(TID).txns  # Ongoing: not expired (it times out instead)
    p = h.coordinator.partition_for("other")
    assert h.logs[p][-1] == (h.logs[p][-1][0], None)
    assert h.init(tid="other")["producer_epoch"] == 0  # a fresh start


def test_replay_rebuilds_state_and_resumes_markers(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    h.add(pid, epoch, ("a", 0), ("b", 2))
    h.auto_markers = False
    assert h.end(pid, epoch, False) == 0
    assert h.state().state == TxnState.PREPARE_ABORT
    h.init(tid="idle")
    # the broker dies before the markers: a new coordinator (epoch 1) loads the log and finishes
    h.auto_markers = True
    h.restart(coordinator_epoch=1)
    assert sorted(h.markers) == [("a", 0, pid, epoch, False, 1), ("b", 2, pid, epoch, False, 1)]
    assert h.state().state == TxnState.COMPLETE_ABORT
    assert h.state("idle").state == TxnState.EMPTY
    assert h.init()["producer_epoch"] == epoch + 1


def test_ongoing_found_at_load_times_out_later():
    h = Harness(abort_timed_out_transactions_interval_ms=100)
    r = h.init(timeout=500)
    h.add(r["producer_id"], r["producer_epoch"], ("a", 0))
    h.restart()
    assert h.state().state == TxnState.ONGOING
    h.advance(600)
    assert h.state().state == TxnState.COMPLETE_ABORT


def test_append_failure_changes_nothing(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    h.fail_appends = 1
    assert h.add(pid, epoch, ("a", 0)) == ErrorCode.not_coordinator
    assert h.state().state == TxnState.EMPTY
    h.fail_appends = 1
    assert h.init()["error_code"] == ErrorCode.not_coordinator
    assert h.state().producer_epoch == epoch


@pytest.mark.parametrize("commit", [True, False])
def test_a_completion_the_log_refuses_for_now_is_retried(h, commit):
    """Kafka retries the CompleteCommit/CompleteAbort append that failed with COORDINATOR_NOT_AVAILABLE
    (the partition below min.insync.replicas, say); before, the transaction stayed in Prepare* until its
    partition was loaded again, and the producer's next transaction met CONCURRENT_TRANSACTIONS, then an
    EndTxn(abort) after its sends timed out met INVALID_TXN_STATE (fatal to librdkafka)."""
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    assert h.add(pid, epoch, ("a", 0)) == 0
    h.auto_markers = False
    assert h.end(pid, epoch, commit) == 0  # the Prepare record goes in; the completion is refused below
    h.fail_appends, h.fail_code = 1, ErrorCode.not_enough_replicas
    h.auto_markers = True
    h.pump()
    assert h.markers == [("a", 0, pid, epoch, commit, 0)]
    assert h.state().state == (TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT)
    h.advance(h.config.marker_retry_backoff_ms)
    assert h.state().state == (TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT)
    assert h.add(pid, epoch, ("a", 0)) == 0  # the next transaction begins
    assert h.end(pid, epoch, False) == 0


def test_a_completion_refused_as_not_coordinator_is_left_to_the_new_coordinator(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    assert h.add(pid, epoch, ("a", 0)) == 0
    h.auto_markers = False
    assert h.end(pid, epoch, True) == 0
    h.fail_appends, h.auto_markers = 1, True
    h.pump()
    h.advance(10 * h.config.marker_retry_backoff_ms)
    assert h.state().state == TxnState.PREPARE_COMMIT  # nothing retried here: a new coordinator loads it
    h.restart()
    assert h.state().state == TxnState.COMPLETE_COMMIT


def test_not_coordinator_and_loading():
    h = Harness()
    p = h.coordinator.partition_for(TID)
    h.coordinator.unload(p)
    assert h.init()["error_code"] == ErrorCode.not_coordinator
    h.coordinator.begin_load(p)
    assert h.init()["error_code"] == ErrorCode.coordinator_load_in_progress
    [d] = h.coordinator.describe_transactions([TID])
    assert d["error_code"] == ErrorCode.coordinator_load_in_progress
    assert h.coordinator.list_transactions()["error_code"] == ErrorCode.coordinator_load_in_progress


def test_add_offsets_adds_the_groups_offsets_partition(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    assert h.call("add_offsets_to_txn", transactional_id=TID, producer_id=pid, producer_epoch=epoch, group_id="g") == 0
    tp = h.coordinator.offsets_partition("g")
    assert tp[0] == "__consumer_offsets" and h.state().partitions == {tp}


def test_describe_and_list(h):
    r = h.init()
    pid, epoch = r["producer_id"], r["producer_epoch"]
    h.add(pid, epoch, ("a", 1), ("a", 0))
    h.init(tid="b")
    [d, missing] = h.coordinator.describe_transactions([TID, "nope"])
    assert d["transaction_state"] == "Ongoing" and d["producer_id"] == pid and d["transaction_timeout"] == 60_000
    assert d["topics"] == [{"topic": "a", "partitions": [0, 1]}] and d["transaction_start_time"] == h.now
    assert missing["error_code"] == ErrorCode.transactional_id_not_found
    all_ = h.coordinator.list_transactions()
    assert [t["transactional_id"] for t in all_["transaction_states"]] == ["b", TID]
    only = h.coordinator.list_transactions(state_filters=["Ongoing", "Bogus"])
    assert [t["transactional_id"] for t in only["transaction_states"]] == [TID]
    assert only["unknown_state_filters"] == ["Bogus"]
    assert h.coordinator.list_transactions(producer_id_filters=[pid])["transaction_states"][0]["producer_id"] == pid
    h.now += 10_000
    long_running = h.coordinator.list_transactions(state_filters=["Ongoing"], duration_filter_ms=5_000)
    assert [t["transactional_id"] for t in long_running["transaction_states"]] == [TID]
    assert (
        h.coordinator.list_transactions(state_filters=["Ongoing"], duration_filter_ms=20_000)["transaction_states"]
        == []
    )


def test_list_transactions_pattern_must_match_the_whole_id_and_compile():
    h = Harness()
    for tid in ("orders-1", "orders-2", "payments"):
        h.init(tid=tid)
    names = lambda r: [t["transactional_id"] for t in r["transaction_states"]]  # noqa: E731
    assert names(h.coordinator.list_transactions(transactional_id_pattern="orders-.*")) == ["orders-1", "orders-2"]
    assert names(h.coordinator.list_transactions(transactional_id_pattern="orders")) == []
    assert len(names(h.coordinator.list_transactions(transactional_id_pattern=None))) == 3
    for bad in ("([", "(" * 20000, "a{99999999999}"):
        r = h.coordinator.list_transactions(transactional_id_pattern=bad)
        assert (r["error_code"], r["transaction_states"]) == (ErrorCode.invalid_regular_expression, [])
