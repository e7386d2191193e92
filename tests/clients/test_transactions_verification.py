"""Transaction partition verification (KIP-890 part 1) at the wire, and real clients beside it.

Hand-built requests (kio, through ``adminwire.call``) play the clients that cause hanging transactions:
one that produces transactionally to a partition it never added (no AddPartitionsToTxn), and a late
retry that arrives after its transaction committed. The broker must refuse both with Kafka's error
(INVALID_TXN_STATE up to Produce v10, TRANSACTION_ABORTABLE from v11) and the partition's last stable
offset must keep up with its end. ``transaction.partition.verification.enable`` is dynamic, as in
Kafka: turned off, the same produce goes in and the transaction hangs. confluent-kafka, kafka-python
and aiokafka transactions keep working with verification on (the default).
"""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
from confluent_kafka import Producer

from kavka.protocol.records import Record, build_batch
from kavka.testing.process import create_topic, wait_until
from tests.clients.adminwire import BROKER, call, incremental_alter
from tests.clients.txnlib import read_to_end

FIND_COORDINATOR, INIT_PRODUCER_ID, ADD_PARTITIONS_TO_TXN, END_TXN, PRODUCE, LIST_OFFSETS = 10, 22, 24, 26, 0, 2
NONE, NOT_ENOUGH_REPLICAS, INVALID_PRODUCER_EPOCH, INVALID_TXN_STATE = 0, 19, 47, 48
INVALID_PRODUCER_ID_MAPPING, TRANSACTION_ABORTABLE = 49, 120
VERIFY = "transaction.partition.verification.enable"

OVERRIDES = {
    "num.partitions": "2",
    "transaction.state.log.num.partitions": "3",
    "offsets.topic.num.partitions": "3",
    "group.initial.rebalance.delay.ms": "0",
    "transaction.max.timeout.ms": "60000",
}


@pytest.fixture(scope="module")
def vb(tmp_path_factory):
    from kavka.testing.process import BrokerProcess

    b = BrokerProcess(tmp_path_factory.mktemp("kavka-verify") / "data", overrides=OVERRIDES)
    b.start()
    try:
        yield b
    finally:
        b.stop()
        b.cleanup()


def tid() -> str:
    return f"vtx-{uuid.uuid4().hex[:10]}"


def topic(bs: str) -> str:
    return create_topic(bs, f"v-{uuid.uuid4().hex[:8]}", partitions=2)


# --- the wire ------------------------------------------------------------------------------------------


def init_producer(bs: str, transactional_id: str) -> tuple[int, int]:
    """FindCoordinator (creates ``__transaction_state`` the first time) then InitProducerId."""
    wait_until(
        lambda: call(bs, FIND_COORDINATOR, 3, {"key": transactional_id, "key_type": 1}).error_code == 0,
        30,
        message="transaction coordinator",
    )
    r = wait_until(
        lambda: (lambda r: r if r.error_code == 0 else None)(
            call(bs, INIT_PRODUCER_ID, 1, {"transactional_id": transactional_id, "transaction_timeout": 60_000})
        ),
        30,
        message="InitProducerId",
    )
    return int(r.producer_id), int(r.producer_epoch)


def add_partitions(bs: str, transactional_id: str, pid: int, epoch: int, t: str, *partitions: int) -> None:
    r = call(
        bs,
        ADD_PARTITIONS_TO_TXN,
        1,
        {
            "v3_and_below_transactional_id": transactional_id,
            "v3_and_below_producer_id": pid,
            "v3_and_below_producer_epoch": epoch,
            "v3_and_below_topics": [{"name": t, "partitions": list(partitions)}],
        },
    )
    codes = {int(p.partition_error_code) for res in r.results_by_topic_v3_and_below for p in res.results_by_partition}
    assert codes == {NONE}, codes


def end_txn(bs: str, transactional_id: str, pid: int, epoch: int, commit: bool) -> None:
    r = call(
        bs,
        END_TXN,
        1,
        {"transactional_id": transactional_id, "producer_id": pid, "producer_epoch": epoch, "committed": commit},
    )
    assert r.error_code == NONE, r


def txn_batch(pid: int, epoch: int, seq: int, value: bytes = b"v") -> bytes:
    return build_batch(
        [Record(0, int(time.time() * 1000), None, value)],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        transactional=True,
    )


def produce(bs: str, transactional_id: str | None, t: str, partition: int, records: bytes, version: int = 9):
    """One Produce (acks=all) to one partition: its partition response."""
    r = call(
        bs,
        PRODUCE,
        version,
        {
            "transactional_id": transactional_id,
            "acks": -1,
            "timeout": 30_000,
            "topic_data": [{"name": t, "partition_data": [{"index": partition, "records": records}]}],
        },
    )
    [tr] = r.responses
    [pr] = tr.partition_responses
    return pr


