"""A KRaft cluster whose inter-broker and controller listeners are SSL, with client certificates
required on both and host names verified (``ssl.endpoint.identification.algorithm=https``, Kafka's
default): the quorum forms, replicas follow their leaders (acks=all with min.insync.replicas=2 succeeds
and every replica is in sync), and the nodes' internal ports speak nothing but TLS."""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.certs import make_pki
from kavka.testing.cluster import LocalCluster
from kavka.testing.process import api_versions_round_trip, free_port, wait_until
from tests.cluster.test_kraft_cluster import all_list_every_broker
from tests.cluster.test_replication_faults import read_all


@pytest.fixture
def tls_cluster(tmp_path):
    pki = make_pki(tmp_path / "pki")
    cluster = LocalCluster(
        nodes=3,
        base_dir=tmp_path / "cluster",
        overrides={
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,INTERNAL:SSL,CONTROLLER:SSL",
            "inter.broker.listener.name": "INTERNAL",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": pki.broker_pem,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": pki.ca_pem,
            "ssl.client.auth": "required",
        },
    )
    internal = {}
    for node in cluster.nodes.values():
        internal[node.node_id] = free_port()
        node.overrides["listeners"] += f",INTERNAL://127.0.0.1:{internal[node.node_id]}"
    cluster.internal_ports = internal
    with cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed by every node")
        yield cluster


def test_cluster_over_tls_replicates(tls_cluster):
    bootstrap = tls_cluster.bootstrap
    topic = f"tls-{uuid.uuid4().hex[:6]}"
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(topic, 2, 3, config={"min.insync.replicas": "2"})])[topic].result(30)

    def in_sync() -> bool:
        md = admin.list_topics(topic, timeout=10).topics[topic]
        return all(sorted(p.isrs) == [1, 2, 3] for p in md.partitions.values()) and len(md.partitions) == 2

    wait_until(in_sync, timeout=30, message="every replica in sync")
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    failed: list = []
    for i in range(200):
        producer.produce(topic, key=str(i % 10), value=f"v{i}", on_delivery=lambda e, m: e and failed.append(e))
    assert producer.flush(30) == 0 and not failed
    assert len(read_all(tls_cluster, topic, 200)) == 200
    wait_until(in_sync, timeout=30, message="every replica still in sync")
    # the internal listeners answer no plaintext request
    for node in tls_cluster.nodes.values():
        for port in (tls_cluster.internal_ports[node.node_id], node.controller_port):
            with pytest.raises((OSError, ValueError)):
                api_versions_round_trip("127.0.0.1", port, timeout=2)
