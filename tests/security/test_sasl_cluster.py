"""A cluster whose every listener is SASL_PLAINTEXT: brokers log in to the controller
(``sasl.mechanism.controller.protocol``) to register and fetch the metadata log, and to each other
(``sasl.mechanism.inter.broker.protocol``) to replicate; clients produce with acks=all to a topic with
two replicas and read it back."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.security.conftest import client_conf

PLAIN = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="broker" password="broker-secret" user_broker="broker-secret" user_alice="alice-secret";'
)
SCRAM = "org.apache.kafka.common.security.scram.ScramLoginModule required ;"


def _overrides(inter_broker: str) -> dict[str, str]:
    out = {
        "listener.security.protocol.map": "PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256",
        "sasl.mechanism.inter.broker.protocol": inter_broker,
        "sasl.mechanism.controller.protocol": "PLAIN",
        "connection.failed.authentication.delay.ms": "0",
    }
    for listener in ("plaintext", "controller"):
        out[f"listener.name.{listener}.plain.sasl.jaas.config"] = PLAIN
        out[f"listener.name.{listener}.scram-sha-256.sasl.jaas.config"] = SCRAM
    return out


def test_brokers_and_controller_authenticate_to_each_other(tmp_path):
    cluster = LocalCluster(controllers=1, brokers=2, base_dir=tmp_path, overrides=_overrides("PLAIN"))
    with cluster:  # started: every node answered ApiVersions
        conf = client_conf(cluster.bootstrap)
        admin = AdminClient(conf)
        wait_until(lambda: len(admin.list_topics(timeout=5).brokers) == 2, timeout=30, message="both brokers")
        topic = f"sasl-cluster-{uuid.uuid4().hex[:6]}"
        for f in admin.create_topics([NewTopic(topic, 1, 2)]).values():
            f.result(timeout=30)
        producer = Producer({**conf, "acks": "all"})
        for i in range(10):
            producer.produce(topic, f"m{i}".encode())
        assert producer.flush(30) == 0
        partition = admin.list_topics(topic, timeout=5).topics[topic].partitions[0]
        wait_until(
            lambda: len(admin.list_topics(topic, timeout=5).topics[topic].partitions[0].isrs) == 2,
            timeout=30,
            message="both replicas in sync",
        )
        assert sorted(partition.replicas) == sorted(b.node_id for b in cluster.brokers)
        consumer = Consumer({**conf, "group.id": "g", "auto.offset.reset": "earliest"})
        consumer.subscribe([topic])
        values: list[bytes] = []

        def ten() -> bool:
            m = consumer.poll(0.5)
            if m is not None and m.error() is None:
                values.append(m.value())
            return len(values) >= 10

        try:
            wait_until(ten, timeout=30, message="ten records")
        finally:
            consumer.close()
        assert values == [f"m{i}".encode() for i in range(10)]


def test_a_broker_with_a_wrong_password_is_refused_by_the_controller(tmp_path):
    wrong = PLAIN.replace('password="broker-secret"', 'password="wrong"')
    cluster = LocalCluster(
        controllers=1,
        brokers=1,
        base_dir=tmp_path,
        overrides=_overrides("PLAIN"),
        node_overrides={2: {"listener.name.controller.plain.sasl.jaas.config": wrong}},
    )
    with cluster:
        controller, broker = cluster.nodes[1], cluster.nodes[2]
        wait_until(
            lambda: (
                "Failed authentication with /127.0.0.1 (Authentication failed: Invalid username or password)"
                in controller.log_path.read_text()
            ),
            timeout=30,
            message="the controller's log line",
        )
        wait_until(
            lambda: "cannot authenticate to 127.0.0.1" in broker.log_path.read_text(),
            timeout=10,
            message="the broker's log line",
        )
