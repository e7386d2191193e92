"""The oracle's own set-up: it says plainly why Kafka cannot run, so CI can fail on it rather than skip.
(The running node itself is exercised by every other test here.)"""

from __future__ import annotations

import pytest

from kavka.testing import apache_kafka
from kavka.testing.apache_kafka import ApacheKafka, ApacheKafkaError, kafka_lib, unavailable_reason


def test_no_java_is_a_reason(monkeypatch, tmp_path):
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no java on PATH
    assert apache_kafka.java_executable() is None
    assert unavailable_reason() == "Apache Kafka needs Java: no $JAVA_HOME/bin/java and no java on PATH"


def test_an_incomplete_jar_directory_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("KAVKA_KAFKA_LIB", str(tmp_path))
    with pytest.raises(ApacheKafkaError, match="is not a complete jar directory"):
        kafka_lib()


def test_a_combined_kraft_node_on_loopback(tmp_path):
    props = ApacheKafka(tmp_path, overrides={"num.partitions": "3"}).properties()
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"].startswith("PLAINTEXT://127.0.0.1:") and "CONTROLLER://127.0.0.1:" in props["listeners"]
    assert props["num.partitions"] == "3" and props["log.dirs"] == str(tmp_path / "data")


def test_without_java_ci_fails(tmp_path):
    """Under CI=true the apache_kafka fixture fails, with the reason, instead of skipping."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("JAVA_HOME", "CI", "KAVKA_KAFKA_LIB")}
    env.update(PATH=str(tmp_path), CI="true")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rs",
            "-p",
            "no:cacheprovider",
            "tests/oracle/test_oracle_api_versions.py::test_api_versions_v0",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "1 error" in done.stdout and "CI=true but this test cannot run" in done.stdout, done.stdout[-3000:]
    assert "Apache Kafka needs Java" in done.stdout
