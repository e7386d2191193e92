"""What a test needs from the machine, and what happens when the machine lacks it.

A test that needs Java, Apache Kafka's jars, Maven or network namespaces skips, with the reason, on a
developer's machine without them. Under ``CI=true`` it fails instead: ``.ci/run`` installs all of them,
so there a missing dependency is a broken set-up, never a silent skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

from kavka.testing.apache_kafka import unavailable_reason as kafka_unavailable_reason


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def unavailable(reason: str) -> NoReturn:
    """Skip with ``reason``, or fail with it under CI=true."""
    if in_ci():
        pytest.fail(f"CI=true but this test cannot run: {reason}")
    pytest.skip(reason)


def require_kafka() -> None:
    """Apache Kafka (Java 17+ and its jars) can run here, else `unavailable`."""
    reason = kafka_unavailable_reason()
    if reason is not None:
        unavailable(reason)
