"""The admin APIs at the wire, for what the client libraries cannot send or do not show.

confluent-kafka routes a broker resource to that broker (so "broker 2" never reaches us), hides
``config_type`` and documentation, and has no OffsetForLeaderEpoch or ElectLeaders call; these tests
speak the protocol directly: a request built from a dict with kio's request classes, the response read
back with kio, each at the lowest and highest version served.
"""

from __future__ import annotations

import pytest

from tests.clients.adminwire import (
    ALTER_CONFIGS,
    BROKER,
    BROKER_LOGGER,
    CREATE_PARTITIONS,
    DELETE_RECORDS,
    DESCRIBE_CONFIGS,
    DESCRIBE_LOG_DIRS,
    ELECT_LEADERS,
    INCREMENTAL_ALTER_CONFIGS,
    OFFSET_FOR_LEADER_EPOCH,
    TOPIC,
    call,
    describe,
)
from tests.clients.clientlib import Out, ck_produce

# -- DescribeConfigs -------------------------------------------------------------------------------


def test_describe_configs_v1_and_v4_fields(bootstrap, create_topic):
    topic = create_topic(configs={"retention.ms": "5000"})
    resource = {"resource_type": TOPIC, "resource_name": topic, "configuration_keys": ["retention.ms", "flush.ms"]}
    v1 = call(bootstrap, DESCRIBE_CONFIGS, 1, {"resources": [resource], "include_synonyms": False})
    [result] = v1.results
    assert result.error_code == 0 and result.resource_name == topic
    entries = {c.name: c for c in result.configs}
    assert set(entries) == {"retention.ms", "flush.ms"}
    assert entries["retention.ms"].value == "5000" and entries["retention.ms"].config_source == 1
    assert entries["retention.ms"].synonyms == ()
    assert entries["flush.ms"].config_source == 5

    v4 = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {"resources": [resource], "include_synonyms": True, "include_documentation": True},
    )
    entries = {c.name: c for c in v4.results[0].configs}
    retention = entries["retention.ms"]
    assert retention.config_type == 5  # LONG
    assert retention.documentation and "retain" in retention.documentation.lower()
    # Kafka lists broker synonyms from the primary name (log.retention.ms) on: none while it is unset.
    assert [(s.name, s.value, s.source) for s in retention.synonyms] == [("retention.ms", "5000", 1)]
    v4_nodoc = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {"resources": [resource], "include_synonyms": False, "include_documentation": False},
    )
    assert all(c.documentation is None for c in v4_nodoc.results[0].configs)


def test_describe_configs_empty_key_list_means_all(bootstrap, create_topic):
    topic = create_topic()
    r = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {"resources": [{"resource_type": TOPIC, "resource_name": topic, "configuration_keys": []}]},
    )
    assert len(r.results[0].configs) > 20


def test_describe_configs_errors(bootstrap, topic_name):
    r = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {
            "resources": [
                {"resource_type": BROKER, "resource_name": "2", "configuration_keys": None},
                {"resource_type": BROKER, "resource_name": "x", "configuration_keys": None},
                {"resource_type": TOPIC, "resource_name": topic_name, "configuration_keys": None},
                {"resource_type": TOPIC, "resource_name": "", "configuration_keys": None},
            ]
        },
    )
    got = [(x.error_code, x.error_message, len(x.configs)) for x in r.results]
    assert got == [
        (42, "Unexpected broker id, expected 1 or empty string, but received 2", 0),
        (42, "Broker id must be an integer, but it is: x", 0),
        (3, "", 0),  # Kafka sends "", not null
        (17, "Topic name is invalid: the empty string is not allowed", 0),
    ]


def test_describe_configs_unknown_resource_type_fails_every_resource(bootstrap, create_topic):
    topic = create_topic()
    r = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {
            "resources": [
                {"resource_type": TOPIC, "resource_name": topic, "configuration_keys": None},
                {"resource_type": 99, "resource_name": "x", "configuration_keys": None},
            ]
        },
    )
    assert [x.error_code for x in r.results] == [42, 42]


def test_describe_broker_logger(bootstrap):
    r = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {"resources": [{"resource_type": BROKER_LOGGER, "resource_name": "1", "configuration_keys": None}]},
    )
    [result] = r.results
    assert result.error_code == 0
    entries = {c.name: c for c in result.configs}
    assert "root" in entries and entries["root"].config_source == 6


