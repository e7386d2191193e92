"""Consumer group records (Kafka's schemas, key versions 3-8) and the server-side assignors."""

from __future__ import annotations

import uuid

from hypothesis import given
from hypothesis import strategies as st

from kavka.coordinator.group.assignors import MemberSpec, assignor_name, range_assign, uniform_assign
from kavka.coordinator.group.consumer_records import (
    ConsumerGroupCurrentMemberAssignmentKey,
    ConsumerGroupCurrentMemberAssignmentValue,
    ConsumerGroupMemberMetadataKey,
    ConsumerGroupMemberMetadataValue,
    ConsumerGroupMetadataKey,
    ConsumerGroupMetadataValue,
    ConsumerGroupPartitionMetadataKey,
    ConsumerGroupPartitionMetadataValue,
    ConsumerGroupTargetAssignmentMemberKey,
    ConsumerGroupTargetAssignmentMemberValue,
    ConsumerGroupTargetAssignmentMetadataKey,
    ConsumerGroupTargetAssignmentMetadataValue,
    TopicMetadata,
    decode_consumer_record,
    encode_consumer_record,
)
from kavka.coordinator.group.records import decode_record

T1 = uuid.UUID("00000000-0000-0000-0000-000000000001")


def test_group_epoch_record_bytes_follow_kafkas_schema():
    key, value = encode_consumer_record(ConsumerGroupMetadataKey("g"), ConsumerGroupMetadataValue(7))
    assert key == b"\x00\x03" + b"\x00\x01g"  # key version 3, STRING group id
    assert value == b"\x00\x00" + b"\x00\x00\x00\x07" + b"\x00"  # value v0, epoch, no tagged fields
    # the classic decoder leaves these records to the consumer group code
    assert decode_record(key, value) == (None, None)


def test_current_assignment_record_bytes():
    key, value = encode_consumer_record(
        ConsumerGroupCurrentMemberAssignmentKey("g", "m"),
        ConsumerGroupCurrentMemberAssignmentValue(5, 4, 1, {T1: frozenset({2, 0})}, {}),
    )
    assert key == b"\x00\x08\x00\x01g\x00\x01m"
    assert value == (
        b"\x00\x00"
        + b"\x00\x00\x00\x05"
        + b"\x00\x00\x00\x04"
        + b"\x01"
        + b"\x02"
        + T1.bytes
        + b"\x03"
        + b"\x00\x00\x00\x00"
        + b"\x00\x00\x00\x02"
        + b"\x00"
        + b"\x01"
        + b"\x00"
    )


def test_unknown_tagged_fields_are_skipped():
    key, value = encode_consumer_record(ConsumerGroupMetadataKey("g"), ConsumerGroupMetadataValue(3))
    newer = value[:-1] + b"\x01\x00\x08" + b"\x00" * 8  # e.g. a metadata hash added by a newer Kafka
    assert decode_consumer_record(key, newer)[1] == ConsumerGroupMetadataValue(3)


names = st.text(min_size=1, max_size=8)
assignments = st.dictionaries(st.uuids(), st.frozensets(st.integers(0, 100), min_size=1), max_size=3)


@given(
    st.one_of(
        st.builds(lambda e: (ConsumerGroupMetadataKey("g"), ConsumerGroupMetadataValue(e)), st.integers(0, 2**31 - 1)),
        st.builds(
            lambda ts: (ConsumerGroupPartitionMetadataKey("g"), ConsumerGroupPartitionMetadataValue(tuple(ts))),
            st.lists(st.builds(TopicMetadata, st.uuids(), names, st.integers(0, 1000)), max_size=3),
        ),
        st.builds(
            lambda i, r, c, h, n, x, t, a: (
                ConsumerGroupMemberMetadataKey("g", "m"),
                ConsumerGroupMemberMetadataValue(i, r, c, h, tuple(n), x, t, a),
            ),
            st.none() | names,
            st.none() | names,
            names,
            names,
            st.lists(names, max_size=3),
            st.none() | names,
            st.integers(-1, 2**31 - 1),
            st.none() | names,
        ),
        st.builds(
            lambda e: (ConsumerGroupTargetAssignmentMetadataKey("g"), ConsumerGroupTargetAssignmentMetadataValue(e)),
            st.integers(0, 100),
        ),
        st.builds(
            lambda a: (ConsumerGroupTargetAssignmentMemberKey("g", "m"), ConsumerGroupTargetAssignmentMemberValue(a)),
            assignments,
        ),
        st.builds(
            lambda e, p, s, a, r: (
                ConsumerGroupCurrentMemberAssignmentKey("g", "m"),
                ConsumerGroupCurrentMemberAssignmentValue(e, p, s, a, r),
            ),
            st.integers(-2, 1000),
            st.integers(-2, 1000),
            st.integers(0, 2),
            assignments,
            assignments,
        ),
    )
)
def test_records_round_trip(kv):
    key, value = kv
    raw_key, raw_value = encode_consumer_record(key, value)
    assert decode_consumer_record(raw_key, raw_value) == (key, value)
    assert decode_consumer_record(raw_key, None) == (key, None)