def offsets(bs: str, t: str, partition: int) -> tuple[int, int]:
    """(last stable offset, log end offset) of a partition, by ListOffsets(latest) at both isolation levels."""

    def latest(isolation: int) -> int:
        r = call(
            bs,
            LIST_OFFSETS,
            5,
            {
                "replica_id": -1,
                "isolation_level": isolation,
                "topics": [
                    {
                        "name": t,
                        "partitions": [{"partition_index": partition, "current_leader_epoch": -1, "timestamp": -1}],
                    }
                ],
            },
        )
        [p] = r.topics[0].partitions
        assert p.error_code == 0
        return int(p.offset)

    return latest(1), latest(0)


# --- refused: the two ways to a hanging transaction ------------------------------------------------------


def test_produce_to_a_partition_never_added_is_refused(vb):
    bs, t, x = vb.bootstrap, topic(vb.bootstrap), tid()
    pid, epoch = init_producer(bs, x)
    add_partitions(bs, x, pid, epoch, t, 0)  # a transaction is open, on partition 0 only
    assert produce(bs, x, t, 0, txn_batch(pid, epoch, 0)).error_code == NONE
    r = produce(bs, x, t, 1, txn_batch(pid, epoch, 0))
    assert (r.error_code, r.error_message) == (INVALID_TXN_STATE, "Partition was not added to the transaction")
    assert produce(bs, x, t, 1, txn_batch(pid, epoch, 0), version=11).error_code == TRANSACTION_ABORTABLE
    assert offsets(bs, t, 1) == (0, 0)
    end_txn(bs, x, pid, epoch, True)
    assert offsets(bs, t, 0) == (2, 2)  # the record and its COMMIT marker: nothing left open anywhere
    assert offsets(bs, t, 1) == (0, 0)


def test_late_retry_after_commit_is_refused(vb):
    bs, t, x = vb.bootstrap, topic(vb.bootstrap), tid()
    pid, epoch = init_producer(bs, x)
    add_partitions(bs, x, pid, epoch, t, 0)
    batch = txn_batch(pid, epoch, 0, b"once")
    assert produce(bs, x, t, 0, batch).error_code == NONE
    end_txn(bs, x, pid, epoch, True)
    assert offsets(bs, t, 0) == (2, 2)
    # the same batch again, as a retry stuck in a network would arrive, and a fresh one of the old transaction
    assert produce(bs, x, t, 0, batch).error_code == INVALID_TXN_STATE
    assert produce(bs, x, t, 0, txn_batch(pid, epoch, 1)).error_code == INVALID_TXN_STATE
    assert offsets(bs, t, 0) == (2, 2)
    # the producer's next transaction is fine
    add_partitions(bs, x, pid, epoch, t, 0)
    assert produce(bs, x, t, 0, txn_batch(pid, epoch, 1)).error_code == NONE
    end_txn(bs, x, pid, epoch, False)
    assert offsets(bs, t, 0) == (4, 4)


def test_stale_and_unknown_producers(vb):
    bs, t, x = vb.bootstrap, topic(vb.bootstrap), tid()
    pid, epoch = init_producer(bs, x)
    pid2, epoch2 = init_producer(bs, x)  # bumps the epoch: the first one is fenced
    assert (pid2, epoch2) == (pid, epoch + 1)
    add_partitions(bs, x, pid2, epoch2, t, 0)
    assert produce(bs, x, t, 0, txn_batch(pid, epoch, 0)).error_code == INVALID_PRODUCER_EPOCH
    assert produce(bs, x, t, 0, txn_batch(pid + 1000, 0, 0)).error_code == INVALID_PRODUCER_ID_MAPPING
    assert offsets(bs, t, 0) == (0, 0)


def test_verification_is_a_dynamic_broker_config(vb):
    bs, t, x = vb.bootstrap, topic(vb.bootstrap), tid()
    pid, epoch = init_producer(bs, x)
    try:
        assert incremental_alter(bs, BROKER, "1", [(VERIFY, "SET", "false")]) == (0, None)
        # what Kafka before 3.6 allowed: the batch goes in, and its transaction hangs
        assert produce(bs, x, t, 1, txn_batch(pid, epoch, 0)).error_code == NONE
        assert offsets(bs, t, 1) == (0, 1)
        end_txn_result = call(
            bs, END_TXN, 1, {"transactional_id": x, "producer_id": pid, "producer_epoch": epoch, "committed": True}
        )
        assert end_txn_result.error_code == INVALID_TXN_STATE  # the coordinator never heard of it
        assert offsets(bs, t, 1) == (0, 1)  # stuck
    finally:
        assert incremental_alter(bs, BROKER, "1", [(VERIFY, "DELETE", None)]) == (0, None)
    assert produce(bs, x, t, 0, txn_batch(pid, epoch, 0)).error_code == INVALID_TXN_STATE


# --- real clients with verification on ----------------------------------------------------------------


def _read_committed(bs: str, t: str) -> list[bytes]:
    """Both partitions' committed values, sorted; fails if read_committed never reaches the end (a
    transaction hangs)."""
    got = read_to_end(bs, t, "read_committed", 2)
    return sorted(v for p in (0, 1) for _, v in got[p])


