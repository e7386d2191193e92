"""Transactions with real clients: confluent-kafka (librdkafka), kafka-python and aiokafka against Kavka.

Each test runs a private broker with ``transaction.state.log.num.partitions`` small (quick topic
creation) and, where a test needs timeouts, a short abort check interval. Synchronisation is by
conditions with deadlines.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import uuid

import pytest
from confluent_kafka import Consumer, KafkaException, Producer

from kavka.testing.process import create_topic, wait_until
from tests.clients.txnlib import TXN_OVERRIDES, read_to_end


def tid() -> str:
    return f"tx-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def txb(broker_factory):
    return broker_factory(overrides=TXN_OVERRIDES)


def ck_txn_producer(bootstrap: str, transactional_id: str, **conf) -> Producer:
    p = Producer(
        {
            "bootstrap.servers": bootstrap,
            "transactional.id": transactional_id,
            "transaction.timeout.ms": 30000,
            "linger.ms": 5,
            **conf,
        }
    )
    p.init_transactions(30)
    return p


def read_values(bootstrap: str, topic: str, isolation: str, timeout: float = 20.0) -> list[bytes]:
    """Every value of partition 0 from the start up to the end seen with ``isolation`` (the LSO for
    read_committed)."""
    return [v for _, v in read_to_end(bootstrap, topic, isolation, 1, timeout)[0]]


def test_commit_visible_abort_not_for_read_committed(txb):
    bs = txb.bootstrap
    a, b = f"debit-{uuid.uuid4().hex[:6]}", f"credit-{uuid.uuid4().hex[:6]}"
    create_topic(bs, a)
    create_topic(bs, b)
    p = ck_txn_producer(bs, tid())
    p.begin_transaction()
    p.produce(a, b"d1")
    p.produce(b, b"c1")
    p.commit_transaction(30)
    p.begin_transaction()
    p.produce(a, b"d2-aborted")
    p.produce(b, b"c2-aborted")
    p.flush(10)  # in the log before the abort (librdkafka drops unsent messages on abort)
    p.abort_transaction(30)
    p.begin_transaction()
    p.produce(a, b"d3")
    p.produce(b, b"c3")
    p.commit_transaction(30)
    for topic, prefix in ((a, b"d"), (b, b"c")):
        assert read_values(bs, topic, "read_committed") == [prefix + b"1", prefix + b"3"]
        assert read_values(bs, topic, "read_uncommitted") == [prefix + b"1", prefix + b"2-aborted", prefix + b"3"]


def test_open_transaction_holds_back_read_committed(txb):
    bs = txb.bootstrap
    topic = f"t-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic)
    p = ck_txn_producer(bs, tid())
    p.begin_transaction()
    p.produce(topic, b"open")
    p.flush(10)
    assert read_values(bs, topic, "read_committed") == []
    assert read_values(bs, topic, "read_uncommitted") == [b"open"]
    p.commit_transaction(30)
    assert read_values(bs, topic, "read_committed") == [b"open"]


def test_zombie_is_fenced(txb):
    bs = txb.bootstrap
    topic = f"t-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic)
    t = tid()
    old = ck_txn_producer(bs, t)
    old.begin_transaction()
    old.produce(topic, b"zombie")
    old.flush(10)
    new = ck_txn_producer(bs, t)  # fences the old one and aborts its transaction
    new.begin_transaction()
    new.produce(topic, b"fresh")
    new.commit_transaction(30)
    with pytest.raises(KafkaException) as e:
        old.produce(topic, b"late")
        old.commit_transaction(10)
    assert e.value.args[0].fatal() or "fenced" in str(e.value).lower()
    assert read_values(bs, topic, "read_committed") == [b"fresh"]


def test_killed_producer_is_aborted_after_its_timeout(txb):
    bs = txb.bootstrap
    topic = f"t-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic)
    script = textwrap.dedent(f"""
        import os
        from confluent_kafka import Producer
        p = Producer({{"bootstrap.servers": "{bs}", "transactional.id": "{tid()}", "transaction.timeout.ms": 2000}})
        p.init_transactions(30)
        p.begin_transaction()
        p.produce("{topic}", b"doomed")
        p.flush(10)
        os._exit(0)  # no commit, no abort: as if killed
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert read_values(bs, topic, "read_uncommitted") == [b"doomed"]
    # after the transaction's timeout the coordinator aborts it and read_committed moves on
    p = ck_txn_producer(bs, tid())
    p.begin_transaction()
    p.produce(topic, b"after")
    p.commit_transaction(30)
    wait_until(lambda: read_values(bs, topic, "read_committed", timeout=5) == [b"after"], timeout=20)


