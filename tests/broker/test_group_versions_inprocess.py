"""The group APIs at the versions Kafka 4.4 added, in process (no JVM: tests/oracle/test_oracle_groups
compares the same answers with Kafka's): OffsetCommit and OffsetFetch v10 name topics by id,
DescribeGroups v6 refuses a group it does not have, FindCoordinator v6 checks share-group keys."""

from __future__ import annotations

import uuid

import pytest

from kavka.protocol.api import ApiKey, ErrorCode
from tests.broker.harness import BrokerHarness


@pytest.fixture(scope="module")
def h(tmp_path_factory):
    harness = BrokerHarness(tmp_path_factory.mktemp("kavka-group-versions"))
    yield harness
    harness.close()


def topic_id(h, name: str, partitions: int) -> uuid.UUID:
    body = {
        "topics": [
            {"name": name, "num_partitions": partitions, "replication_factor": 1, "assignments": [], "configs": []}
        ],
        "timeout": 30000,
        "validate_only": False,
    }
    [t] = h.call(ApiKey.CREATE_TOPICS, 7, body).topics
    assert t.error_code == 0
    return t.topic_id


def test_offset_commit_and_fetch_v10_by_topic_id(h):
    known, unknown = topic_id(h, "by-id", 2), uuid.uuid4()
    h.call(ApiKey.FIND_COORDINATOR, 6, {"key_type": 0, "coordinator_keys": ["gid"]})

    def partition(index: int, offset: int) -> dict:
        return {
            "partition_index": index,
            "committed_offset": offset,
            "committed_leader_epoch": -1,
            "committed_metadata": "m",
        }

    r = h.call(
        ApiKey.OFFSET_COMMIT,
        10,
        {
            "group_id": "gid",
            "generation_id_or_member_epoch": -1,
            "member_id": "",
            "group_instance_id": None,
            "topics": [
                {"topic_id": known, "partitions": [partition(0, 5), partition(7, 1)]},
                {"topic_id": unknown, "partitions": [partition(0, 1)]},
            ],
        },
    )
    # the refused partitions first, each topic once (Kafka's response builder)
    assert [(t.topic_id, [(p.partition_index, p.error_code) for p in t.partitions]) for t in r.topics] == [
        (known, [(7, ErrorCode.unknown_topic_or_partition), (0, ErrorCode.none)]),
        (unknown, [(0, ErrorCode.unknown_topic_id)]),
    ]
    r = h.call(
        ApiKey.OFFSET_FETCH,
        10,
        {
            "groups": [
                {
                    "group_id": "gid",
                    "member_id": None,
                    "member_epoch": -1,
                    "topics": [
                        {"topic_id": known, "partition_indexes": [0, 1]},
                        {"topic_id": unknown, "partition_indexes": [3]},
                    ],
                },
                {"group_id": "gid", "member_id": None, "member_epoch": -1, "topics": None},
            ],
            "require_stable": False,
        },
    )
    asked, everything = r.groups
    assert [
        (t.topic_id, [(p.partition_index, p.committed_offset, p.error_code) for p in t.partitions])
        for t in asked.topics
    ] == [
        (known, [(0, 5, ErrorCode.none), (1, -1, ErrorCode.none)]),
        (unknown, [(3, -1, ErrorCode.unknown_topic_id)]),
    ]
    assert [
        (t.topic_id, [(p.partition_index, p.committed_offset) for p in t.partitions]) for t in everything.topics
    ] == [(known, [(0, 5)])]


def test_describe_groups_v6_refuses_a_group_it_does_not_have(h):
    h.call(ApiKey.FIND_COORDINATOR, 6, {"key_type": 0, "coordinator_keys": ["nobody-here"]})
    for version, code, message in (
        (5, ErrorCode.none, None),
        (6, ErrorCode.group_id_not_found, "Group nobody-here not found."),
    ):
        [g] = h.call(
            ApiKey.DESCRIBE_GROUPS, version, {"groups": ["nobody-here"], "include_authorized_operations": False}
        ).groups
        assert (g.error_code, g.group_state, getattr(g, "error_message", None)) == (code, "Dead", message)


def test_find_coordinator_v6_share_keys(h):
    bad = ["g:nope:0", "a:b:c:d", f" :{'A' * 22}:0", f"g:{'A' * 10}!{'A' * 11}:0"]
    keys = [f"g:{'A' * 22}:0", *bad]
    r = h.call(ApiKey.FIND_COORDINATOR, 6, {"key_type": 2, "coordinator_keys": keys})
    codes = [c.error_code for c in r.coordinators]
    assert codes == [ErrorCode.coordinator_not_available] + [ErrorCode.invalid_request] * len(bad)
    r = h.call(ApiKey.FIND_COORDINATOR, 5, {"key_type": 2, "coordinator_keys": keys[:1]})
    assert [(c.error_code, c.error_message) for c in r.coordinators] == [(ErrorCode.invalid_request, "")]
