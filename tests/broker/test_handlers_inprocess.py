"""Broker handlers in process (tests/broker/harness.py): real request bytes through the dispatcher, the
response read back as a client reads it, no socket. One broker per module (each test makes its own
topics and groups), a fresh one where the test needs an empty broker."""

from __future__ import annotations

import struct
import uuid

import pytest

from kavka.broker.dispatch import CloseConnection, api_versions_entries
from kavka.protocol.api import ApiKey, ErrorCode
from kavka.protocol.records import Record, build_batch, iter_records
from tests.broker.harness import HOST, PORT, BrokerHarness, FakeClock, decode_response, request_frame
from tests.clients.adminwire import fetch_body

TOPIC_RESOURCE = 2
DEFAULT_CONFIG, TOPIC_CONFIG = 5, 1  # DescribeConfigs config_source


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    harness = BrokerHarness(tmp_path_factory.mktemp("kavka-handlers"))
    yield harness
    harness.close()


def create(h, name, partitions=1, replication_factor=1, configs=(), validate_only=False):
    r = h.call(
        ApiKey.CREATE_TOPICS,
        7,
        {
            "topics": [
                {
                    "name": name,
                    "num_partitions": partitions,
                    "replication_factor": replication_factor,
                    "assignments": [],
                    "configs": [{"name": k, "value": v} for k, v in configs],
                }
            ],
            "timeout_ms": 5000,
            "validate_only": validate_only,
        },
    )
    [result] = r.topics
    return result


def produce(h, topic, partition, records, version=9, acks=-1):
    r = h.call(
        ApiKey.PRODUCE,
        version,
        {
            "transactional_id": None,
            "acks": acks,
            "timeout_ms": 5000,
            "topic_data": [{"name": topic, "partition_data": [{"index": partition, "records": records}]}],
        },
    )
    [t] = r.responses
    [p] = t.partition_responses
    return p


def fetch(h, topic, partition, offset, version=12, max_wait_ms=0):
    r = h.call(
        ApiKey.FETCH,
        version,
        fetch_body(topic, partition, offset, max_wait_ms),
    )
    assert r.error_code == 0
    [t] = r.responses
    [p] = t.partitions
    return p


# -- ApiVersions -----------------------------------------------------------------------------------


def test_api_versions_advertises_the_registry(h):
    r = h.call(ApiKey.API_VERSIONS, 3, {"client_software_name": "harness", "client_software_version": "1"})
    assert r.error_code == 0
    served = {int(k.api_key): (int(k.min_version), int(k.max_version)) for k in r.api_keys}
    assert served == {e["api_key"]: (e["min_version"], e["max_version"]) for e in api_versions_entries()}
    assert served[ApiKey.PRODUCE] == (0, 13) and served[ApiKey.API_VERSIONS][0] == 0
    assert (served[ApiKey.FETCH], served[ApiKey.LIST_OFFSETS], served[ApiKey.METADATA]) == ((4, 18), (1, 11), (0, 13))


def test_api_versions_unknown_version_answers_v0_with_the_full_list(h):
    # header v1 of ApiVersions v99: the broker answers in v0 form so the client can pick a version
    frame = struct.pack(">hhih", ApiKey.API_VERSIONS, 99, 5, 3) + b"abc"
    r = decode_response(ApiKey.API_VERSIONS, 0, h.call_frame(frame), correlation_id=5)
    assert r.error_code == ErrorCode.unsupported_version
    assert len(r.api_keys) == len(api_versions_entries())


def test_unknown_api_key_and_unsupported_version_close_the_connection(h):
    with pytest.raises(CloseConnection):
        h.call_frame(struct.pack(">hhih", 9999, 0, 1, -1))
    with pytest.raises(CloseConnection):
        h.call_frame(struct.pack(">hhih", ApiKey.METADATA, 99, 1, -1))


# -- Metadata and CreateTopics -------------------------------------------------------------------------


