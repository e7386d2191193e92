"""pytest plugin (entry point ``kavka``): the ``kavka_broker`` fixture.

    def test_roundtrip(kavka_broker):
        producer = confluent_kafka.Producer({"bootstrap.servers": kavka_broker.bootstrap})

One in-process broker per test module, on a free port, with a temporary data directory; stopped and
removed afterwards.
"""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def kavka_broker(tmp_path_factory):
    from kavka.testing.embedded import EmbeddedBroker

    data_dir = tmp_path_factory.mktemp("kavka-data")
    with EmbeddedBroker(str(data_dir)) as broker:
        yield broker
