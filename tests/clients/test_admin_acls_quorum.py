"""ACL APIs on a broker without an authorizer, and DescribeQuorum, through real admin clients and at
the wire.

Kavka has no authorizer, so Describe/Create/DeleteAcls answer SECURITY_DISABLED exactly as a Kafka
broker without ``authorizer.class.name`` does; the clients surface that as their own error. The KRaft
quorum is one local voter, which DescribeQuorum reports at v0–2.
"""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    ResourcePatternType,
    ResourceType,
)

from tests.clients.adminwire import call

DESCRIBE_ACLS, CREATE_ACLS, DELETE_ACLS, DESCRIBE_QUORUM = 29, 30, 31, 55
SECURITY_DISABLED = 54


def _binding() -> AclBinding:
    return AclBinding(
        ResourceType.TOPIC,
        "orders",
        ResourcePatternType.LITERAL,
        "User:alice",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )


def _filter() -> AclBindingFilter:
    return AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
    )


def _security_disabled(future) -> KafkaError:
    with pytest.raises(KafkaException) as info:
        future.result(timeout=15)
    return info.value.args[0]


def test_confluent_acl_calls_report_security_disabled(bootstrap):
    admin = AdminClient({"bootstrap.servers": bootstrap})
    # librdkafka does not surface DescribeAcls' top-level error (the wire test below checks it is
    # there): describing shows no ACLs
    assert admin.describe_acls(_filter(), request_timeout=15).result(timeout=15) == []
    [created] = admin.create_acls([_binding()], request_timeout=15).values()
    assert _security_disabled(created).code() == KafkaError.SECURITY_DISABLED
    [deleted] = admin.delete_acls([_filter()], request_timeout=15).values()
    assert _security_disabled(deleted).code() == KafkaError.SECURITY_DISABLED


def test_kafka_python_acl_calls_report_security_disabled(bootstrap):
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
    from kafka.admin import (
        ResourceType as KPResourceType,
    )
    from kafka.errors import SecurityDisabledError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        pattern_filter = ResourcePatternFilter(KPResourceType.ANY, None, ACLResourcePatternType.ANY)
        acl_filter = ACLFilter(
            principal=None,
            host=None,
            operation=ACLOperation.ANY,
            permission_type=ACLPermissionType.ANY,
            resource_pattern=pattern_filter,
        )
        with pytest.raises(SecurityDisabledError):
            admin.describe_acls(acl_filter)
        acl = ACL(
            principal="User:alice",
            host="*",
            operation=ACLOperation.READ,
            permission_type=ACLPermissionType.ALLOW,
            resource_pattern=ResourcePattern(KPResourceType.TOPIC, "orders"),
        )
        result = admin.create_acls([acl])
        assert result == {"succeeded": [], "failed": [SecurityDisabledError]}
    finally:
        admin.close()


@pytest.mark.parametrize("version", [1, 3])
def test_acl_apis_at_the_wire(bootstrap, version):
    acl_filter = {
        "resource_type_filter": 1,
        "resource_name_filter": None,
        "pattern_type_filter": 1,
        "principal_filter": None,
        "host_filter": None,
        "operation": 1,
        "permission_type": 1,
    }
    described = call(bootstrap, DESCRIBE_ACLS, version, acl_filter)
    assert described.error_code == SECURITY_DISABLED and described.resources == ()
    creation = {
        "resource_type": 2,
        "resource_name": "orders",
        "resource_pattern_type": 3,
        "principal": "User:alice",
        "host": "*",
        "operation": 3,
        "permission_type": 3,
    }
    created = call(bootstrap, CREATE_ACLS, version, {"creations": [creation, creation]})
    assert [r.error_code for r in created.results] == [SECURITY_DISABLED] * 2
    deleted = call(bootstrap, DELETE_ACLS, version, {"filters": [acl_filter]})
    [result] = deleted.filter_results
    assert result.error_code == SECURITY_DISABLED and result.matching_acls == ()


@pytest.mark.parametrize("version", [0, 1, 2])
def test_describe_quorum_reports_the_single_voter(bootstrap, create_topic, version):
    body = {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]}
    before = call(bootstrap, DESCRIBE_QUORUM, version, body)
    create_topic()  # a metadata commit moves the quorum's high watermark
    after = call(bootstrap, DESCRIBE_QUORUM, version, body)
    assert before.error_code == after.error_code == 0
    [topic] = after.topics
    [part] = topic.partitions
    assert topic.topic_name == "__cluster_metadata" and part.error_code == 0
    [voter] = part.current_voters
    assert part.leader_id == voter.replica_id and part.leader_epoch >= 1 and part.observers == ()
    assert voter.log_end_offset == part.high_watermark > before.topics[0].partitions[0].high_watermark
    if version >= 1:
        assert voter.last_caught_up_timestamp > 0 and voter.last_fetch_timestamp > 0
    if version >= 2:
        [node] = after.nodes
        host, port = bootstrap.rsplit(":", 1)
        assert node.node_id == voter.replica_id
        assert [(l.host, l.port) for l in node.listeners] == [(host, int(port))]


def test_describe_quorum_of_another_partition_is_unknown(bootstrap):
    body = {"topics": [{"topic_name": "orders", "partitions": [{"partition_index": 0}]}]}
    answer = call(bootstrap, DESCRIBE_QUORUM, 2, body)
    assert answer.error_code == 3 and answer.topics == ()
