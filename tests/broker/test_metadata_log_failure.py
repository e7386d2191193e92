"""A write to the metadata log that fails (ENOSPC) halts the node, as Kafka 4 halts ("Shutdown broker
because the metadata log dir ... has failed"): the in-process broker on an in-memory file system whose
only dir fills up just before a CreateTopics commits."""

from __future__ import annotations

import pytest

from kavka.broker.broker import Broker
from kavka.metadata.config import BrokerConfig
from kavka.storage.errors import KafkaStorageError
from tests.storage.test_storage_log_dir_failure import FullableFs


def test_a_failed_metadata_append_halts_the_node():
    fs = FullableFs()
    halts: list[int] = []
    config = BrokerConfig.for_serve({"log.dirs": "/data", "listeners": "PLAINTEXT://127.0.0.1:9092"})
    broker = Broker(config, fs=fs, clock_ms=lambda: 1_700_000_000_000, halt=halts.append)
    broker.startup()
    broker.set_bound_listeners([("PLAINTEXT", "127.0.0.1", 9092)])
    spec = {"name": "t", "num_partitions": 1, "replication_factor": 1, "assignments": {}, "configs": {}}
    [ok] = broker.create_topics([spec], validate_only=False)
    assert ok["error_code"] == 0 and halts == []

    fs.full.add("/data")
    with pytest.raises(KafkaStorageError):
        broker.create_topics([{**spec, "name": "u"}], validate_only=False)
    assert halts == [1]
