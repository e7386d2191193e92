"""What the payment services share on the Kafka side: JSON values, reading a topic to its end, and
finishing a transaction whatever the broker is doing.

A transaction ends in one of two ways here: committed (`finish_transaction` returns True) or aborted
(False: nothing of it is visible to a read_committed reader). Retriable errors (the broker is
restarting, a request timed out) are retried until the deadline; an error that requires an abort is
answered with an abort; a fatal error (the producer was fenced by a newer instance with the same
transactional.id) is raised, because the producer cannot be used again.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from typing import Any, NoReturn

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Message, Producer, TopicPartition

__all__ = [
    "encode",
    "decode",
    "position",
    "read_topic",
    "finish_transaction",
    "abort_transaction",
    "TransactionUncertain",
]


class TransactionUncertain(RuntimeError):
    """Neither commit nor abort got an answer before the deadline: the outcome is not known here (a
    new producer with the same transactional.id settles it: InitProducerId aborts an open transaction)."""


def encode(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def decode(data: bytes | None) -> Any:
    return None if data is None else json.loads(data)


def read_topic(bootstrap: str, topic: str, timeout: float = 30.0) -> Iterator[tuple[int, int, bytes | None, Any]]:
    """Yield ``(partition, offset, key, value)`` for every committed record of ``topic``, partition by
    partition in offset order, up to the end each partition has now (its last stable offset).

    Raises `TimeoutError` if the ends are not reached within ``timeout`` seconds and `KafkaException` on a
    fatal consumer error.
    """
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "kavka-demo-payments-reader",
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
            # the end of an empty partition is seen when a fetch returns empty: do not long-poll for it
            "fetch.wait.max.ms": 10,
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout)
        partitions = sorted(metadata.topics[topic].partitions)
        if not partitions:
            raise KafkaException(KafkaError(KafkaError.UNKNOWN_TOPIC_OR_PART, f"topic {topic} does not exist"))
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
        pending = set(partitions)
        deadline = time.monotonic() + timeout
        by_partition: dict[int, list[tuple[int, int, bytes | None, Any]]] = {p: [] for p in partitions}
        while pending:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{topic}: partitions {sorted(pending)} did not reach their end in {timeout:.0f}s")
            msg = consumer.poll(0.2)
            if msg is None:
                continue
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF:
                    pending.discard(msg.partition())
                elif err.fatal():
                    raise KafkaException(err)
                continue  # a transient error (a broker restarting): the client retries by itself
            partition, offset = position(msg)
            by_partition[partition].append((partition, offset, msg.key(), decode(msg.value())))
    finally:
        consumer.close()
    for p in partitions:
        yield from by_partition[p]


def position(msg: Message) -> tuple[int, int]:
    """``(partition, offset)`` of a consumed record (never None for a record, only for some errors)."""
    partition, offset = msg.partition(), msg.offset()
    if partition is None or offset is None:
        raise ValueError(f"a record with no position: {msg.error()}")
    return partition, offset


def _error(e: KafkaException) -> KafkaError:
    err: KafkaError = e.args[0]
    return err


def abort_transaction(producer: Producer, deadline: float) -> None:
    """Abort the open transaction, retrying retriable errors until ``deadline`` (time.monotonic())."""
    while True:
        try:
            producer.abort_transaction(max(0.5, deadline - time.monotonic()))
            return
        except KafkaException as e:
            err = _error(e)
            if err.fatal() or not err.retriable():
                raise
            if time.monotonic() >= deadline:
                raise TransactionUncertain(f"abort did not complete: {err.str()}") from e


def finish_transaction(producer: Producer, deadline: float) -> bool:
    """Commit the open transaction: True once committed, False if it had to be aborted instead."""
    while True:
        try:
            producer.commit_transaction(max(0.5, deadline - time.monotonic()))
            return True
        except KafkaException as e:
            err = _error(e)
            if err.fatal():
                raise
            if err.txn_requires_abort():
                break
            if not err.retriable():
                raise
            if time.monotonic() >= deadline:
                raise TransactionUncertain(f"commit did not complete: {err.str()}") from e
    abort_transaction(producer, deadline)
    return False


def exit_now(message: str) -> NoReturn:
    """Exit (code 1) at once with ``message`` on stderr: after a fatal error a transactional producer
    cannot be used, and tearing it down can wait for requests that will never be answered (its
    transaction is aborted by whoever fenced it, or by the transaction timeout)."""
    sys.stdout.flush()
    print(message, file=sys.stderr, flush=True)
    os._exit(1)