# --- assignors -------------------------------------------------------------------------------------------

T2 = uuid.UUID("00000000-0000-0000-0000-000000000002")


def spec(*topics, current=None) -> MemberSpec:
    return MemberSpec(frozenset(topics), current or {})


def test_range_gives_co_partitioned_ranges():
    out = range_assign({"a": spec(T1, T2), "b": spec(T1, T2)}, {T1: 3, T2: 3})
    assert out == {"a": {T1: frozenset({0, 1}), T2: frozenset({0, 1})}, "b": {T1: frozenset({2}), T2: frozenset({2})}}


@given(st.integers(1, 6), st.integers(0, 20), st.integers(0, 20))
def test_uniform_is_balanced_complete_and_sticky(n, p1, p2):
    members = {f"m{i}": spec(T1, T2) for i in range(n)}
    first = uniform_assign(members, {T1: p1, T2: p2})
    counts = [sum(len(ps) for ps in a.values()) for a in first.values()]
    assert max(counts) - min(counts) <= 1
    owned = [(t, p) for a in first.values() for t, ps in a.items() for p in ps]
    assert sorted(owned) == sorted([(T1, p) for p in range(p1)] + [(T2, p) for p in range(p2)])
    # one more member: everyone keeps what balance lets them keep
    more = {mid: spec(T1, T2, current=first[mid]) for mid in members} | {"new": spec(T1, T2)}
    second = uniform_assign(more, {T1: p1, T2: p2})
    moved = sum(
        len(first[mid].get(t, frozenset()) - second[mid].get(t, frozenset())) for mid in members for t in (T1, T2)
    )
    assert moved <= -(-(p1 + p2) // (n + 1))


def test_uniform_with_different_subscriptions():
    out = uniform_assign({"a": spec(T1), "b": spec(T1, T2)}, {T1: 2, T2: 2})
    assert out == {"a": {T1: frozenset({0, 1})}, "b": {T2: frozenset({0, 1})}}


def test_assignor_names():
    assert assignor_name("org.apache.kafka.coordinator.group.assignor.UniformAssignor") == "uniform"
    assert assignor_name("range") == "range"


def test_current_assignment_record_carries_assignment_epochs_as_kafka_4_4_writes_them():
    """KIP-1251: tag 0 of each TopicPartitions entry is the epoch of each of its partitions."""
    value = ConsumerGroupCurrentMemberAssignmentValue(
        5, 4, 2, {T1: frozenset({2, 0})}, {T2: frozenset({1})}, {(T1, 0): 3, (T1, 2): 5, (T2, 1): 1}
    )
    _, raw = encode_consumer_record(ConsumerGroupCurrentMemberAssignmentKey("g", "m"), value)

    def epochs(*es: int) -> bytes:  # one tagged field: tag 0, its size, then a compact int32 array
        body = bytes([len(es) + 1]) + b"".join(e.to_bytes(4, "big") for e in es)
        return b"\x01\x00" + bytes([len(body)]) + body

    assert raw == (
        b"\x00\x00\x00\x00\x00\x05\x00\x00\x00\x04\x02"
        + b"\x02" + T1.bytes + b"\x03\x00\x00\x00\x00\x00\x00\x00\x02" + epochs(3, 5)
        + b"\x02" + T2.bytes + b"\x02\x00\x00\x00\x01" + epochs(1)
        + b"\x00"
    )  # fmt: skip
    assert decode_consumer_record(b"\x00\x08\x00\x01g\x00\x01m", raw)[1] == value
    # a record written without them (a Kafka without KIP-1251) reads with no epochs; the replay gives the member epoch
    _, old = encode_consumer_record(
        ConsumerGroupCurrentMemberAssignmentKey("g", "m"),
        ConsumerGroupCurrentMemberAssignmentValue(5, 4, 1, {T1: frozenset({0})}, {}),
    )
    assert decode_consumer_record(b"\x00\x08\x00\x01g\x00\x01m", old)[1].epochs == {}
