"""Kafka's own decoder reads Kavka's metadata log: ``kafka-dump-log --cluster-metadata-decoder`` (the
DumpLogSegments class of the pinned Kafka) on the ``__cluster_metadata-0`` segment a Kavka broker
wrote prints each record as Kafka's JSON, with the names and values Kavka put there."""

from __future__ import annotations

import json
import re

from confluent_kafka.admin import AdminClient, AlterConfigOpType, ConfigEntry, ConfigResource, NewTopic

DUMP = "org.apache.kafka.tools.DumpLogSegments"


def _payloads(stdout: str) -> list[dict]:
    """The ``payload: {...}`` objects of DumpLogSegments' output, parsed."""
    found = []
    for m in re.finditer(r"payload: (\{.*\})\s*$", stdout, re.M):
        found.append(json.loads(m.group(1)))
    return found


def test_kafka_decodes_kavkas_metadata_log(broker_factory, apache_kafka):
    b = broker_factory()
    admin = AdminClient({"bootstrap.servers": b.bootstrap})
    for f in admin.create_topics([NewTopic("orders", 3, 1, config={"cleanup.policy": "compact"})]).values():
        f.result(30)
    change = ConfigResource(
        "topic",
        "orders",
        incremental_configs=[ConfigEntry("retention.ms", "3600000", incremental_operation=AlterConfigOpType.SET)],
    )
    for f in admin.incremental_alter_configs([change]).values():
        f.result(30)
    b.stop()
    segment = next((b.data_dir / "__cluster_metadata-0").glob("*.log"))

    done = apache_kafka.run_tool(DUMP, ["--cluster-metadata-decoder", "--files", str(segment)])
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Exception" not in done.stdout + done.stderr, (done.stdout + done.stderr)[-3000:]
    records = _payloads(done.stdout)
    by_type: dict[str, list[dict]] = {}
    for r in records:
        by_type.setdefault(r["type"], []).append(r["data"])

    topics = {t["name"]: t["topicId"] for t in by_type["TOPIC_RECORD"]}
    assert "orders" in topics
    partitions = [p for p in by_type["PARTITION_RECORD"] if p["topicId"] == topics["orders"]]
    assert sorted(p["partitionId"] for p in partitions) == [0, 1, 2]
    assert all(p["leader"] == 1 and p["replicas"] == [1] for p in partitions)
    configs = {(c["resourceName"], c["name"]): c["value"] for c in by_type["CONFIG_RECORD"]}
    assert configs[("orders", "cleanup.policy")] == "compact"
    assert configs[("orders", "retention.ms")] == "3600000"
    assert any(f["name"] == "metadata.version" for f in by_type["FEATURE_LEVEL_RECORD"])
    assert by_type["REGISTER_BROKER_RECORD"][0]["brokerId"] == 1
