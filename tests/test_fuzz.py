"""Fuzzing the running broker: 100,000 generated and mutated frames of every served (API, version).

Seeded (the seed is printed; ``KAVKA_FUZZ_SEED=<n>`` replays it; ``KAVKA_FUZZ_FRAMES`` changes the
count). Frames are valid random requests and their mutations (bit flips in values or anywhere, length
prefixes set huge/negative/past the end, truncations, splices of two frames of any APIs, insertions,
deletions, one API's header on another's body), played on 32 concurrent connections: each connection
carries frames the broker answers and ends with one it must close the connection on, as Kafka does.
Beside it, a confluent-kafka producer (acks=all, idempotent) and a consumer must see no error and lose
nothing; at the end the broker is alive and its peak RSS is printed. ``bench/fuzz.py`` is the long run.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path

import pytest

from kavka.testing.fuzz import Blaster, FrameSource, HealthyClients, Session, sessions
from kavka.testing.process import BrokerProcess, create_topic

FRAMES = int(os.environ.get("KAVKA_FUZZ_FRAMES", 100_000))


@pytest.fixture
def broker(tmp_path):
    # On tmpfs when there is one: the fuzzed admin requests commit metadata (an fsync each) thousands
    # of times, and durability is not what this test is about.
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(prefix="kavka-fuzz-", dir=shm if shm.is_dir() else tmp_path) as d:
        b = BrokerProcess(Path(d) / "data", overrides={"num.partitions": 1})
        b.start()
        yield b
        b.stop()
        b.cleanup()


def test_broker_survives_fuzzed_frames_and_healthy_clients_lose_nothing(broker):
    seed = int(os.environ.get("KAVKA_FUZZ_SEED", random.randrange(2**31)))
    print(f"\nfuzz seed {seed} (replay: KAVKA_FUZZ_SEED={seed})")
    source = FrameSource(seed)
    t0 = time.monotonic()
    planned = list(sessions(source, FRAMES))
    prepare = time.monotonic() - t0

    topic = create_topic(broker.bootstrap, "fuzz-healthy", 1)
    healthy = HealthyClients(broker.bootstrap, topic, "fuzz-healthy-group").start()
    blaster = Blaster(broker.host, broker.port)
    try:
        stats = blaster.run(planned, deadline=time.monotonic() + 240)
    finally:
        blaster.close()
    alive = broker.is_running()
    peak = broker.memory_kib("VmHWM") if alive else -1
    healthy.stop()

    print(
        f"prepared {FRAMES:,} frames in {prepare:.1f} s; sent {stats.frames:,} in {stats.seconds:.1f} s "
        f"= {stats.frames_per_second:,.0f} frames/s on {stats.connections:,} connections "
        f"(closed after the bad frame {stats.closed_as_expected:,}, early {stats.early_closes:,}, "
        f"stalled {stats.stalled:,}); mutations {source.counts}; broker peak RSS {peak / 1024:.0f} MiB; "
        f"healthy: acked {len(healthy.acked):,}, consumed {len(healthy.consumed):,}"
    )
    assert alive, f"the broker died\n{broker.diagnostics()}"
    assert stats.frames == FRAMES, "the run stopped before every frame was sent"
    assert not healthy.errors, healthy.errors[:10]
    assert healthy.acked, "the healthy producer got nothing acknowledged"
    consumed = set(healthy.consumed)
    lost = [v for v in healthy.acked if v not in consumed]
    assert not lost, f"{len(lost)} acknowledged values never consumed, e.g. {lost[:3]}"
    assert healthy.consumed == sorted(healthy.consumed), "the consumer saw values out of order"
    log = broker.log_text()
    # a traceback is a handler bug (its connection is closed, the broker goes on): none are expected
    assert "Traceback" not in log, log[log.index("Traceback") - 300 :][:4000]


def test_the_harness_notices_a_dead_broker(tmp_path):
    """A broker that dies mid-run makes the blaster fail (it refuses connections), and is seen dead."""
    b = BrokerProcess(tmp_path / "data")
    b.start()
    try:
        source = FrameSource(1, per_version=1)
        planned = list(sessions(source, 2000))
        blaster = Blaster(b.host, b.port)
        blaster.run(planned[:50])
        b.kill()
        with pytest.raises(ConnectionRefusedError):
            blaster.run(planned[50:])
        blaster.close()
        assert not b.is_running()
    finally:
        b.cleanup()


def test_the_harness_counts_an_early_close(broker):
    """A session the broker closes before answering its valid frames is counted as an early close."""
    from kavka.testing.fuzz import request_frame

    api_versions = request_frame(18, 0, 1, b"")
    unknown_key = request_frame(32000, 0, 2, b"")
    blaster = Blaster(broker.host, broker.port, parallel=1)
    stats = blaster.run([Session(unknown_key + api_versions, 2, 1, True)])  # closed at the first frame
    blaster.close()
    assert (stats.early_closes, stats.closed_as_expected) == (1, 0)
