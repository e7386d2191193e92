"""A three-node KRaft cluster secured the way Kafka's docs set one up: the inter-broker listener is
``SASL_SSL`` with SCRAM-SHA-512 (``sasl.mechanism.inter.broker.protocol``), the brokers' credential
bootstrapped with ``kavka storage format --add-scram`` before the first start (as ``kafka-storage.sh
format --add-scram`` does: the brokers need it to replicate before anyone could create it), and the
controller listener ``SSL`` with client certificates required, or ``SASL_SSL`` with PLAIN
(``sasl.mechanism.controller.protocol``). The authorizer is on and the nodes' principals (``User:broker``
from SCRAM, ``User:CN=broker`` from the certificate, ``User:controller`` from PLAIN) are super users, so
every inter-node request passes the CLUSTER_ACTION check with the principal each link authenticated.

A topic with three replicas takes acks=all writes and keeps every replica in sync; a node killed
(SIGKILL) and restarted catches up and rejoins the ISR; the internal ports answer no plaintext request.
"""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.certs import make_pki
from kavka.testing.cluster import LocalCluster
from kavka.testing.process import api_versions_round_trip, free_port, wait_until
from tests.cluster.test_kraft_cluster import all_list_every_broker
from tests.cluster.test_replication_faults import read_all

BROKER_JAAS = (
    'org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="broker-secret";'
)


def _format(cluster: LocalCluster, tmp_path) -> None:
    """``kavka storage format --add-scram`` on every node, with the node's own settings."""
    for node in cluster.nodes.values():
        settings = {"log.dirs": str(node.data_dir), **node.overrides}
        props = tmp_path / f"node-{node.node_id}.properties"
        props.write_text("".join(f"{k}={v}\n" for k, v in settings.items()))
        done = subprocess.run(
            [sys.executable, "-m", "kavka", "storage", "format", "-t", cluster.cluster_id, "-c", str(props),
             "--add-scram", "SCRAM-SHA-512=[name=broker,password=broker-secret]"],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout + done.stderr


CONTROLLER_PLAIN = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="controller" password="controller-secret" user_controller="controller-secret";'
)


@pytest.fixture(params=["SSL", "SASL_SSL"], ids=["controller-ssl", "controller-sasl-ssl-plain"])
def secure_cluster(request, tmp_path):
    pki = make_pki(tmp_path / "pki")
    controller = request.param
    extra = {}
    if controller == "SASL_SSL":  # KRaft and the brokers' controller requests log in with PLAIN inside TLS
        extra = {
            "sasl.mechanism.controller.protocol": "PLAIN",
            "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
            "listener.name.controller.plain.sasl.jaas.config": CONTROLLER_PLAIN,
        }
    cluster = LocalCluster(
        nodes=3,
        base_dir=tmp_path / "cluster",
        overrides={
            **extra,
            "listener.security.protocol.map": f"PLAINTEXT:PLAINTEXT,INTERNAL:SASL_SSL,CONTROLLER:{controller}",
            "inter.broker.listener.name": "INTERNAL",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
            "listener.name.internal.sasl.enabled.mechanisms": "SCRAM-SHA-512",
            "listener.name.internal.scram-sha-512.sasl.jaas.config": BROKER_JAAS,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": pki.broker_pem,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": pki.ca_pem,
            "ssl.client.auth": "required",  # the CONTROLLER listener (SASL_SSL takes it only with its prefix)
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "super.users": "User:broker;User:CN=broker;User:controller;User:ANONYMOUS",  # ANONYMOUS: the test's PLAINTEXT clients
            "connection.failed.authentication.delay.ms": "0",
        },
    )
    internal = {}
    for node in cluster.nodes.values():
        internal[node.node_id] = free_port()
        node.overrides["listeners"] += f",INTERNAL://127.0.0.1:{internal[node.node_id]}"
    cluster.internal_ports = internal
    _format(cluster, tmp_path)
    with cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed by every node")
        yield cluster


def _isr(admin: AdminClient, topic: str) -> list[list[int]]:
    md = admin.list_topics(topic, timeout=10).topics[topic]
    return [sorted(p.isrs) for _, p in sorted(md.partitions.items())]


def _produce(bootstrap: str, topic: str, values: list[str]) -> None:
    failed: list[KafkaError] = []
    producer = Producer({"bootstrap.servers": bootstrap, "acks": "all", "enable.idempotence": True})
    for v in values:
        producer.produce(topic, value=v, on_delivery=lambda e, m: e and failed.append(e))
    assert producer.flush(30) == 0 and not failed, failed


def test_cluster_over_sasl_ssl_with_scram_replicates_and_heals(secure_cluster):
    cluster = secure_cluster
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    # the credential the nodes log in with came from the format command's bootstrap snapshot
    described = admin.describe_user_scram_credentials(["broker"])["broker"].result(timeout=10)
    assert [(c.mechanism.name, c.iterations) for c in described.scram_credential_infos] == [("SCRAM_SHA_512", 4096)]

    topic = f"secure-{uuid.uuid4().hex[:6]}"
    admin.create_topics([NewTopic(topic, 2, 3, config={"min.insync.replicas": "2"})])[topic].result(30)
    every = [[1, 2, 3], [1, 2, 3]]
    wait_until(lambda: _isr(admin, topic) == every, timeout=30, message="every replica in sync")
    _produce(cluster.bootstrap, topic, [f"a{i}" for i in range(100)])
    wait_until(lambda: _isr(admin, topic) == every, timeout=30, message="every replica still in sync")

    victim = cluster.nodes[2]
    victim.kill()
    others = ",".join(n.bootstrap for n in cluster.brokers if n is not victim)
    survivors = AdminClient({"bootstrap.servers": others})
    wait_until(lambda: _isr(survivors, topic) == [[1, 3], [1, 3]], timeout=30, message="the killed node out of the ISR")
    _produce(others, topic, [f"b{i}" for i in range(100)])  # acks=all with two of three in sync

    victim.start()
    wait_until(lambda: _isr(admin, topic) == every, timeout=60, message="the restarted node back in the ISR")
    values = read_all(cluster, topic, 200)
    assert sorted(values) == sorted([f"a{i}".encode() for i in range(100)] + [f"b{i}".encode() for i in range(100)])

    # the internal listeners speak nothing but TLS
    for node in cluster.nodes.values():
        for port in (cluster.internal_ports[node.node_id], node.controller_port):
            with pytest.raises((OSError, ValueError)):
                api_versions_round_trip("127.0.0.1", port, timeout=2)
