"""Request decode time: Kavka's checked decoder (kavka.protocol.decoder) against kio's Rust reader.

Typical requests as confluent-kafka sends them (one topic, a few partitions). Prints microseconds per
decode for each. Run: ``.venv/bin/python bench/decode.py``.
"""

from __future__ import annotations

import io
import timeit

from kio.index import load_request_schema
from kio.serial import entity_reader, entity_writer

from benchlib import machine
from kavka.protocol.api import build_entity
from kavka.protocol.decoder import decode_with, request_decoder

CASES = {
    "Fetch v12, 1 topic x 1 partition": (
        1,
        12,
        {
            "max_wait": 500,
            "min_bytes": 1,
            "max_bytes": 52428800,
            "session_id": 0,
            "session_epoch": -1,
            "topics": [
                {
                    "topic": "bench-topic",
                    "partitions": [{"partition": 0, "fetch_offset": 1234, "partition_max_bytes": 1048576}],
                }
            ],
            "rack_id": "",
        },
    ),
    "Fetch v12, 1 topic x 16 partitions": (
        1,
        12,
        {
            "max_wait": 500,
            "min_bytes": 1,
            "max_bytes": 52428800,
            "topics": [
                {
                    "topic": "bench-topic",
                    "partitions": [
                        {"partition": i, "fetch_offset": 1234, "partition_max_bytes": 1048576} for i in range(16)
                    ],
                }
            ],
            "rack_id": "",
        },
    ),
    "Metadata v12, 1 topic": (3, 12, {"topics": [{"name": "bench-topic"}], "allow_auto_topic_creation": True}),
    "OffsetCommit v9, 1 topic x 4 partitions": (
        8,
        9,
        {
            "group_id": "bench-group",
            "generation_id_or_member_epoch": 3,
            "member_id": "rdkafka-1234-abcd",
            "topics": [
                {
                    "name": "bench-topic",
                    "partitions": [
                        {"partition_index": i, "committed_offset": 1000 + i, "committed_metadata": ""} for i in range(4)
                    ],
                }
            ],
        },
    ),
    "JoinGroup v9, 1 protocol": (
        11,
        9,
        {
            "group_id": "bench-group",
            "session_timeout": 45000,
            "rebalance_timeout": 300000,
            "member_id": "",
            "protocol_type": "consumer",
            "protocols": [{"name": "range", "metadata": b"\x00\x03" + b"\x00" * 30}],
            "reason": None,
        },
    ),
    "FindCoordinator v4": (10, 4, {"key_type": 0, "coordinator_keys": ["bench-group"]}),
}


def main() -> None:
    print(f"machine: {machine()}")  # with the commit measured (git describe)
    print(f"{'request':42} {'bytes':>6} {'kavka us':>9} {'kio us':>8} {'ratio':>6}")
    for label, (key, version, data) in CASES.items():
        cls = load_request_schema(key, version)
        out = io.BytesIO()
        entity_writer(cls)(out, build_entity(cls, data))
        frame = out.getvalue()
        ours = request_decoder(key, version)
        theirs = entity_reader(cls)
        assert decode_with(ours, frame, 0) == theirs(frame, 0)
        n = 20000
        t_ours = min(timeit.repeat(lambda: decode_with(ours, frame, 0), number=n, repeat=5)) / n * 1e6
        t_kio = min(timeit.repeat(lambda: theirs(frame, 0), number=n, repeat=5)) / n * 1e6
        print(f"{label:42} {len(frame):6d} {t_ours:9.2f} {t_kio:8.2f} {t_ours / t_kio:6.1f}")


if __name__ == "__main__":
    main()
