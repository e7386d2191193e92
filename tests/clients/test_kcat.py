"""kcat (Debian's package, linking an older librdkafka): metadata listing, produce and consume.

kcat is the canary for ApiVersions responses an older librdkafka cannot read (DESIGN section 2).
"""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from tests.clients.clientlib import Out, ck_produce, ck_read_all

KCAT = shutil.which("kcat") or shutil.which("kafkacat")
pytestmark = pytest.mark.skipif(KCAT is None, reason="kcat is not installed (apt-get install kcat; .ci/run does)")


def kcat(*args: str, input: bytes | None = None, timeout: float = 30) -> subprocess.CompletedProcess:
    proc = subprocess.run([KCAT, *args], input=input, capture_output=True, timeout=timeout)
    assert proc.returncode == 0, f"kcat {' '.join(args)} exited {proc.returncode}:\n{proc.stderr.decode()}"
    return proc


def test_kcat_lists_metadata(bootstrap, create_topic):
    topic = create_topic(partitions=3)
    out = kcat("-b", bootstrap, "-L", "-J").stdout
    md = json.loads(out)
    assert [b["id"] for b in md["brokers"]] == [1]
    assert md["brokers"][0]["name"] == bootstrap
    topics = {t["topic"]: t for t in md["topics"]}
    assert len(topics[topic]["partitions"]) == 3
    assert all(p["leader"] == 1 for p in topics[topic]["partitions"])
    text = kcat("-b", bootstrap, "-L", "-t", topic).stdout.decode()
    assert f'topic "{topic}" with 3 partitions' in text


@pytest.mark.parametrize("codec", ["none", "gzip", "snappy", "lz4", "zstd"])
def test_kcat_produce_then_consume(codec, bootstrap, create_topic):
    topic = create_topic()
    lines = [f"key{i}:value {i}" for i in range(20)]
    kcat("-b", bootstrap, "-t", topic, "-P", "-K:", "-z", codec, "-p", "0", input=("\n".join(lines) + "\n").encode())
    out = kcat("-b", bootstrap, "-t", topic, "-C", "-e", "-o", "beginning", "-f", "%k:%s:%o\\n").stdout.decode()
    assert out.splitlines() == [f"{line}:{i}" for i, line in enumerate(lines)]
    # Python clients read what kcat wrote.
    got = ck_read_all(bootstrap, topic, 1)
    assert [(r.key, r.value) for r in got] == [(f"key{i}".encode(), f"value {i}".encode()) for i in range(20)]


def test_kcat_consumes_what_python_produced(bootstrap, create_topic):
    topic = create_topic(partitions=2)
    records = [Out(f"k{i}".encode(), f"v{i}".encode(), (("h", b"x"),), partition=i % 2) for i in range(10)]
    ck_produce(bootstrap, topic, records, codec="lz4")
    out = kcat("-b", bootstrap, "-t", topic, "-C", "-e", "-f", "%p %o %k %s %h\\n").stdout.decode()
    rows = sorted(out.splitlines())
    assert rows == sorted(f"{i % 2} {i // 2} k{i} v{i} h=x" for i in range(10))
