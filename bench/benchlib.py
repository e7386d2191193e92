"""What every bench script prints with its figures: the machine and the commit they were measured on.

``machine()`` (CPU, kernel, Python, confluent-kafka / librdkafka) and ``commit()`` (``git describe
--always --dirty`` of this checkout, so a figure names the code it measured; issue 12). The scripts in
bench/ are run as ``.venv/bin/python bench/<script>.py`` and import this module by name.
"""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

__all__ = ["machine", "commit", "report"]

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
    """What the figures were measured on: CPU, Python, kernel, confluent-kafka and librdkafka, and the
    commit (every bench script prints this)."""
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
    }
    try:
        import confluent_kafka

        v = confluent_kafka.version()
        info["confluent_kafka"] = v if isinstance(v, str) else v[0]
        info["librdkafka"] = confluent_kafka.libversion()[0]
    except ImportError:
        pass
    return info


def report(out: dict, json_path: Path | None) -> None:
    """Print a bench's figures one per line (the machine last, as JSON) and write them all to ``json_path``."""
    import json

    for k, v in out.items():
        if k != "machine":
            print(f"{k:24} {v:.1f}" if isinstance(v, float) else f"{k:24} {v}")
    print("machine", json.dumps(out["machine"]))
    if json_path:
        json_path.write_text(json.dumps(out, indent=2))
