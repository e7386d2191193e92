"""``console.client.config`` / ``console.client.listener``: the console's own clients (the simulator's)
connect with a Kafka client properties file, as a tool's ``--command-config``; a setting that cannot be
used is the API's answer, with the reason."""

from __future__ import annotations

import pytest

from kavka.console.clientconfig import ConsoleClientError, client_settings
from kavka.testing.embedded import EmbeddedBroker
from kavka.testing.process import wait_until
from tests.clients import adminwire
from tests.console.consolelib import ConsoleEnv, start_console_for


def _env(tmp_path, overrides):
    broker = EmbeddedBroker(str(tmp_path / "data"), overrides)
    broker.__enter__()
    env = ConsoleEnv(broker, start_console_for(broker))
    return broker, env


def _first_batch_producer_id(bootstrap: str, topic: str) -> int:
    answer = adminwire.call(bootstrap, 1, 12, adminwire.fetch_body(topic, 0, 0))
    records = bytes(answer.responses[0].partitions[0].records or b"")
    assert len(records) > 51
    # RecordBatch v2: offset 8, length 4, leader epoch 4, magic 1, crc 4, attributes 2, last offset
    # delta 4, two timestamps 8 + 8, then the producer id
    return int.from_bytes(records[43:51], "big", signed=True)


def test_simulated_clients_use_the_client_config(tmp_path):
    props = tmp_path / "console-client.properties"
    # a setting the broker can see in what it stores: the simulated producer is idempotent, so its
    # batches carry a producer id (librdkafka's default is -1); compression would not do, as librdkafka
    # sends a batch uncompressed when compressing does not make it smaller
    props.write_text("security.protocol=PLAINTEXT\nenable.idempotence=true\n")
    broker, env = _env(tmp_path, {"console.client.config": str(props), "console.client.listener": "PLAINTEXT"})
    try:
        topic = env.create_topic(partitions=1)
        r = env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 50, "keys": ""})
        assert r.status == 201, r.text
        rm = broker.server.broker.replica_manager
        wait_until(lambda: env.on_loop(lambda: rm.get(topic, 0).log.high_watermark) > 0, 20)
        assert _first_batch_producer_id(env.bootstrap, topic) >= 0
    finally:
        env.run(env.runner.stop())
        broker.__exit__(None, None, None)


def test_simulated_clients_authenticate_as_the_configured_principal(tmp_path):
    """On a broker with SASL and the StandardAuthorizer, the simulated producer logs in with the
    file's PLAIN user on the SASL listener: its records are written because ``User:console`` may write
    the topic, which the listener's anonymous clients may not (the topic has an ACL, for console only)."""
    from confluent_kafka.admin import (
        AclBinding,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )

    jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required"
    props = tmp_path / "console-client.properties"
    props.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
        f'sasl.jaas.config={jaas} username="console" password="console-secret";\n'
    )
    overrides = {
        "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": f'{jaas} user_console="console-secret";',
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "true",
        "console.client.config": str(props),
        "console.client.listener": "SASL_PLAINTEXT",
    }
    broker, env = _env(tmp_path, overrides)
    try:
        topic = env.create_topic(partitions=1)
        admin = AdminClient({"bootstrap.servers": env.bootstrap})  # PLAINTEXT: User:ANONYMOUS
        grant = AclBinding(ResourceType.TOPIC, topic, ResourcePatternType.LITERAL, "User:console", "*",
                           AclOperation.WRITE, AclPermissionType.ALLOW)  # fmt: skip
        for f in admin.create_acls([grant]).values():
            f.result(timeout=20)
        r = env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 50, "keys": ""})
        assert r.status == 201, r.text
        rm = broker.server.broker.replica_manager
        wait_until(lambda: env.on_loop(lambda: rm.get(topic, 0).log.high_watermark) > 0, 20)
    finally:
        env.run(env.runner.stop())
        broker.__exit__(None, None, None)


def test_unusable_client_config_is_the_api_answer(tmp_path):
    broker, env = _env(tmp_path, {"console.client.config": str(tmp_path / "missing.properties")})
    try:
        topic = env.create_topic(partitions=1)
        r = env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 1, "keys": ""})
        assert r.status == 500 and "console.client.config" in r.text and "No such file" in r.text, r.text
    finally:
        env.run(env.runner.stop())
        broker.__exit__(None, None, None)


def test_client_settings_pick_the_listener_and_translate(tmp_path):
    props = tmp_path / "c.properties"
    jaas = 'org.apache.kafka.common.security.plain.PlainLoginModule required username="console" password="pw";'
    props.write_text(f"security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\nsasl.jaas.config={jaas}\n")
    bound = [("PLAINTEXT", "127.0.0.1", 9092), ("SASL_PLAINTEXT", "127.0.0.1", 9093)]
    config = {"console.client.listener": "sasl_plaintext", "console.client.config": str(props)}
    assert client_settings(config, bound) == (
        "127.0.0.1:9093",
        {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": "PLAIN",
            "sasl.username": "console",
            "sasl.password": "pw",
        },
    )
    assert client_settings({}, bound) == ("127.0.0.1:9092", {})
    with pytest.raises(ConsoleClientError, match="'NOPE' is not a listener"):
        client_settings({"console.client.listener": "NOPE"}, bound)