def test_metadata_lists_a_created_topic_with_this_broker_leading(h):
    result = create(h, "meta-t", partitions=3)
    assert result.error_code == 0 and result.num_partitions == 3
    r = h.call(
        ApiKey.METADATA,
        12,
        {
            "topics": [{"name": "meta-t", "topic_id": None}],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": False,
        },
    )
    assert [(b.node_id, b.host, b.port) for b in r.brokers] == [(1, HOST, PORT)]
    assert r.controller_id == 1
    [t] = r.topics
    assert (t.error_code, t.name, t.topic_id) == (0, "meta-t", result.topic_id)
    assert sorted((p.partition_index, p.leader_id, tuple(p.isr_nodes)) for p in t.partitions) == [
        (0, 1, (1,)),
        (1, 1, (1,)),
        (2, 1, (1,)),
    ]


def test_metadata_unknown_topic_without_auto_creation(h):
    r = h.call(
        ApiKey.METADATA,
        12,
        {
            "topics": [{"name": "no-such-topic", "topic_id": None}],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": False,
        },
    )
    [t] = r.topics
    assert t.error_code == ErrorCode.unknown_topic_or_partition and t.partitions == ()


@pytest.mark.parametrize(
    ("name", "kwargs", "code"),
    [
        ("bad/name", {}, ErrorCode.invalid_topic_exception),
        ("a" * 250, {}, ErrorCode.invalid_topic_exception),
        ("zero-partitions", {"partitions": 0}, ErrorCode.invalid_partitions),
        ("three-replicas", {"replication_factor": 3}, ErrorCode.invalid_replication_factor),
        ("bad-config", {"configs": [("cleanup.policy", "sometimes")]}, ErrorCode.invalid_config),
        ("unknown-config", {"configs": [("no.such.config", "1")]}, ErrorCode.invalid_config),
    ],
)
def test_create_topics_errors(h, name, kwargs, code):
    result = create(h, name, **kwargs)
    assert result.error_code == code, result.error_message
    assert result.error_message
    assert create(h, "after-" + name.replace("/", "-")[:100]).error_code == 0  # the broker goes on


def test_create_topics_existing_topic_and_validate_only(h):
    assert create(h, "twice").error_code == 0
    assert create(h, "twice").error_code == ErrorCode.topic_already_exists
    assert create(h, "only-validated", validate_only=True).error_code == 0
    r = h.call(
        ApiKey.METADATA,
        12,
        {
            "topics": [{"name": "only-validated", "topic_id": None}],
            "allow_auto_topic_creation": False,
            "include_topic_authorized_operations": False,
        },
    )
    assert r.topics[0].error_code == ErrorCode.unknown_topic_or_partition


# -- Produce, Fetch, ListOffsets -------------------------------------------------------------------------


def test_produce_then_fetch_round_trip(h):
    create(h, "pf", partitions=2)
    first = [Record(0, 1_000, b"k0", b"v0", [("h", b"1")]), Record(1, 1_001, None, b"v1")]
    p = produce(h, "pf", 1, build_batch(first))
    assert (p.index, p.error_code, p.base_offset, p.log_start_offset) == (1, 0, 0, 0)
    p = produce(h, "pf", 1, build_batch([Record(0, 1_002, b"k2", None)], compression=1))
    assert (p.error_code, p.base_offset) == (0, 2)

    f = fetch(h, "pf", 1, 0)
    assert (f.error_code, f.high_watermark, f.last_stable_offset, f.log_start_offset) == (0, 3, 3, 0)
    got = [(r.offset, r.timestamp, r.key, r.value, r.headers) for _, r in iter_records(f.records)]
    assert got == [(0, 1_000, b"k0", b"v0", [("h", b"1")]), (1, 1_001, None, b"v1", []), (2, 1_002, b"k2", None, [])]
    assert [r.offset for _, r in iter_records(fetch(h, "pf", 1, 2).records)] == [2]
    assert fetch(h, "pf", 0, 0).high_watermark == 0  # the other partition is untouched