def test_confluent_kafka_transactions(vb):
    bs, t = vb.bootstrap, topic(vb.bootstrap)
    p = Producer({"bootstrap.servers": bs, "transactional.id": tid(), "linger.ms": 5})
    p.init_transactions(30)
    for n, commit in ((1, True), (2, False), (3, True)):
        p.begin_transaction()
        for i in range(20):
            p.produce(t, f"ck-{n}-{i}".encode(), partition=i % 2)
        p.flush(10)
        p.commit_transaction(30) if commit else p.abort_transaction(30)
    assert _read_committed(bs, t) == sorted(f"ck-{n}-{i}".encode() for n in (1, 3) for i in range(20))
    for partition in (0, 1):
        lso, end = offsets(bs, t, partition)
        assert lso == end


def test_kafka_python_transactions(vb):
    from kafka import KafkaProducer

    bs, t = vb.bootstrap, topic(vb.bootstrap)
    p = KafkaProducer(bootstrap_servers=bs, transactional_id=tid())
    try:
        p.init_transactions()
        for n, commit in ((1, True), (2, False)):
            p.begin_transaction()
            for i in range(6):
                p.send(t, f"kp-{n}-{i}".encode(), partition=i % 2)
            p.flush()
            p.commit_transaction() if commit else p.abort_transaction()
    finally:
        p.close()
    assert _read_committed(bs, t) == sorted(f"kp-1-{i}".encode() for i in range(6))


def test_aiokafka_transactions(vb):
    from aiokafka import AIOKafkaProducer

    bs, t = vb.bootstrap, topic(vb.bootstrap)

    async def go():
        p = AIOKafkaProducer(bootstrap_servers=bs, transactional_id=tid())
        await p.start()
        try:
            async with p.transaction():
                for i in range(6):
                    await p.send(t, f"ak-{i}".encode(), partition=i % 2)
            await p.begin_transaction()
            await p.send_and_wait(t, b"ak-aborted", partition=0)
            await p.abort_transaction()
        finally:
            await p.stop()

    asyncio.run(go())
    assert _read_committed(bs, t) == sorted(f"ak-{i}".encode() for i in range(6))


# --- TxnOffsetCommit ---------------------------------------------------------------------------------------

TXN_OFFSET_COMMIT, ADD_OFFSETS_TO_TXN = 28, 25


def txn_offset_commit(bs: str, transactional_id: str, group: str, pid: int, epoch: int, t: str, version: int) -> set:
    r = call(
        bs,
        TXN_OFFSET_COMMIT,
        version,
        {
            "transactional_id": transactional_id,
            "group_id": group,
            "producer_id": pid,
            "producer_epoch": epoch,
            "generation_id": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {
                    "name": t,
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 5,
                            "committed_leader_epoch": -1,
                            "committed_metadata": None,
                        }
                    ],
                }
            ],
        },
    )
    return {int(p.error_code) for tr in r.topics for p in tr.partitions}


def test_txn_offset_commit_without_add_offsets_is_refused(vb):
    bs, t, x = vb.bootstrap, topic(vb.bootstrap), tid()
    group = f"g-{x}"
    wait_until(
        lambda: call(bs, FIND_COORDINATOR, 3, {"key": group, "key_type": 0}).error_code == 0,
        30,
        message="group coordinator",
    )
    pid, epoch = init_producer(bs, x)
    add_partitions(bs, x, pid, epoch, t, 0)  # a transaction is open, without the group's offsets partition
    assert txn_offset_commit(bs, x, group, pid, epoch, t, 3) == {INVALID_TXN_STATE}
    assert txn_offset_commit(bs, x, group, pid, epoch, t, 4) == {TRANSACTION_ABORTABLE}
    r = call(
        bs,
        ADD_OFFSETS_TO_TXN,
        1,
        {"transactional_id": x, "producer_id": pid, "producer_epoch": epoch, "group_id": group},
    )
    assert r.error_code == NONE
    assert txn_offset_commit(bs, x, group, pid, epoch, t, 3) == {NONE}
    end_txn(bs, x, pid, epoch, True)


# --- one batch per partition ---------------------------------------------------------------------------------

INVALID_RECORD = 87


def test_a_second_batch_in_a_partition_is_refused(vb):
    """From Produce v3 a partition's records are exactly one batch (Kafka's rule): otherwise a second,
    transactional batch of another producer could ride in behind a verified one and hang."""
    bs, t, x = vb.bootstrap, topic(vb.bootstrap), tid()
    pid, epoch = init_producer(bs, x)
    add_partitions(bs, x, pid, epoch, t, 0)
    foreign = build_batch(
        [Record(0, int(time.time() * 1000), None, b"f")],
        producer_id=pid + 1000,
        producer_epoch=0,
        base_sequence=0,
        transactional=True,
    )
    pr = produce(bs, x, t, 0, txn_batch(pid, epoch, 0) + foreign)
    assert pr.error_code == INVALID_RECORD and "exactly one record batch" in pr.error_message
    assert offsets(bs, t, 0) == (0, 0)  # nothing of it went in
    assert produce(bs, x, t, 0, txn_batch(pid, epoch, 0)).error_code == NONE
    end_txn(bs, x, pid, epoch, True)
    wait_until(lambda: offsets(bs, t, 0) == (2, 2), 15, message="the commit marker")
