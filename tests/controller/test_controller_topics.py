import random
import string
import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kavka.controller import (
    AlterableConfig,
    AlterConfigOp,
    AlterConfigsResource,
    CreatableTopic,
    CreatePartitionsTopic,
    ErrorCode,
    QuorumController,
)
from kavka.controller.topics import topic_name_error
from kavka.metadata.config import BrokerConfig, ConfigSource, Listener
from kavka.metadata.image import MetadataImage, apply_all
from kavka.metadata.records import ConfigRecord, ConfigResourceType, TopicRecord, decode_record
from kavka.raft.local import InMemoryMetadataLogStore, LocalMetadataQuorum

TOPIC, BROKER = ConfigResourceType.TOPIC, ConfigResourceType.BROKER


def make(brokers=1, props=None):
    store = InMemoryMetadataLogStore()
    quorum = LocalMetadataQuorum(store, "cluster-1")
    controller = QuorumController(quorum, BrokerConfig.for_serve(props), rng=random.Random(0))
    controller.bootstrap()
    for b in range(1, brokers + 1):
        controller.register_broker(b, [Listener("PLAINTEXT", "127.0.0.1", 9091 + b)])
    return controller, quorum, store


def create(c, *topics, validate_only=False):
    results, records = c.create_topics(list(topics), validate_only)
    return results, records


def one(c, topic, **kw):
    results, records = create(c, topic, **kw)
    assert len(results) == 1
    return results[0], records


# ---- names

legal_names = st.text(string.ascii_letters + string.digits + "._-", min_size=1, max_size=249).filter(
    lambda n: n not in (".", "..")
)


@given(legal_names)
def test_legal_names_accepted(name):
    assert topic_name_error(name) is None


@given(
    legal_names, st.characters().filter(lambda ch: ch not in string.ascii_letters + string.digits + "._-"), st.data()
)
def test_any_illegal_char_rejected(name, bad, data):
    pos = data.draw(st.integers(0, len(name)))
    candidate = (name[:pos] + bad + name[pos:])[:249]
    if bad not in candidate:
        candidate = bad + name[:248]
    assert topic_name_error(candidate) is not None


@pytest.mark.parametrize(
    "name, message",
    [
        ("", "Topic name is invalid: the empty string is not allowed"),
        (".", "Topic name is invalid: '.' is not allowed"),
        ("..", "Topic name is invalid: '..' is not allowed"),
        ("a" * 250, f"Topic name is invalid: the length of '{'a' * 250}' is longer than the max allowed length 249"),
        (
            "a b",
            "Topic name is invalid: 'a b' contains one or more characters other than ASCII alphanumerics, "
            "'.', '_' and '-'",
        ),
        (
            "é",
            "Topic name is invalid: 'é' contains one or more characters other than ASCII alphanumerics, "
            "'.', '_' and '-'",
        ),
    ],
)
def test_invalid_topic_names(name, message):
    c, *_ = make()
    result, records = one(c, CreatableTopic(name))
    assert (result.error_code, result.error_message) == (ErrorCode.INVALID_TOPIC_EXCEPTION, message)
    assert records == []


def test_max_length_name_ok():
    c, *_ = make()
    result, _ = one(c, CreatableTopic("a" * 249))
    assert result.error_code == 0


# ---- create


