"""A record produced by any client reads identically through every client.

Produced once per (producer, codec) into its own topic; every consumer must return the same records.
snappy is included because librdkafka writes raw snappy while the Java-style clients write xerial
framing: the broker stores either as received and every reader must get it back.
"""

from __future__ import annotations

import pytest

from tests.clients.clientlib import CLIENTS, PRODUCE, READ_ALL, assert_read_matches, codec_available, sample_records

_produced: dict[tuple[str, str], tuple[str, list]] = {}


@pytest.fixture
def produced(bootstrap, create_topic, new_topic_name):
    """Produce (at most once per session) with a given producer and codec; return (topic, records)."""

    def make(producer: str, codec: str):
        key = (producer, codec)
        if key not in _produced:
            reason = codec_available(producer, codec)
            if reason:
                pytest.skip(reason)
            topic = create_topic(new_topic_name(f"{producer}-{codec}"), 2)
            records = sample_records(partitions=2, bulk=40, both_null=(producer == "confluent"))
            PRODUCE[producer](bootstrap, topic, records, codec=codec)
            _produced[key] = (topic, records)
        return _produced[key]

    return make


@pytest.mark.parametrize("consumer", CLIENTS)
@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
@pytest.mark.parametrize("producer", CLIENTS)
def test_record_reads_identically_through_every_client(producer, codec, consumer, bootstrap, produced):
    reason = codec_available(consumer, codec)  # decompressing needs the same library as compressing
    if reason:
        pytest.skip(reason)
    topic, records = produced(producer, codec)
    got = READ_ALL[consumer](bootstrap, topic, 2)
    assert_read_matches(records, got)


def test_all_clients_agree_on_one_topic(bootstrap, create_topic):
    """Three producers append to one partition; three consumers see the same 3 x n records."""
    from tests.clients.clientlib import Out, now_ms

    topic = create_topic(partitions=1)
    ts = now_ms() - 10_000
    all_records = []
    for i, producer in enumerate(CLIENTS):
        recs = [
            Out(
                f"{producer}-{j}".encode(),
                f"from {producer} #{j}".encode(),
                (("by", producer.encode()),),
                ts + 10 * i + j,
                0,
            )
            for j in range(5)
        ]
        PRODUCE[producer](bootstrap, topic, recs)
        all_records += recs
    reads = {consumer: READ_ALL[consumer](bootstrap, topic, 1) for consumer in CLIENTS}
    for _consumer, got in reads.items():
        assert_read_matches(all_records, got)
    assert reads["confluent"] == reads["kafka-python"] == reads["aiokafka"]
