"""Transaction partition verification (KIP-890 part 1) with no sockets and a fake clock.

Three levels: the coordinator's verify read (Kafka's handleVerifyPartitionsInTransaction), the pure
error translations a partition leader applies (kavka.coordinator.txn.verification), and the broker's
Produce path in process (memory file system, fake clock, the handler called directly): a transactional
batch for a partition outside the producer's ongoing transaction is refused and leaves the last stable
offset alone; the first batch of a transaction is verified, later ones are not.
"""

from __future__ import annotations

import io

import pytest
from kio.index import load_request_schema, load_response_schema
from kio.serial import entity_reader, entity_writer

from kavka.broker.dispatch import ConnectionInfo, RequestContext
from kavka.coordinator.txn import TransactionCoordinator, TxnConfig, TxnState
from kavka.coordinator.txn.verification import (
    NOT_IN_TRANSACTION_MESSAGE,
    leader_error,
    produce_error,
    txn_offset_commit_error,
)
from kavka.protocol.api import ApiKey, RequestHeader
from kavka.protocol.api import ErrorCode as E

TID = "orders"


# --- the coordinator ---------------------------------------------------------------------------------


class Coord:
    """A transaction coordinator over an in-memory ``__transaction_state``; markers written at once
    unless their partition is in ``refuse``."""

    def __init__(self, **config):
        self.now = 5_000_000
        self.config = TxnConfig(transaction_state_log_num_partitions=3, **config)
        self.logs: dict[int, list] = {}
        self.next_pid = 700
        self.refuse: set = set()
        self.c = self._new()
        for p in range(3):
            self.c.load(p, [])

    def _new(self):
        return TransactionCoordinator(self.config, self._append, lambda: self.now, self._pid)

    def _pid(self):
        self.next_pid += 1
        return self.next_pid

    def _append(self, partition, records):
        self.logs.setdefault(partition, []).extend(records)

    def call(self, method, **kw):
        out = []
        getattr(self.c, method)(respond=out.append, **kw)
        self.pump()
        return out[0]

    def pump(self):
        while self.c.has_marker_jobs():
            for job in self.c.take_marker_jobs():
                self.c.markers_written(job, {tp for tp in job.partitions if tp in self.refuse})

    def advance(self, ms):
        self.now += ms
        self.c.tick()
        self.pump()

    def init(self, tid=TID, timeout=60_000):
        r = self.call("init_producer_id", transactional_id=tid, transaction_timeout_ms=timeout)
        return r["producer_id"], r["producer_epoch"]

    def add(self, pid, epoch, *tps, tid=TID):
        return self.call(
            "add_partitions_to_txn", transactional_id=tid, producer_id=pid, producer_epoch=epoch, partitions=list(tps)
        )

    def end(self, pid, epoch, commit, tid=TID):
        return self.call("end_txn", transactional_id=tid, producer_id=pid, producer_epoch=epoch, commit=commit)

    def verify(self, pid, epoch, tp, tid=TID):
        return self.c.verify_partition(
            transactional_id=tid, producer_id=pid, producer_epoch=epoch, topic=tp[0], partition=tp[1]
        )

    def log_size(self):
        return sum(len(v) for v in self.logs.values())


@pytest.fixture
def co():
    return Coord()


def test_only_partitions_of_the_ongoing_transaction_verify(co):
    pid, epoch = co.init()
    assert co.verify(pid, epoch, ("a", 0)) == E.transaction_abortable  # Empty: nothing added yet
    assert co.add(pid, epoch, ("a", 0), ("b", 3)) == 0
    written = co.log_size()
    assert co.verify(pid, epoch, ("a", 0)) == E.none
    assert co.verify(pid, epoch, ("b", 3)) == E.none
    assert co.verify(pid, epoch, ("a", 1)) == E.transaction_abortable
    answers = co.c.verify_partitions(
        transactional_id=TID, producer_id=pid, producer_epoch=epoch, partitions=[("a", 0), ("c", 0)]
    )
    assert answers == {("a", 0): E.none, ("c", 0): E.transaction_abortable}
    assert co.log_size() == written  # a read: nothing appended
    assert co.c.shard_of(TID).txns[TID].partitions == {("a", 0), ("b", 3)}  # and nothing added


