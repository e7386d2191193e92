"""The checker on hand-made histories: a clean history is clean, and each anomaly is reported (and
only that one), so the checker is shown able to fail."""

from __future__ import annotations

from tests.faults.checker import check
from tests.faults.history import Assign, FinalRead, Origins, Poll, Send, Txn, dump, load

T = "t"


def ok(value: str, offset: int, partition: int = 0, txn: str | None = None, topic: str = T) -> Send:
    return Send("p1", topic, value, "ok", partition, offset, txn=txn, seq=offset)


def final(records: list[tuple[int, str]], isolation: str = "read_uncommitted", partition: int = 0, topic: str = T):
    return FinalRead(topic, partition, isolation, tuple(records))


def poll(consumer: str, records: list[tuple[int, str]], *, t: float = 0.0, iso: str = "read_uncommitted", p: int = 0):
    return Poll(consumer, iso, tuple((T, p, o, v) for o, v in records), t)


def clean_history() -> list:
    """Two plain sends, a committed and an aborted transaction (its marker at offset 4, the aborted
    record at 3, the commit marker at 6), a send that failed and one unknown, two consumers and final
    reads at both isolation levels."""
    return [
        ok("a", 0),
        ok("b", 1),
        Send("p1", T, "lost-maybe", "fail", error="timed out"),
        Send("p1", T, "never-answered", "unknown"),
        Send("tx", T, "c", "ok", 0, 2, txn="tx-1"),
        Send("tx", T, "d", "ok", 0, 3, txn="tx-2"),
        Txn("tx", "tx-2", "abort", end_time=2.0),
        Send("tx", T, "e", "ok", 0, 5, txn="tx-3"),
        Txn("tx", "tx-1", "commit", end_time=1.0),
        Txn("tx", "tx-3", "commit", end_time=3.0),
        Assign("c1", ((T, 0),)),
        poll("c1", [(0, "a"), (1, "b")], t=0.5),
        poll("c1", [(2, "c")], t=1.5),
        poll("c1", [(3, "d"), (5, "e")], t=4.0),
        poll("rc", [(0, "a"), (1, "b"), (2, "c"), (5, "e")], t=4.0, iso="read_committed"),
        final([(0, "a"), (1, "b"), (2, "c"), (3, "d"), (5, "e")]),
        final([(0, "a"), (1, "b"), (2, "c"), (5, "e")], "read_committed"),
    ]


def kinds(history) -> set[str]:
    return {k for k, v in check(history).anomalies.items() if v}


def test_a_clean_history_is_clean():
    result = check(clean_history())
    assert result.valid, result.summary()
    assert result.stats["acked"] == 5 and result.stats["committed-txns"] == 2 and result.stats["unchecked"] == 0


def test_an_acknowledged_write_missing_from_the_final_read_is_lost():
    history = [ok("a", 0), ok("b", 1), final([(0, "a")])]
    result = check(history)
    assert kinds(history) == {"lost-write"}
    assert result.anomalies["lost-write"] == [{"value": "b", "topic": T, "partition": 0, "offset": 1, "txn": None}]


def test_a_committed_transactions_record_missing_is_lost_but_an_aborted_ones_is_not():
    history = [
        Send("tx", T, "c", "ok", 0, 0, txn="x"),
        Txn("tx", "x", "commit", end_time=1.0),
        Send("tx", T, "d", "unknown", txn="y"),
        Txn("tx", "y", "abort", end_time=1.0),
        final([], "read_committed"),
    ]
    assert [a["value"] for a in check(history).anomalies["lost-write"]] == ["c"]


def test_a_partition_without_a_complete_final_read_is_not_judged():
    history = [ok("a", 0), FinalRead(T, 0, "read_uncommitted", (), complete=False)]
    result = check(history)
    assert result.valid and result.stats["unchecked"] == 1


def test_one_value_at_two_offsets_is_a_duplicate():
    history = [ok("a", 0), final([(0, "a"), (1, "a")])]
    assert kinds(history) == {"duplicate"}


def _rewritten(origins: list[tuple[int, int, int, int]], *, timed_out: bool = True) -> list:
    """Producer p1 wrote "a" at 0 (not acknowledged), then "b", and "a" again at 2 (acknowledged);
    ``origins`` say which producer id and epoch wrote each batch."""
    history = [ok("b", 1), ok("a", 2), final([(0, "a"), (1, "b"), (2, "a")]), Origins(T, 0, tuple(origins))]
    if timed_out:
        history.append(Send("p1", T, "gone", "fail", error="Local: Message timed out"))
    return history


def test_a_copy_under_a_new_epoch_after_a_local_timeout_is_the_clients_not_a_duplicate():
    # librdkafka's epoch bump after its own message timeout: one producer id, epochs 0 then 1
    result = check(_rewritten([(0, 1, 7, 0), (2, 2, 7, 1)]))
    assert result.valid, result.summary()
    assert result.stats["client-epoch-duplicates"] == 1


