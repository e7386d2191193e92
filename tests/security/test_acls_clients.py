"""CreateAcls / DescribeAcls / DeleteAcls round trips through real clients and Kafka's own kafka-acls
tool, and the ACLs enforced on what those clients then do.

The broker runs Kafka's StandardAuthorizer with ``allow.everyone.if.no.acl.found=true``, so the
PLAINTEXT principal (``User:ANONYMOUS``) may change ACLs (no ACL names the cluster) and a DENY ACL is
what takes a right away; the same broker without the authorizer refuses the ACL APIs
(tests/clients/test_admin_acls_quorum.py).
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, Producer
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import create_topic as create_on
from tests.needs import require_kafka

STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
OPEN = {"authorizer.class.name": STANDARD_AUTHORIZER, "allow.everyone.if.no.acl.found": "true"}


@pytest.fixture
def secured(broker_factory):
    return broker_factory(overrides={**OPEN, "num.partitions": "1"})


def _deny_write(topic: str) -> AclBinding:
    return AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        "User:ANONYMOUS",
        "*",
        AclOperation.WRITE,
        AclPermissionType.DENY,
    )


def _topic_filter(topic: str) -> AclBindingFilter:
    return AclBindingFilter(
        ResourceType.TOPIC, topic, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
    )


def _produce_error(bootstrap: str, topic: str):
    """The delivery error of one message (None when it was written)."""
    errors = []
    p = Producer({"bootstrap.servers": bootstrap, "message.timeout.ms": 10000})
    p.produce(topic, b"v", on_delivery=lambda err, msg: errors.append(err))
    p.flush(15)
    assert len(errors) == 1
    return errors[0]


def test_confluent_round_trip_and_enforcement(secured, topic_name):
    create_on(secured.bootstrap, topic_name)
    admin = AdminClient({"bootstrap.servers": secured.bootstrap})
    binding = _deny_write(topic_name)
    [created] = admin.create_acls([binding], request_timeout=15).values()
    assert created.result(timeout=15) is None
    assert admin.describe_acls(_topic_filter(topic_name), request_timeout=15).result(timeout=15) == [binding]
    assert _produce_error(secured.bootstrap, topic_name).code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    [deleted] = admin.delete_acls([_topic_filter(topic_name)], request_timeout=15).values()
    assert deleted.result(timeout=15) == [binding]
    assert admin.describe_acls(_topic_filter(topic_name), request_timeout=15).result(timeout=15) == []
    assert _produce_error(secured.bootstrap, topic_name) is None


def test_kafka_python_round_trip(secured, topic_name):
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        KafkaAdminClient,
        ResourcePattern,
        ResourcePatternFilter,
    )
    from kafka.admin import ResourceType as KPResourceType

    admin = KafkaAdminClient(bootstrap_servers=secured.bootstrap)
    try:
        acl = ACL(
            principal="User:alice",
            host="*",
            operation=ACLOperation.READ,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(KPResourceType.TOPIC, topic_name, ACLResourcePatternType.PREFIXED),
        )
        result = admin.create_acls([acl])
        assert result["failed"] == [] and len(result["succeeded"]) == 1
        acl_filter = ACLFilter(
            principal="User:alice",
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=ResourcePatternFilter(KPResourceType.TOPIC, topic_name, ACLResourcePatternType.ANY),
        )
        found, error = admin.describe_acls(acl_filter)
        assert error.errno == 0
        assert [(a.principal, a.operation, a.resource_pattern.pattern_type) for a in found] == [
            ("User:alice", ACLOperation.READ, ACLResourcePatternType.PREFIXED)
        ]
        [(_, deleted, error)] = admin.delete_acls([acl_filter])
        assert error.errno == 0 and len(deleted) == 1
        assert admin.describe_acls(acl_filter)[0] == []
    finally:
        admin.close()


def test_kafka_acls_tool_round_trip(secured, topic_name, tmp_path):
    require_kafka()
    tools = ApacheKafka(tmp_path / "tools")  # only its class path: nothing is started
    main = "org.apache.kafka.tools.AclCommand"
    common = ["--bootstrap-server", secured.bootstrap]
    added = tools.run_tool(
        main, [*common, "--add", "--allow-principal", "User:alice", "--operation", "Read", "--topic", topic_name]
    )
    assert added.returncode == 0, added.stderr
    listed = tools.run_tool(main, [*common, "--list", "--topic", topic_name])
    assert listed.returncode == 0, listed.stderr
    assert "principal=User:alice, host=*, operation=READ, permissionType=ALLOW" in listed.stdout
    removed = tools.run_tool(main, [*common, "--remove", "--force", "--topic", topic_name])
    assert removed.returncode == 0, removed.stderr
    listed = tools.run_tool(main, [*common, "--list", "--topic", topic_name])
    assert "User:alice" not in listed.stdout
