"""Transaction version 2 (KIP-890 part 2) in the coordinator, with no I/O: EndTxn v5 bumps the epoch,
its retries are told apart by the bump, an exhausted epoch moves to a new producer id on completion,
and what version 0/1 clients are told for a fenced producer (kavka.coordinator.txn.versions)."""

from __future__ import annotations

import pytest

from kavka.coordinator.txn import TxnState
from kavka.coordinator.txn.records import TransactionLogValue, decode_value, txn_record
from kavka.coordinator.txn.versions import PRODUCER_FENCED_SINCE, for_version
from kavka.protocol.api import ApiKey, ErrorCode
from tests.coordinator.test_txn_coordinator import TID, Harness

TP = ("orders", 0)


def end(h: Harness, pid: int, epoch: int, commit: bool, tv: int = 2) -> ErrorCode:
    return h.call(
        "end_txn",
        transactional_id=TID,
        producer_id=pid,
        producer_epoch=epoch,
        commit=commit,
        client_transaction_version=tv,
    )


def meta(h: Harness):
    return h.coordinator.shard_of(TID).txns[TID]


def test_end_txn_v5_bumps_the_epoch_and_marks_with_it():
    h = Harness()
    r = h.init()
    pid, e = r["producer_id"], r["producer_epoch"]
    assert h.add(pid, e, TP) == ErrorCode.none
    assert end(h, pid, e, True) == ErrorCode.none
    assert h.coordinator.producer_after_end(TID) == (pid, e + 1)
    # the marker carries the new epoch, so a late write of the old one is refused by the partition
    assert h.markers == [(*TP, pid, e + 1, True, 0)]
    m = meta(h)
    assert (m.state, m.producer_epoch, m.client_transaction_version) == (TxnState.COMPLETE_COMMIT, e + 1, 2)
    # what the log holds says so too (TransactionLogValue v1, tagged clientTransactionVersion)
    last = decode_value(h.logs[h.coordinator.partition_for(TID)][-1][1])
    assert (last.producer_epoch, last.client_transaction_version) == (e + 1, 2)


def test_end_txn_v1_keeps_the_epoch():
    h = Harness()
    r = h.init()
    pid, e = r["producer_id"], r["producer_epoch"]
    h.add(pid, e, TP)
    assert end(h, pid, e, True, tv=0) == ErrorCode.none
    assert h.coordinator.producer_after_end(TID) == (pid, e)
    assert h.markers == [(*TP, pid, e, True, 0)]


def test_retries_are_recognised_by_the_bump():
    h = Harness()
    r = h.init()
    pid, e = r["producer_id"], r["producer_epoch"]
    h.add(pid, e, TP)
    assert end(h, pid, e, True) == ErrorCode.none
    assert end(h, pid, e, True) == ErrorCode.none  # the retry of the call that bumped
    assert end(h, pid, e, False) == ErrorCode.invalid_txn_state  # the other outcome
    assert end(h, pid, e + 1, True) == ErrorCode.invalid_txn_state  # a new transaction with nothing in it
    assert end(h, pid, e - 1, True) == ErrorCode.producer_fenced
    # a version 0/1 EndTxn follows its own rules: the current epoch is a retry, the old one is fenced
    assert end(h, pid, e + 1, True, tv=0) == ErrorCode.none
    assert end(h, pid, e, True, tv=0) == ErrorCode.producer_fenced
    assert end(h, pid + 1, e + 1, True) == ErrorCode.invalid_producer_id_mapping


def test_retry_while_markers_are_pending_is_concurrent():
    h = Harness()
    h.auto_markers = False
    r = h.init()
    pid, e = r["producer_id"], r["producer_epoch"]
    h.add(pid, e, TP)
    assert end(h, pid, e, False) == ErrorCode.none
    assert meta(h).state == TxnState.PREPARE_ABORT
    assert end(h, pid, e, False) == ErrorCode.concurrent_transactions
    assert end(h, pid, e + 1, False) == ErrorCode.producer_fenced  # not a retry: the bump is its own


def test_exhausted_epoch_moves_to_a_new_producer_id():
    h = Harness()
    old_pid, last_epoch = 77, 32766
    partition = h.coordinator.partition_for(TID)
    value = TransactionLogValue(old_pid, last_epoch, 60_000, int(TxnState.EMPTY), (), h.now, -1)
    h.coordinator.load(partition, [txn_record(TID, value)])
    assert h.add(old_pid, last_epoch, TP) == ErrorCode.none
    assert end(h, old_pid, last_epoch, True) == ErrorCode.none
    new_pid = h.next_pid
    # markers close the transaction at the last possible epoch; the producer continues with a new id
    assert h.markers == [(*TP, old_pid, 32767, True, 0)]
    assert h.coordinator.producer_after_end(TID) == (new_pid, 0)
    m = meta(h)
    assert (m.producer_id, m.producer_epoch, m.previous_producer_id) == (new_pid, 0, old_pid)
    # the retry of that EndTxn (old id, old epoch) is still recognised
    assert end(h, old_pid, last_epoch, True) == ErrorCode.none
    assert h.add(new_pid, 0, TP) == ErrorCode.none


@pytest.mark.parametrize(("api", "since"), sorted(PRODUCER_FENCED_SINCE.items()))
def test_producer_fenced_is_invalid_producer_epoch_below_its_version(api: ApiKey, since: int):
    for version in range(since + 2):
        expected = ErrorCode.producer_fenced if version >= since else ErrorCode.invalid_producer_epoch
        assert for_version(api, version, ErrorCode.producer_fenced) == expected
        assert for_version(api, version, ErrorCode.concurrent_transactions) == ErrorCode.concurrent_transactions
    assert for_version(ApiKey.TXN_OFFSET_COMMIT, 0, ErrorCode.producer_fenced) == ErrorCode.producer_fenced
