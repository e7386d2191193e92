"""`kavka serve` refuses a SASL listener that cannot work with one line and exit code 2, before it
starts anything (Kafka refuses the same configs at start)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "overrides,message",
    [
        # sasl.enabled.mechanisms defaults to GSSAPI, which Kavka does not have
        ({}, "kavka: SASL mechanism GSSAPI of listener SASL_PLAINTEXT is not supported by Kavka"),
        (
            {"sasl.enabled.mechanisms": "PLAIN"},
            "kavka: Could not find a 'KafkaServer' or 'sasl_plaintext.KafkaServer' entry in the JAAS configuration.",
        ),
        (
            {"sasl.enabled.mechanisms": "PLAIN", "sasl.jaas.config": 'x required user_a="b"'},
            "kavka: listener SASL_PLAINTEXT: Invalid JAAS config: JAAS config entry not terminated by semi-colon",
        ),
    ],
)
def test_bad_sasl_listener_is_refused(tmp_path, overrides, message):
    args = [sys.executable, "-m", "kavka", "serve", "--no-console"]
    settings = {"listeners": "SASL_PLAINTEXT://127.0.0.1:0", "log.dirs": str(tmp_path / "data"), **overrides}
    for k, v in settings.items():
        args += ["--override", f"{k}={v}"]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [done.stderr.strip()] and done.stderr.startswith(message)
    assert not (tmp_path / "data").exists()
