"""Each client produces with every codec and reads back exactly what it produced.

Covers keys, null keys, null and empty values, headers (repeated keys, unicode, binary), CreateTime
timestamps, large values (compressible and not), per-partition order and offsets contiguous from 0.
"""

from __future__ import annotations

import pytest

from tests.clients.clientlib import (
    CLIENTS,
    CODECS,
    PRODUCE,
    READ_ALL,
    assert_read_matches,
    codec_available,
    sample_records,
)


@pytest.mark.parametrize("codec", CODECS)
@pytest.mark.parametrize("client", CLIENTS)
def test_produce_and_read_back_with_codec(client, codec, bootstrap, create_topic):
    reason = codec_available(client, codec)
    if reason:
        pytest.skip(reason)
    topic = create_topic(partitions=2)
    records = sample_records(partitions=2, both_null=(client == "confluent"))

    delivered = PRODUCE[client](bootstrap, topic, records, codec=codec)

    # The producer was told the partition it asked for and offsets 0.. per partition, in order.
    per_partition: dict[int, list[int]] = {}
    for out, d in zip(records, delivered, strict=True):
        assert d.partition == out.partition
        per_partition.setdefault(d.partition, []).append(d.offset)
    for p, offsets in per_partition.items():
        assert offsets == list(range(len(offsets))), f"partition {p} delivery offsets"

    got = READ_ALL[client](bootstrap, topic, 2)
    assert_read_matches(records, got)