def test_produce_errors(h):
    create(h, "pe")
    assert (
        produce(h, "no-such-topic", 0, build_batch([Record(0, 0, None, b"x")])).error_code
        == ErrorCode.unknown_topic_or_partition
    )
    assert (
        produce(h, "pe", 7, build_batch([Record(0, 0, None, b"x")])).error_code == ErrorCode.unknown_topic_or_partition
    )
    corrupt = bytearray(build_batch([Record(0, 0, None, b"x")]))
    corrupt[-1] ^= 0xFF  # a record byte: the CRC no longer matches
    assert produce(h, "pe", 0, bytes(corrupt)).error_code == ErrorCode.corrupt_message
    two = build_batch([Record(0, 0, None, b"a")]) + build_batch([Record(0, 0, None, b"b")])
    assert produce(h, "pe", 0, two).error_code == ErrorCode.invalid_record
    assert (
        produce(h, "pe", 0, build_batch([Record(0, 0, None, b"x")]), acks=2).error_code
        == ErrorCode.invalid_required_acks
    )
    assert fetch(h, "pe", 0, 0).high_watermark == 0  # nothing of it was appended
    assert (
        h.call_frame(
            request_frame(
                ApiKey.PRODUCE,
                9,
                {
                    "transactional_id": None,
                    "acks": 0,
                    "timeout_ms": 5000,
                    "topic_data": [
                        {
                            "name": "pe",
                            "partition_data": [{"index": 0, "records": build_batch([Record(0, 0, None, b"z")])}],
                        }
                    ],
                },
                correlation_id=9,
            )
        )
        is None
    )  # acks=0: no response at all
    assert fetch(h, "pe", 0, 0).high_watermark == 1


def test_fetch_out_of_range(h):
    create(h, "fr")
    produce(h, "fr", 0, build_batch([Record(0, 0, None, b"x")]))
    f = fetch(h, "fr", 0, 5)
    # as Kafka answers a failed read: offsets -1, null aborted transactions, empty records
    assert f.error_code == ErrorCode.offset_out_of_range and f.high_watermark == -1
    assert (f.last_stable_offset, f.log_start_offset, f.aborted_transactions, f.records) == (-1, -1, None, b"")


