"""``__transaction_state`` records: Kafka's bytes, round trips, and the partition of an id."""

from __future__ import annotations

import struct

from hypothesis import given
from hypothesis import strategies as st

from kavka.coordinator.txn import partition_for
from kavka.coordinator.txn.records import TransactionLogValue, decode_key, decode_value, encode_key, encode_value


def test_key_is_version_0_and_a_string():
    assert encode_key("tx") == b"\x00\x00\x00\x02tx"
    assert decode_key(encode_key("payments-1")) == "payments-1"


def test_value_v0_bytes_as_kafka_writes_them():
    v = TransactionLogValue(
        producer_id=1000,
        producer_epoch=3,
        transaction_timeout_ms=60000,
        transaction_status=1,
        transaction_partitions=(("a", (0, 2)),),
        transaction_last_update_timestamp_ms=5,
        transaction_start_timestamp_ms=4,
    )
    expected = (
        struct.pack(">hqhib", 0, 1000, 3, 60000, 1)
        + struct.pack(">i", 1)
        + struct.pack(">h", 1)
        + b"a"
        + struct.pack(">iii", 2, 0, 2)
        + struct.pack(">qq", 5, 4)
    )
    assert encode_value(v) == expected
    assert decode_value(expected) == v


def test_empty_state_writes_null_partitions():
    v = TransactionLogValue(7, 0, 1000, 0, (), 1, -1)
    data = encode_value(v)
    assert data[17:21] == b"\xff\xff\xff\xff"
    assert decode_value(data) == v
    assert decode_value(None) is None


_values = st.builds(
    TransactionLogValue,
    producer_id=st.integers(-1, 2**63 - 1),
    producer_epoch=st.integers(-1, 32767),
    transaction_timeout_ms=st.integers(0, 2**31 - 1),
    transaction_status=st.integers(1, 7),
    transaction_partitions=st.lists(
        st.tuples(st.text(min_size=1, max_size=8), st.lists(st.integers(0, 1000), max_size=4).map(tuple)), max_size=3
    ).map(tuple),
    transaction_last_update_timestamp_ms=st.integers(-1, 2**50),
    transaction_start_timestamp_ms=st.integers(-1, 2**50),
)


@given(_values, st.integers(-1, 2**40), st.integers(-1, 2**40), st.integers(0, 2))
def test_round_trip_v0_and_v1(v, prev, nxt, ctv):
    assert decode_value(encode_value(v, 0)) == v
    v1 = TransactionLogValue(
        v.producer_id,
        v.producer_epoch,
        v.transaction_timeout_ms,
        v.transaction_status,
        v.transaction_partitions,
        v.transaction_last_update_timestamp_ms,
        v.transaction_start_timestamp_ms,
        prev,
        nxt,
        ctv,
    )
    assert decode_value(encode_value(v1, 1)) == v1


def test_partition_is_abs_java_hash_mod_partitions():
    # "hello".hashCode() == 99162322; Kafka: Utils.abs(hash) % 50
    assert partition_for("hello", 50) == 99162322 % 50
    # a negative hash code: "polygenelubricants".hashCode() == Integer.MIN_VALUE -> abs is 0
    assert partition_for("polygenelubricants", 50) == 0
