"""One fault run, end to end: cluster, topics, workload, nemesis, heal, final read, check.

`fault_run(RunConfig(seed=...))` starts a `LocalCluster` of ``brokers`` combined nodes (each in its own
network namespace when the schedule has network faults), creates the plain topic (and the
transactional one) with ``replication.factor``, ``min.insync.replicas`` and
``unclean.leader.election.enable`` as configured, runs the workload for ``duration`` seconds while the
nemesis plays the seeded schedule, heals everything, waits for every partition to have a leader, reads
every partition completely and checks the history. It prints the seed and the command that replays the
run first, and the checker's summary last; the history is kept as ``history.jsonl`` in the run's
directory (``base_dir``), which the caller removes or keeps.

``before_final_read`` (a test hook) runs after the heal, before the final read, with the cluster: the
tests use it to destroy data and show the checker notices.

``KAVKA_FAULTS_LOG_LEVEL`` (debug, info, warning, error) sets the nodes' ``--log-level`` (WARNING
otherwise), for a replay whose node logs must show the coordinators' state changes.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.cluster import LocalCluster
from kavka.testing.netfaults import make_network
from kavka.testing.process import wait_until
from tests.faults.checker import CheckResult, check
from tests.faults.history import Recorder, dump
from tests.faults.nemesis import Nemesis
from tests.faults.schedule import NETWORK_KINDS, Fault, make_schedule
from tests.faults.workload import Workload, WorkloadConfig

__all__ = ["RunConfig", "RunResult", "fault_run"]


# fast failure detection, so faults are noticed within a run of a minute
def cluster_overrides(brokers: int) -> dict[str, object]:
    """The cluster's settings; internal topics at Kafka's factor 3, or the whole cluster when it is
    smaller (Kafka creates none until that many brokers are live, as Kavka does)."""
    rf = min(3, brokers)
    return {
        **CLUSTER_OVERRIDES,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min(2, rf),
    }


CLUSTER_OVERRIDES = {
    "broker.heartbeat.interval.ms": 250,
    "broker.session.timeout.ms": 2000,
    "replica.lag.time.max.ms": 3000,
    "offsets.topic.replication.factor": 3,
    "transaction.state.log.replication.factor": 3,
    "transaction.state.log.min.isr": 2,
    "offsets.topic.num.partitions": 3,
    "transaction.state.log.num.partitions": 3,
    "group.initial.rebalance.delay.ms": 0,
}


@dataclass
class RunConfig:
    seed: int
    brokers: int = 3
    duration: float = 60.0
    faults: Sequence[str] = ("kill", "pause", "partition")
    partitions: int = 3
    replication_factor: int = 3
    min_insync_replicas: int = 2
    unclean: bool = False
    transactions: bool = True
    rate: float = 50.0
    base_dir: Path | None = None
    before_final_read: Callable[[LocalCluster], None] | None = None
    log: Callable[[str], None] = print

    def replay_command(self) -> str:
        args = [
            f"--seed {self.seed}",
            f"--brokers {self.brokers}",
            f"--duration {self.duration:g}",
            f"--faults {','.join(self.faults) or 'none'}",
            f"--partitions {self.partitions}",
            f"--rf {self.replication_factor}",
            f"--min-isr {self.min_insync_replicas}",
        ]
        if self.unclean:
            args.append("--unclean")
        if not self.transactions:
            args.append("--no-transactions")
        return "python tools/faultrun.py " + " ".join(args)


@dataclass
class RunResult:
    config: RunConfig
    schedule: list[Fault]
    result: CheckResult
    history_path: Path
    workload_errors: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def valid(self) -> bool:
        # an incomplete final read leaves writes unjudged: the run proves nothing, so it does not pass
        return self.result.valid and not self.workload_errors and not self.result.stats["incomplete-final-reads"]

    def report(self) -> str:
        head = f"fault run seed={self.config.seed}: {'VALID' if self.valid else 'INVALID'} in {self.seconds:.0f}s"
        lines = [head, f"replay: {self.config.replay_command()}", f"history: {self.history_path}"]
        lines += [f"workload error: {e}" for e in self.workload_errors]
        lines.append(self.result.summary())
        return "\n".join(lines)


def fault_run(config: RunConfig) -> RunResult:
    t_start = time.monotonic()

    def log(line: str) -> None:
        config.log(f"[{time.monotonic() - t_start:6.1f}s] {line}")

    base = Path(config.base_dir) if config.base_dir else Path(tempfile.mkdtemp(prefix="kavka-faults-"))
    node_ids = list(range(1, config.brokers + 1))
    schedule = make_schedule(config.seed, node_ids, config.duration, config.faults, partitions=config.partitions)
    log(f"fault run seed={config.seed}; replay: {config.replay_command()}")
    for fault in schedule:
        log(f"  {fault.describe()}")
    network = make_network(node_ids) if set(config.faults) & set(NETWORK_KINDS) else None
    recorder = Recorder()
    workload_errors: list[str] = []
    try:
        cluster = LocalCluster(
            nodes=config.brokers,
            base_dir=base / "cluster",
            overrides=cluster_overrides(config.brokers),
            network=network,
        )
        level = os.environ.get("KAVKA_FAULTS_LOG_LEVEL")
        if level:
            for node in cluster.nodes.values():
                node.extra_args += ["--log-level", level.lower()]
        with cluster:
            _wait_for_brokers(cluster)
            topic, txn_topic = "faults", "faults-txn" if config.transactions else None
            _create_topics(cluster, config, [t for t in (topic, txn_topic) if t])
            log("cluster up, topics created; workload starts")
            workload = Workload(
                WorkloadConfig(
                    bootstrap=cluster.bootstrap,
                    topic=topic,
                    txn_topic=txn_topic,
                    partitions=config.partitions,
                    rate=config.rate,
                    seed=config.seed,
                    name=f"s{config.seed}",
                ),
                recorder,
            ).start()
            workload.wait_ready(60)
            log("every client has started; faults begin")
            t_workload = time.monotonic()
            nemesis = Nemesis(cluster, network, topic, log=log)
            nemesis_thread = threading.Thread(target=nemesis.run, args=(schedule,), name="nemesis", daemon=True)
            nemesis_thread.start()
            nemesis_thread.join(config.duration)
            # the schedule may end early (or be empty): the workload still runs its whole duration
            workload.wait(config.duration - (time.monotonic() - t_workload))
            nemesis.stop()
            nemesis_thread.join(120)
            nemesis.heal_all()
            log("healed; waiting for every partition to have a leader")
            _wait_for_leaders(cluster, [t for t in (topic, txn_topic) if t], config.partitions)
            # the clients get a few seconds of a healthy cluster to deliver what they retry
            workload.stop()
            workload_errors = workload.errors
            log("workload stopped")
            if config.before_final_read is not None:
                config.before_final_read(cluster)
                _wait_for_leaders(cluster, [t for t in (topic, txn_topic) if t], config.partitions)
            workload.final_reads()
            log("final reads done")
    finally:
        if network is not None:
            network.destroy()
        # kept even when the run broke off, for the post-mortem
        history_path = base / "history.jsonl"
        events = recorder.snapshot()
        dump(events, history_path)
    result = RunResult(config, schedule, check(events), history_path, workload_errors, time.monotonic() - t_start)
    log(result.report())
    return result


def _wait_for_brokers(cluster: LocalCluster) -> None:
    want = {n.node_id for n in cluster.brokers}

    def listed() -> bool:
        md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=5)
        return set(md.brokers) == want

    wait_until(listed, timeout=60, message="every broker registered and listed")


def _create_topics(cluster: LocalCluster, config: RunConfig, names: list[str]) -> None:
    admin = AdminClient({"bootstrap.servers": cluster.bootstrap})
    configs = {
        "min.insync.replicas": str(config.min_insync_replicas),
        "unclean.leader.election.enable": str(config.unclean).lower(),
    }
    new = [NewTopic(n, config.partitions, config.replication_factor, config=configs) for n in names]
    for future in admin.create_topics(new, operation_timeout=30, request_timeout=30).values():
        future.result(30)
    _wait_for_leaders(cluster, names, config.partitions)


def _wait_for_leaders(cluster: LocalCluster, topics: list[str], partitions: int, timeout: float = 90) -> None:
    def led() -> bool:
        md = AdminClient({"bootstrap.servers": cluster.bootstrap}).list_topics(timeout=5)
        for name in topics:
            t = md.topics.get(name)
            if t is None or t.error is not None or len(t.partitions) != partitions:
                return False
            if any(p.leader < 0 for p in t.partitions.values()):
                return False
        return True

    wait_until(led, timeout=timeout, interval=0.2, message=f"a leader for every partition of {topics}")
