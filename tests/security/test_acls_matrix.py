"""The ACL matrix: for each API, the principal with and without the operations it needs, the same raw
request to Apache Kafka and to Kavka, both running Kafka's StandardAuthorizer with the same ACLs
(``tests.security.aclfixtures``), and the answers compared field by field.

Each case names the ACLs granted (to ``PRINCIPAL``, host ``*`` unless it says otherwise) and one request;
cases run in order on one pair of brokers, so a produce that succeeds moves both logs alike. The
principal is a parameter of the fixtures: see ``aclfixtures`` for running this with SASL users.
"""

from __future__ import annotations

import re
import uuid

import pytest

from kavka.protocol.records import Record, build_batch
from kavka.security.authorizer import AclOperation as Op
from kavka.security.authorizer import PatternType
from kavka.security.authorizer import PermissionType as Perm
from kavka.security.authorizer import ResourceType as R
from kavka.testing.process import wait_until
from tests.oracle.oraclediff import differences
from tests.oracle.oraclewire import call
from tests.security.aclfixtures import CLUSTER, AclPair, acl
from tests.security.aclfixtures import acl_pair as acl_pair  # noqa: F401  (the module's fixture)

PRODUCE, FETCH, LIST_OFFSETS, METADATA = 0, 1, 2, 3
OFFSET_COMMIT, OFFSET_FETCH, FIND_COORDINATOR, JOIN_GROUP = 8, 9, 10, 11
HEARTBEAT, LEAVE_GROUP, SYNC_GROUP, DESCRIBE_GROUPS, LIST_GROUPS = 12, 13, 14, 15, 16
CREATE_TOPICS, DELETE_TOPICS, DELETE_RECORDS, INIT_PRODUCER_ID = 19, 20, 21, 22
DESCRIBE_ACLS, CREATE_ACLS, DELETE_ACLS, DESCRIBE_CONFIGS, ALTER_CONFIGS = 29, 30, 31, 32, 33
CREATE_PARTITIONS, DELETE_GROUPS, INCREMENTAL_ALTER_CONFIGS = 37, 42, 44
DESCRIBE_CLIENT_QUOTAS, DESCRIBE_CLUSTER = 48, 60
ADD_PARTITIONS_TO_TXN, ADD_OFFSETS_TO_TXN, END_TXN, TXN_OFFSET_COMMIT = 24, 25, 26, 28
OFFSET_FOR_LEADER_EPOCH, DESCRIBE_LOG_DIRS, ELECT_LEADERS, LIST_REASSIGNMENTS = 23, 35, 43, 46
OFFSET_DELETE, ALTER_CLIENT_QUOTAS, DESCRIBE_QUORUM, DESCRIBE_PRODUCERS = 47, 49, 55, 61
DESCRIBE_TRANSACTIONS, LIST_TRANSACTIONS, CONSUMER_GROUP_HEARTBEAT, DESCRIBE_TOPIC_PARTITIONS = 65, 66, 68, 75

TOPIC = "acl-t"  # exists on both, one partition
HIDDEN = "acl-hidden"  # exists on both; never granted
GROUP = "acl-g"


def _records() -> bytes:
    return build_batch([Record(0, 1_700_000_000_000, b"k", b"v")])


def produce(topic: str = TOPIC, transactional_id: str | None = None) -> dict:
    return {
        "transactional_id": transactional_id,
        "acks": 1,
        "timeout": 30000,
        "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": _records()}]}],
    }