def test_a_copy_under_the_same_epoch_another_producer_or_without_a_timeout_is_a_duplicate():
    assert kinds(_rewritten([(0, 2, 7, 0)])) == {"duplicate"}  # one epoch: the broker failed to deduplicate
    assert kinds(_rewritten([(0, 1, 7, 0), (2, 2, 8, 0)])) == {"duplicate"}  # two producer ids
    assert kinds(_rewritten([(0, 1, 7, 0), (2, 2, 7, 1)], timed_out=False)) == {"duplicate"}
    assert kinds(_rewritten([(2, 2, 7, 1)])) == {"duplicate"}  # who wrote offset 0 is not known
    assert check(_rewritten([(0, 2, 7, 0)])).stats["client-epoch-duplicates"] == 0


def test_two_values_at_one_offset_are_inconsistent():
    # the ack put "a" at 0; after a truncation the final read has "b" there (and "a" is gone: lost too)
    history = [ok("a", 0), ok("b", 1), final([(0, "b")])]
    assert kinds(history) == {"inconsistent-offset", "lost-write", "duplicate"}
    history = [ok("a", 0), Send("p", T, "z", "fail"), poll("c", [(0, "z")]), final([(0, "a")])]
    assert kinds(history) == {"inconsistent-offset"}


def test_a_producers_later_send_at_a_lower_offset_is_a_nonmonotonic_send():
    records = [(0, "b"), (1, "a")]
    first, second = Send("p", T, "a", "ok", 0, 1, seq=0), Send("p", T, "b", "ok", 0, 0, seq=1)
    assert kinds([first, second, final(records)]) == {"nonmonotonic-send"}
    # two producers (or instances) promise nothing about each other's order
    other = Send("q", T, "b", "ok", 0, 0, seq=1)
    assert kinds([first, other, final(records)]) == set()


def test_a_consumer_going_back_is_nonmonotonic_unless_its_assignment_changed():
    reads = [(0, "a"), (1, "b")]
    base = [ok("a", 0), ok("b", 1), final(reads)]
    assert kinds([*base, poll("c", reads), poll("c", [(1, "b")])]) == {"nonmonotonic-poll"}
    assert kinds([*base, poll("c", reads), Assign("c", ((T, 0),)), poll("c", [(0, "a")])]) == set()
    # another consumer's history is its own
    assert kinds([*base, poll("c", reads), poll("d", [(0, "a")])]) == set()


def test_a_consumer_jumping_over_a_value_others_saw_skipped_but_a_gap_alone_is_no_skip():
    base = [ok("a", 0), ok("b", 1), ok("c", 2), final([(0, "a"), (1, "b"), (2, "c")])]
    assert kinds([*base, poll("c", [(0, "a"), (2, "c")])]) == {"skipped-poll"}
    # offset 1 is a transaction marker: nothing to see there
    gap = [ok("a", 0), ok("c", 2), final([(0, "a"), (2, "c")]), poll("c", [(0, "a"), (2, "c")])]
    assert kinds(gap) == set()


def test_a_read_committed_consumer_skipping_an_aborted_record_is_fine():
    history = clean_history()
    history.append(poll("rc2", [(2, "c"), (5, "e")], t=5.0, iso="read_committed"))
    assert check(history).valid
    # the same jump at read_uncommitted misses "d"
    history.append(poll("ru2", [(2, "c"), (5, "e")], t=5.0))
    assert kinds(history) == {"skipped-poll"}


def test_reading_an_aborted_record_at_read_committed_is_an_aborted_read():
    history = clean_history()
    history.append(poll("rc2", [(3, "d")], t=5.0, iso="read_committed"))
    assert kinds(history) == {"aborted-read"}
    history = clean_history()
    history[-1] = final([(0, "a"), (1, "b"), (2, "c"), (3, "d"), (5, "e")], "read_committed")
    assert kinds(history) == {"aborted-read"}


def test_reading_before_the_commit_or_from_an_open_transaction_is_an_uncommitted_read():
    history = clean_history()
    history.append(poll("rc2", [(5, "e")], t=2.5, iso="read_committed"))  # tx-3 asked to commit at 3.0
    assert kinds(history) == {"uncommitted-read"}
    open_txn = [
        Send("tx", T, "f", "ok", 0, 0, txn="x"),
        Txn("tx", "x", "open"),
        poll("rc", [(0, "f")], t=9.0, iso="read_committed"),
    ]
    assert kinds(open_txn) == {"uncommitted-read"}


def test_a_value_nobody_sent_is_unexpected():
    assert kinds([ok("a", 0), final([(0, "a"), (1, "zz")])]) == {"unexpected-value"}


def test_a_history_survives_a_round_trip_through_its_file(tmp_path):
    history = [*clean_history(), Origins(T, 0, ((0, 1, 7, 0), (2, 6, -1, -1)))]
    dump(history, tmp_path / "h.jsonl")
    assert load(tmp_path / "h.jsonl") == history
    assert "no anomalies" in check(load(tmp_path / "h.jsonl")).summary()