@pytest.mark.parametrize("commit", [True, False])
def test_after_the_transaction_ends_its_partitions_no_longer_verify(co, commit):
    pid, epoch = co.init()
    co.add(pid, epoch, ("a", 0))
    assert co.end(pid, epoch, commit) == 0
    assert co.c.shard_of(TID).txns[TID].state == (TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT)
    assert co.verify(pid, epoch, ("a", 0)) == E.transaction_abortable  # a late retry is refused
    co.add(pid, epoch, ("b", 0))  # the next transaction
    assert co.verify(pid, epoch, ("a", 0)) == E.transaction_abortable
    assert co.verify(pid, epoch, ("b", 0)) == E.none


def test_while_markers_are_pending_the_answer_is_concurrent_transactions(co):
    pid, epoch = co.init()
    co.add(pid, epoch, ("a", 0), ("b", 0))
    co.refuse.add(("b", 0))
    assert co.end(pid, epoch, True) == 0
    assert co.c.shard_of(TID).txns[TID].state == TxnState.PREPARE_COMMIT
    assert co.verify(pid, epoch, ("a", 0)) == E.concurrent_transactions
    assert co.verify(pid, epoch, ("z", 9)) == E.concurrent_transactions
    co.refuse.clear()
    co.advance(co.config.marker_retry_backoff_ms)
    assert co.c.shard_of(TID).txns[TID].state == TxnState.COMPLETE_COMMIT
    assert co.verify(pid, epoch, ("a", 0)) == E.transaction_abortable


def test_producer_checks(co):
    pid, epoch = co.init()
    co.add(pid, epoch, ("a", 0))
    assert co.verify(pid, epoch + 1, ("a", 0)) == E.producer_fenced
    assert co.verify(pid, epoch - 1, ("a", 0)) == E.producer_fenced
    assert co.verify(pid + 1, epoch, ("a", 0)) == E.invalid_producer_id_mapping
    assert co.verify(pid, epoch, ("a", 0), tid="never-seen") == E.invalid_producer_id_mapping
    assert co.verify(pid, epoch, ("a", 0), tid="") == E.invalid_request
    assert co.c.verify_partitions(
        transactional_id=TID, producer_id=pid + 1, producer_epoch=epoch, partitions=[("a", 0), ("b", 0)]
    ) == dict.fromkeys([("a", 0), ("b", 0)], E.invalid_producer_id_mapping)


def test_a_timed_out_transaction_fences_its_producer():
    co = Coord(abort_timed_out_transactions_interval_ms=100)
    pid, epoch = co.init(timeout=1000)
    co.add(pid, epoch, ("a", 0))
    co.advance(1200)
    meta = co.c.shard_of(TID).txns[TID]
    assert meta.state == TxnState.COMPLETE_ABORT and meta.producer_epoch == epoch + 1
    assert co.verify(pid, epoch, ("a", 0)) == E.producer_fenced
    assert co.verify(pid, epoch + 1, ("a", 0)) == E.transaction_abortable


def test_not_coordinator_and_loading(co):
    pid, epoch = co.init()
    co.add(pid, epoch, ("a", 0))
    p = co.c.partition_for(TID)
    co.c.unload(p)
    assert co.verify(pid, epoch, ("a", 0)) == E.not_coordinator
    co.c.begin_load(p)
    assert co.verify(pid, epoch, ("a", 0)) == E.coordinator_load_in_progress
    for key, value in co.logs[p]:
        co.c.replay(p, key, value)
    co.c.complete_load(p)
    assert co.verify(pid, epoch, ("a", 0)) == E.none  # the Ongoing record brings the partitions back


# --- translations ------------------------------------------------------------------------------------


