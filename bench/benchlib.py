"""What every bench script prints with its figures: the machine and the commit they were measured on.

``machine()`` (CPU, kernel, Python, confluent-kafka / librdkafka, the load average when it was called)
and ``commit()`` (``git describe --always --dirty`` of this checkout, so a figure names the code it
measured; issue 12); ``process_cpu_seconds(pid)`` for a server that is not a BrokerProcess (Apache
Kafka's JVM). The scripts in bench/ are run as ``.venv/bin/python bench/<script>.py`` and import this
module by name.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["machine", "commit", "report", "process_cpu_seconds"]

_REPO = Path(__file__).resolve().parents[1]


def commit() -> str:
    """``git describe --always --dirty`` of the checkout holding bench/ ("unknown" outside git)."""
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"], cwd=_REPO, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else "unknown"


def machine() -> dict:
    """What the figures were measured on: CPU, Python, kernel, confluent-kafka and librdkafka, the
    commit, and the 1/5/15-minute load average at the call (the machine is shared; a figure taken at
    load 3 on 2 cores says so). Every bench script prints this."""
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "kernel": platform.release(),
        "platform": platform.platform(),
        "commit": commit(),
        "load": [round(x, 2) for x in os.getloadavg()],
    }
    try:
        import confluent_kafka

        v = confluent_kafka.version()
        info["confluent_kafka"] = v if isinstance(v, str) else v[0]
        info["librdkafka"] = confluent_kafka.libversion()[0]
    except ImportError:
        pass
    return info


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds used so far by process ``pid`` and its threads (Linux /proc/<pid>/stat,
    fields 14 and 15): the same reading as BrokerProcess.cpu_seconds, for any process."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def report(out: dict, json_path: Path | None) -> None:
    """Print a bench's figures one per line (the machine last, as JSON) and write them all to ``json_path``."""
    import json

    for k, v in out.items():
        if k != "machine":
            print(f"{k:24} {v:.1f}" if isinstance(v, float) else f"{k:24} {v}")
    print("machine", json.dumps(out["machine"]))
    if json_path:
        json_path.write_text(json.dumps(out, indent=2))