def test_fetch_of_an_offline_partition(h):
    create(h, "offline")
    h.broker.replica_manager.mark_offline([("offline", 0)])
    assert fetch(h, "offline", 0, 0).error_code == ErrorCode.kafka_storage_error
    # Kafka answers v5- clients, which may not know KAFKA_STORAGE_ERROR, with a retriable error
    body = {
        "max_wait": 0,
        "min_bytes": 1,
        "max_bytes": 1 << 20,
        "isolation_level": 0,
        "topics": [
            {"topic": "offline", "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 100}]}
        ],
    }
    [t] = h.call(ApiKey.FETCH, 5, body).responses
    assert t.partitions[0].error_code == ErrorCode.not_leader_or_follower


def topic_id_of(h, name):
    r = h.call(
        ApiKey.METADATA,
        13,
        {"topics": [{"name": name}], "allow_auto_topic_creation": False, "include_topic_authorized_operations": False},
    )
    assert r.error_code == 0  # v13's top-level error code
    return r.topics[0].topic_id


def produce_by_id(h, topic_id, records, version=13):
    r = h.call(
        ApiKey.PRODUCE,
        version,
        {
            "transactional_id": None,
            "acks": 1,
            "timeout_ms": 5000,
            "topic_data": [{"topic_id": topic_id, "partition_data": [{"index": 0, "records": records}]}],
        },
    )
    [t] = r.responses
    return t.topic_id, t.partition_responses[0]


def test_produce_v13_and_fetch_v13_to_v18_name_topics_by_id(h):
    create(h, "by-id")
    tid = topic_id_of(h, "by-id")
    named, p = produce_by_id(h, tid, build_batch([Record(0, 5, b"k", b"v")]))
    assert (named, p.error_code, p.base_offset) == (tid, 0, 0)
    assert produce(h, "by-id", 0, build_batch([Record(0, 6, b"k", b"w")]), version=12).base_offset == 1
    for version in (13, 15, 16, 17, 18):
        r = h.call(ApiKey.FETCH, version, fetch_body(None, 0, 0, topic_id=tid))
        [t] = r.responses
        assert (r.error_code, r.session_id, t.topic_id) == (0, 0, tid)
        assert [rec.value for _, rec in iter_records(t.partitions[0].records)] == [b"v", b"w"]


def test_unknown_topic_id(h):
    unknown = uuid.uuid4()
    named, p = produce_by_id(h, unknown, build_batch([Record(0, 5, b"k", b"v")]))
    assert (named, p.error_code, p.base_offset) == (unknown, ErrorCode.unknown_topic_id, -1)
    [t] = h.call(ApiKey.FETCH, 13, fetch_body(None, 0, 0, topic_id=unknown)).responses
    [part] = t.partitions
    assert (t.topic_id, part.error_code, part.high_watermark, part.aborted_transactions, part.records) == (
        unknown,
        ErrorCode.unknown_topic_id,
        -1,
        (),
        b"",
    )


def session_fetch(h, partitions, *, session_id, epoch, forgotten=(), version=12, topic="sessions"):
    """A Fetch of ``[(partition, offset)]`` of ``topic`` in a session: (error, session id, answered)."""
    body = fetch_body(topic, 0, 0, session_epoch=epoch)
    body["session_id"] = session_id
    body["topics"][0]["partitions"] = [
        {"partition": i, "fetch_offset": o, "partition_max_bytes": 1 << 20} for i, o in partitions
    ]
    if not partitions:
        body["topics"] = []
    if forgotten:
        body["forgotten_topics_data"] = [{"topic": topic, "partitions": list(forgotten)}]
    r = h.call(ApiKey.FETCH, version, body)
    answered = [
        (p.partition_index, p.error_code, p.high_watermark, len(list(iter_records(p.records))))
        for t in r.responses
        for p in t.partitions
    ]
    return r.error_code, r.session_id, answered


def test_fetch_sessions(h):
    """KIP-227 as Kafka keeps it: a full fetch with epoch 0 opens a session; incremental ones name only
    what changed and get only partitions with news; wrong epochs, versions and ids are refused."""
    create(h, "sessions", partitions=2)
    produce(h, "sessions", 0, build_batch([Record(0, 5, None, b"a")]))
    code, sid, answered = session_fetch(h, [(0, 0), (1, 0)], session_id=0, epoch=0)
    assert (code, answered) == (0, [(0, 0, 1, 1), (1, 0, 0, 0)]) and sid != 0
    # p0 moved on to offset 1: nothing new anywhere, so nothing is answered
    assert session_fetch(h, [(0, 1)], session_id=sid, epoch=1) == (0, sid, [])
    produce(h, "sessions", 1, build_batch([Record(0, 5, None, b"b")]))
    assert session_fetch(h, [], session_id=sid, epoch=2) == (0, sid, [(1, 0, 1, 1)])
    # the same epoch again (a duplicate), another version, another session id
    assert session_fetch(h, [], session_id=sid, epoch=2) == (ErrorCode.invalid_fetch_session_epoch, 0, [])
    assert session_fetch(h, [], session_id=sid, epoch=3, version=13) == (ErrorCode.fetch_session_topic_id_error, 0, [])
    assert session_fetch(h, [], session_id=sid + 1, epoch=1) == (ErrorCode.fetch_session_id_not_found, 0, [])
    # p1 read at its old offset again: records, so it is answered
    assert session_fetch(h, [(1, 0)], session_id=sid, epoch=3) == (0, sid, [(1, 0, 1, 1)])
    # forgetting every partition closes the session: the request is read as it is (nothing) and then gone
    assert session_fetch(h, [], session_id=sid, epoch=4, forgotten=[0, 1]) == (0, 0, [])
    assert session_fetch(h, [], session_id=sid, epoch=5) == (ErrorCode.fetch_session_id_not_found, 0, [])
    # epoch -1 reads without a session
    assert session_fetch(h, [(0, 0)], session_id=0, epoch=-1) == (0, 0, [(0, 0, 1, 1)])


def test_produce_refuses_a_base_offset_other_than_zero(h):
    create(h, "base-offset")
    p = produce(h, "base-offset", 0, build_batch([Record(7, 5, b"k", b"v")], base_offset=7))
    assert (p.error_code, p.base_offset, p.log_start_offset) == (ErrorCode.invalid_record, -1, 0)
    assert "should be 0, but it is 7" in p.error_message
    assert fetch(h, "base-offset", 0, 0).high_watermark == 0


def list_offsets(h, topic, partition, timestamp, version=7):
    r = h.call(
        ApiKey.LIST_OFFSETS,
        version,
        {
            "replica_id": -1,
            "isolation_level": 0,
            "timeout": 1000,
            "topics": [
                {
                    "name": topic,
                    "partitions": [{"partition_index": partition, "current_leader_epoch": -1, "timestamp": timestamp}],
                }
            ],
        },
    )
    [t] = r.topics
    [p] = t.partitions
    return p


def test_list_offsets(h):
    create(h, "lo")
    produce(h, "lo", 0, build_batch([Record(0, 100, None, b"a"), Record(1, 300, None, b"b")]))
    produce(h, "lo", 0, build_batch([Record(0, 200, None, b"c")]))
    earliest, latest, max_ts = list_offsets(h, "lo", 0, -2), list_offsets(h, "lo", 0, -1), list_offsets(h, "lo", 0, -3)
    assert (earliest.error_code, earliest.offset) == (0, 0)
    assert (latest.error_code, latest.offset) == (0, 3)
    assert (max_ts.offset, max_ts.timestamp) == (1, 300)
    by_time = list_offsets(h, "lo", 0, 150)  # the first offset whose timestamp is >= 150
    assert (by_time.offset, by_time.timestamp) == (1, 300)
    not_found = list_offsets(h, "lo", 0, 301)
    assert (not_found.offset, not_found.timestamp, not_found.leader_epoch) == (-1, -1, -1)
    assert list_offsets(h, "lo", 3, -1).error_code == ErrorCode.unknown_topic_or_partition
    # -6 earliest pending upload (v11+): nothing is uploaded without tiered storage; UNSUPPORTED before v11
    pending = list_offsets(h, "lo", 0, -6, version=11)
    assert (pending.error_code, pending.offset, pending.timestamp, pending.leader_epoch) == (0, -1, -1, -1)
    assert list_offsets(h, "lo", 0, -6, version=10).error_code == ErrorCode.unsupported_version
    assert list_offsets(h, "lo", 0, -1, version=10).offset == 3


# -- groups: FindCoordinator, OffsetCommit, OffsetFetch ------------------------------------------------


def test_find_coordinator_for_a_group_and_a_transactional_id(h):
    r = h.call(ApiKey.FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": ["g1", "g2"]})
    assert [(c.key, c.error_code, c.node_id, c.host, c.port) for c in r.coordinators] == [
        ("g1", 0, 1, HOST, PORT),
        ("g2", 0, 1, HOST, PORT),
    ]
    r = h.call(ApiKey.FIND_COORDINATOR, 4, {"key_type": 1, "coordinator_keys": ["tx"]})
    assert [(c.error_code, c.node_id) for c in r.coordinators] == [(0, 1)]
    r = h.call(ApiKey.FIND_COORDINATOR, 4, {"key_type": 7, "coordinator_keys": ["x"]})
    assert r.coordinators[0].error_code == ErrorCode.invalid_request


def offset_fetch(h, group, topic, partitions):
    r = h.call(
        ApiKey.OFFSET_FETCH,
        8,
        {
            "groups": [{"group_id": group, "topics": [{"name": topic, "partition_indexes": partitions}]}],
            "require_stable": True,
        },
    )
    [g] = r.groups
    assert g.error_code == 0
    [t] = g.topics
    return {p.partition_index: (p.error_code, p.committed_offset, p.metadata) for p in t.partitions}


def test_offset_commit_then_fetch(h):
    create(h, "oc", partitions=2)
    h.call(ApiKey.FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": ["grp"]})
    r = h.call(
        ApiKey.OFFSET_COMMIT,
        8,
        {
            "group_id": "grp",
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {
                    "name": "oc",
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 42,
                            "committed_leader_epoch": -1,
                            "committed_metadata": "m",
                        }
                    ],
                }
            ],
        },
    )
    assert [(p.partition_index, p.error_code) for p in r.topics[0].partitions] == [(0, 0)]
    assert offset_fetch(h, "grp", "oc", [0, 1]) == {0: (0, 42, "m"), 1: (0, -1, "")}
    assert offset_fetch(h, "other-group", "oc", [0]) == {0: (0, -1, "")}


