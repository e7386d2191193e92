"""ApiVersions and bootstrap: every client connects, negotiates and sees a modern broker."""

from __future__ import annotations

import asyncio

import pytest
from confluent_kafka.admin import AdminClient

from kavka.testing.process import api_versions_round_trip
from tests.clients.clientlib import Out, assert_read_matches, kp_produce, kp_read_all, now_ms


def test_api_versions_advertises_core_apis(broker):
    versions = api_versions_round_trip(broker.host, broker.port)
    # Produce, Fetch, ListOffsets, Metadata, ApiVersions, CreateTopics, DeleteTopics, InitProducerId
    for key in (0, 1, 2, 3, 18, 19, 20, 22):
        assert key in versions, f"api key {key} not advertised: {versions}"
    assert versions[18][1] >= 3
    assert versions[1][1] >= 4, "Fetch v4+ is what makes librdkafka use record batch v2"
    for key, (lo, hi) in versions.items():
        assert 0 <= lo <= hi, (key, lo, hi)


def test_confluent_bootstrap_and_cluster_metadata(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    md = admin.list_topics(timeout=10)
    assert md.cluster_id
    assert md.controller_id == 1
    assert {b.id: f"{b.host}:{b.port}" for b in md.brokers.values()} == {1: bootstrap}
    cluster = admin.describe_cluster(request_timeout=10).result(timeout=15)
    assert cluster.cluster_id == md.cluster_id
    assert [n.id for n in cluster.nodes] == [1]
    assert cluster.controller is not None and cluster.controller.id == 1


def test_kafka_python_detects_modern_broker(bootstrap):
    from kafka import KafkaAdminClient, KafkaConsumer

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None)
    try:
        version = consumer.config["api_version"]
        if version is None:
            version = consumer._client.check_version()
        assert tuple(version) >= (3, 0), f"kafka-python inferred broker version {version}"
        assert consumer.topics() is not None
    finally:
        consumer.close()
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        cluster = admin.describe_cluster()
        assert [b["broker_id"] for b in cluster["brokers"]] == [1]
        assert cluster["controller_id"] == 1
    finally:
        admin.close()


async def _aiokafka_cluster(bootstrap: str, topic: str):
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(bootstrap_servers=bootstrap)
    await client.bootstrap()
    try:
        await client._wait_on_metadata(topic)
        return {b.nodeId for b in client.cluster.brokers()}, client.cluster.partitions_for_topic(topic)
    finally:
        await client.close()


def test_aiokafka_bootstraps(bootstrap, create_topic):
    # aiokafka (0.13+) negotiates each request's version from ApiVersions per connection.
    topic = create_topic(partitions=2)
    brokers, partitions = asyncio.run(_aiokafka_cluster(bootstrap, topic))
    assert brokers == {1}
    assert partitions == {0, 1}


@pytest.mark.parametrize(
    "api_version", [(0, 11), (1, 0), (2, 0), (2, 4), (2, 8), (3, 0)], ids=lambda v: ".".join(map(str, v))
)
def test_kafka_python_pinned_to_older_broker_versions(api_version, bootstrap, create_topic):
    """kafka-python pinned to an older broker version sends the older request versions it knew
    (Produce v3+, Fetch v4+, Metadata, ListOffsets): each must work."""
    topic = create_topic(partitions=2)
    records = [Out(f"k{i}".encode(), f"v{i}".encode(), (("h", b"1"),), now_ms() - 1000 + i, i % 2) for i in range(20)]
    kp_produce(bootstrap, topic, records, api_version=api_version, enable_idempotence=False)
    got = kp_read_all(bootstrap, topic, 2, api_version=api_version)
    assert_read_matches(records, got)
