"""A transactional producer fenced by a newer one with the same transactional id, with clients that
speak the old versions of the transaction APIs (aiokafka: InitProducerId v0/v1, AddPartitionsToTxn
v0, EndTxn v0), against Apache Kafka and Kavka (``any_broker``).

The fenced producer must be told INVALID_PRODUCER_EPOCH, which those versions know, so aiokafka raises
``ProducerFenced``; PRODUCER_FENCED (90, added in v2 of these APIs) would be an unknown error to it.
The same answers per API and version are compared at the wire in
tests/oracle/test_oracle_transactions.py.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import ProducerFenced

from kavka.testing.process import create_topic


def test_aiokafka_fenced_producer_gets_producer_fenced(any_broker, new_topic_name):
    bs = any_broker.bootstrap
    first, second = new_topic_name("fenced-a"), new_topic_name("fenced-b")
    create_topic(bs, first)
    create_topic(bs, second)
    txn = f"aiofenced-{uuid.uuid4().hex[:8]}"

    async def go() -> None:
        zombie = AIOKafkaProducer(bootstrap_servers=bs, transactional_id=txn, request_timeout_ms=20_000)
        newer = AIOKafkaProducer(bootstrap_servers=bs, transactional_id=txn, request_timeout_ms=20_000)
        await zombie.start()
        try:
            await zombie.begin_transaction()
            await zombie.send_and_wait(first, b"zombie")
            await newer.start()  # InitProducerId: fences the zombie and aborts its transaction
            try:
                # a partition the zombie has not added yet: AddPartitionsToTxn v0 with the old epoch
                with pytest.raises(ProducerFenced):
                    await asyncio.wait_for(zombie.send_and_wait(second, b"late"), 30)
                async with newer.transaction():
                    await newer.send_and_wait(second, b"newer")
            finally:
                await newer.stop()
        finally:
            await zombie.stop()

    asyncio.run(go())
