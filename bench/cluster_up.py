"""``kavka cluster up`` to ready, each node's idle RSS, and Ctrl-C to every node stopped.

Each run starts ``python -m kavka cluster up`` in a fresh directory (``--no-console``, free ports) and
times it from spawn to its ready banner (every broker listed by every broker), reads VmRSS of each node
process (the children of ``cluster up``, /proc/<pid>/task/<pid>/children) after the banner, then sends
SIGINT and times the exit of ``cluster up`` (all nodes stopped). A second start on the same directory
(a restart, data kept) is timed too.

    .venv/bin/python bench/cluster_up.py --nodes 1 --runs 3
    .venv/bin/python bench/cluster_up.py --controllers 3 --brokers 3   # needs the KRaft runtime
"""

from __future__ import annotations

import argparse
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import machine, report


def _free_base(count: int) -> int:
    for base in range(21000, 60000, 300):
        ok = True
        for port in (base + off + k for off in (0, 100, 200) for k in range(count)):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return base
    raise SystemExit("no free port range")


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def one_start(layout: list[str], home: Path, count: int, timeout: float) -> tuple[float, list[float], float]:
    """(seconds to ready, RSS MiB of each node, seconds from SIGINT to exit) of one `cluster up`."""
    out = home.parent / f"{home.name}.out"
    cmd = [sys.executable, "-m", "kavka", "cluster", "up", *layout, "--no-console", "--dir", str(home)]
    cmd += ["--base-port", str(_free_base(count)), "--timeout", str(timeout)]
    t0 = time.monotonic()
    with open(out, "wb") as f:
        proc = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    while b"Press Ctrl-C" not in out.read_bytes():
        if proc.poll() is not None:
            raise SystemExit(f"cluster up failed:\n{out.read_text()}")
        time.sleep(0.01)  # a benchmark's polling resolution, not synchronisation in a test
    ready = time.monotonic() - t0
    rss = [_rss_mib(pid) for pid in _children(proc.pid)]
    t1 = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(120)
    return ready, rss, time.monotonic() - t1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nodes", type=int, default=None)
    ap.add_argument("--controllers", type=int, default=None)
    ap.add_argument("--brokers", type=int, default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=120.0)
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args()
    if args.controllers is not None:
        layout = ["--controllers", str(args.controllers), "--brokers", str(args.brokers or 1)]
        count = args.controllers + (args.brokers or 1)
    else:
        layout = ["--nodes", str(args.nodes or 1)]
        count = args.nodes or 1
    fresh, restart, stops, rss = [], [], [], []
    with tempfile.TemporaryDirectory(prefix="kavka-bench-cluster-") as tmp:
        for run in range(args.runs):
            home = Path(tmp) / f"c{run}"
            ready, sizes, stop = one_start(layout, home, count, args.timeout)
            fresh.append(ready)
            stops.append(stop)
            rss += sizes
            ready, _, stop = one_start(layout, home, count, args.timeout)  # the same dir: a restart
            restart.append(ready)
            stops.append(stop)
    out = {
        "layout": " ".join(layout),
        "runs": args.runs,
        "up_to_ready_s_p50": statistics.median(fresh),
        "up_to_ready_s_max": max(fresh),
        "restart_to_ready_s_p50": statistics.median(restart),
        "node_idle_rss_mib_mean": statistics.mean(rss) if rss else 0.0,
        "ctrl_c_to_stopped_s_p50": statistics.median(stops),
        "machine": machine(),
    }
    report(out, args.json)


if __name__ == "__main__":
    main()