def test_create_topics_and_describe_configs_agree(bootstrap, new_topic_name):
    name = new_topic_name("agree")
    r = call(
        bootstrap,
        19,
        7,
        {
            "timeout": 10000,
            "validate_only": False,
            "topics": [
                {
                    "name": name,
                    "num_partitions": 1,
                    "replication_factor": 1,
                    "assignments": [],
                    "configs": [
                        {"name": "retention.ms", "value": "5000"},
                        {"name": "cleanup.policy", "value": "compact"},
                    ],
                }
            ],
        },
    )
    [t] = r.topics
    assert t.error_code == 0
    created = {c.name: (c.value, c.config_source, c.read_only, c.is_sensitive) for c in t.configs}
    described = {
        n: (e.value, e.config_source, e.read_only, e.is_sensitive) for n, e in describe(bootstrap, TOPIC, name).items()
    }
    assert created == described
    assert described["retention.ms"] == ("5000", 1, False, False)
    assert described["cleanup.policy"] == ("compact", 1, False, False)


def test_sensitive_broker_config_value_is_null(broker_factory):
    b = broker_factory(overrides={"console.auth": "admin:secret"})
    entries = describe(b.bootstrap, BROKER, "1", ["console.auth", "log.dirs"])
    auth = entries["console.auth"]
    assert (auth.value, auth.is_sensitive, auth.read_only, auth.config_source, auth.config_type) == (
        None,
        True,
        True,
        4,
        9,
    )  # STATIC_BROKER_CONFIG, PASSWORD
    assert [(s.name, s.value, s.source) for s in auth.synonyms] == [("console.auth", None, 4)]
    assert entries["log.dirs"].value == str(b.data_dir)


# -- AlterConfigs / IncrementalAlterConfigs edge cases -------------------------------------------


def test_incremental_alter_configs_request_level_checks(bootstrap, create_topic):
    topic = create_topic()
    other = create_topic()
    r = call(
        bootstrap,
        INCREMENTAL_ALTER_CONFIGS,
        1,
        {
            "validate_only": False,
            "resources": [
                {
                    "resource_type": TOPIC,
                    "resource_name": topic,
                    "configs": [
                        {"name": "retention.ms", "config_operation": 0, "value": "1"},
                        {"name": "retention.ms", "config_operation": 0, "value": "2"},
                    ],
                },
                {
                    "resource_type": TOPIC,
                    "resource_name": other,
                    "configs": [{"name": "retention.ms", "config_operation": 0, "value": None}],
                },
                {"resource_type": 16, "resource_name": "x", "configs": []},
            ],
        },
    )
    assert [(x.error_code, x.error_message) for x in r.responses] == [
        (42, "Error due to duplicate config keys"),
        (42, "Null value not supported for : retention.ms"),
        (42, "Unknown resource type 16"),
    ]
    r = call(
        bootstrap,
        INCREMENTAL_ALTER_CONFIGS,
        0,
        {
            "validate_only": False,
            "resources": [
                {"resource_type": TOPIC, "resource_name": topic, "configs": []},
                {"resource_type": TOPIC, "resource_name": topic, "configs": []},
            ],
        },
    )
    assert [(x.error_code, x.error_message) for x in r.responses] == [
        (42, "Each resource must appear at most once.")
    ] * 2


def test_legacy_alter_configs_v0(bootstrap, create_topic):
    topic = create_topic()
    r = call(
        bootstrap,
        ALTER_CONFIGS,
        0,
        {
            "validate_only": False,
            "resources": [
                {"resource_type": TOPIC, "resource_name": topic, "configs": [{"name": "segment.ms", "value": "60000"}]},
                {"resource_type": BROKER, "resource_name": "1", "configs": [{"name": "node.id", "value": "4"}]},
            ],
        },
    )
    assert [(x.error_code, x.error_message) for x in r.responses] == [
        (0, None),
        (42, "Cannot update these configs dynamically: [node.id]"),
    ]
    d = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        1,
        {"resources": [{"resource_type": TOPIC, "resource_name": topic, "configuration_keys": ["segment.ms"]}]},
    )
    assert d.results[0].configs[0].value == "60000"


