#!/usr/bin/env python3
"""Issue 6's workloads against Kavka, Tansu and librdkafka's mock cluster, side by side in one run.

The same as ``kavka bench compare`` (the code lives in kavka.cli.bench_compare and
kavka.cli.bench_peers); see ``--help``::

    .venv/bin/python bench/compare.py --quick
    .venv/bin/python bench/compare.py --python /tmp/kavka-prod-venv/bin/python --json /tmp/compare.json
"""

import sys

from kavka.cli.bench_compare import compare

if __name__ == "__main__":
    sys.exit(compare(prog_name="bench/compare.py"))
