"""The console's own actions are authorized as its principal, as Kafka authorizes the APIs they stand for.

One broker runs Kafka's StandardAuthorizer with ``allow.everyone.if.no.acl.found=false`` and
``super.users=User:admin``; its SASL_PLAINTEXT listener takes PLAIN logins of ``admin`` and ``console``.
``console.client.config`` logs in as ``console``, so the console acts as ``User:console`` from 127.0.0.1.
Each test checks an action twice before and after the ACL it needs is created (CreateAcls through a
real AdminClient as the super user): over real HTTP to the console (403 with Kafka's error, then
success) and through a real confluent-kafka client logged in as the same principal (the same Kafka
error, then success).
"""

from __future__ import annotations

import uuid

import pytest
from confluent_kafka import ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AclBinding,
    AclOperation,
    AclPermissionType,
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourcePatternType,
    ResourceType,
)

from kavka.testing.embedded import EmbeddedBroker
from kavka.testing.process import wait_until
from tests.console.consolelib import ConsoleEnv, start_console_for

PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"
CONSOLE = "User:console"


def _client_config(bootstrap: str, user: str) -> dict:
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": user,
        "sasl.password": f"{user}-secret",
    }


class SecuredConsole:
    """The broker, its console, an admin client (the super user) and a client as the console's principal."""

    def __init__(self, broker: EmbeddedBroker, env: ConsoleEnv):
        self.broker = broker
        self.env = env
        [(_, host, port)] = [b for b in broker.server.bound if b[0].upper() == "SASL_PLAINTEXT"]
        self.sasl_bootstrap = f"{host}:{port}"
        self.admin = AdminClient(_client_config(self.sasl_bootstrap, "admin"))
        self.client = AdminClient(_client_config(self.sasl_bootstrap, "console"))

    def console_may(self, operation, resource_type, name) -> bool:
        from kavka.security.authorizer import AclOperation as Op
        from kavka.security.authorizer import ResourceType as RT

        az = self.broker.server.broker.authz
        op = Op[operation.name]
        rt = RT.CLUSTER if resource_type == ResourceType.BROKER else RT[resource_type.name]
        return bool(self.env.on_loop(lambda: az.authorize(CONSOLE, "127.0.0.1", op, rt, name)))

    def grant(self, resource_type, name, operation, pattern=ResourcePatternType.LITERAL) -> None:
        """CreateAcls (ALLOW ``operation`` to User:console) as the super user, until the broker enforces it."""
        binding = AclBinding(
            resource_type, name, pattern, CONSOLE, "*", operation, AclPermissionType.ALLOW
        )  # fmt: skip
        for f in self.admin.create_acls([binding]).values():
            f.result(timeout=20)
        probe = name + "x" if pattern == ResourcePatternType.PREFIXED else name
        wait_until(lambda: self.console_may(operation, resource_type, probe), 10, message=f"{operation} granted")

    def create_topic(self, name: str, partitions: int = 1) -> str:
        for f in self.admin.create_topics([NewTopic(name, partitions, 1)]).values():
            f.result(timeout=20)
        wait_until(lambda: name in self.env.on_loop(lambda: self.broker.server.broker.image.topics_by_name), 10)
        return name


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("console-authz")
    props = tmp / "console-client.properties"
    props.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
        f'sasl.jaas.config={PLAIN} username="console" password="console-secret";\n'
    )
    overrides = {
        "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
            f'{PLAIN} user_admin="admin-secret" user_console="console-secret";'
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": "User:admin",
        "console.client.config": str(props),
        "console.client.listener": "SASL_PLAINTEXT",
        "group.initial.rebalance.delay.ms": "0",
    }
    with EmbeddedBroker(str(tmp / "data"), overrides) as broker:
        env = ConsoleEnv(broker, start_console_for(broker))
        try:
            yield SecuredConsole(broker, env)
        finally:
            env.run(env.runner.stop())