def test_leader_translation():
    assert leader_error(E.producer_fenced, True) == E.invalid_producer_epoch
    assert leader_error(E.producer_fenced, False) == E.invalid_producer_epoch
    assert leader_error(E.transaction_abortable, False) == E.invalid_txn_state
    assert leader_error(E.transaction_abortable, True) == E.transaction_abortable
    assert leader_error(E.invalid_producer_id_mapping, False) == E.invalid_producer_id_mapping


@pytest.mark.parametrize("version", range(3, 11))
def test_produce_before_v11(version):
    assert produce_error(E.transaction_abortable, version) == (E.invalid_txn_state, NOT_IN_TRANSACTION_MESSAGE)
    assert produce_error(E.producer_fenced, version) == (E.invalid_producer_epoch, None)
    assert produce_error(E.invalid_producer_id_mapping, version) == (E.invalid_producer_id_mapping, None)
    for retriable in (
        E.concurrent_transactions,
        E.coordinator_load_in_progress,
        E.not_coordinator,
        E.coordinator_not_available,
        E.network_exception,
    ):
        code, message = produce_error(retriable, version)
        assert code == E.not_enough_replicas
        assert message.endswith(f"Underlying error: {retriable.name.upper()}")


def test_produce_v11_knows_transaction_abortable():
    assert produce_error(E.transaction_abortable, 11) == (E.transaction_abortable, None)
    assert produce_error(E.concurrent_transactions, 11)[0] == E.not_enough_replicas


def test_txn_offset_commit():
    assert txn_offset_commit_error(E.transaction_abortable, 3) == E.invalid_txn_state
    assert txn_offset_commit_error(E.transaction_abortable, 4) == E.transaction_abortable
    assert txn_offset_commit_error(E.producer_fenced, 4) == E.invalid_producer_epoch
    # retriable coordinator answers stay what they are (group clients retry them); append errors as usual
    assert txn_offset_commit_error(E.concurrent_transactions, 2) == E.concurrent_transactions
    assert txn_offset_commit_error(E.coordinator_load_in_progress, 2) == E.coordinator_load_in_progress
    assert txn_offset_commit_error(E.network_exception, 2) == E.coordinator_load_in_progress
    assert txn_offset_commit_error(E.coordinator_not_available, 0) == E.coordinator_not_available


# --- the broker's Produce path, in process -----------------------------------------------------------


