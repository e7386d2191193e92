"""The coordinators follow the leadership of their partitions (Kafka's onElection / onResignation).

On a cluster the broker calls ``load_led_partitions`` after every committed metadata change; what it
loads or unloads is what ``Broker.led_partitions`` says this broker leads. Leadership of an internal
topic's partition cannot move between real Kavka processes until partitions replicate (the cluster
tests cover creation and the moves of kill -9 then), so here one whole broker (memory file system, fake
clock) is told that it stopped leading a partition, then leads it again at a new leader epoch:
requests for it are NOT_COORDINATOR meanwhile, a parked JoinGroup is answered NOT_COORDINATOR, and
the transaction coordinator comes back with the new epoch as its coordinator epoch, its transactions
replayed from the log.
"""

from __future__ import annotations

import dataclasses

import pytest

from kavka.broker.broker import Broker
from kavka.protocol.api import ErrorCode as E
from tests.coordinator.test_txn_verification import InProcessBroker

_LED_PARTITIONS = Broker.led_partitions  # the broker's own answer, whatever a test puts in its place


@pytest.fixture
def kb():
    b = InProcessBroker()
    assert b.broker.group_service.ensure_offsets_topic() == 0
    yield b
    b.close()


def _lead_only(kb, monkeypatch, topic: str, keep: set[int], epoch_bump: int = 0) -> None:
    """From now on the broker leads only partitions ``keep`` of ``topic`` (at leader epoch + ``epoch_bump``)."""

    def led(self, name):
        out = _LED_PARTITIONS(self, name)
        if name != topic:
            return out
        return [(i, dataclasses.replace(p, leader_epoch=p.leader_epoch + epoch_bump)) for i, p in out if i in keep]

    monkeypatch.setattr(Broker, "led_partitions", led)


def test_the_transaction_coordinator_resigns_and_comes_back_at_a_new_epoch(kb, monkeypatch):
    txn = kb.txn
    tid = next(t for t in (f"t{i}" for i in range(100)) if txn.partition_for(t) == 0)
    pid, epoch = kb.init(tid)
    assert kb.add(pid, epoch, ("t", 0), tid=tid) == 0
    _lead_only(kb, monkeypatch, "__transaction_state", keep={1})
    txn.load_led_partitions()
    assert txn.coordinator.runtime.owned_partitions() == [1]
    assert kb.add(pid, epoch, ("t", 1), tid=tid) == E.not_coordinator
    # leader again, at a new epoch: reloaded from the log, markers will carry the new epoch
    _lead_only(kb, monkeypatch, "__transaction_state", keep={0, 1}, epoch_bump=3)
    txn.load_led_partitions()
    shard = txn.coordinator.runtime.shard(0)
    assert shard.coordinator_epoch == 3
    assert shard.txns[tid].partitions == {("t", 0)}  # the ongoing transaction, replayed
    assert kb.add(pid, epoch, ("t", 1), tid=tid) == 0


def test_the_group_coordinator_resigns_and_answers_parked_members(kb, monkeypatch):
    gs = kb.broker.group_service
    group = next(g for g in (f"g{i}" for i in range(100)) if gs.partition_for(g) == 0)
    answers: list = []
    join = {
        "group_id": group,
        "session_timeout_ms": 10_000,
        "rebalance_timeout_ms": 10_000,
        "member_id": "",
        "group_instance_id": None,
        "protocol_type": "consumer",
        "protocols": [("range", b"")],
        "api_version": 4,
        "respond": answers.append,
    }
    gs.coordinator.join_group(**join)  # v4: MEMBER_ID_REQUIRED at once
    assert answers[-1]["error_code"] == E.member_id_required
    gs.coordinator.join_group(**{**join, "member_id": answers[-1]["member_id"]})
    parked = len(answers)  # the join waits for the rebalance delay
    _lead_only(kb, monkeypatch, "__consumer_offsets", keep={1})
    gs.load_led_partitions()
    assert gs.coordinator.runtime.owned_partitions() == [1]
    assert len(answers) == parked + 1 and answers[-1]["error_code"] == E.not_coordinator
    # leading it again at a new epoch: the group coordinator takes it back
    _lead_only(kb, monkeypatch, "__consumer_offsets", keep={0, 1}, epoch_bump=1)
    gs.load_led_partitions()
    assert gs.coordinator.runtime.is_active(0)
