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


def test_frame_header_and_kafkas_binary_body():
    tid = uuid.UUID(int=5)
    data = encode_record(TopicRecord("t", tid))
    # frame 1, api key 2, version 0; compact string "t"; the uuid; no tagged fields
    assert data == bytes([1, 2, 0, 2]) + b"t" + tid.bytes + b"\x00"


def test_partition_change_writes_only_what_changed_as_tagged_fields():
    tid = uuid.UUID(int=7)
    data = encode_record(PartitionChangeRecord(3, tid, isr=(1, 2)))
    # partition 3, topic id, then one tagged field: tag 0 (Isr), 9 bytes: count+1 = 3, 1, 2
    assert data == bytes([1, 5, 0]) + (3).to_bytes(4, "big") + tid.bytes + bytes([1, 0, 9, 3, 0, 0, 0, 1, 0, 0, 0, 2])
    assert decode_record(data) == PartitionChangeRecord(3, tid, isr=(1, 2))


def test_records_written_as_json_by_older_kavka_still_read():
    tid = uuid.UUID(int=5)
    legacy = bytes([1, 2, 0]) + b'{"name":"orders","topic_id":"%s"}' % str(tid).encode()
    assert decode_record(legacy) == TopicRecord("orders", tid)


def test_a_newer_kafka_version_with_fields_kavka_does_not_keep_reads():
    """PartitionRecord v2 as Kafka writes it with ELR enabled: directories and ELR tags are dropped."""
    tid = uuid.UUID(int=9)
    body = bytearray()
    body += (0).to_bytes(4, "big") + tid.bytes
    for ints in ((1, 2), (1, 2), (), ()):  # replicas, isr, removing, adding
        body += bytes([len(ints) + 1]) + b"".join(i.to_bytes(4, "big") for i in ints)
    body += (1).to_bytes(4, "big", signed=True)  # leader
    body += (4).to_bytes(4, "big") + (6).to_bytes(4, "big")  # leader epoch, partition epoch
    body += bytes([3]) + uuid.UUID(int=1).bytes + uuid.UUID(int=2).bytes  # directories
    body += bytes([1, 1, 5, 2, 0, 0, 0, 1])  # tag 1 (ELR) = [1]
    record = decode_record(bytes([1, 3, 2]) + bytes(body))
    assert record == PartitionRecord(0, tid, (1, 2), (1, 2), 1, 4, 6)


def test_binary_bodies_are_kafkas_schemas():
    tid = uuid.UUID(int=7)
    change = encode_record(PartitionChangeRecord(3, tid, isr=(1, 2), leader=2))
    # PartitionChangeRecord v0: partition id, topic id, then tagged fields 0 (Isr) and 1 (Leader)
    assert (
        change
        == bytes([1, 5, 0])
        + b"\x00\x00\x00\x03"
        + tid.bytes
        + b"\x02\x00\x09\x03\x00\x00\x00\x01\x00\x00\x00\x02\x01\x04\x00\x00\x00\x02"
    )
    level = encode_record(FeatureLevelRecord("metadata.version", 25))
    assert level == bytes([1, 12, 0, 17]) + b"metadata.version" + b"\x00\x19\x00"


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
        b"\x01\x02\x00\x02t",  # a TopicRecord cut inside its uuid
        b"\x01\x02\x00\x02t" + bytes(16) + b"\x00\x00",  # a byte after the tagged fields
        b"\x01\x03\x03" + bytes(40),  # PartitionRecord v3: newer than Kavka reads
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
        7: "FenceBrokerRecord",
        8: "UnfenceBrokerRecord",
        9: "RemoveTopicRecord",
        11: "UserScramCredentialRecord",
        12: "FeatureLevelRecord",
        14: "ClientQuotaRecord",
        15: "ProducerIdsRecord",
        17: "BrokerRegistrationChangeRecord",
        18: "AccessControlEntryRecord",
        19: "RemoveAccessControlEntryRecord",
        20: "NoOpRecord",
        22: "RemoveUserScramCredentialRecord",
    }


def test_cluster_id_format():
    cid = new_cluster_id()
    assert len(cid) == 22 and not cid.startswith("-")
    assert set(cid) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
    assert uuid_to_str(uuid_from_str(cid)) == cid
    # Kafka's example from the docs of Uuid.toString: the all-zero uuid
    assert uuid_to_str(uuid.UUID(int=0)) == "AAAAAAAAAAAAAAAAAAAAAA"