def test_consume_transform_produce_exactly_once(txb):
    bs = txb.bootstrap
    src, dst = f"in-{uuid.uuid4().hex[:6]}", f"out-{uuid.uuid4().hex[:6]}"
    create_topic(bs, src)
    create_topic(bs, dst)
    feeder = Producer({"bootstrap.servers": bs})
    for i in range(50):
        feeder.produce(src, str(i).encode())
    feeder.flush(10)
    group = f"g-{uuid.uuid4().hex[:6]}"

    def run(limit: int, commit: bool) -> int:
        c = Consumer(
            {
                "bootstrap.servers": bs,
                "group.id": group,
                "isolation.level": "read_committed",
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        c.subscribe([src])
        p = ck_txn_producer(bs, f"copier-{group}")
        done = 0
        import time

        deadline = time.monotonic() + 30
        p.begin_transaction()
        while done < limit and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None or m.error():
                continue
            p.produce(dst, m.value())
            done += 1
        p.flush(10)
        p.send_offsets_to_transaction(c.position(c.assignment()), c.consumer_group_metadata(), 30)
        if commit:
            p.commit_transaction(30)
        else:
            p.abort_transaction(30)
        c.close()
        return done

    assert run(20, commit=True) == 20
    assert run(10, commit=False) == 10  # aborted: output and offsets dropped
    assert run(30, commit=True) == 30
    assert read_values(bs, dst, "read_committed") == [str(i).encode() for i in range(50)]


def test_broker_kill_9_mid_transactions(txb):
    bs = txb.bootstrap
    topic = f"t-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic)
    done = ck_txn_producer(bs, tid())
    done.begin_transaction()
    done.produce(topic, b"committed")
    done.commit_transaction(30)
    hanging = ck_txn_producer(bs, tid(), **{"transaction.timeout.ms": 2000})
    hanging.begin_transaction()
    hanging.produce(topic, b"open-at-crash")
    hanging.flush(10)
    txb.kill()
    txb.restart(clean=False)
    bs = txb.bootstrap
    # the coordinator reloads, times the open transaction out and aborts it: the LSO is not stuck
    p = ck_txn_producer(bs, tid())
    p.begin_transaction()
    p.produce(topic, b"after-restart")
    p.commit_transaction(30)
    wait_until(
        lambda: read_values(bs, topic, "read_committed", timeout=5) == [b"committed", b"after-restart"], timeout=30
    )


def test_kafka_python_transactional_producer(txb):
    from kafka import KafkaProducer

    bs = txb.bootstrap
    topic = f"t-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic)
    p = KafkaProducer(bootstrap_servers=bs, transactional_id=tid())
    p.init_transactions()
    p.begin_transaction()
    p.send(topic, b"kp-1")
    p.commit_transaction()
    p.begin_transaction()
    p.send(topic, b"kp-aborted")
    p.flush()
    p.abort_transaction()
    p.close()
    assert read_values(bs, topic, "read_committed") == [b"kp-1"]
    assert read_values(bs, topic, "read_uncommitted") == [b"kp-1", b"kp-aborted"]


def test_aiokafka_transactional_producer(txb):
    import asyncio

    from aiokafka import AIOKafkaProducer

    bs = txb.bootstrap
    topic = f"t-{uuid.uuid4().hex[:6]}"
    create_topic(bs, topic)

    async def go():
        p = AIOKafkaProducer(bootstrap_servers=bs, transactional_id=tid())
        await p.start()
        try:
            async with p.transaction():
                await p.send_and_wait(topic, b"ak-1")
            await p.begin_transaction()
            await p.send_and_wait(topic, b"ak-aborted")
            await p.abort_transaction()
        finally:
            await p.stop()

    asyncio.run(go())
    assert read_values(bs, topic, "read_committed") == [b"ak-1"]
    assert read_values(bs, topic, "read_uncommitted") == [b"ak-1", b"ak-aborted"]