def test_offset_commit_to_an_unknown_topic(h):
    h.call(ApiKey.FIND_COORDINATOR, 4, {"key_type": 0, "coordinator_keys": ["grp2"]})
    r = h.call(
        ApiKey.OFFSET_COMMIT,
        8,
        {
            "group_id": "grp2",
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {
                    "name": "no-such-topic",
                    "partitions": [
                        {
                            "partition_index": 0,
                            "committed_offset": 1,
                            "committed_leader_epoch": -1,
                            "committed_metadata": None,
                        }
                    ],
                }
            ],
        },
    )
    assert r.topics[0].partitions[0].error_code == ErrorCode.unknown_topic_or_partition


# -- DescribeConfigs -------------------------------------------------------------------------------------


def describe(h, name, keys=None):
    r = h.call(
        ApiKey.DESCRIBE_CONFIGS,
        4,
        {
            "resources": [{"resource_type": TOPIC_RESOURCE, "resource_name": name, "configuration_keys": keys}],
            "include_synonyms": False,
            "include_documentation": False,
        },
    )
    [res] = r.results
    return res


def test_describe_configs_of_a_topic(h):
    create(h, "dc", configs=[("cleanup.policy", "compact"), ("retention.ms", "1000")])
    res = describe(h, "dc", ["cleanup.policy", "retention.ms", "segment.bytes"])
    assert res.error_code == 0
    got = {c.name: (c.value, c.config_source, c.read_only) for c in res.configs}
    assert got == {
        "cleanup.policy": ("compact", TOPIC_CONFIG, False),
        "retention.ms": ("1000", TOPIC_CONFIG, False),
        "segment.bytes": ("1073741824", DEFAULT_CONFIG, False),
    }
    assert len(describe(h, "dc").configs) > 20  # every topic config when no keys are named


def test_describe_configs_of_an_unknown_topic(h):
    assert describe(h, "no-such-topic").error_code == ErrorCode.unknown_topic_or_partition


# -- a fake clock ------------------------------------------------------------------------------------------


def _ms(when) -> int:
    return round(when.timestamp() * 1000)  # kio reads a timestamp as an aware datetime


def test_log_append_time_comes_from_the_broker_clock(tmp_path):
    clock = FakeClock(1_234_567_000)
    h = BrokerHarness(tmp_path, clock_ms=clock)
    try:
        create(h, "lat", configs=[("message.timestamp.type", "LogAppendTime")])
        p = produce(h, "lat", 0, build_batch([Record(0, 5, None, b"x")]))
        assert (p.error_code, _ms(p.log_append_time)) == (0, 1_234_567_000)
        clock.advance(1000)
        assert _ms(produce(h, "lat", 0, build_batch([Record(0, 5, None, b"y")])).log_append_time) == 1_234_568_000
        assert [r.timestamp for _, r in iter_records(fetch(h, "lat", 0, 0).records)] == [1_234_567_000, 1_234_568_000]
    finally:
        h.close()
