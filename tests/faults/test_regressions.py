"""Bugs the fault suite found, each kept as a test of what a user sees.

- seed 2 (3 nodes, RF=1, kill -9 and SIGSTOP): every record of the partitions a node led was gone
  after the node restarted; a clean restart (SIGTERM) lost them too: the node hosted partitions from the
  image its own metadata log held, before catching up, and deleted the logs of topics it lacked. Fixed
  by hosting partitions only once the image holds the node's own registration (Broker.caught_up).
"""

from __future__ import annotations

from confluent_kafka import Producer

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import create_topic, wait_until
from tests.cluster.test_kraft_cluster import all_list_every_broker
from tests.faults.checker import check
from tests.faults.history import Recorder, Send
from tests.faults.workload import CLIENT_TIMEOUTS, read_partitions


def test_a_restarted_node_keeps_the_records_of_the_partitions_it_leads(tmp_path):
    recorder = Recorder()
    with LocalCluster(nodes=3, base_dir=tmp_path) as cluster:
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="every broker listed")
        create_topic(cluster.bootstrap, "kept", 3, replication_factor=1)
        producer = Producer({"bootstrap.servers": cluster.bootstrap, "acks": "all", **CLIENT_TIMEOUTS})

        def report(err, msg) -> None:
            value = msg.value().decode()
            if err is None:
                recorder.add(Send("p", "kept", value, "ok", msg.partition(), msg.offset()))

        for i in range(30):
            producer.produce("kept", value=f"v{i}", partition=i % 3, on_delivery=report)
        assert producer.flush(30) == 0
        cluster.nodes[1].stop()
        cluster.nodes[1].start()
        wait_until(lambda: all_list_every_broker(cluster), timeout=60, message="the node back")
        for read in read_partitions(cluster.bootstrap, "kept", 3, "read_uncommitted", 30):
            recorder.add(read)
    result = check(recorder.snapshot())
    assert result.stats["acked"] == 30
    assert result.valid, result.summary()