def test_broker_logger_levels(bootstrap):
    r = call(
        bootstrap,
        INCREMENTAL_ALTER_CONFIGS,
        1,
        {
            "validate_only": False,
            "resources": [
                {
                    "resource_type": BROKER_LOGGER,
                    "resource_name": "1",
                    "configs": [{"name": "kavka.broker", "config_operation": 0, "value": "DEBUG"}],
                }
            ],
        },
    )
    assert r.responses[0].error_code == 0
    d = call(
        bootstrap,
        DESCRIBE_CONFIGS,
        4,
        {"resources": [{"resource_type": BROKER_LOGGER, "resource_name": "1", "configuration_keys": ["kavka.broker"]}]},
    )
    assert [(c.name, c.value) for c in d.results[0].configs] == [("kavka.broker", "DEBUG")]
    r = call(
        bootstrap,
        INCREMENTAL_ALTER_CONFIGS,
        1,
        {
            "validate_only": False,
            "resources": [
                {
                    "resource_type": BROKER_LOGGER,
                    "resource_name": "1",
                    "configs": [
                        {"name": "kavka.broker", "config_operation": 1, "value": None},
                        {"name": "kavka", "config_operation": 0, "value": "LOUD"},
                    ],
                }
            ],
        },
    )
    assert (r.responses[0].error_code, r.responses[0].error_message) == (
        40,
        "Cannot set the log level of kavka to LOUD as it is not a supported log level. "
        "Valid log levels are DEBUG,ERROR,FATAL,INFO,TRACE,WARN",
    )
    r = call(
        bootstrap,
        INCREMENTAL_ALTER_CONFIGS,
        1,
        {
            "validate_only": False,
            "resources": [
                {
                    "resource_type": BROKER_LOGGER,
                    "resource_name": "1",
                    "configs": [{"name": "kavka.broker", "config_operation": 1, "value": None}],
                }
            ],
        },
    )
    assert r.responses[0].error_code == 0


# -- OffsetForLeaderEpoch --------------------------------------------------------------------------


