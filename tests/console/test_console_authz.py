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

import time
import uuid

import pytest
from confluent_kafka import Consumer, ConsumerGroupTopicPartitions, KafkaException, Producer, TopicPartition
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
from tests.console.consolelib import PLAIN, ConsoleEnv, secured_overrides, start_console_for

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
    with EmbeddedBroker(str(tmp / "data"), secured_overrides(tmp)) as broker:
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


def _client_topics(secured) -> set[str]:
    return set(secured.client.list_topics(timeout=20).topics)


def test_topics_the_principal_may_not_describe_are_hidden(secured):
    topic = secured.create_topic(_name("hidden"))
    listed = {t["name"] for t in secured.env.get("/api/topics").json()["topics"]}
    assert topic not in listed and topic not in _client_topics(secured)  # Metadata leaves it out too
    r = secured.env.get(f"/api/topics/{topic}")
    assert r.status == 404 and r.json()["error"] == f"Topic {topic!r} does not exist.", r.text
    r = secured.env.get(f"/api/partitioner?key=k&topic={topic}")
    assert r.status == 400, r.text  # not "an existing topic" to the console's principal
    r = secured.env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 1})
    assert r.status == 404, r.text  # no simulated producer for a topic the console does not see
    assert topic not in {p["topic"] for p in secured.env.get("/api/cluster").json()["partitions"]}
    assert secured.env.get(f"/api/cluster/partitions/{topic}/0").status == 404
    counted = secured.env.get("/api/overview").json()["topics"]

    secured.grant(ResourceType.TOPIC, topic, AclOperation.DESCRIBE)
    listed = {t["name"] for t in secured.env.get("/api/topics").json()["topics"]}
    assert topic in listed and topic in _client_topics(secured)
    r = secured.env.get(f"/api/topics/{topic}")
    assert r.status == 200 and r.json()["name"] == topic, r.text
    assert topic in {p["topic"] for p in secured.env.get("/api/cluster").json()["partitions"]}
    assert secured.env.get(f"/api/cluster/partitions/{topic}/0").status == 200
    assert secured.env.get("/api/overview").json()["topics"] == counted + 1

    # DescribeConfigs needs DESCRIBE_CONFIGS: the page shows the topic without its configs until then
    assert r.json()["configs"] == [] and r.json()["configs_error"].startswith("TOPIC_AUTHORIZATION_FAILED: ")
    [f] = secured.client.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)]).values()
    assert _kafka_error(lambda: f.result(timeout=20)) == "TOPIC_AUTHORIZATION_FAILED"
    secured.grant(ResourceType.TOPIC, topic, AclOperation.DESCRIBE_CONFIGS)
    r = secured.env.get(f"/api/topics/{topic}")
    assert "retention.ms" in {c["name"] for c in r.json()["configs"]} and "configs_error" not in r.json(), r.text
    [f] = secured.client.describe_configs([ConfigResource(ConfigResource.Type.TOPIC, topic)]).values()
    assert "retention.ms" in f.result(timeout=20)


