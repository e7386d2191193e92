"""Topic `compression.type` other than `producer`: the broker stores batches in the topic's codec.

The stored batches are read back from the segment file (what Kafka's dump-log would show), and every
client still reads exactly what was produced, with the idempotent producer's sequences intact.
"""

from __future__ import annotations

import glob
import os

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from kavka.protocol.batch import iter_headers
from kavka.protocol.compression import CODEC_NAMES


def _stored_codecs(data_dir: str, topic: str) -> set[str]:
    codecs = set()
    for path in glob.glob(os.path.join(data_dir, f"{topic}-0", "*.log")):
        with open(path, "rb") as f:
            data = f.read()
        codecs |= {CODEC_NAMES[h.compression] for _, h in iter_headers(data)}
    return codecs


def _read_all(bootstrap: str, topic: str, n: int) -> list[tuple[bytes | None, bytes | None]]:
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "recompress", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = []
    try:
        for _ in range(100):
            for m in consumer.consume(n, 0.2):
                assert m.error() is None, m.error()
                got.append((m.key(), m.value()))
            if len(got) >= n:
                break
    finally:
        consumer.close()
    return got


@pytest.mark.parametrize("topic_codec,producer_codec", [("zstd", "none"), ("uncompressed", "gzip"), ("lz4", "snappy")])
def test_broker_recompresses_to_the_topic_codec(broker, bootstrap, create_topic, topic_codec, producer_codec):
    topic = create_topic(configs={"compression.type": topic_codec})
    producer = Producer(
        {"bootstrap.servers": bootstrap, "compression.type": producer_codec, "enable.idempotence": True, "linger.ms": 5}
    )
    sent = [(f"k{i}".encode(), f"value {i}".encode() * 3) for i in range(200)] + [(None, None)]
    for key, value in sent:
        producer.produce(topic, key=key, value=value, partition=0)
    assert producer.flush(15) == 0
    expected = {"uncompressed": "none"}.get(topic_codec, topic_codec)
    assert _stored_codecs(broker.data_dir, topic) == {expected}
    assert _read_all(bootstrap, topic, len(sent)) == sent
