import uuid

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kavka.metadata.image import MetadataApplyError, MetadataDelta, MetadataImage, apply, apply_all
from kavka.metadata.records import (
    ConfigRecord,
    ConfigResourceType,
    FeatureLevelRecord,
    PartitionChangeRecord,
    PartitionRecord,
    RegisterBrokerRecord,
    RemoveTopicRecord,
    TopicRecord,
    decode_record,
    encode_record,
)

T1 = uuid.UUID(int=1001)
T2 = uuid.UUID(int=1002)


def base_records():
    return [
        FeatureLevelRecord("metadata.version", 25),
        RegisterBrokerRecord(1, uuid.UUID(int=9), 1, fenced=False),
        TopicRecord("a", T1),
        ConfigRecord(ConfigResourceType.TOPIC, "a", "retention.ms", "100"),
        PartitionRecord(0, T1, (1,), (1,), 1),
        PartitionRecord(1, T1, (1,), (1,), 1),
    ]


def test_apply_builds_image():
    img = apply_all(MetadataImage.empty("cid"), base_records())
    assert img.cluster_id == "cid"
    assert img.metadata_version == 25
    assert img.live_brokers()[0].broker_id == 1
    t = img.topic("a")
    assert t is img.topic_by_id(T1)
    assert t.num_partitions == 2 and t.replication_factor == 1
    assert t.configs == {"retention.ms": "100"}
    assert img.partition("a", 1).leader == 1


def test_images_are_not_mutated():
    empty = MetadataImage.empty()
    img1 = apply_all(empty, base_records())
    snapshot = apply_all(MetadataImage.empty(), base_records())
    img2 = apply(img1, PartitionRecord(2, T1, (1,), (1,), 1))
    img3 = apply(img2, ConfigRecord(ConfigResourceType.TOPIC, "a", "retention.ms", None))
    assert empty == MetadataImage.empty()
    assert img1 == snapshot
    assert img1.topic("a").num_partitions == 2 and img2.topic("a").num_partitions == 3
    assert img2.topic("a").configs == {"retention.ms": "100"} and img3.topic("a").configs == {}


def test_partition_change_bumps_epochs():
    img = apply_all(MetadataImage.empty(), base_records())
    img = apply(img, PartitionChangeRecord(0, T1, isr=(1,)))
    p = img.partition("a", 0)
    assert (p.leader_epoch, p.partition_epoch) == (0, 1)
    img = apply(img, PartitionChangeRecord(0, T1, leader=-1))
    p = img.partition("a", 0)
    assert (p.leader, p.leader_epoch, p.partition_epoch) == (-1, 1, 2)


def test_remove_topic_removes_configs():
    img = apply_all(MetadataImage.empty(), base_records() + [RemoveTopicRecord(T1)])
    assert img.topic("a") is None and img.topic_by_id(T1) is None
    assert (ConfigResourceType.TOPIC, "a") not in img.configs
    # re-create with the same name: no stale configs
    img = apply(img, TopicRecord("a", T2))
    assert img.topic("a").configs == {}


def test_broker_configs():
    img = apply_all(
        MetadataImage.empty(),
        [
            ConfigRecord(ConfigResourceType.BROKER, "", "log.retention.ms", "5"),
            ConfigRecord(ConfigResourceType.BROKER, "1", "num.io.threads", "4"),
        ],
    )
    assert img.broker_configs() == {"log.retention.ms": "5"}
    assert img.broker_configs(1) == {"num.io.threads": "4"}


@pytest.mark.parametrize(
    "record",
    [
        TopicRecord("a", T2),  # duplicate name
        TopicRecord("b", T1),  # duplicate id
        PartitionRecord(0, T2, (1,), (1,), 1),
        PartitionChangeRecord(5, T1, leader=1),
        RemoveTopicRecord(T2),
    ],
)
def test_inconsistent_records_are_refused(record):
    img = apply_all(MetadataImage.empty(), base_records())
    with pytest.raises(MetadataApplyError):
        apply(img, record)


def test_delta_is_single_use():
    delta = MetadataDelta(MetadataImage.empty())
    delta.build()
    with pytest.raises(MetadataApplyError):
        delta.replay(FeatureLevelRecord("metadata.version", 1))


# A random but valid history of operations; applying record by record, or all at once, or after an
# encode/decode round trip, must give the same image.
names = st.sampled_from(["a", "b", "c", "d"])


@st.composite
def histories(draw):
    live: dict[str, uuid.UUID] = {}
    records = [RegisterBrokerRecord(1, uuid.UUID(int=1), 0)]
    counter = 0
    for _ in range(draw(st.integers(0, 25))):
        op = draw(st.sampled_from(["create", "delete", "config", "change"]))
        name = draw(names)
        if op == "create" and name not in live:
            counter += 1
            tid = uuid.UUID(int=10_000 + counter)
            live[name] = tid
            records.append(TopicRecord(name, tid))
            for p in range(draw(st.integers(1, 3))):
                records.append(PartitionRecord(p, tid, (1,), (1,), 1))
        elif op == "delete" and name in live:
            records.append(RemoveTopicRecord(live.pop(name)))
        elif op == "config":
            value = draw(st.none() | st.sampled_from(["1", "2"]))
            records.append(ConfigRecord(ConfigResourceType.TOPIC, name, "retention.ms", value))
        elif op == "change" and name in live:
            records.append(PartitionChangeRecord(0, live[name], leader=draw(st.sampled_from([-2, -1, 1]))))
    return records


@settings(max_examples=200)
@given(histories())
def test_replay_equivalence(records):
    one_by_one = MetadataImage.empty()
    for r in records:
        one_by_one = apply(one_by_one, r)
    at_once = apply_all(MetadataImage.empty(), records)
    via_bytes = apply_all(MetadataImage.empty(), [decode_record(encode_record(r)) for r in records])
    assert one_by_one == at_once == via_bytes
    for name, topic in at_once.topics_by_name.items():
        assert at_once.topics_by_id[topic.topic_id] is topic
        assert topic.configs == at_once.configs.get((ConfigResourceType.TOPIC, name), {})
