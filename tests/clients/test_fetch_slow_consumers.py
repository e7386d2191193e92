"""Consumers that ask for a lot and do not read: the broker's memory stays bounded.

Before, each Fetch response was read into memory whole (and what the socket did not take was copied
into the transport's buffer): consumers sending Fetch with 50 MB ``max_bytes`` and never reading cost
the broker ~50 MB each. Now record data is streamed from the segment file in chunks as the socket
drains, so each such consumer costs about one chunk.

The same consumers then see their topic deleted under the in-flight responses: every response still
arrives whole and well-formed (the file region holds its own handle on the deleted file).
"""

from __future__ import annotations

import fcntl
import struct
import termios

from confluent_kafka.admin import AdminClient

from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_produce
from tests.clients.fetchwire import batch_offsets, fetch_request, read_fetch_response, slow_socket

RECORDS = 120
VALUE = 100_000  # 120 x 100 KB = 12 MB in one partition
CONSUMERS = 8


def _unread(s) -> int:
    return struct.unpack("i", fcntl.ioctl(s.fileno(), termios.FIONREAD, b"\0\0\0\0"))[0]


def test_slow_consumers_do_not_hold_their_fetch_in_memory(broker_factory, create_topic):
    broker = broker_factory()
    topic = create_topic(bootstrap=broker.bootstrap)
    ck_produce(broker.bootstrap, topic, [Out(None, bytes([i % 251]) * VALUE, partition=0) for i in range(RECORDS)])
    log_bytes = sum(f.stat().st_size for f in (broker.data_dir / f"{topic}-0").glob("*.log"))
    assert log_bytes > 11_000_000
    rss_before = broker.memory_kib()

    socks = [slow_socket(broker.bootstrap) for _ in range(CONSUMERS)]
    try:
        for s in socks:
            s.sendall(fetch_request(topic, 0, 0, 50_000_000))
        # Each response has started (bytes wait in the socket): the broker has read and queued them all.
        wait_until(lambda: all(_unread(s) > 0 for s in socks), timeout=20, message="responses to start")
        grown_mib = (broker.memory_kib() - rss_before) / 1024
        # Before: ~12 MB per consumer (~100 MB here). Now about one 1 MiB chunk each plus noise.
        assert grown_mib < 40, f"broker RSS grew {grown_mib:.0f} MiB for {CONSUMERS} unread fetches"

        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        admin.delete_topics([topic])[topic].result(timeout=20)
        wait_until(
            lambda: not (broker.data_dir / f"{topic}-0").exists(), timeout=10, message="the partition directory to go"
        )

        for s in socks[:2]:  # two read to the end are enough to check the bytes
            error, hw, records = read_fetch_response(s)
            assert error == 0 and hw == RECORDS
            assert len(records) == log_bytes
            offsets = batch_offsets(records)
            assert offsets[0][0] == 0 and offsets[-1][1] == RECORDS - 1
            assert all(b == a[1] + 1 for a, (b, _) in zip(offsets, offsets[1:]))
    finally:
        for s in socks:
            s.close()
