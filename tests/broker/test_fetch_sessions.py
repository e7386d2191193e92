"""The fetch-session state machine (kavka.broker.fetch_sessions) with no broker: epochs, eviction, the
order partitions are read in. The protocol as clients see it is tested in test_handlers_inprocess.py
and against Kafka in tests/oracle/test_oracle_data_path.py."""

from __future__ import annotations

import random
import uuid

from kavka.broker.fetch_sessions import FetchSessions, next_epoch
from kavka.protocol.api import ErrorCode


def open_session(sessions: FetchSessions, n: int, now: float, version: int = 12) -> int:
    return sessions.create(version, [("t", i, 0, 100, 0, 0) for i in range(n)], now)


def test_next_epoch_wraps_to_one_and_final_stays_final():
    assert [next_epoch(e) for e in (0, 1, 0x7FFFFFFF, -1)] == [1, 2, 1, -1]


def test_eviction_takes_an_idle_session_else_a_smaller_one_else_none():
    sessions = FetchSessions(max_sessions=2, eviction_ms=1000, rng=random.Random(1))
    a = open_session(sessions, 3, now=0)
    b = open_session(sessions, 5, now=500)
    assert 0 not in (a, b) and a != b
    # full, nobody idle long enough, and the new one (3 partitions) is not larger than the smallest (3)
    assert open_session(sessions, 3, now=900) == 0
    # larger than the smallest: that one goes
    c = open_session(sessions, 4, now=900)
    assert c != 0 and set(sessions.sessions) == {b, c}
    # b has been idle for more than eviction_ms: it goes even for a one-partition session
    d = open_session(sessions, 1, now=1600)
    assert d != 0 and set(sessions.sessions) == {c, d}


def test_incremental_reads_follow_the_session_order_and_records_move_to_the_end():
    sessions = FetchSessions(rng=random.Random(2))
    sid = open_session(sessions, 3, now=0)
    ctx = sessions.context(12, sid, 1, [], [], now_ms=1)
    assert [p[1] for p in ctx.partitions] == [0, 1, 2]
    # partition 0 has records, 1 nothing new, 2 a new high watermark
    keep = FetchSessions.incremental_answer(ctx, [("t", 0, 0, 0, 0, 10), ("t", 1, 0, 0, 0, 0), ("t", 2, 0, 7, 0, 0)])
    assert keep == [True, False, True]
    ctx = sessions.context(12, sid, 2, [], [], now_ms=2)
    assert [p[1] for p in ctx.partitions] == [1, 2, 0]
    assert not sessions.epoch_moved_on(ctx)
    sessions.context(12, sid, 3, [], [], now_ms=3)  # a later request of the session came in meanwhile
    assert sessions.epoch_moved_on(ctx)


def test_errors_and_closing():
    sessions = FetchSessions(rng=random.Random(3))
    tid = uuid.uuid4()
    sid = sessions.create(13, [(tid, 0, 0, 100, 0, 0)], 0)
    assert sessions.context(13, sid + 1, 1, [], [], 0).error_code == ErrorCode.fetch_session_id_not_found
    assert sessions.context(13, sid, 2, [], [], 0).error_code == ErrorCode.invalid_fetch_session_epoch
    assert sessions.context(12, sid, 1, [], [], 0).error_code == ErrorCode.fetch_session_topic_id_error
    assert sessions.context(13, sid, 1, [], [(tid, 0)], 0).kind == "sessionless"  # nothing left: closed
    assert sid not in sessions.sessions
    again = sessions.create(13, [(tid, 0, 0, 100, 0, 0)], 0)
    assert sessions.context(13, again, 0, [], [], 0).kind == "full" and again not in sessions.sessions
