import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kavka.metadata.ids import new_cluster_id, uuid_from_str, uuid_to_str
from kavka.metadata.records import (
    RECORD_TYPES,
    BrokerEndpoint,
    BrokerFeature,
    ClientQuotaRecord,
    ConfigRecord,
    FeatureLevelRecord,
    MetadataRecordError,
    NoOpRecord,
    PartitionChangeRecord,
    PartitionRecord,
    ProducerIdsRecord,
    QuotaEntityPart,
    RegisterBrokerRecord,
    RemoveTopicRecord,
    TopicRecord,
    UnregisterBrokerRecord,
    decode_record,
    encode_record,
    read_uvarint,
    write_uvarint,
)

i32 = st.integers(-(2**31), 2**31 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
ids = st.lists(st.integers(0, 2**31 - 1), max_size=5).map(tuple)
uuids = st.uuids()
text = st.text(max_size=30)

records = st.one_of(
    st.builds(TopicRecord, text, uuids),
    st.builds(PartitionRecord, i32, uuids, ids, ids, i32, i32, i32, ids, ids),
    st.builds(ConfigRecord, st.sampled_from([2, 4]), text, text, st.none() | text),
    st.builds(
        PartitionChangeRecord, i32, uuids, st.none() | ids, i32, st.none() | ids, st.none() | ids, st.none() | ids
    ),
    st.builds(RemoveTopicRecord, uuids),
    st.builds(
        RegisterBrokerRecord,
        i32,
        uuids,
        i64,
        st.lists(st.builds(BrokerEndpoint, text, text, st.integers(0, 65535), st.integers(0, 3)), max_size=3).map(
            tuple
        ),
        st.none() | text,
        st.booleans(),
        st.booleans(),
        st.lists(st.builds(BrokerFeature, text, st.integers(0, 100), st.integers(0, 100)), max_size=2).map(tuple),
    ),
    st.builds(UnregisterBrokerRecord, i32, i64),
    st.builds(FeatureLevelRecord, text, st.integers(0, 2**15 - 1)),
    st.builds(ProducerIdsRecord, i32, i64, i64),
    st.builds(
        ClientQuotaRecord,
        st.lists(
            st.builds(QuotaEntityPart, st.sampled_from(["user", "client-id", "ip"]), st.none() | text), max_size=2
        ).map(tuple),
        text,
        st.floats(allow_nan=False),
        st.booleans(),
    ),
    st.just(NoOpRecord()),
)


@given(records)
def test_roundtrip(record):
    data = encode_record(record)
    assert data[0] == 1  # frame version
    assert decode_record(data) == record
    assert decode_record(memoryview(data)) == record


def test_frame_header():
    tid = uuid.UUID(int=5)
    data = encode_record(TopicRecord("t", tid))
    assert data[:3] == bytes([1, 2, 0])
    assert data[3:].startswith(b"{")


@given(st.integers(0, 2**32 - 1))
def test_uvarint_roundtrip(n):
    out = bytearray()
    write_uvarint(n, out)
    assert read_uvarint(bytes(out), 0) == (n, len(out))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x02\x02\x00{}",
        b"\x01\x63\x00{}",
        b"\x01\x02\x07{}",
        b"\x01\x02\x00not json",
        b"\x01\x02\x00{}",
        b"\x01\x80\x80\x80\x80\x80\x01",
    ],
)
def test_bad_records(data):
    with pytest.raises(MetadataRecordError):
        decode_record(data)


def test_api_keys_are_kafkas():
    assert {k: v.__name__ for k, v in RECORD_TYPES.items()} == {
        0: "RegisterBrokerRecord",
        1: "UnregisterBrokerRecord",
        2: "TopicRecord",
        3: "PartitionRecord",
        4: "ConfigRecord",
        5: "PartitionChangeRecord",
        9: "RemoveTopicRecord",
        12: "FeatureLevelRecord",
        14: "ClientQuotaRecord",
        15: "ProducerIdsRecord",
        20: "NoOpRecord",
    }


def test_cluster_id_format():
    cid = new_cluster_id()
    assert len(cid) == 22 and not cid.startswith("-")
    assert set(cid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert uuid_to_str(uuid_from_str(cid)) == cid
    # Kafka's example from the docs of Uuid.toString: the all-zero uuid
    assert uuid_to_str(uuid.UUID(int=0)) == "AAAAAAAAAAAAAAAAAAAAAA"