@pytest.mark.parametrize("version", [2, 3, 4])
def test_offset_for_leader_epoch(bootstrap, create_topic, topic_name, version):
    topic = create_topic(partitions=2)
    ck_produce(bootstrap, topic, [Out(b"k", b"v%d" % i, partition=0) for i in range(5)])
    body = {
        "replica_id": -1,
        "topics": [
            {
                "topic": topic,
                "partitions": [
                    {"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0},
                    {"partition": 0, "current_leader_epoch": 0, "leader_epoch": 7},  # newer than any: unknown
                    {"partition": 1, "current_leader_epoch": -1, "leader_epoch": 0},
                    {"partition": 0, "current_leader_epoch": 3, "leader_epoch": 0},
                    {"partition": 9, "current_leader_epoch": -1, "leader_epoch": 0},
                ],
            },
            {"topic": topic_name, "partitions": [{"partition": 0, "current_leader_epoch": -1, "leader_epoch": 0}]},
        ],
    }
    r = call(bootstrap, OFFSET_FOR_LEADER_EPOCH, version, body)
    got = [[(p.partition, p.error_code, p.leader_epoch, p.end_offset) for p in t.partitions] for t in r.topics]
    assert got == [
        [(0, 0, 0, 5), (0, 0, -1, -1), (1, 0, -1, -1), (0, 75, -1, -1), (9, 3, -1, -1)],
        [(0, 3, -1, -1)],
    ]


# -- ElectLeaders ----------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [0, 1, 2])
def test_elect_leaders_not_needed_on_one_node(bootstrap, create_topic, topic_name, version):
    topic = create_topic(partitions=2)
    body = {
        "election_type": 0,
        "timeout": 10000,
        "topic_partitions": [{"topic": topic, "partitions": [0, 1, 5]}, {"topic": topic_name, "partitions": [0]}],
    }
    r = call(bootstrap, ELECT_LEADERS, version, body)
    got = {
        t.topic: [(p.partition_id, p.error_code, p.error_message) for p in t.partition_result]
        for t in r.replica_election_results
    }
    not_needed = "Leader election not needed for topic partition."
    assert got == {
        topic: [(0, 84, not_needed), (1, 84, not_needed), (5, 3, f"No such partition as {topic}-5")],
        topic_name: [(0, 3, f"No such topic as {topic_name}")],
    }
    # All partitions: those not needing an election are left out.
    r = call(bootstrap, ELECT_LEADERS, version, {"election_type": 0, "timeout": 10000, "topic_partitions": None})
    assert all(t.partition_result == () for t in r.replica_election_results)
    assert topic in {t.topic for t in r.replica_election_results}


def test_elect_leaders_unclean_and_unknown_type(bootstrap, create_topic):
    topic = create_topic()
    r = call(
        bootstrap,
        ELECT_LEADERS,
        2,
        {"election_type": 1, "timeout": 10000, "topic_partitions": [{"topic": topic, "partitions": [0]}]},
    )
    assert r.replica_election_results[0].partition_result[0].error_code == 84
    r = call(
        bootstrap,
        ELECT_LEADERS,
        2,
        {"election_type": 7, "timeout": 10000, "topic_partitions": [{"topic": topic, "partitions": [0]}]},
    )
    assert r.error_code == 42
    assert r.replica_election_results[0].partition_result[0].error_message == "Unknown election type 7"


# -- DescribeLogDirs -------------------------------------------------------------------------------


@pytest.mark.parametrize("version", [1, 2, 3, 4])
def test_describe_log_dirs(bootstrap, broker, create_topic, version):
    topic = create_topic(partitions=2)
    ck_produce(bootstrap, topic, [Out(b"k", b"x" * 1000, partition=1) for _ in range(10)])
    r = call(bootstrap, DESCRIBE_LOG_DIRS, version, {"topics": [{"topic": topic, "partitions": [0, 1, 7]}]})
    [d] = r.results
    assert d.error_code == 0 and d.log_dir == str(broker.data_dir)
    [t] = d.topics
    assert t.name == topic
    sizes = {p.partition_index: p.partition_size for p in t.partitions}
    assert set(sizes) == {0, 1} and sizes[0] == 0 and sizes[1] > 10_000
    assert all(p.offset_lag == 0 and p.is_future_key is False for p in t.partitions)
    if version >= 4:
        assert d.total_bytes > 0 and 0 <= d.usable_bytes <= d.total_bytes
    everything = call(bootstrap, DESCRIBE_LOG_DIRS, version, {"topics": None})
    names = {t.name for t in everything.results[0].topics}
    assert topic in names and "__cluster_metadata" not in names


# -- DeleteRecords / CreatePartitions at the wire --------------------------------------------------


def test_delete_records_errors(bootstrap, create_topic, topic_name):
    topic = create_topic()
    compacted = create_topic(configs={"cleanup.policy": "compact"})
    ck_produce(bootstrap, topic, [Out(b"k", b"v%d" % i) for i in range(10)])
    r = call(
        bootstrap,
        DELETE_RECORDS,
        0,
        {
            "timeout": 10000,
            "topics": [
                {
                    "name": topic,
                    "partitions": [
                        {"partition_index": 0, "offset": 11},
                        {"partition_index": 0, "offset": -2},
                        {"partition_index": 3, "offset": 1},
                    ],
                },
                {"name": compacted, "partitions": [{"partition_index": 0, "offset": 0}]},
                {"name": topic_name, "partitions": [{"partition_index": 0, "offset": 0}]},
                {"name": "__consumer_offsets", "partitions": [{"partition_index": 0, "offset": 0}]},
            ],
        },
    )
    got = [[(p.partition_index, p.error_code, p.low_watermark) for p in t.partitions] for t in r.topics]
    assert got == [[(0, 1, -1), (0, 1, -1), (3, 3, -1)], [(0, 44, -1)], [(0, 3, -1)], [(0, 17, -1)]]
    r = call(
        bootstrap,
        DELETE_RECORDS,
        2,
        {"timeout": 10000, "topics": [{"name": topic, "partitions": [{"partition_index": 0, "offset": 4}]}]},
    )
    assert r.topics[0].partitions[0].low_watermark == 4
    # Lower than the current start: nothing changes, the answer is the current low watermark.
    r = call(
        bootstrap,
        DELETE_RECORDS,
        2,
        {"timeout": 10000, "topics": [{"name": topic, "partitions": [{"partition_index": 0, "offset": 2}]}]},
    )
    assert (r.topics[0].partitions[0].error_code, r.topics[0].partitions[0].low_watermark) == (0, 4)


@pytest.mark.parametrize("version", [0, 3])
def test_create_partitions_with_assignments_and_validate_only(bootstrap, create_topic, version):
    topic = create_topic(partitions=1)
    r = call(
        bootstrap,
        CREATE_PARTITIONS,
        version,
        {
            "timeout": 10000,
            "validate_only": True,
            "topics": [{"name": topic, "count": 3, "assignments": [{"broker_ids": [1]}, {"broker_ids": [1]}]}],
        },
    )
    assert (r.results[0].error_code, r.results[0].error_message) == (0, None)
    r = call(
        bootstrap,
        CREATE_PARTITIONS,
        version,
        {
            "timeout": 10000,
            "validate_only": False,
            "topics": [{"name": topic, "count": 3, "assignments": [{"broker_ids": [1]}]}],
        },
    )
    assert (r.results[0].error_code, r.results[0].error_message) == (
        39,
        "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified.",
    )
    r = call(
        bootstrap,
        CREATE_PARTITIONS,
        version,
        {
            "timeout": 10000,
            "validate_only": False,
            "topics": [{"name": topic, "count": 3, "assignments": [{"broker_ids": [1]}, {"broker_ids": [1]}]}],
        },
    )
    assert r.results[0].error_code == 0
    r = call(
        bootstrap,
        CREATE_PARTITIONS,
        version,
        {"timeout": 10000, "validate_only": False, "topics": [{"name": topic, "count": 3, "assignments": None}]},
    )
    assert (r.results[0].error_code, r.results[0].error_message) == (37, "Topic already has 3 partition(s).")
