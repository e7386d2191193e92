"""What Kafka documents as loss, seen by the checker: ``unclean.leader.election.enable=true``.

One controller and three brokers; a topic with RF=3 and ``min.insync.replicas=1``. Batch A is written
while all three replicas are in sync; both followers are stopped (SIGSTOP) until the ISR is the leader
alone, which then acknowledges batch B (``acks=all`` asks only the ISR); the leader is killed (kill -9)
and the followers resumed.

- unclean election on: a follower that never had B becomes leader, batch C goes in where B was, and
  the old leader, restarted, truncates to the new leader's log: the checker reports B lost (and two
  values at B's offsets), and A intact;
- unclean election off (the control): no out-of-sync replica may lead, the partition waits for the old
  leader, and nothing acknowledged is lost.

"""

from __future__ import annotations

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.process import wait_until
from tests.faults.checker import CheckResult, check
from tests.faults.history import Recorder, Send
from tests.faults.nemesis import leader_of
from tests.faults.run import CLUSTER_OVERRIDES
from tests.faults.workload import CLIENT_TIMEOUTS, read_partitions

TOPIC = "unclean"


def send_batch(bootstrap: str, recorder: Recorder, name: str, n: int = 20) -> list[str]:
    """Send ``n`` values with acks=all and record each outcome; return the acknowledged ones."""
    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "enable.idempotence": True,
            "message.timeout.ms": 10000,
            **CLIENT_TIMEOUTS,
        }
    )
    acked: list[str] = []

    def report(err, msg) -> None:
        value = msg.value().decode()
        if err is None:
            acked.append(value)
            recorder.add(Send(name, TOPIC, value, "ok", msg.partition(), msg.offset()))
        else:
            recorder.add(Send(name, TOPIC, value, "fail", error=err.str()))

    for i in range(n):
        producer.produce(TOPIC, value=f"{name}-{i}", partition=0, on_delivery=report)
    assert producer.flush(30) == 0
    return acked


def isr(bootstrap: str) -> list[int]:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic=TOPIC, timeout=5)
    return sorted(md.topics[TOPIC].partitions[0].isrs)


def scenario(tmp_path, unclean: bool) -> tuple[CheckResult, list[str], list[str]]:
    recorder = Recorder()
    with LocalCluster(controllers=1, brokers=3, base_dir=tmp_path, overrides=CLUSTER_OVERRIDES) as cluster:
        brokers = {n.node_id: n for n in cluster.brokers}
        admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
        wait_until(lambda: set(admin.list_topics(timeout=5).brokers) == set(brokers), 60, message="brokers")
        configs = {"min.insync.replicas": "1", "unclean.leader.election.enable": str(unclean).lower()}
        admin.create_topics([NewTopic(TOPIC, 1, 3, config=configs)])[TOPIC].result(30)
        wait_until(lambda: len(isr(cluster.bootstrap)) == 3, 30, message="three replicas in sync")
        old_leader, _replicas = leader_of(cluster.bootstrap, TOPIC, 0)
        a = send_batch(cluster.bootstrap, recorder, "A")
        # every replica has A before the followers go
        wait_until(lambda: len(isr(cluster.bootstrap)) == 3, 30, message="A replicated")
        followers = [n for i, n in brokers.items() if i != old_leader]
        for node in followers:
            node.pause()
        leader = brokers[old_leader]
        wait_until(lambda: isr(leader.bootstrap) == [old_leader], 30, message="the ISR shrunk to the leader")
        b = send_batch(leader.bootstrap, recorder, "B")
        leader.kill()
        for node in followers:
            node.resume()
        live = ",".join(n.bootstrap for n in followers)
        if unclean:
            wait_until(
                lambda: leader_of(live, TOPIC, 0)[0] in {n.node_id for n in followers}, 30, message="unclean election"
            )
            send_batch(live, recorder, "C")
            leader.start()
        else:
            leader.start()
            wait_until(lambda: leader_of(cluster.bootstrap, TOPIC, 0)[0] == old_leader, 30, message="old leader back")
            send_batch(cluster.bootstrap, recorder, "C")
        wait_until(lambda: len(isr(cluster.bootstrap)) == 3, 60, message="every replica back in sync")
        for read in read_partitions(cluster.bootstrap, TOPIC, 1, "read_uncommitted", 30):
            recorder.add(read)
    return check(recorder.snapshot()), a, b


def test_unclean_leader_election_loses_acknowledged_writes_and_the_checker_sees_it(tmp_path):
    result, a, b = scenario(tmp_path, unclean=True)
    lost = {x["value"] for x in result.anomalies.get("lost-write", [])}
    assert lost and lost <= set(b) and not lost & set(a), result.summary()
    assert result.anomalies.get("inconsistent-offset"), result.summary()


def test_without_unclean_election_the_same_faults_lose_nothing(tmp_path):
    result, _a, _b = scenario(tmp_path, unclean=False)
    assert result.valid, result.summary()