def _client_read(secured, topic: str):
    """The Kafka error name of fetching partition 0 from offset 0 as User:console, None when it reads."""
    consumer = Consumer(
        {**_client_config(secured.sasl_bootstrap, "console"), "group.id": _name("reader"), "enable.auto.commit": False}
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None:
                continue
            return msg.error().name() if msg.error() else None
        raise AssertionError("the consumer got neither a record nor an error")
    finally:
        consumer.close()


def test_browsing_and_tailing_need_read(secured):
    topic = secured.create_topic(_name("browse"))
    # the consumer's group (librdkafka asks its coordinator even for an assigned partition)
    secured.grant(ResourceType.GROUP, "reader-", AclOperation.READ, ResourcePatternType.PREFIXED)
    producer = Producer(_client_config(secured.sasl_bootstrap, "admin"))
    producer.produce(topic, b"hello", partition=0)
    producer.flush(20)
    secured.grant(ResourceType.TOPIC, topic, AclOperation.DESCRIBE)  # listed, but not readable
    for path in (f"/api/topics/{topic}/messages?partition=0", f"/api/topics/{topic}/explorer",
                 f"/api/topics/{topic}/partitions/0/tail"):  # fmt: skip
        _refused(secured.env.get(path), "TOPIC_AUTHORIZATION_FAILED")
    assert _client_read(secured, topic) == "TOPIC_AUTHORIZATION_FAILED"

    secured.grant(ResourceType.TOPIC, topic, AclOperation.READ)
    r = secured.env.get(f"/api/topics/{topic}/messages?partition=0")
    assert r.status == 200 and [m["value"]["text"] for m in r.json()["records"]] == ["hello"], r.text
    assert _client_read(secured, topic) is None


def test_groups_need_describe(secured):
    topic, group = secured.create_topic(_name("grouped")), _name("seen")
    assert _commit_as(secured, "admin", group, topic, 0) is None
    listed = {g["group_id"] for g in secured.env.get("/api/groups").json()["groups"]}
    assert group not in listed
    _refused(secured.env.get(f"/api/groups/{group}"), "GROUP_AUTHORIZATION_FAILED")
    [f] = secured.client.describe_consumer_groups([group]).values()
    assert _kafka_error(lambda: f.result(timeout=20)) == "GROUP_AUTHORIZATION_FAILED"

    secured.grant(ResourceType.GROUP, group, AclOperation.DESCRIBE)
    listed = {g["group_id"] for g in secured.env.get("/api/groups").json()["groups"]}
    assert group in listed
    r = secured.env.get(f"/api/groups/{group}")
    assert r.status == 200 and r.json()["offsets"] == [], r.text  # its topic is not describable
    [f] = secured.client.describe_consumer_groups([group]).values()
    assert f.result(timeout=20).group_id == group

    secured.grant(ResourceType.TOPIC, topic, AclOperation.DESCRIBE)
    r = secured.env.get(f"/api/groups/{group}")
    assert [(o["topic"], o["committed"]) for o in r.json()["offsets"]] == [(topic, 0)], r.text


def test_node_actions_need_alter_on_the_cluster(secured):
    # last in the module: ALTER on the cluster implies DESCRIBE on it, which lists every group
    # not a `kavka cluster up` node: once authorized, the answer is that there are no nodes to control
    _refused(secured.env.send("POST", "/api/cluster/nodes/1/pause"), "CLUSTER_AUTHORIZATION_FAILED")
    secured.grant(ResourceType.BROKER, "kafka-cluster", AclOperation.ALTER)
    r = secured.env.send("POST", "/api/cluster/nodes/1/pause")
    assert r.status != 403 and "AUTHORIZATION" not in r.text, r.text


@pytest.mark.parametrize(
    ("lines", "principal"),
    [
        ("security.protocol=PLAINTEXT", "User:ANONYMOUS"),
        ("security.protocol=SSL", "User:ANONYMOUS"),
        (f'security.protocol=SASL_SSL\nsasl.mechanism=PLAIN\nsasl.jaas.config={PLAIN} username="ui" password="p";',
         "User:ui"),
        ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-512\nsasl.jaas.config="
         'org.apache.kafka.common.security.scram.ScramLoginModule required username="scram-ui" password="p";',
         "User:scram-ui"),
        ("security.protocol=SASL_PLAINTEXT\nsasl.mechanism=OAUTHBEARER\nsasl.jaas.config="
         "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required "
         'unsecuredLoginStringClaim_sub="oauth-ui";', "User:oauth-ui"),
    ],
)  # fmt: skip
def test_the_principal_is_the_one_the_broker_gives_the_client_config(tmp_path, lines, principal):
    from kavka.console.clientconfig import console_identity
    from kavka.metadata.config import BrokerConfig

    props = tmp_path / "client.properties"
    props.write_text(lines + "\n")
    broker = {
        "listeners": "PLAINTEXT://0.0.0.0:9092,SASL://10.1.2.3:9093",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL:SASL_PLAINTEXT",
        "console.client.config": str(props),
    }
    bound = [("PLAINTEXT", "0.0.0.0", 9092), ("SASL", "10.1.2.3", 9093)]
    config = BrokerConfig.from_properties({**broker, "console.client.listener": "SASL"})
    assert console_identity(config, bound) == (principal, "10.1.2.3")
    assert console_identity(BrokerConfig.from_properties(broker), bound) == (principal, "127.0.0.1")


def test_an_unreadable_client_config_refuses_every_action_with_the_reason(tmp_path):
    overrides = secured_overrides(tmp_path)
    overrides["console.client.config"] = str(tmp_path / "missing.properties")
    with EmbeddedBroker(str(tmp_path / "data"), overrides) as broker:
        env = ConsoleEnv(broker, start_console_for(broker))
        try:
            principal = env.get("/api/overview").json()["principal"]
            assert principal["principal"] is None and "missing.properties" in principal["error"]
            r = env.send("POST", "/api/topics", {"name": "unknown-principal", "partitions": 1})
            assert r.status == 500 and "missing.properties" in r.json()["error"], r.text
            assert "unknown-principal" not in env.on_loop(lambda: broker.server.broker.image.topics_by_name)
        finally:
            env.run(env.runner.stop())
