"""Faults on a real KRaft cluster of ``kavka serve`` processes, and every client's view of it.

- a broker stopped with SIGSTOP misses its heartbeats and is fenced (out of Metadata); SIGCONT brings
  it back, unfenced;
- every node restarted (SIGTERM, then all started again) finds the same metadata;
- a node that was down while the quorum wrote past a snapshot and dropped the log below it catches
  up through FetchSnapshot;
- confluent-kafka, kafka-python, aiokafka, kcat and Kafka's own kafka-broker-api-versions list every
  broker of a separate-roles cluster (3 controllers, 3 brokers).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess

import pytest
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.cluster.test_kraft_cluster import active_controller, all_list_every_broker, broker_ids

FAST = {"broker.heartbeat.interval.ms": 200, "broker.session.timeout.ms": 1500}


def _topics(bootstrap: str) -> dict:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=5)
    return {name: len(t.partitions) for name, t in md.topics.items() if not name.startswith("__")}


def test_a_stopped_broker_is_fenced_and_comes_back_unfenced(tmp_path):
    with LocalCluster(nodes=3, base_dir=tmp_path, overrides=FAST) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        leader = active_controller(cluster)
        victim = next(n for i, n in cluster.nodes.items() if i != leader)
        other = next(n for i, n in cluster.nodes.items() if i not in (leader, victim.node_id))
        os.kill(victim.pid, signal.SIGSTOP)
        try:
            wait_until(
                lambda: victim.node_id not in broker_ids(other.bootstrap),
                timeout=30,
                message="the stopped broker fenced, out of Metadata",
            )
        finally:
            os.kill(victim.pid, signal.SIGCONT)
        wait_until(lambda: victim.node_id in broker_ids(other.bootstrap), timeout=30, message="unfenced again")


def test_every_node_restarted_finds_the_same_metadata(tmp_path):
    cluster = LocalCluster(nodes=3, base_dir=tmp_path)
    with cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        for f in admin.create_topics([NewTopic("a", 3, 1), NewTopic("b", 5, 1)]).values():
            f.result(30)
        admin.delete_topics(["a"])["a"].result(30)
        want = {"b": 5}
        wait_until(lambda: all(_topics(n.bootstrap) == want for n in cluster.brokers), timeout=30, message="b only")
        cluster.stop()
        cluster.start()
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed again")
        wait_until(
            lambda: all(_topics(n.bootstrap) == want for n in cluster.brokers),
            timeout=30,
            message="the same topics after the restart",
        )


def test_a_node_that_missed_a_snapshot_catches_up_through_it(tmp_path):
    # A tiny snapshot threshold: every commit is followed by a snapshot and the log below it goes, so
    # after five topics the leader's log starts past where the stopped node ended, and its fetch is
    # answered with the snapshot's id (FetchSnapshot is the only way back).
    overrides = {"metadata.log.max.record.bytes.between.snapshots": 1}
    with LocalCluster(nodes=3, base_dir=tmp_path, overrides=overrides) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        leader = active_controller(cluster)
        lagging = next(n for i, n in cluster.nodes.items() if i != leader)
        lagging.stop()
        alive = [n for n in cluster.brokers if n is not lagging]
        admin = AdminClient({"bootstrap.servers": alive[0].bootstrap})
        for i in range(5):
            admin.create_topics([NewTopic(f"while-down-{i}", 1, 1)])[f"while-down-{i}"].result(30)
        # the leader's log now starts past where the lagging node stopped
        lead_dir = cluster.nodes[leader].data_dir / "__cluster_metadata-0"
        wait_until(lambda: _snapshot_ends(lead_dir), timeout=30, message="a snapshot on the leader")
        lagging.start()
        wait_until(
            lambda: {f"while-down-{i}" for i in range(5)} <= set(_topics(lagging.bootstrap)),
            timeout=60,
            message="the restarted node has every topic created while it was down",
        )
        assert _snapshot_ends(lagging.data_dir / "__cluster_metadata-0"), "the node loaded the leader's snapshot"


def _snapshot_ends(log_dir) -> list[int]:
    """End offsets (> 0) of the snapshot files in a metadata log dir."""
    return [int(p.name[:20]) for p in log_dir.iterdir() if p.name.endswith(".checkpoint") and int(p.name[:20]) > 0]


@pytest.fixture(scope="module")
def separate(tmp_path_factory):
    cluster = LocalCluster(controllers=3, brokers=3, base_dir=tmp_path_factory.mktemp("separate"))
    with cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        yield cluster


def test_confluent_kafka_lists_every_broker(separate):
    admin = AdminClient({"bootstrap.servers": separate.bootstrap})
    assert set(admin.list_topics(timeout=10).brokers) == {4, 5, 6}


def test_kafka_python_lists_every_broker(separate):
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=separate.bootstrap)
    try:
        assert {b["broker_id"] for b in admin.describe_cluster()["brokers"]} == {4, 5, 6}
    finally:
        admin.close()


def test_aiokafka_lists_every_broker(separate):
    from aiokafka import AIOKafkaClient

    async def brokers():
        client = AIOKafkaClient(bootstrap_servers=separate.bootstrap)
        await client.bootstrap()
        try:
            return {b.nodeId for b in client.cluster.brokers()}
        finally:
            await client.close()

    assert asyncio.run(brokers()) == {4, 5, 6}


def test_kcat_lists_every_broker(separate):
    kcat = shutil.which("kcat") or shutil.which("kafkacat")
    assert kcat is not None, "kcat is installed by .ci/run (apt-get install kcat)"
    out = subprocess.run([kcat, "-b", separate.bootstrap, "-L"], capture_output=True, text=True, timeout=30).stdout
    assert " 3 brokers:" in out, out
    for n in separate.brokers:
        assert f"broker {n.node_id} at 127.0.0.1:{n.port}" in out, out


def test_kafkas_own_tool_lists_every_broker(separate, apache_kafka):
    done = apache_kafka.run_tool(
        "org.apache.kafka.tools.BrokerApiVersionsCommand", ["--bootstrap-server", separate.bootstrap]
    )
    out = done.stdout
    for n in separate.brokers:
        assert f"127.0.0.1:{n.port} (id: {n.node_id} rack: null" in out, out