def test_create_defaults():
    c, q, _ = make(props={"num.partitions": "3"})
    result, records = one(c, CreatableTopic("orders", configs={"cleanup.policy": "compact"}))
    assert result.error_code == 0 and result.error_message is None
    assert (result.num_partitions, result.replication_factor) == (3, 1)
    assert result.topic_id.version == 4
    entries = {e.name: e for e in result.configs}
    assert entries["cleanup.policy"].value == "compact"
    assert entries["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG
    # Kafka's record order: TopicRecord, ConfigRecords, PartitionRecords
    assert [type(r).__name__ for r in records] == ["TopicRecord", "ConfigRecord"] + ["PartitionRecord"] * 3
    topic = q.image.topic("orders")
    assert topic.topic_id == result.topic_id
    assert topic.configs == {"cleanup.policy": "compact"}
    for p in topic.partitions.values():
        assert (p.leader, p.replicas, p.isr, p.leader_epoch, p.partition_epoch) == (1, (1,), (1,), 0, 0)


def test_create_round_robin_over_brokers():
    c, q, _ = make(brokers=3)
    result, _ = one(c, CreatableTopic("t", 6, 2))
    assert result.error_code == 0
    topic = q.image.topic("t")
    leaders = [topic.partitions[p].leader for p in range(6)]
    assert sorted(leaders) == [1, 1, 2, 2, 3, 3]
    for p in topic.partitions.values():
        assert len(set(p.replicas)) == 2 and p.leader == p.replicas[0] and p.isr == p.replicas


def test_already_exists():
    c, *_ = make()
    one(c, CreatableTopic("t"))
    result, records = one(c, CreatableTopic("t"))
    assert (result.error_code, result.error_message) == (36, "Topic 't' already exists.")
    assert records == []


def test_collision():
    c, *_ = make()
    one(c, CreatableTopic("a.b"))
    result, _ = one(c, CreatableTopic("a_b"))
    assert (result.error_code, result.error_message) == (17, "Topic 'a_b' collides with existing topic: a.b")
    results, _ = create(c, CreatableTopic("x_y"), CreatableTopic("x.y"))
    assert [r.error_code for r in results] == [0, 17]


@pytest.mark.parametrize("n", [0, -2, -100])
def test_invalid_partitions(n):
    c, *_ = make()
    result, _ = one(c, CreatableTopic("t", num_partitions=n))
    assert (result.error_code, result.error_message) == (
        37,
        "Number of partitions was set to an invalid non-positive value.",
    )


@pytest.mark.parametrize("rf", [0, -2])
def test_invalid_replication_factor(rf):
    c, *_ = make()
    result, _ = one(c, CreatableTopic("t", replication_factor=rf))
    assert (result.error_code, result.error_message) == (
        38,
        "Replication factor must be larger than 0, or -1 to use the default value.",
    )


def test_replication_factor_above_brokers():
    c, *_ = make()
    result, _ = one(c, CreatableTopic("t", 1, 3))
    assert (result.error_code, result.error_message) == (
        38,
        "Unable to replicate the partition 3 time(s): The target replication factor of 3 cannot be "
        "reached because only 1 broker(s) are registered or some brokers have all their log directories cordoned.",
    )


def test_default_replication_factor_from_config():
    c, *_ = make(props={"default.replication.factor": "2"})
    result, _ = one(c, CreatableTopic("t"))
    assert result.error_code == 38


@pytest.mark.parametrize(
    "configs, message",
    [
        ({"foo": "1"}, "Unknown topic config name: foo"),
        ({"retention.ms": "abc"}, "Invalid value abc for configuration retention.ms: Not a number of type LONG"),
        (
            {"cleanup.policy": "nope"},
            "Invalid value nope for configuration cleanup.policy: String must be one of: compact, delete",
        ),
        ({"retention.ms": None}, "Null value not supported for topic configs: retention.ms"),
    ],
)
def test_invalid_config(configs, message):
    c, *_ = make()
    result, records = one(c, CreatableTopic("t", configs=configs))
    assert (result.error_code, result.error_message) == (40, message)
    assert records == []


def test_duplicate_names_in_request_and_metadata_topic():
    c, *_ = make()
    results, records = create(c, CreatableTopic("t"), CreatableTopic("t"), CreatableTopic("__cluster_metadata"))
    assert [(r.error_code, r.error_message) for r in results] == [
        (42, "Duplicate topic name."),
        (42, "Duplicate topic name."),
        (42, "Creation of internal topic __cluster_metadata is prohibited."),
    ]
    assert records == []


def test_manual_assignment():
    c, q, _ = make(brokers=2)
    result, _ = one(c, CreatableTopic("t", assignments={0: [2, 1], 1: [1, 2]}))
    assert result.error_code == 0 and (result.num_partitions, result.replication_factor) == (2, 2)
    assert q.image.partition("t", 0).leader == 2
    bad = [
        (CreatableTopic("u", 1, assignments={0: [1]}), 42),
        (CreatableTopic("u", replication_factor=1, assignments={0: [1]}), 42),
        (CreatableTopic("u", assignments={0: [1], 2: [2]}), 39),
        (CreatableTopic("u", assignments={0: [1, 1]}), 39),
        (CreatableTopic("u", assignments={0: [7]}), 39),
        (CreatableTopic("u", assignments={0: [1], 1: [1, 2]}), 39),
    ]
    for topic, code in bad:
        assert one(c, topic)[0].error_code == code, topic


def test_validate_only_writes_nothing():
    c, q, store = make()
    before_image, before_commits = q.image, len(store.commits)
    result, records = one(c, CreatableTopic("t", 2), validate_only=True)
    assert result.error_code == 0 and result.num_partitions == 2
    assert records == []
    assert q.image is before_image and len(store.commits) == before_commits
    assert one(c, CreatableTopic("t"))[0].error_code == 0  # not created by the dry run


def test_mixed_request_commits_only_successes():
    c, q, _ = make()
    results, records = create(c, CreatableTopic("ok"), CreatableTopic("bad name"), CreatableTopic("ok2", 2))
    assert [r.error_code for r in results] == [0, 17, 0]
    assert {r.name for r in records if isinstance(r, TopicRecord)} == {"ok", "ok2"}
    assert set(q.image.topics_by_name) == {"ok", "ok2"}


# ---- delete


def test_delete_by_name_and_id():
    c, q, _ = make()
    (_r1, _), (r2, _) = one(c, CreatableTopic("a")), one(c, CreatableTopic("b"))
    results, records = c.delete_topics(["a"], [r2.topic_id])
    assert sorted((r.name, r.error_code) for r in results) == [("a", 0), ("b", 0)]
    assert len(records) == 2
    assert q.image.topics_by_name == {}


def test_delete_errors():
    c, q, _ = make()
    r, _ = one(c, CreatableTopic("a"))
    unknown = uuid.uuid4()
    results, records = c.delete_topics(["nope", "dup", "dup"], [unknown])
    got = {(x.name, x.topic_id): (x.error_code, x.error_message) for x in results}
    assert got[("nope", uuid.UUID(int=0))] == (3, "This server does not host this topic-partition.")
    assert got[("dup", uuid.UUID(int=0))] == (42, "Duplicate topic name.")
    assert got[(None, unknown)] == (100, "This server does not host this topic ID.")
    assert records == []
    results, records = c.delete_topics(["a"], [r.topic_id])
    assert [(x.error_code, x.error_message) for x in results] == [
        (42, "The provided topic name maps to an ID that was already supplied.")
    ]
    assert records == [] and q.image.topic("a") is not None


def test_delete_disabled():
    c, q, _ = make(props={"delete.topic.enable": "false"})
    one(c, CreatableTopic("a"))
    results, records = c.delete_topics(["a"])
    assert [(x.error_code, x.error_message) for x in results] == [(73, "Topic deletion is disabled.")]
    assert records == [] and q.image.topic("a") is not None


def test_recreate_after_delete_gets_new_id():
    c, q, _ = make()
    r1, _ = one(c, CreatableTopic("a", configs={"retention.ms": "5"}))
    c.delete_topics(["a"])
    r2, _ = one(c, CreatableTopic("a"))
    assert r2.error_code == 0 and r2.topic_id != r1.topic_id
    assert q.image.topic("a").configs == {}


# ---- create partitions


def test_create_partitions():
    c, q, _ = make()
    one(c, CreatableTopic("a", 2))
    results, records = c.create_partitions([CreatePartitionsTopic("a", 5)])
    assert results[0].error_code == 0 and len(records) == 3
    assert sorted(q.image.topic("a").partitions) == [0, 1, 2, 3, 4]
    results, _ = c.create_partitions([CreatePartitionsTopic("a", 5), CreatePartitionsTopic("zz", 2)])
    assert [(r.error_code, r.error_message) for r in results] == [
        (37, "Topic already has 5 partition(s)."),
        (3, "This server does not host this topic-partition."),
    ]
    results, _ = c.create_partitions([CreatePartitionsTopic("a", 3)])
    assert results[0].error_message == "The topic a currently has 5 partition(s); 3 would not be an increase."
    results, records = c.create_partitions([CreatePartitionsTopic("a", 6)], validate_only=True)
    assert results[0].error_code == 0 and records == [] and q.image.topic("a").num_partitions == 5


# ---- configs


def test_incremental_alter_configs():
    c, q, _ = make()
    one(c, CreatableTopic("a"))
    res = AlterConfigsResource(
        TOPIC,
        "a",
        [
            AlterableConfig("retention.ms", AlterConfigOp.SET, "1000"),
            AlterableConfig("cleanup.policy", AlterConfigOp.APPEND, "compact"),
        ],
    )
    results, records = c.incremental_alter_configs([res])
    assert results[0].error_code == 0
    assert q.image.topic("a").configs == {"retention.ms": "1000", "cleanup.policy": "delete,compact"}
    assert all(isinstance(r, ConfigRecord) for r in records)
    # setting the same value again writes nothing
    _, records = c.incremental_alter_configs(
        [AlterConfigsResource(TOPIC, "a", [AlterableConfig("retention.ms", AlterConfigOp.SET, "1000")])]
    )
    assert records == []
    _, _ = c.incremental_alter_configs(
        [
            AlterConfigsResource(
                TOPIC,
                "a",
                [
                    AlterableConfig("retention.ms", AlterConfigOp.DELETE),
                    AlterableConfig("cleanup.policy", AlterConfigOp.SUBTRACT, "delete"),
                ],
            )
        ]
    )
    assert q.image.topic("a").configs == {"cleanup.policy": "compact"}


@pytest.mark.parametrize(
    "resource, code, message",
    [
        (
            AlterConfigsResource(TOPIC, "nope", [AlterableConfig("retention.ms", AlterConfigOp.SET, "1")]),
            3,
            "The topic 'nope' does not exist.",
        ),
        (
            AlterConfigsResource(TOPIC, "a", [AlterableConfig("foo", AlterConfigOp.SET, "1")]),
            40,
            "Unknown topic config name: foo",
        ),
        (
            AlterConfigsResource(TOPIC, "a", [AlterableConfig("retention.ms", AlterConfigOp.SET, "x")]),
            40,
            "Invalid value x for configuration retention.ms: Not a number of type LONG",
        ),
        (
            AlterConfigsResource(TOPIC, "a", [AlterableConfig("retention.ms", AlterConfigOp.APPEND, "1")]),
            40,
            "Can't APPEND to key retention.ms because its type is not LIST.",
        ),
        (AlterConfigsResource(TOPIC, "", []), 42, "Default topic resources are not allowed."),
        (AlterConfigsResource(BROKER, "x", []), 42, "Unable to parse broker name as a base 10 number."),
        (AlterConfigsResource(BROKER, "9", []), 102, "No node with id 9 found."),
        (
            AlterConfigsResource(BROKER, "", [AlterableConfig("num.partitions", AlterConfigOp.SET, "2")]),
            40,
            "Cannot update these configs dynamically: [num.partitions]",
        ),
        (AlterConfigsResource(16, "m", []), 42, "Unknown resource type 16"),
    ],
)
def test_alter_config_errors(resource, code, message):
    c, q, _ = make()
    one(c, CreatableTopic("a"))
    before = q.image
    results, records = c.incremental_alter_configs([resource])
    assert (results[0].error_code, results[0].error_message) == (code, message)
    assert records == [] and q.image is before


def test_broker_dynamic_config_feeds_topic_defaults():
    c, q, _ = make()
    results, records = c.incremental_alter_configs(
        [AlterConfigsResource(BROKER, "", [AlterableConfig("log.retention.ms", AlterConfigOp.SET, "1234")])]
    )
    assert results[0].error_code == 0 and len(records) == 1
    eff = c.config.effective_topic_config({}, dynamic_default=q.image.broker_configs())
    assert eff["retention.ms"] == 1234


def test_legacy_alter_configs_replaces_set():
    c, q, _ = make()
    one(c, CreatableTopic("a", configs={"retention.ms": "5", "segment.ms": "100000"}))
    results, records = c.alter_configs([AlterConfigsResource(TOPIC, "a", {"retention.ms": "6"})])
    assert results[0].error_code == 0
    assert q.image.topic("a").configs == {"retention.ms": "6"}
    results, records = c.alter_configs([AlterConfigsResource(TOPIC, "a", {"retention.ms": "7"})], validate_only=True)
    assert results[0].error_code == 0 and records == [] and q.image.topic("a").configs == {"retention.ms": "6"}


# ---- replay


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["create", "delete", "config", "grow"]), st.sampled_from("abc"), st.integers(1, 4)),
        max_size=15,
    )
)
def test_replay_reproduces_live_image(ops):
    c, q, store = make(brokers=2)
    for op, name, n in ops:
        if op == "create":
            c.create_topics([CreatableTopic(name, n, 1 + n % 2)])
        elif op == "delete":
            c.delete_topics([name])
        elif op == "config":
            c.incremental_alter_configs(
                [AlterConfigsResource(TOPIC, name, [AlterableConfig("retention.ms", AlterConfigOp.SET, str(n))])]
            )
        else:
            c.create_partitions([CreatePartitionsTopic(name, n + 2)])
    replayed = apply_all(MetadataImage.empty("cluster-1"), [decode_record(b) for b in store.read_all()])
    assert replayed == q.image
    assert LocalMetadataQuorum(store, "cluster-1").image == q.image