def _name(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _refused(r, error: str) -> None:
    assert r.status == 403, (r.status, r.text)
    message = r.json()["error"]
    assert message.startswith(error + ": "), message
    assert CONSOLE in message  # the page says who the console acts as


def _kafka_error(future_or_call) -> str:
    """The Kafka error name a client call fails with."""
    with pytest.raises(KafkaException) as failed:
        future_or_call()
    return failed.value.args[0].name()


def test_the_overview_shows_who_the_console_acts_as(secured):
    r = secured.env.get("/api/overview")
    assert r.status == 200, r.text
    assert r.json()["principal"] == {"principal": CONSOLE, "host": "127.0.0.1", "authorizer": True, "error": None}


def test_create_topic_needs_create(secured):
    prefix = _name("create") + "-"
    r = secured.env.send("POST", "/api/topics", {"name": prefix + "ui", "partitions": 1})
    _refused(r, "TOPIC_AUTHORIZATION_FAILED")
    assert r.json()["error"].startswith("TOPIC_AUTHORIZATION_FAILED: Authorization failed.")
    [f] = secured.client.create_topics([NewTopic(prefix + "client", 1, 1)]).values()
    assert _kafka_error(lambda: f.result(timeout=20)) == "TOPIC_AUTHORIZATION_FAILED"

    secured.grant(ResourceType.TOPIC, prefix, AclOperation.CREATE, ResourcePatternType.PREFIXED)
    r = secured.env.send("POST", "/api/topics", {"name": prefix + "ui", "partitions": 1})
    assert r.status == 201, r.text
    [f] = secured.client.create_topics([NewTopic(prefix + "client", 1, 1)]).values()
    f.result(timeout=20)


def test_delete_topic_needs_delete(secured):
    ui, client = secured.create_topic(_name("delete-ui")), secured.create_topic(_name("delete-client"))
    _refused(secured.env.send("DELETE", f"/api/topics/{ui}"), "TOPIC_AUTHORIZATION_FAILED")
    [f] = secured.client.delete_topics([client]).values()
    assert _kafka_error(lambda: f.result(timeout=20)) == "TOPIC_AUTHORIZATION_FAILED"

    for name in (ui, client):
        secured.grant(ResourceType.TOPIC, name, AclOperation.DELETE)
    r = secured.env.send("DELETE", f"/api/topics/{ui}")
    assert r.status == 200, r.text
    [f] = secured.client.delete_topics([client]).values()
    f.result(timeout=20)


def test_altering_topic_configs_needs_alter_configs(secured):
    topic = secured.create_topic(_name("configs"))

    def client_alter(value: str):
        resource = ConfigResource(
            ConfigResource.Type.TOPIC,
            topic,
            incremental_configs=[ConfigEntry("retention.ms", value, incremental_operation=AlterConfigOpType.SET)],
        )
        [f] = secured.client.incremental_alter_configs([resource]).values()
        return f.result(timeout=20)

    r = secured.env.send("PATCH", f"/api/topics/{topic}/configs", {"set": {"retention.ms": "600000"}})
    _refused(r, "TOPIC_AUTHORIZATION_FAILED")
    assert _kafka_error(lambda: client_alter("700000")) == "TOPIC_AUTHORIZATION_FAILED"

    secured.grant(ResourceType.TOPIC, topic, AclOperation.ALTER_CONFIGS)
    r = secured.env.send("PATCH", f"/api/topics/{topic}/configs", {"set": {"retention.ms": "600000"}})
    assert r.status == 200, r.text
    client_alter("700000")


def _client_produce(secured, topic: str):
    """The error of one record produced as User:console (None when it was written)."""
    outcome = []
    producer = Producer(
        {**_client_config(secured.sasl_bootstrap, "console"), "message.timeout.ms": 15000, "enable.idempotence": False}
    )
    producer.produce(topic, b"from-client", on_delivery=lambda err, msg: outcome.append(err))
    producer.flush(20)
    assert outcome, "no delivery report"
    return outcome[0]


def test_producing_needs_write(secured):
    topic = secured.create_topic(_name("produce"))
    r = secured.env.send("POST", f"/api/topics/{topic}/messages", {"value": "from-ui"})
    _refused(r, "TOPIC_AUTHORIZATION_FAILED")
    err = _client_produce(secured, topic)
    assert err is not None and err.name() == "TOPIC_AUTHORIZATION_FAILED"

    secured.grant(ResourceType.TOPIC, topic, AclOperation.WRITE)
    r = secured.env.send("POST", f"/api/topics/{topic}/messages", {"value": "from-ui"})
    assert r.status == 201, r.text
    assert _client_produce(secured, topic) is None


def _commit_as(secured, user: str, group: str, topic: str, offset: int):
    """OffsetCommit of ``offset`` on partition 0 by ``user`` (AdminClient's alter_consumer_group_offsets):
    the Kafka error name, None when committed."""
    admin = secured.admin if user == "admin" else secured.client
    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, 0, offset)])
    [f] = admin.alter_consumer_group_offsets([request]).values()
    try:
        result = f.result(timeout=20)
    except KafkaException as e:
        return e.args[0].name()
    errors = [tp.error.name() for tp in result.topic_partitions if tp.error is not None]
    return errors[0] if errors else None


def test_resetting_offsets_needs_read_on_the_group_and_the_topic(secured):
    topic, group = secured.create_topic(_name("reset")), _name("group")
    assert _commit_as(secured, "admin", group, topic, 0) is None  # an inactive group with an offset
    body = {"topic": topic, "to": "latest"}

    _refused(secured.env.send("POST", f"/api/groups/{group}/reset", body), "GROUP_AUTHORIZATION_FAILED")
    assert _commit_as(secured, "console", group, topic, 0) == "GROUP_AUTHORIZATION_FAILED"

    secured.grant(ResourceType.GROUP, group, AclOperation.READ)
    _refused(secured.env.send("POST", f"/api/groups/{group}/reset", body), "TOPIC_AUTHORIZATION_FAILED")
    assert _commit_as(secured, "console", group, topic, 0) == "TOPIC_AUTHORIZATION_FAILED"

    secured.grant(ResourceType.TOPIC, topic, AclOperation.READ)
    r = secured.env.send("POST", f"/api/groups/{group}/reset", body)
    assert r.status == 200, r.text
    assert _commit_as(secured, "console", group, topic, 0) is None


def test_node_actions_need_alter_on_the_cluster(secured):
    # not a `kavka cluster up` node: once authorized, the answer is that there are no nodes to control
    _refused(secured.env.send("POST", "/api/cluster/nodes/1/pause"), "CLUSTER_AUTHORIZATION_FAILED")
    secured.grant(ResourceType.BROKER, "kafka-cluster", AclOperation.ALTER)
    r = secured.env.send("POST", "/api/cluster/nodes/1/pause")
    assert r.status != 403 and "AUTHORIZATION" not in r.text, r.text
