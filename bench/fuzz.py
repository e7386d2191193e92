"""Protocol fuzzing of a running broker, for long runs (tests/test_fuzz.py is the bounded CI version).

Starts a broker subprocess, runs a healthy confluent-kafka producer (acks=all, idempotent) and consumer
beside it, and blasts generated and mutated frames of every served (API, version) down several
connections (kavka.testing.fuzz). Prints frames/s, the broker's peak RSS and the counts; exits 1 if the
broker died or the healthy clients saw an error or lost a message.

    .venv/bin/python bench/fuzz.py --count 2000000 --seed 7
    .venv/bin/python bench/fuzz.py --duration 600          # as many frames as fit in 10 minutes
    KAVKA_FUZZ_SEED=123 .venv/bin/python bench/fuzz.py      # replay a seed
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine
from kavka.testing.fuzz import Blaster, FrameSource, HealthyClients, sessions
from kavka.testing.process import BrokerProcess, create_topic


def main(argv: list[str] | None = None) -> int:
    print(f"machine: {machine()}")  # with the commit measured (git describe)
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=2_000_000, help="frames to send (default 2,000,000)")
    ap.add_argument("--duration", type=float, default=None, help="stop after this many seconds at most")
    ap.add_argument("--seed", type=int, default=int(os.environ.get("KAVKA_FUZZ_SEED", random.randrange(2**31))))
    ap.add_argument("--parallel", type=int, default=32, help="concurrent connections")
    ap.add_argument("--chunk", type=int, default=20_000, help="frames generated per batch")
    args = ap.parse_args(argv)
    print(f"seed {args.seed} (replay: KAVKA_FUZZ_SEED={args.seed})", flush=True)

    shm = Path("/dev/shm")  # tmpfs: fuzzed admin requests fsync the metadata log thousands of times
    with tempfile.TemporaryDirectory(prefix="kavka-fuzz-", dir=shm if shm.is_dir() else None) as tmp:
        broker = BrokerProcess(Path(tmp) / "data", overrides={"num.partitions": 1})
        broker.start()
        try:
            return _run(broker, args)
        finally:
            broker.stop()
            broker.cleanup()


def _run(broker: BrokerProcess, args) -> int:
    topic = create_topic(broker.bootstrap, "healthy-topic", 1)
    healthy = HealthyClients(broker.bootstrap, topic, "healthy-group").start()
    source = FrameSource(args.seed)
    blaster = Blaster(broker.host, broker.port, parallel=args.parallel)
    peak_kib = broker.memory_kib("VmHWM")
    start = time.monotonic()
    deadline = None if args.duration is None else start + args.duration
    sent = 0
    last_report = start
    try:
        while sent < args.count and (deadline is None or time.monotonic() < deadline):
            n = min(args.chunk, args.count - sent)
            stats = blaster.run(sessions(source, n), deadline=deadline)
            sent = stats.frames
            if not broker.is_running():
                break
            peak_kib = max(peak_kib, broker.memory_kib("VmHWM"))
            if time.monotonic() - last_report > 30:
                last_report = time.monotonic()
                print(
                    f"  {sent:,} frames, {sent / (last_report - start):,.0f}/s, peak RSS {peak_kib / 1024:.0f} MiB",
                    flush=True,
                )
    except ConnectionRefusedError as e:
        print(f"broker refuses connections: {e}")
    finally:
        blaster.close()
    elapsed = time.monotonic() - start
    alive = broker.is_running()
    if alive:
        peak_kib = max(peak_kib, broker.memory_kib("VmHWM"))
    healthy.stop()
    consumed = set(healthy.consumed)
    lost = [v for v in healthy.acked if v not in consumed]
    s = blaster.stats
    print(
        f"frames sent      {s.frames:,} in {elapsed:.1f} s = {s.frames / elapsed:,.0f} frames/s "
        f"({s.bytes / elapsed / 1e6:.1f} MB/s)"
    )
    print(
        f"connections      {s.connections:,}: closed by the broker after the bad frame {s.closed_as_expected:,}, "
        f"early {s.early_closes:,}, stalled (closed by us) {s.stalled:,}"
    )
    print(f"mutations        {source.counts}")
    print(
        f"broker           {'alive' if alive else f'DEAD (exit {broker.returncode})'}, "
        f"peak RSS {peak_kib / 1024:.0f} MiB"
    )
    print(
        f"healthy clients  acked {len(healthy.acked):,}, consumed {len(healthy.consumed):,}, "
        f"lost {len(lost)}, errors {len(healthy.errors)} {healthy.errors[:5]}"
    )
    if not alive:
        print(broker.diagnostics())
    return 0 if alive and not lost and not healthy.errors else 1


if __name__ == "__main__":
    sys.exit(main())
