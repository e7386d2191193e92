"""The verification guard of a KIP-890 check asked of a coordinator on another broker, in process.

When the coordinator of a transactional id is another broker, the partition leader's question
(AddPartitionsToTxn v5, verify only) is in flight for a while; a COMMIT/ABORT marker of the same
producer written to the partition meanwhile means the transaction the answer speaks of has ended, so
a positive answer must not let the batch in (Kafka's VerificationGuard): it would open a transaction no
marker will close. The race cannot be produced on demand between real processes, so here the broker is
whole (memory file system, fake clock) and only the question to the other broker is held open by the
test: the answer "in the transaction" arrives after the marker, and the batch is refused.
"""

from __future__ import annotations

import asyncio

import pytest

from kavka.protocol.api import ErrorCode as E
from tests.coordinator.test_txn_verification import TID, InProcessBroker


@pytest.fixture
def kb():
    b = InProcessBroker()
    b.broker.auto_create_topic("t")
    yield b
    b.close()


def _remote_check(kb, monkeypatch, pid: int, epoch: int, *, marker_meanwhile: bool):
    """check_produce with the coordinator on "broker 2", which answers NONE once the test lets it."""

    async def scenario():
        gate = asyncio.get_running_loop().create_future()

        async def ask(*_args):
            return await gate

        monkeypatch.setattr(kb.txn, "_coordinator_node", lambda _tid: 2)
        monkeypatch.setattr(kb.txn, "_add_partitions_request", ask)
        answer = kb.txn.check_produce(TID, pid, epoch, "t", 0, 9)
        assert asyncio.iscoroutine(answer)  # the produce must wait for the other broker
        task = asyncio.ensure_future(answer)
        await asyncio.sleep(0)  # the question is out
        assert not task.done()
        if marker_meanwhile:
            assert kb.txn.write_marker("t", 0, pid, epoch, True, 0) == E.none
        gate.set_result(E.none)
        return await task

    return asyncio.run(scenario())


def test_the_remote_answer_lets_the_batch_in(kb, monkeypatch):
    pid, epoch = kb.init()
    assert _remote_check(kb, monkeypatch, pid, epoch, marker_meanwhile=False) is None


def test_a_marker_while_the_question_is_out_voids_the_answer(kb, monkeypatch):
    pid, epoch = kb.init()
    refused = _remote_check(kb, monkeypatch, pid, epoch, marker_meanwhile=True)
    assert refused == (E.invalid_txn_state, "Record was not part of an ongoing transaction")
    assert kb.txn._guards == {}  # nothing left behind
