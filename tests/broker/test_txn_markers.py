"""The marker writer's rules (Kafka's TransactionMarkerChannelManager and its completion handler), with
no sockets: the broker's view is a small image of leaders and live brokers, and the inter-broker
channel answers what each case needs. The real channel between real processes is exercised by
tests/cluster/test_cluster_transactions.py; here every outcome of an answer is checked once.
"""

from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace

import pytest

from kavka.broker.txn_markers import MarkerWriter
from kavka.coordinator.txn.shard import MarkerJob
from kavka.protocol.api import ApiKey
from kavka.protocol.api import ErrorCode as E

JOB = MarkerJob("tx", 0, 7, producer_id=42, producer_epoch=3, commit=True, partitions=frozenset())


class View:
    """What MarkerWriter reads of the broker: node 1, partitions of "t" led by 1, 2 and 3."""

    def __init__(self, answers, live=(1, 2, 3)):
        self.node_id = 1
        self.cluster_mode = True
        self.config = {"request.timeout.ms": 1000}
        self.leaders = {0: 1, 1: 2, 2: 3, 3: 2}
        self._live = live
        self.broker_channel = self
        self.answers = answers  # node -> error code per partition, or an exception to raise
        self.requests: list = []
        self.replica_manager = self  # local markers: replicated at once unless `unreplicated` says not
        self.unreplicated: dict = {}  # (topic, partition) -> error code its ISR wait ends with
        self.replication_waits: list = []

    def unreplicated_end(self, topic, index):
        return ((topic, index), 10) if (topic, index) in self.unreplicated else None

    async def until_replicated(self, partition, offset, timeout):
        self.replication_waits.append((partition, offset))
        await asyncio.sleep(0)
        return self.unreplicated[partition]

    def topic(self, name):
        if name != "t":
            return None
        return SimpleNamespace(partitions={i: SimpleNamespace(leader=lead) for i, lead in self.leaders.items()})

    def live_brokers(self):
        return [SimpleNamespace(node_id=n) for n in self._live]

    async def request(self, node, api_key, version, body, timeout, *, purpose):
        assert (api_key, version, purpose) == (ApiKey.WRITE_TXN_MARKERS, 1, "txn-markers")
        self.requests.append((node, body))
        answer = self.answers[node]
        if isinstance(answer, Exception):
            raise answer
        return SimpleNamespace(
            markers=[
                SimpleNamespace(
                    producer_id=m["producer_id"],
                    topics=[
                        SimpleNamespace(
                            name=t["name"],
                            partitions=[
                                SimpleNamespace(partition_index=p, error_code=answer) for p in t["partition_indexes"]
                            ],
                        )
                        for t in m["topics"]
                    ],
                )
                for m in body["markers"]
            ]
        )


def write(view: View, partitions, local_code=E.none):
    reports: list = []
    local: list = []

    def write_local(topic, index, job):
        local.append((topic, index))
        return local_code

    async def scenario():
        writer = MarkerWriter(view, write_local, lambda job, failed, fenced: reports.append((failed, fenced)))
        writer.write([dataclasses.replace(JOB, partitions=frozenset(partitions))])
        await asyncio.gather(*writer._tasks)  # the requests to other brokers, answered

    asyncio.run(scenario())
    return reports, local


EVERY = [("t", 0), ("t", 1), ("t", 2), ("t", 3)]


def test_local_in_process_and_one_request_per_other_leader():
    view = View({2: E.none, 3: E.none})
    reports, local = write(view, EVERY)
    assert local == [("t", 0)]
    assert sorted(
        (node, sorted(m["topics"][0]["partition_indexes"])) for node, b in view.requests for m in b["markers"]
    ) == [
        (2, [1, 3]),
        (3, [2]),
    ]
    [(node, body)] = [r for r in view.requests if r[0] == 3]
    [marker] = body["markers"]
    assert marker["producer_id"] == 42 and marker["producer_epoch"] == 3 and marker["coordinator_epoch"] == 7
    assert marker["transaction_result"] is True
    assert reports == [(set(), False)]  # one report, once every partition answered


def test_a_local_marker_counts_once_its_isr_has_it():
    """Kafka writes markers with acks=all: the job is reported only after the local partition's high
    watermark passed the marker; a marker its ISR did not get in time is retried."""
    view = View({2: E.none, 3: E.none})
    view.unreplicated = {("t", 0): E.none}
    reports, _ = write(view, EVERY)
    assert view.replication_waits == [(("t", 0), 10)] and reports == [(set(), False)]
    view = View({2: E.none, 3: E.none})
    view.unreplicated = {("t", 0): E.request_timed_out}
    reports, _ = write(view, EVERY)
    assert reports == [({("t", 0)}, False)]


@pytest.mark.parametrize(
    "code",
    [
        E.not_leader_or_follower,
        E.unknown_topic_or_partition,
        E.not_enough_replicas,
        E.request_timed_out,
        E.kafka_storage_error,
        E.unknown_server_error,
    ],
)
def test_retriable_and_unexpected_answers_are_retried(code):
    reports, _ = write(View({2: code, 3: E.none}), EVERY)
    assert reports == [({("t", 1), ("t", 3)}, False)]


@pytest.mark.parametrize("code", [E.invalid_producer_epoch, E.transaction_coordinator_fenced])
def test_a_fenced_answer_gives_the_job_up(code):
    reports, _ = write(View({2: E.none, 3: code}), EVERY)
    assert reports == [(set(), True)]


@pytest.mark.parametrize("code", [E.unsupported_for_message_format, E.unsupported_version])
def test_answers_that_mean_nothing_to_write_count_as_done(code):
    reports, _ = write(View({2: code, 3: E.none}), EVERY)
    assert reports == [(set(), False)]


def test_a_lost_connection_retries_that_brokers_partitions():
    reports, _ = write(View({2: ConnectionError("gone"), 3: E.none}), EVERY)
    assert reports == [({("t", 1), ("t", 3)}, False)]


def test_deleted_topics_are_done_and_dead_leaders_retried_without_a_request():
    view = View({}, live=(1, 3))
    view.leaders[2] = -1
    reports, local = write(view, [("gone", 0), ("t", 1), ("t", 2)])
    assert view.requests == [] and local == []
    assert reports == [({("t", 1), ("t", 2)}, False)]