class InProcessBroker:
    """A whole broker on a memory file system with a fake clock, registered without sockets; requests
    go straight to the handlers, the coordinators are called synchronously."""

    def __init__(self, **overrides):
        from kavka.broker.broker import Broker
        from kavka.metadata.config import BrokerConfig
        from kavka.testing.memfs import MemoryFileSystem

        props = dict(BrokerConfig.serve_defaults())
        props.update(
            {
                "log.dirs": "/data",
                "num.partitions": "2",
                "transaction.state.log.num.partitions": "2",
                "offsets.topic.num.partitions": "2",
                **overrides,
            }
        )
        self.now = 1_700_000_000_000
        self.broker = b = Broker(BrokerConfig.from_properties(props), fs=MemoryFileSystem(), clock_ms=lambda: self.now)
        b.startup()
        b.set_bound_listeners([("PLAINTEXT", "127.0.0.1", 9092)])
        assert b.txn_service.ensure_txn_topic() == 0
        self.txn = b.txn_service
        self.seq: dict = {}

    def close(self):
        self.broker.shutdown()

    # transactions, as a client would drive them
    def init(self, tid=TID):
        r = self.txn.call(self.txn.coordinator.init_producer_id, transactional_id=tid, transaction_timeout_ms=60_000)
        assert r["error_code"] == 0
        return r["producer_id"], r["producer_epoch"]

    def add(self, pid, epoch, *tps, tid=TID):
        return self.txn.call(
            self.txn.coordinator.add_partitions_to_txn,
            transactional_id=tid,
            producer_id=pid,
            producer_epoch=epoch,
            partitions=list(tps),
        )

    def end(self, pid, epoch, commit, tid=TID):
        return self.txn.call(
            self.txn.coordinator.end_txn, transactional_id=tid, producer_id=pid, producer_epoch=epoch, commit=commit
        )

    def batch(self, pid, epoch, *, seq=None, transactional=True, values=(b"v",)):
        from kavka.protocol.records import Record, build_batch

        if seq is None:
            seq = self.seq.get((pid, epoch), 0)
            self.seq[(pid, epoch)] = seq + len(values)
        return build_batch(
            [Record(i, self.now, None, v) for i, v in enumerate(values)],
            producer_id=pid,
            producer_epoch=epoch,
            base_sequence=seq,
            transactional=transactional,
        )

    def produce(self, partitions: dict, *, tid: str | None = TID, version: int = 9) -> dict:
        """One Produce of ``{(topic, partition): batch bytes}``: ``{(topic, partition): response}``."""
        from kavka.broker.handlers.produce import handle_produce
        from kavka.protocol.api import build_entity

        topics: dict = {}
        for (t, p), records in partitions.items():
            topics.setdefault(t, []).append({"index": p, "records": records})
        cls = load_request_schema(0, version)
        buf = io.BytesIO()
        entity_writer(cls)(
            buf,
            build_entity(
                cls,
                {
                    "transactional_id": tid,
                    "acks": -1,
                    "timeout": 30_000,
                    "topic_data": [{"name": t, "partition_data": ps} for t, ps in topics.items()],
                },
            ),
        )
        # the handler's request context, as the dispatcher builds it for a client connection
        ctx = RequestContext(
            RequestHeader(ApiKey.PRODUCE, version, 1, "txn-test"), ConnectionInfo(peer=("127.0.0.1", 0)), self.broker
        )
        out = handle_produce(ctx, memoryview(bytearray(buf.getvalue())))
        resp, _ = entity_reader(load_response_schema(0, version))(b"".join(bytes(x) for x in out), 0)
        return {(t.name, p.index): p for t in resp.responses for p in t.partition_responses}

    def log(self, topic, partition=0):
        return self.broker.replica_manager.get(topic, partition).log


@pytest.fixture
def kb():
    b = InProcessBroker()
    b.broker.auto_create_topic("t")
    yield b
    b.close()


def test_produce_to_a_partition_never_added_is_refused(kb):
    pid, epoch = kb.init()
    for version, code in (
        (3, E.invalid_txn_state),
        (9, E.invalid_txn_state),
        (10, E.invalid_txn_state),
        (11, E.transaction_abortable),
    ):
        r = kb.produce({("t", 0): kb.batch(pid, epoch, seq=0)}, version=version)[("t", 0)]
        assert r.error_code == code, version
    assert r.base_offset == -1
    plog = kb.log("t")
    assert plog.log_end_offset == 0 and plog.last_stable_offset == 0  # nothing written, nothing hanging
    # once added, the same batch goes in
    assert kb.add(pid, epoch, ("t", 0)) == 0
    assert kb.produce({("t", 0): kb.batch(pid, epoch, seq=0)})[("t", 0)].error_code == 0
    assert plog.last_stable_offset == 0 and plog.log_end_offset == 1


def test_late_retry_after_commit_is_refused_and_lso_moves_on(kb):
    pid, epoch = kb.init()
    kb.add(pid, epoch, ("t", 0))
    first = kb.batch(pid, epoch)
    assert kb.produce({("t", 0): first})[("t", 0)].error_code == 0
    assert kb.end(pid, epoch, True) == 0
    plog = kb.log("t")
    assert plog.last_stable_offset == plog.log_end_offset == 2  # record + COMMIT marker
    # the same batch again (a retry arriving late), then a new batch of the ended transaction
    r = kb.produce({("t", 0): first})[("t", 0)]
    assert (r.error_code, r.error_message) == (E.invalid_txn_state, NOT_IN_TRANSACTION_MESSAGE)
    assert kb.produce({("t", 0): kb.batch(pid, epoch)})[("t", 0)].error_code == E.invalid_txn_state
    assert plog.last_stable_offset == plog.log_end_offset == 2