def fetch(topic: str = TOPIC) -> dict:
    return {
        "replica_id": -1,
        "max_wait": 0,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "session_id": 0,
        "session_epoch": -1,
        "forgotten_topics_data": [],
        "rack_id": "",
        "topics": [
            {"topic": topic, "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}]}
        ],
    }


def metadata(*names: str, auto: bool = False, ops: bool = False, version: int = 12) -> dict:
    body = {
        "topics": None if not names else [{"name": n} for n in names],
        "allow_auto_topic_creation": auto,
        "include_topic_authorized_operations": ops,
    }
    if version <= 10:
        body["include_cluster_authorized_operations"] = ops
    return body


def list_offsets(topic: str = TOPIC) -> dict:
    return {
        "replica_id": -1,
        "isolation_level": 0,
        "topics": [
            {"name": topic, "partitions": [{"partition_index": 0, "timestamp": -1, "current_leader_epoch": -1}]}
        ],
    }


def create_topics(name: str) -> dict:
    return {
        "topics": [{"name": name, "num_partitions": 1, "replication_factor": 1, "assignments": [], "configs": []}],
        "timeout": 30000,
        "validate_only": True,
    }


def describe_configs(resource_type: int, name: str) -> dict:
    return {
        "resources": [
            {"resource_type": resource_type, "resource_name": name, "configuration_keys": ["cleanup.policy"]}
        ],
        "include_synonyms": False,
        "include_documentation": False,
    }


def join_group(group: str = GROUP) -> dict:
    return {
        "group_id": group,
        "session_timeout": 10000,
        "rebalance_timeout": 10000,
        "member_id": "",
        "group_instance_id": None,
        "protocol_type": "consumer",
        "protocols": [{"name": "range", "metadata": b""}],
    }


def offset_fetch(group: str = GROUP, topic: str = TOPIC) -> dict:
    return {"group_id": group, "topics": [{"name": topic, "partition_indexes": [0]}], "require_stable": False}


def offset_commit(group: str = GROUP, topic: str = TOPIC) -> dict:
    return {
        "group_id": group,
        "generation_id_or_member_epoch": -1,
        "member_id": "",
        "group_instance_id": None,
        "topics": [
            {
                "name": topic,
                "partitions": [{"partition_index": 0, "committed_offset": 0, "committed_metadata": None}],
            }
        ],
    }


def init_producer_id(transactional_id: str | None = None) -> dict:
    return {"transactional_id": transactional_id, "transaction_timeout": 60000, "producer_id": -1, "producer_epoch": -1}


TXN = {"producer_id": 7, "producer_epoch": 0}


def txn_offset_commit() -> dict:
    return {
        "transactional_id": "acl-tx",
        "group_id": GROUP,
        **TXN,
        "generation_id": -1,
        "member_id": "",
        "group_instance_id": None,
        "topics": [{"name": TOPIC, "partitions": [{"partition_index": 0, "committed_offset": 0,
                                                   "committed_leader_epoch": -1, "committed_metadata": None}]}],
    }  # fmt: skip


def add_partitions_v3(topic: str = TOPIC) -> dict:
    return {
        "v3_and_below_transactional_id": "acl-tx",
        "v3_and_below_producer_id": 7,
        "v3_and_below_producer_epoch": 0,
        "v3_and_below_topics": [{"name": topic, "partitions": [0]}],
    }


def alter_config(resource_type: int, name: str) -> dict:
    return {
        "resources": [{"resource_type": resource_type, "resource_name": name,
                       "configs": [{"name": "retention.ms" if resource_type == 2 else "log.cleaner.threads",
                                    "config_operation": 0, "value": "100000"}]}],
        "validate_only": True,
    }  # fmt: skip


def acl_filter(**kw) -> dict:
    base = {
        "resource_type_filter": R.TOPIC,
        "resource_name_filter": TOPIC,
        "pattern_type_filter": PatternType.LITERAL,
        "principal_filter": None,
        "host_filter": None,
        "operation": Op.ANY,
        "permission_type": Perm.ANY,
    }
    return {**base, **kw}


def t(op: int, name: str = TOPIC, perm: int = Perm.ALLOW, **kw):
    return acl(R.TOPIC, name, op, perm, **kw)


def g(op: int, name: str = GROUP, perm: int = Perm.ALLOW, **kw):
    return acl(R.GROUP, name, op, perm, **kw)


def c(op: int, perm: int = Perm.ALLOW, **kw):
    return acl(R.CLUSTER, CLUSTER, op, perm, **kw)


def tx(op: int, name: str = "acl-tx", perm: int = Perm.ALLOW, **kw):
    return acl(R.TRANSACTIONAL_ID, name, op, perm, **kw)


# (case id, ACLs, api key, version, body)
CASES = [
    # Metadata: hidden, named, by id-less names, auto-creation, authorized operations
    ("metadata-all-none", [], METADATA, 12, metadata()),
    ("metadata-all-describe", [t(Op.DESCRIBE)], METADATA, 12, metadata()),
    ("metadata-named-none", [], METADATA, 12, metadata(TOPIC, HIDDEN, "acl-absent")),
    ("metadata-named-read-implies-describe", [t(Op.READ)], METADATA, 12, metadata(TOPIC, HIDDEN)),
    ("metadata-deny-read-keeps-describe", [t(Op.DESCRIBE), t(Op.READ, perm=Perm.DENY)], METADATA, 12, metadata(TOPIC)),
    ("metadata-deny-all", [t(Op.DESCRIBE), t(Op.ALL, perm=Perm.DENY)], METADATA, 12, metadata(TOPIC)),
    (
        "metadata-autocreate-no-create",
        [t(Op.DESCRIBE, "acl-new", pattern=PatternType.PREFIXED)],
        METADATA,
        12,
        metadata("acl-new-1", auto=True),
    ),
    (
        "metadata-autocreate-create-topic",
        [t(Op.DESCRIBE, "acl-auto"), t(Op.CREATE, "acl-auto")],
        METADATA,
        12,
        metadata("acl-auto", auto=True),
    ),  # fmt: skip
    ("metadata-unknown-no-auto", [t(Op.DESCRIBE, "*")], METADATA, 12, metadata("acl-absent", auto=False)),
    ("metadata-ops-none", [t(Op.DESCRIBE)], METADATA, 10, metadata(TOPIC, ops=True, version=10)),
    (
        "metadata-ops-some",
        [t(Op.READ), t(Op.ALTER_CONFIGS), c(Op.DESCRIBE), c(Op.IDEMPOTENT_WRITE)],
        METADATA,
        10,
        metadata(TOPIC, ops=True),
    ),
    # Produce: WRITE on the topic, by literal, prefix, wildcard, host; DENY wins; transactional id
    ("produce-none", [], PRODUCE, 9, produce()),
    ("produce-describe-only", [t(Op.DESCRIBE)], PRODUCE, 9, produce()),
    ("produce-write", [t(Op.WRITE)], PRODUCE, 9, produce()),
    ("produce-write-deny-wins", [t(Op.WRITE), t(Op.WRITE, perm=Perm.DENY)], PRODUCE, 9, produce()),
    ("produce-prefixed", [t(Op.WRITE, "acl-", pattern=PatternType.PREFIXED)], PRODUCE, 9, produce()),
    ("produce-wildcard", [t(Op.WRITE, "*")], PRODUCE, 9, produce()),
    ("produce-all", [t(Op.ALL)], PRODUCE, 9, produce()),
    ("produce-other-host", [t(Op.WRITE, host="127.0.0.9")], PRODUCE, 9, produce()),
    ("produce-this-host", [t(Op.WRITE, host="127.0.0.1")], PRODUCE, 9, produce()),
    ("produce-wildcard-principal", [t(Op.WRITE, principal="User:*")], PRODUCE, 9, produce()),
    ("produce-other-principal", [t(Op.WRITE, principal="User:bob")], PRODUCE, 9, produce()),
    ("produce-unknown-topic-denied", [], PRODUCE, 9, produce("acl-absent")),
    ("produce-txn-id-denied", [t(Op.WRITE)], PRODUCE, 9, produce(transactional_id="acl-tx")),
    # Fetch: READ on the topic
    ("fetch-none", [], FETCH, 12, fetch()),
    ("fetch-describe-only", [t(Op.DESCRIBE)], FETCH, 12, fetch()),
    ("fetch-read", [t(Op.READ)], FETCH, 12, fetch()),
    (
        "fetch-read-denied-prefix",
        [t(Op.READ), t(Op.READ, "acl", Perm.DENY, pattern=PatternType.PREFIXED)],
        FETCH,
        12,
        fetch(),
    ),  # fmt: skip
    # ListOffsets: DESCRIBE on the topic
    ("list-offsets-none", [], LIST_OFFSETS, 7, list_offsets()),
    ("list-offsets-describe", [t(Op.DESCRIBE)], LIST_OFFSETS, 7, list_offsets()),
    # Groups
    ("join-group-none", [], JOIN_GROUP, 5, join_group()),
    ("offset-fetch-none", [], OFFSET_FETCH, 7, offset_fetch()),
    ("offset-fetch-group-only", [g(Op.DESCRIBE)], OFFSET_FETCH, 7, offset_fetch()),
    ("offset-commit-none", [], OFFSET_COMMIT, 8, offset_commit()),
    ("offset-commit-group-only", [g(Op.READ)], OFFSET_COMMIT, 8, offset_commit()),
    ("offset-commit-both", [g(Op.READ), t(Op.READ)], OFFSET_COMMIT, 8, offset_commit()),
    ("describe-groups-none", [], DESCRIBE_GROUPS, 5, {"groups": [GROUP], "include_authorized_operations": True}),
    (
        "describe-groups-describe",
        [g(Op.DESCRIBE)],
        DESCRIBE_GROUPS,
        5,
        {"groups": [GROUP], "include_authorized_operations": True},
    ),  # fmt: skip
    ("list-groups-none", [], LIST_GROUPS, 4, {"states_filter": []}),
    ("list-groups-cluster", [c(Op.DESCRIBE)], LIST_GROUPS, 4, {"states_filter": []}),
    ("find-coordinator-group-none", [], FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": [GROUP]}),
    ("find-coordinator-txn-none", [], FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": ["acl-tx"]}),
    ("delete-groups-none", [], DELETE_GROUPS, 2, {"groups_names": [GROUP]}),
    # Topics admin
    ("create-topics-none", [], CREATE_TOPICS, 7, create_topics("acl-created")),
    ("create-topics-topic", [t(Op.CREATE, "acl-created")], CREATE_TOPICS, 7, create_topics("acl-created")),
    ("create-topics-cluster", [c(Op.CREATE)], CREATE_TOPICS, 7, create_topics("acl-created")),
    (
        "delete-topics-none",
        [],
        DELETE_TOPICS,
        6,
        {"topics": [{"name": HIDDEN, "topic_id": uuid.UUID(int=0)}], "timeout": 30000},
    ),  # fmt: skip
    (
        "delete-topics-describe",
        [t(Op.DESCRIBE, HIDDEN)],
        DELETE_TOPICS,
        6,
        {"topics": [{"name": HIDDEN, "topic_id": uuid.UUID(int=0)}], "timeout": 30000},
    ),  # fmt: skip
    (
        "create-partitions-none",
        [],
        CREATE_PARTITIONS,
        3,
        {"topics": [{"name": TOPIC, "count": 2, "assignments": None}], "timeout": 30000, "validate_only": True},
    ),  # fmt: skip
    ("describe-configs-topic-none", [], DESCRIBE_CONFIGS, 4, describe_configs(2, TOPIC)),
    ("describe-configs-topic-alter", [t(Op.ALTER_CONFIGS)], DESCRIBE_CONFIGS, 4, describe_configs(2, TOPIC)),
    ("describe-configs-broker-none", [], DESCRIBE_CONFIGS, 4, describe_configs(4, "1")),
    # Producer ids: idempotence needs IDEMPOTENT_WRITE on the cluster or WRITE on some topic (KIP-679)
    ("init-pid-none", [], INIT_PRODUCER_ID, 4, init_producer_id()),
    ("init-pid-idempotent-write", [c(Op.IDEMPOTENT_WRITE)], INIT_PRODUCER_ID, 4, init_producer_id()),
    ("init-pid-topic-write", [t(Op.WRITE, "x", pattern=PatternType.PREFIXED)], INIT_PRODUCER_ID, 4, init_producer_id()),
    (
        "init-pid-topic-write-denied-by-prefix",
        [t(Op.WRITE, "xy"), t(Op.WRITE, "x", Perm.DENY, pattern=PatternType.PREFIXED)],
        INIT_PRODUCER_ID,
        4,
        init_producer_id(),
    ),  # fmt: skip
    ("init-pid-txn-none", [], INIT_PRODUCER_ID, 4, init_producer_id("acl-tx")),
    # Cluster-level
    (
        "describe-cluster-ops-none",
        [],
        DESCRIBE_CLUSTER,
        1,
        {"include_cluster_authorized_operations": True, "endpoint_type": 1},
    ),  # fmt: skip
    (
        "describe-cluster-ops-some",
        [c(Op.DESCRIBE), c(Op.ALTER)],
        DESCRIBE_CLUSTER,
        1,
        {"include_cluster_authorized_operations": True, "endpoint_type": 1},
    ),  # fmt: skip
    ("describe-acls-none", [], DESCRIBE_ACLS, 3, acl_filter()),
    (
        "create-acls-none",
        [],
        CREATE_ACLS,
        3,
        {
            "creations": [
                {
                    "resource_type": R.TOPIC,
                    "resource_name": TOPIC,
                    "resource_pattern_type": PatternType.LITERAL,
                    "principal": "User:x",
                    "host": "*",
                    "operation": Op.READ,
                    "permission_type": Perm.ALLOW,
                }
            ]
        },
    ),  # fmt: skip
    ("delete-acls-none", [], DELETE_ACLS, 3, {"filters": [acl_filter()]}),
    ("describe-quotas-none", [], DESCRIBE_CLIENT_QUOTAS, 1, {"components": [], "strict": False}),
    # Transactions
    ("add-offsets-to-txn-none", [], ADD_OFFSETS_TO_TXN, 3, {"transactional_id": "acl-tx", **TXN, "group_id": GROUP}),
    (
        "add-offsets-to-txn-no-group",
        [tx(Op.WRITE)],
        ADD_OFFSETS_TO_TXN,
        3,
        {"transactional_id": "acl-tx", **TXN, "group_id": GROUP},
    ),  # fmt: skip
    ("end-txn-none", [], END_TXN, 3, {"transactional_id": "acl-tx", **TXN, "committed": True}),
    ("txn-offset-commit-none", [], TXN_OFFSET_COMMIT, 3, txn_offset_commit()),
    ("txn-offset-commit-no-group", [tx(Op.WRITE)], TXN_OFFSET_COMMIT, 3, txn_offset_commit()),
    ("add-partitions-v3-none", [], ADD_PARTITIONS_TO_TXN, 3, add_partitions_v3()),
    ("add-partitions-v3-no-topic", [tx(Op.WRITE)], ADD_PARTITIONS_TO_TXN, 3, add_partitions_v3()),
    (
        "add-partitions-v3-internal",
        [tx(Op.WRITE), t(Op.WRITE, "*")],
        ADD_PARTITIONS_TO_TXN,
        3,
        add_partitions_v3("__consumer_offsets"),
    ),  # fmt: skip
    ("describe-transactions-none", [], DESCRIBE_TRANSACTIONS, 0, {"transactional_ids": ["acl-tx"]}),
    (
        "list-transactions-none",
        [],
        LIST_TRANSACTIONS,
        1,
        {"state_filters": [], "producer_id_filters": [], "duration_filter": -1},
    ),  # fmt: skip
    # More topic and group APIs
    (
        "delete-records-none",
        [],
        DELETE_RECORDS,
        2,
        {"topics": [{"name": TOPIC, "partitions": [{"partition_index": 0, "offset": 0}]}], "timeout": 30000},
    ),  # fmt: skip
    (
        "offset-for-leader-epoch-none",
        [],
        OFFSET_FOR_LEADER_EPOCH,
        4,
        {
            "replica_id": -1,
            "topics": [
                {"topic": TOPIC, "partitions": [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]}
            ],
        },
    ),  # fmt: skip
    (
        "offset-for-leader-epoch-describe",
        [t(Op.DESCRIBE)],
        OFFSET_FOR_LEADER_EPOCH,
        4,
        {
            "replica_id": -1,
            "topics": [
                {"topic": TOPIC, "partitions": [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]}
            ],
        },
    ),  # fmt: skip
    ("incremental-alter-topic-none", [t(Op.DESCRIBE_CONFIGS)], INCREMENTAL_ALTER_CONFIGS, 1, alter_config(2, TOPIC)),
    (
        "incremental-alter-mixed",
        [t(Op.ALTER_CONFIGS)],
        INCREMENTAL_ALTER_CONFIGS,
        1,
        {
            "resources": [*alter_config(2, TOPIC)["resources"], *alter_config(2, HIDDEN)["resources"]],
            "validate_only": True,
        },
    ),  # fmt: skip
    (
        "alter-configs-mixed",
        [t(Op.ALTER_CONFIGS)],
        ALTER_CONFIGS,
        2,
        {
            "resources": [
                {"resource_type": 2, "resource_name": n, "configs": [{"name": "retention.ms", "value": "100000"}]}
                for n in (TOPIC, HIDDEN)
            ],
            "validate_only": True,
        },
    ),  # fmt: skip
    (
        "create-topics-mixed",
        [t(Op.CREATE, "acl-created")],  # no DESCRIBE_CONFIGS: the echoed configs differ apart from authorization
        CREATE_TOPICS,
        7,
        {
            **create_topics("acl-created"),
            "topics": [*create_topics("acl-created")["topics"], *create_topics("acl-other")["topics"]],
        },
    ),  # fmt: skip
    ("incremental-alter-broker-none", [], INCREMENTAL_ALTER_CONFIGS, 1, alter_config(4, "")),
    (
        "describe-topic-partitions-none",
        [],
        DESCRIBE_TOPIC_PARTITIONS,
        0,
        {"topics": [{"name": TOPIC}, {"name": HIDDEN}], "response_partition_limit": 100, "cursor": None},
    ),  # fmt: skip
    (
        "describe-topic-partitions-some",
        [t(Op.READ)],
        DESCRIBE_TOPIC_PARTITIONS,
        0,
        {"topics": [{"name": TOPIC}, {"name": HIDDEN}], "response_partition_limit": 100, "cursor": None},
    ),  # fmt: skip
    ("describe-producers-none", [], DESCRIBE_PRODUCERS, 0, {"topics": [{"name": TOPIC, "partition_indexes": [0]}]}),
    (
        "offset-delete-none",
        [],
        OFFSET_DELETE,
        0,
        {"group_id": GROUP, "topics": [{"name": TOPIC, "partitions": [{"partition_index": 0}]}]},
    ),  # fmt: skip
    (
        "consumer-group-heartbeat-none",
        [],
        CONSUMER_GROUP_HEARTBEAT,
        0,
        {
            "group_id": GROUP,
            "member_id": "m1",
            "member_epoch": 0,
            "instance_id": None,
            "rack_id": None,
            "rebalance_timeout": 30000,
            "subscribed_topic_names": [TOPIC],
            "server_assignor": None,
            "topic_partitions": [],
        },
    ),  # fmt: skip
    # Cluster administration
    ("elect-leaders-none", [], ELECT_LEADERS, 2, {"election_type": 0, "topic_partitions": None, "timeout": 30000}),
    ("list-reassignments-none", [], LIST_REASSIGNMENTS, 0, {"timeout": 30000, "topics": None}),
    ("describe-log-dirs-none", [], DESCRIBE_LOG_DIRS, 4, {"topics": None}),
    (
        "describe-quorum-none",
        [],
        DESCRIBE_QUORUM,
        2,
        {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]},
    ),  # fmt: skip
    (
        "alter-client-quotas-none",
        [],
        ALTER_CLIENT_QUOTAS,
        1,
        {
            "entries": [
                {
                    "entity": [{"entity_type": "user", "entity_name": "u"}],
                    "ops": [{"key": "producer_byte_rate", "value": 1000.0, "remove": False}],
                }
            ],
            "validate_only": True,
        },
    ),  # fmt: skip
    ("metadata-v0-all", [t(Op.DESCRIBE)], METADATA, 0, {"topics": []}),
    # The ACL APIs themselves, as a principal with cluster ALTER
    (
        "create-acls-invalid",
        [c(Op.ALTER)],
        CREATE_ACLS,
        3,
        {
            "creations": [
                {
                    "resource_type": R.CLUSTER,
                    "resource_name": "other",
                    "resource_pattern_type": PatternType.LITERAL,
                    "principal": "User:x",
                    "host": "*",
                    "operation": Op.ALTER,
                    "permission_type": Perm.ALLOW,
                },
                {
                    "resource_type": R.TOPIC,
                    "resource_name": "",
                    "resource_pattern_type": PatternType.LITERAL,
                    "principal": "User:x",
                    "host": "*",
                    "operation": Op.READ,
                    "permission_type": Perm.ALLOW,
                },
                {
                    "resource_type": R.TOPIC,
                    "resource_name": "t",
                    "resource_pattern_type": PatternType.LITERAL,
                    "principal": "User:x",
                    "host": "*",
                    "operation": Op.ANY,
                    "permission_type": Perm.ALLOW,
                },
                {
                    "resource_type": R.TOPIC,
                    "resource_name": "t",
                    "resource_pattern_type": PatternType.MATCH,
                    "principal": "User:x",
                    "host": "*",
                    "operation": Op.READ,
                    "permission_type": Perm.ALLOW,
                },
                {
                    "resource_type": R.TOPIC,
                    "resource_name": "t",
                    "resource_pattern_type": PatternType.LITERAL,
                    "principal": "nocolon",
                    "host": "*",
                    "operation": Op.READ,
                    "permission_type": Perm.ALLOW,
                },
                {
                    "resource_type": R.TOPIC,
                    "resource_name": "acl-new",
                    "resource_pattern_type": PatternType.PREFIXED,
                    "principal": "User:x",
                    "host": "*",
                    "operation": Op.READ,
                    "permission_type": Perm.DENY,
                },
            ]
        },
    ),  # fmt: skip
    (
        "describe-acls-match",
        [c(Op.DESCRIBE), t(Op.READ, "acl", pattern=PatternType.PREFIXED), t(Op.WRITE, "*"), t(Op.READ, perm=Perm.DENY)],
        DESCRIBE_ACLS,
        3,
        acl_filter(pattern_type_filter=PatternType.MATCH),
    ),  # fmt: skip
    (
        "delete-acls-filters",
        [c(Op.ALTER), t(Op.READ, "acl", pattern=PatternType.PREFIXED), t(Op.WRITE, "*")],
        DELETE_ACLS,
        3,
        {
            "filters": [
                acl_filter(pattern_type_filter=PatternType.MATCH, operation=Op.READ),
                acl_filter(resource_name_filter="*", principal_filter="User:ANONYMOUS"),
            ]
        },
    ),  # fmt: skip
]

# Kafka's authorization messages name its connection ("Request Request(processor=.., connectionId=..,
# ...) needs ALTER permission."): compare the operation only.
_REQUEST = re.compile(r"Request Request\(.*\) needs (\w+) permission\.")


def _tidy(value):
    if isinstance(value, dict):
        return {k: _tidy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_tidy(v) for v in value]
    if isinstance(value, str):
        return _REQUEST.sub(r"<request> needs \1 permission.", value)
    return value


@pytest.fixture(scope="module")
def pair(acl_pair: AclPair) -> AclPair:  # noqa: F811
    """The pair with the topics the cases use, created by each admin."""
    for admin in acl_pair.admins():
        with admin() as conn:
            for name in (TOPIC, HIDDEN):
                body = {**create_topics(name), "validate_only": False}
                answer = conn.call(CREATE_TOPICS, 7, body)
                assert answer["topics"][0]["error_code"] in (0, 36), answer
    for side in (acl_pair.kafka, acl_pair.kavka):
        wait_until(lambda: _has_leader(side.bootstrap), 30, message=f"{TOPIC} led on {side.bootstrap}")
    return acl_pair


def _has_leader(bootstrap: str) -> bool:
    from tests.oracle.oraclewire import call

    # before any ACL: asked as the admin would see it is not possible here, so ask as a super grant-less
    # client and accept TOPIC_AUTHORIZATION_FAILED as "exists" (Kafka answers it whether or not)
    answer = call(bootstrap, METADATA, 12, metadata(TOPIC))
    return answer["topics"][0]["error_code"] in (0, 29)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_acl_matrix(pair: AclPair, case) -> None:
    _, acls, api_key, version, body = case
    pair.set_acls(acls)
    if case[0] == "metadata-autocreate-create-topic":
        # Kafka creates the topic after answering (UNKNOWN_TOPIC_OR_PARTITION first), Kavka before: ask
        # until both have it (docs/compatibility.md, auto-creation), then compare
        kafka, kavka = wait_until(lambda: _created(pair.both(api_key, version, body)), 30, message="the topic on both")
    elif api_key == INIT_PRODUCER_ID:
        # Kafka answers COORDINATOR_LOAD_IN_PROGRESS until its first producer id block is in: ask again
        kafka, kavka = wait_until(lambda: _settled(pair.both(api_key, version, body)), 30, message="producer ids")
    else:
        kafka, kavka = pair.both(api_key, version, body)
    found = differences(_tidy(kafka), _tidy(kavka))
    assert found == [], "\n".join(found) + f"\nkafka={kafka}\nkavka={kavka}"


def _created(answers):
    """Both Metadata answers once every topic in them is answered without error."""
    return answers if all(t["error_code"] == 0 for a in answers for t in a["topics"]) else None


def _settled(answers):
    """Both answers once neither is COORDINATOR_LOAD_IN_PROGRESS; producer ids (which differ with each
    broker's history) as a placeholder."""
    if any(a["error_code"] == 14 for a in answers):
        return None
    return tuple({**a, "producer_id": "<id>" if a["producer_id"] >= 0 else a["producer_id"]} for a in answers)


@pytest.mark.parametrize("api_key", [DESCRIBE_ACLS, DELETE_ACLS])
def test_a_filter_with_unknown_elements_closes_the_connection(pair: AclPair, api_key) -> None:
    """Kafka cannot parse it ("Filters contain UNKNOWN elements") and closes; so does Kavka, and the
    broker goes on serving."""
    pair.set_acls([c(Op.ALL)])
    f = acl_filter(pattern_type_filter=PatternType.UNKNOWN)
    body = f if api_key == DESCRIBE_ACLS else {"filters": [f]}
    for side in (pair.kafka, pair.kavka):
        with pytest.raises(AssertionError, match="connection closed"):
            call(side.bootstrap, api_key, 3, body)
        assert call(side.bootstrap, DESCRIBE_ACLS, 3, acl_filter())["error_code"] == 0
