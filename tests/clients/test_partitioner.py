"""Keyed records land where Kafka's default partitioner puts them: murmur2(key) & 0x7fffffff % n.

librdkafka's default partitioner is ``consistent_random`` (CRC32), so confluent-kafka is configured with
``partitioner=murmur2_random`` to match Java; kafka-python and aiokafka use murmur2 by default. The
reference is kafka-python's own murmur2, independent of Kavka's implementation (which must agree too).
"""

from __future__ import annotations

import pytest
from kafka.partitioner.default import murmur2 as kp_murmur2

from kavka.protocol import murmur2
from tests.clients.clientlib import CLIENTS, PRODUCE, READ_ALL, Out

PARTITIONS = 7
KEYS = [f"key-{i}".encode() for i in range(60)] + [b"", b"\x00", "\u00fcnicode-\u2603".encode(), b"x" * 1000]


def expected_partition(key: bytes, n: int = PARTITIONS) -> int:
    return (kp_murmur2(key) & 0x7FFFFFFF) % n


def test_kavka_murmur2_agrees_with_kafka_python():
    for key in KEYS:
        assert murmur2.default_partition(key, PARTITIONS) == expected_partition(key)


@pytest.mark.parametrize("client", CLIENTS)
def test_keyed_records_land_in_murmur2_partition(client, bootstrap, create_topic):
    topic = create_topic(partitions=PARTITIONS)
    records = [Out(k, b"v-" + k) for k in KEYS]
    conf = {"partitioner": "murmur2_random"} if client == "confluent" else {}

    delivered = PRODUCE[client](bootstrap, topic, records, **conf)

    for out, d in zip(records, delivered, strict=True):
        assert d.partition == expected_partition(out.key), f"key {out.key!r}"
    # ... and that is where they are stored.
    got = READ_ALL[client](bootstrap, topic, PARTITIONS)
    assert sorted((r.partition, r.key) for r in got) == sorted((expected_partition(k), k) for k in KEYS)
    # Keys were spread: the metadata's partition count was used, not one partition.
    assert len({r.partition for r in got}) > 1