def test_only_the_first_batch_of_a_transaction_is_verified(kb, monkeypatch):
    pid, epoch = kb.init()
    kb.add(pid, epoch, ("t", 0))
    calls = []
    real = kb.txn.verify
    monkeypatch.setattr(kb.txn, "verify", lambda *a: calls.append(a) or real(*a))
    for _ in range(3):
        assert kb.produce({("t", 0): kb.batch(pid, epoch)})[("t", 0)].error_code == 0
    assert len(calls) == 1
    # the coordinator moving on alone does not stop an open partition (Kafka trusts it until the marker)
    kb.end(pid, epoch, False)
    assert kb.produce({("t", 0): kb.batch(pid, epoch)})[("t", 0)].error_code == E.invalid_txn_state
    assert len(calls) == 2


def test_other_partitions_of_the_request_still_go_in(kb):
    pid, epoch = kb.init()
    kb.add(pid, epoch, ("t", 0))
    r = kb.produce({("t", 0): kb.batch(pid, epoch, seq=0), ("t", 1): kb.batch(pid, epoch, seq=0)})
    assert r[("t", 0)].error_code == 0 and r[("t", 1)].error_code == E.invalid_txn_state
    assert kb.log("t", 0).log_end_offset == 1 and kb.log("t", 1).log_end_offset == 0


def test_fenced_and_unknown_producers(kb):
    pid, epoch = kb.init()
    kb.add(pid, epoch, ("t", 0))
    assert kb.produce({("t", 0): kb.batch(pid, epoch + 1, seq=0)})[("t", 0)].error_code == E.invalid_producer_epoch
    assert kb.produce({("t", 0): kb.batch(pid + 50, 0, seq=0)})[("t", 0)].error_code == E.invalid_producer_id_mapping
    assert (
        kb.produce({("t", 0): kb.batch(pid, epoch, seq=0)}, tid="someone-else")[("t", 0)].error_code
        == E.invalid_producer_id_mapping
    )


def test_markers_pending_is_retriable_not_enough_replicas(kb):
    pid, epoch = kb.init()
    kb.add(pid, epoch, ("t", 0), ("t", 1))
    kb.produce({("t", 0): kb.batch(pid, epoch, seq=0)})
    # the marker for t-1 cannot be written yet: the transaction stays in PrepareCommit
    real = kb.txn._write_marker
    kb.txn._write_marker = lambda topic, index, job: (
        E.not_leader_or_follower if (topic, index) == ("t", 1) else real(topic, index, job)
    )
    assert kb.end(pid, epoch, True) == 0
    assert kb.txn.coordinator.shard_of(TID).txns[TID].state == TxnState.PREPARE_COMMIT
    r = kb.produce({("t", 1): kb.batch(pid, epoch, seq=0)})[("t", 1)]
    assert r.error_code == E.not_enough_replicas
    assert "CONCURRENT_TRANSACTIONS" in r.error_message


def test_coordinator_loading_or_missing_is_retriable(kb):
    pid, epoch = kb.init()
    coord = kb.txn.coordinator
    p = coord.partition_for(TID)
    coord.unload(p)
    r = kb.produce({("t", 0): kb.batch(pid, epoch, seq=0)})[("t", 0)]
    assert r.error_code == E.not_enough_replicas and "NOT_COORDINATOR" in r.error_message
    coord.begin_load(p)
    r = kb.produce({("t", 0): kb.batch(pid, epoch, seq=0)})[("t", 0)]
    assert r.error_code == E.not_enough_replicas and "COORDINATOR_LOAD_IN_PROGRESS" in r.error_message


def test_no_transaction_topic_is_coordinator_not_available():
    b = InProcessBroker()
    try:
        b.broker.auto_create_topic("u")
        # a broker with the topic deleted from its view: what a leader finding no coordinator says
        b.broker.topic = lambda name, real=b.broker.topic: None if name == "__transaction_state" else real(name)
        r = b.produce({("u", 0): b.batch(4242, 0, seq=0)})[("u", 0)]
        assert r.error_code == E.not_enough_replicas and "COORDINATOR_NOT_AVAILABLE" in r.error_message
    finally:
        b.close()


