"""A small compressed batch that would inflate to gigabytes is refused with CORRUPT_MESSAGE, and the
broker never materialises its output: decompression stops at what the batch can legitimately hold
(its record count times ``max.message.bytes``, at most 64 MiB).

The broker decompresses produced batches where the topic's semantics need the records: a compacted
topic (every record needs a key) and a topic whose ``compression.type`` differs from the producer's
codec (recompression). Both are driven here with a ~35 KB zstd batch of 1.1 GB of zeros.
"""

from __future__ import annotations

import cramjam
import pytest
from confluent_kafka import Consumer, Producer

from kavka.testing.process import create_topic
from tests.server.rawwire import MB, batch, connect, proc_status, produce, produce_error_code, read_frame

CORRUPT_MESSAGE = 2
ZSTD = 4


@pytest.fixture(scope="module")
def bomb() -> bytes:
    c = cramjam.zstd.Compressor()
    zeros = bytes(MB)
    for _ in range(1100):
        c.compress(zeros)
    payload = bytes(c.finish())
    assert len(payload) < 64 * 1024
    return batch(payload, records_count=1, codec=ZSTD)


@pytest.mark.parametrize(
    "configs", [{"cleanup.policy": "compact"}, {"compression.type": "lz4"}], ids=["compacted", "recompressed"]
)
def test_zstd_bomb_is_refused_without_inflating(broker_factory, bomb, configs):
    broker = broker_factory()
    topic = create_topic(broker.bootstrap, "bomb", 1, configs=configs)
    hwm_before = proc_status(broker.pid, "VmHWM")
    with connect(broker.bootstrap, timeout=60) as s:
        s.sendall(produce(topic, bomb))
        assert produce_error_code(read_frame(s)) == CORRUPT_MESSAGE
    grown_mb = (proc_status(broker.pid, "VmHWM") - hwm_before) / 1024
    assert grown_mb < 150, f"broker peak RSS grew {grown_mb:.0f} MB for a {len(bomb)}-byte batch"
    # the topic still takes and serves ordinary records
    p = Producer({"bootstrap.servers": broker.bootstrap, "compression.type": "zstd"})
    p.produce(topic, b"v", key=b"k")
    assert p.flush(10) == 0
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "g", "auto.offset.reset": "earliest"})
    try:
        c.subscribe([topic])
        msg = None
        for _ in range(50):
            msg = c.poll(0.2)
            if msg is not None and msg.error() is None:
                break
        assert msg is not None and msg.value() == b"v"
    finally:
        c.close()


def test_bomb_stored_as_is_is_not_inflated_by_a_timestamp_lookup(broker_factory, bomb):
    """A plain topic stores a batch as the producer sent it (nothing looks inside), so the bomb is
    accepted; a ListOffsets by timestamp then looks for the first record at or after the time inside
    that batch, and must not inflate it (it falls back to the batch's base offset)."""
    from confluent_kafka import TopicPartition

    broker = broker_factory()
    topic = create_topic(broker.bootstrap, "stored-bomb", 1)
    with connect(broker.bootstrap, timeout=60) as s:
        s.sendall(produce(topic, bomb))
        assert produce_error_code(read_frame(s)) == 0
    hwm_before = proc_status(broker.pid, "VmHWM")
    c = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "g"})
    try:
        (tp,) = c.offsets_for_times([TopicPartition(topic, 0, 1)], timeout=30)
        assert tp.error is None and tp.offset == 0
    finally:
        c.close()
    grown_mb = (proc_status(broker.pid, "VmHWM") - hwm_before) / 1024
    assert grown_mb < 150, f"broker peak RSS grew {grown_mb:.0f} MB looking into a {len(bomb)}-byte batch"
