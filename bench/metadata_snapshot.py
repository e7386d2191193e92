#!/usr/bin/env python3
"""Metadata snapshot cost (KIP-630): writing an image as a ``.checkpoint`` and reading it back, in process.

Builds an image of ``--topics`` topics of ``--partitions`` partitions each (replication factor 3 over
three brokers, one topic config each), then times, best of ``--repeat``:

- ``image_to_records``: the image as metadata records;
- ``snapshot_bytes``: the whole file (records encoded, batches built);
- ``image_from_snapshot``: the file decoded and replayed into an empty image;
- ``replay log``: for comparison, the same records replayed from their encoded values alone (what a
  start without a snapshot pays for the same state, before any record that a snapshot would fold away).

Prints milliseconds per step, the file size and records/s, and the machine and commit::

    .venv/bin/python bench/metadata_snapshot.py
    .venv/bin/python bench/metadata_snapshot.py --topics 1000 --partitions 100

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import time
import uuid
from pathlib import Path

from benchlib import machine, report
from kavka.metadata.image import MetadataDelta, MetadataImage
from kavka.metadata.image_records import image_to_records
from kavka.metadata.records import (
    BrokerEndpoint,
    ConfigRecord,
    ConfigResourceType,
    FeatureLevelRecord,
    PartitionRecord,
    RegisterBrokerRecord,
    TopicRecord,
    decode_record,
    encode_record,
)
from kavka.raft.snapshots import image_from_snapshot, snapshot_bytes


def _image(topics: int, partitions: int) -> MetadataImage:
    records = [FeatureLevelRecord("metadata.version", 25)]
    for b in (1, 2, 3):
        endpoint = BrokerEndpoint("PLAINTEXT", f"broker{b}", 9092, 0)
        records.append(RegisterBrokerRecord(b, uuid.UUID(int=b), b, (endpoint,)))
    for t in range(topics):
        topic_id = uuid.UUID(int=1000 + t)
        records.append(TopicRecord(f"topic-{t:06d}", topic_id))
        records.append(ConfigRecord(ConfigResourceType.TOPIC, f"topic-{t:06d}", "retention.ms", "3600000"))
        for p in range(partitions):
            replicas = tuple(1 + (p + i) % 3 for i in range(3))
            records.append(PartitionRecord(p, topic_id, replicas, replicas, replicas[0]))
    return MetadataDelta(MetadataImage.empty("bench")).replay_all(records).build()


def _best(fn, repeat: int) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--topics", type=int, default=1000)
    parser.add_argument("--partitions", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()

    image = _image(args.topics, args.partitions)
    t_records, records = _best(lambda: image_to_records(image), args.repeat)
    t_write, data = _best(lambda: snapshot_bytes(image, end_offset=1, epoch=1, last_timestamp=0, now_ms=0), args.repeat)
    t_read, rebuilt = _best(lambda: image_from_snapshot(data, "bench"), args.repeat)
    assert rebuilt == image
    values = [encode_record(r) for r in records]
    t_replay, _ = _best(
        lambda: MetadataDelta(MetadataImage.empty("bench")).replay_all(decode_record(v) for v in values).build(),
        args.repeat,
    )
    n = len(records)
    report(
        {
            "topics": args.topics,
            "partitions": args.topics * args.partitions,
            "records": n,
            "file MiB": len(data) / 2**20,
            "image_to_records ms": t_records * 1000,
            "snapshot_bytes ms": t_write * 1000,
            "image_from_snapshot ms": t_read * 1000,
            "replay log ms": t_replay * 1000,
            "write records/s": n / t_write,
            "read records/s": n / t_read,
            "machine": machine(),
        },
        args.json,
    )


if __name__ == "__main__":
    main()