def test_request_level_rules(kb):
    pid, epoch = kb.init()
    kb.add(pid, epoch, ("t", 0), ("t", 1))
    # transactional records need the request's transactional id: the whole request fails
    r = kb.produce(
        {("t", 0): kb.batch(pid, epoch, seq=0), ("t", 1): kb.batch(pid, epoch, seq=0, transactional=False)}, tid=None
    )
    assert {k: v.error_code for k, v in r.items()} == dict.fromkeys(r, E.transactional_id_authorization_failed)
    # batches of two producers (or epochs) in one request: the whole request fails
    other_pid, other_epoch = kb.init(tid="other")
    r = kb.produce({("t", 0): kb.batch(pid, epoch, seq=0), ("t", 1): kb.batch(other_pid, other_epoch, seq=0)})
    assert {k: v.error_code for k, v in r.items()} == dict.fromkeys(r, E.invalid_producer_id_mapping)
    assert kb.log("t", 0).log_end_offset == kb.log("t", 1).log_end_offset == 0


def test_a_transactional_batch_cannot_hide_behind_another_batch(kb):
    """A partition's records are one batch (Kafka's rule from Produce v3), so a second batch -- which
    would go in unverified -- is refused with the whole record set."""
    pid, epoch = kb.init()
    plain = kb.batch(pid, epoch, seq=0, transactional=False)
    hidden = kb.batch(pid, epoch, seq=1, transactional=True)
    r = kb.produce({("t", 0): plain + hidden})[("t", 0)]
    assert r.error_code == E.invalid_record and "exactly one record batch" in r.error_message
    r = kb.produce({("t", 0): plain + hidden}, tid=None)[("t", 0)]
    assert r.error_code == E.invalid_record
    assert kb.log("t").log_end_offset == 0


def test_plain_and_idempotent_producers_are_untouched(kb, monkeypatch):
    monkeypatch.setattr(kb.txn, "check_produce", lambda *a: pytest.fail("checked a non-transactional batch"))
    assert kb.produce({("t", 0): kb.batch(9000, 0, transactional=False)}, tid=None)[("t", 0)].error_code == 0
    assert kb.produce({("t", 0): kb.batch(-1, -1, seq=-1, transactional=False)}, tid=None)[("t", 0)].error_code == 0


def test_verification_can_be_turned_off():
    b = InProcessBroker(**{"transaction.partition.verification.enable": "false"})
    try:
        b.broker.auto_create_topic("t")
        pid, epoch = b.init()
        assert b.produce({("t", 0): b.batch(pid, epoch)})[("t", 0)].error_code == 0
        plog = b.log("t")
        assert plog.last_stable_offset == 0 < plog.log_end_offset  # the hanging transaction Kafka 3.5 allowed
    finally:
        b.close()


def test_txn_offset_commit_verification(kb):
    assert kb.broker.group_service.ensure_offsets_topic() == 0
    pid, epoch = kb.init()
    assert kb.txn.check_txn_offset_commit(TID, pid, epoch, "grp", 3) == E.invalid_txn_state
    assert kb.txn.check_txn_offset_commit(TID, pid, epoch, "grp", 4) == E.transaction_abortable
    assert kb.txn.check_txn_offset_commit(TID, pid, epoch + 1, "grp", 3) == E.invalid_producer_epoch
    assert kb.txn.check_txn_offset_commit(TID, pid, epoch, "", 3) == 0  # the group coordinator answers that
    assert (
        kb.txn.call(
            kb.txn.coordinator.add_offsets_to_txn,
            transactional_id=TID,
            producer_id=pid,
            producer_epoch=epoch,
            group_id="grp",
        )
        == 0
    )
    assert kb.txn.check_txn_offset_commit(TID, pid, epoch, "grp", 3) == 0
