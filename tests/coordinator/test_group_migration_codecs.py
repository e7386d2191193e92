"""Bytes of what the migration reads and writes: the classic member metadata of a consumer group member
record (Kafka's ConsumerGroupMemberMetadataValue tag 0), the consumer's embedded protocol, and the
``group.consumer.migration.policy`` setting."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kavka.coordinator.group.config import GroupConfig
from kavka.coordinator.group.consumer_protocol import (
    Subscription,
    decode_assignment,
    decode_subscription,
    encode_assignment,
    protocol_version,
)
from kavka.coordinator.group.consumer_records import (
    ClassicMemberMetadata,
    ConsumerGroupMemberMetadataKey,
    ConsumerGroupMemberMetadataValue,
    decode_consumer_record,
    encode_consumer_record,
)
from kavka.metadata.configdefs import broker_config_def
from kavka.metadata.configtypes import ConfigError
from kavka.protocol.primitives import ProtocolDecodeError
from tests.coordinator.migration_harness import subscription

KEY = ConsumerGroupMemberMetadataKey("g", "m")


def test_classic_member_metadata_is_tag_0_as_kafka_writes_it():
    value = ConsumerGroupMemberMetadataValue(
        None, None, "c", "h", ("t",), None, 30_000, None, ClassicMemberMetadata(10_000, (("range", b"\x00\x01"),))
    )
    _, data = encode_consumer_record(KEY, value)
    classic = (
        b"\x01"  # present (a nullable struct in a tagged field)
        + struct.pack(">i", 10_000)  # sessionTimeoutMs
        + b"\x02"
        + b"\x06range"
        + b"\x03\x00\x01"
        + b"\x00"  # [name, metadata], tags
        + b"\x00"
    )  # the struct's tags
    assert data == (
        b"\x00\x00"
        + b"\x00"
        + b"\x00"
        + b"\x02c"
        + b"\x02h"
        + b"\x02\x02t"
        + b"\x00"
        + struct.pack(">i", 30_000)
        + b"\x00"
        + b"\x01"
        + b"\x00"
        + bytes([len(classic)])
        + classic
    )
    assert decode_consumer_record(*encode_consumer_record(KEY, value))[1] == value


def test_member_metadata_without_classic_metadata_has_no_tags_and_other_tags_are_skipped():
    value = ConsumerGroupMemberMetadataValue("i", "r", "c", "h", ("a", "b"), "x.*", 5, "uniform")
    key, data = encode_consumer_record(KEY, value)
    assert data.endswith(b"\x00")
    assert decode_consumer_record(key, data)[1] == value
    # a newer writer's tag 7 is skipped; a null struct (marker 0) reads as None
    data = data[:-1] + b"\x02" + b"\x00\x01\x00" + b"\x07\x02\xab\xcd"
    assert decode_consumer_record(key, data)[1] == value


@given(st.integers(0, 2**31 - 1), st.lists(st.tuples(st.text(max_size=8), st.binary(max_size=20)), max_size=3))
def test_classic_member_metadata_round_trips(session, protocols):
    value = ConsumerGroupMemberMetadataValue(
        None, None, "", "", (), None, -1, None, ClassicMemberMetadata(session, tuple(protocols))
    )
    assert decode_consumer_record(*encode_consumer_record(KEY, value))[1] == value


def test_subscriptions_of_every_version():
    assert decode_subscription(subscription(["b", "a"], version=0)) == Subscription(("b", "a"), None, (), -1, None, 0)
    s = decode_subscription(subscription(["t"], {"t": {2, 0}}, version=1))
    assert s.owned_partitions == (("t", (0, 2)),) and s.generation_id == -1
    s = decode_subscription(subscription(["t"], {"t": {1}}, version=3, generation=7, rack="r1"))
    assert (s.generation_id, s.rack_id, s.version) == (7, "r1", 3)
    # a newer version is read with the newest layout known; missing ignorable fields take defaults
    newer = struct.pack(">h", 9) + subscription(["t"], version=1)[2:]
    assert decode_subscription(newer).owned_partitions == () and decode_subscription(newer).version == 9
    assert protocol_version(newer) == 3
    with pytest.raises(ProtocolDecodeError):
        decode_subscription(b"\x00\x00\x00\x00\x00\x05\x00")


def test_assignments_round_trip_in_the_version_asked():
    data = encode_assignment({"b": [3, 1], "a": [0]}, version=3)
    assert data[:2] == b"\x00\x03" and data.endswith(b"\xff\xff\xff\xff")
    assert decode_assignment(data) == {"a": (0,), "b": (1, 3)}
    assert decode_assignment(b"") == {}
    assert encode_assignment({}, 0) == b"\x00\x00" + b"\x00\x00\x00\x00" + b"\xff\xff\xff\xff"


def test_the_migration_policy_setting():
    d = broker_config_def("group.consumer.migration.policy")
    assert d.default == "bidirectional"
    assert d.parse("Upgrade") == "Upgrade"  # case-insensitive, as Kafka's CaseInsensitiveValidString
    with pytest.raises(ConfigError, match="String must be one of \\(case insensitive\\)"):
        d.parse("sideways")
    assert GroupConfig().consumer_migration_policy == "bidirectional"
    for raw, up, down in [
        ("BIDIRECTIONAL", True, True),
        ("upgrade", True, False),
        ("Downgrade", False, True),
        ("disabled", False, False),
    ]:
        c = GroupConfig.from_broker_config({"group.consumer.migration.policy": raw})
        assert (c.upgrade_enabled, c.downgrade_enabled) == (up, down)
