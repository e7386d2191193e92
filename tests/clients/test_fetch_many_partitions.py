"""Many partitions under a small open-files limit: segment and index files are opened on use and idle
ones closed (kavka.storage.handles), so the broker keeps serving every partition.

Before, each partition held its ``.log``, ``.index`` and ``.timeindex`` open for good: with 10,000
partitions the broker hit the open-files limit at ~6,650. Here the broker runs under ``ulimit -n 256``
(the way an operator would start it) with 300 partitions (900+ segment files): produce to and consume
from all of them twice (each round re-opens files the pool closed), with the descriptors it holds staying
under the limit.
"""

from __future__ import annotations

import os
import sys

from tests.clients.clientlib import Out, ck_produce, ck_read_all

PARTITIONS = 300
LIMIT = 256


def _open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_more_segment_files_than_the_open_files_limit(broker_factory, create_topic, tmp_path):
    wrapper = tmp_path / "python-ulimit"
    wrapper.write_text(f'#!/bin/sh\nulimit -n {LIMIT}\nexec "{sys.executable}" "$@"\n')
    wrapper.chmod(0o755)
    broker = broker_factory(python=str(wrapper))
    topic = create_topic(partitions=PARTITIONS, bootstrap=broker.bootstrap)
    records = [Out(None, b"v%d" % p, partition=p) for p in range(PARTITIONS)]
    ck_produce(broker.bootstrap, topic, records)
    got = ck_read_all(broker.bootstrap, topic, PARTITIONS, timeout=60)
    assert sorted((r.partition, r.value) for r in got) == [(p, b"v%d" % p) for p in range(PARTITIONS)]
    assert _open_fds(broker.pid) < LIMIT
    ck_produce(broker.bootstrap, topic, records)
    got = ck_read_all(broker.bootstrap, topic, PARTITIONS, timeout=60)
    assert sorted((r.partition, r.offset, r.value) for r in got) == sorted(
        [(p, 0, b"v%d" % p) for p in range(PARTITIONS)] + [(p, 1, b"v%d" % p) for p in range(PARTITIONS)]
    )
    assert _open_fds(broker.pid) < LIMIT
