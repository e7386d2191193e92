"""Kafka's BrokerTopicMetrics, per topic and for all topics: plain counters the broker bumps; and the
replication gauges (ReplicaManager, KafkaController, FetcherLagMetrics), computed when read.

Kafka keeps one ``BrokerTopicMetrics`` per topic plus an all-topics one (JMX
``kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec[,topic=T]``); each "PerSec" meter is a count
with rates on top. Here they are monotonically increasing integers; rates are the reader's business
(Prometheus ``rate()``, or the console sampling twice).

Who counts: :class:`~kavka.broker.replica_manager.ReplicaManager` calls :meth:`BrokerTopicMetrics.record_produce`
after an append that was not a duplicate, :meth:`record_fetch` for the bytes a fetch returns and
:meth:`remove_topic` when a topic goes (Kafka removes a deleted topic's metrics). Readers get the
object as ``ReplicaManager.topic_metrics``.

The gauges (:func:`replica_gauges`, :func:`controller_gauges`, :func:`follower_lags`) keep nothing:
they walk the replica manager's partitions or a metadata image each time a reader asks (a scrape of
``/metrics``, a console tick), as Kafka's gauges are evaluated when read.

Everything here runs on the event loop thread; nothing takes a lock.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "TopicCounters",
    "BrokerTopicMetrics",
    "ReplicaGauges",
    "ControllerGauges",
    "replica_gauges",
    "controller_gauges",
    "partition_flags",
    "effective_min_isr",
    "follower_lags",
    "fetcher_client_id",
]


@dataclass(slots=True)
class TopicCounters:
    """The counts behind one topic's (or all topics') BrokerTopicMetrics meters."""

    bytes_in: int = 0  # BytesInPerSec
    bytes_out: int = 0  # BytesOutPerSec
    messages_in: int = 0  # MessagesInPerSec
    total_produce_requests: int = 0  # TotalProduceRequestsPerSec (partition appends)
    failed_produce_requests: int = 0  # FailedProduceRequestsPerSec
    total_fetch_requests: int = 0  # TotalFetchRequestsPerSec (partition reads)


class BrokerTopicMetrics:
    """Per-topic counters plus their all-topics sum (``all_topics``)."""

    def __init__(self) -> None:
        self.all_topics = TopicCounters()
        self.topics: dict[str, TopicCounters] = {}

    def _of(self, topic: str) -> TopicCounters:
        c = self.topics.get(topic)
        if c is None:
            c = self.topics[topic] = TopicCounters()
        return c

    def record_produce(self, topic: str, nbytes: int, nrecords: int) -> None:
        """One partition append of ``nbytes`` holding ``nrecords`` records."""
        for c in (self._of(topic), self.all_topics):
            c.bytes_in += nbytes
            c.messages_in += nrecords
            c.total_produce_requests += 1

    def record_failed_produce(self, topic: str) -> None:
        for c in (self._of(topic), self.all_topics):
            c.total_produce_requests += 1
            c.failed_produce_requests += 1

    def record_fetch(self, topic: str, nbytes: int) -> None:
        """One partition read that returned ``nbytes`` (0 for an empty read)."""
        for c in (self._of(topic), self.all_topics):
            c.bytes_out += nbytes
            c.total_fetch_requests += 1

    def remove_topic(self, topic: str) -> None:
        self.topics.pop(topic, None)


# --- the replication gauges: Kafka's ReplicaManager, Partition, KafkaController and FetcherLagMetrics ---


@dataclass(frozen=True, slots=True)
class ReplicaGauges:
    """``kafka.server:type=ReplicaManager`` on one broker, read from its hosted partitions.

    As Kafka's ``ReplicaManager`` computes them: the ISR gauges count only partitions this broker leads
    (``UnderReplicatedPartitions``: ISR smaller than the replica set; ``UnderMinIsrPartitionCount`` /
    ``AtMinIsrPartitionCount``: ISR below / equal to the effective ``min.insync.replicas``, which is
    min(min.insync.replicas, replication factor)); ``PartitionCount`` counts every hosted partition,
    offline ones included; ``OfflineReplicaCount`` those in a failed log dir. ``isr_shrinks`` /
    ``isr_expands`` are the counts under ``IsrShrinksPerSec`` / ``IsrExpandsPerSec``."""

    under_replicated: int
    under_min_isr: int
    at_min_isr: int
    leader_count: int
    partition_count: int
    offline_replica_count: int
    isr_shrinks: int
    isr_expands: int


def effective_min_isr(p) -> int:
    """Kafka's ``Partition.effectiveMinIsr``: min.insync.replicas, at most the replication factor."""
    return max(1, min(p.min_insync_replicas, len(p.replicas) or 1))


def partition_flags(p) -> tuple[bool, bool, bool]:
    """(under-replicated, under min ISR, at min ISR) of one hosted partition; all False unless it leads
    and is online (Kafka's ``Partition.isUnderReplicated`` / ``isUnderMinIsr`` / ``isAtMinIsr``)."""
    if not p.is_leader or p.offline:
        return False, False, False
    isr, min_isr = len(p.isr), effective_min_isr(p)
    return len(p.replicas) > isr, isr < min_isr, isr == min_isr


def replica_gauges(rm) -> ReplicaGauges:
    """The ReplicaManager gauges of ``rm`` (a :class:`kavka.broker.replica_manager.ReplicaManager`)."""
    under = under_min = at_min = leaders = 0
    offline = set(rm.offline)
    for key, p in rm.partitions.items():
        if p.offline:
            offline.add(key)
            continue
        if not p.is_leader:
            continue
        leaders += 1
        u, below, at = partition_flags(p)
        under += u
        under_min += below
        at_min += at
    return ReplicaGauges(
        under_replicated=under,
        under_min_isr=under_min,
        at_min_isr=at_min,
        leader_count=leaders,
        partition_count=len(offline | rm.partitions.keys()),
        offline_replica_count=len(offline),
        isr_shrinks=rm.isr_shrinks,
        isr_expands=rm.isr_expands,
    )


@dataclass(frozen=True, slots=True)
class ControllerGauges:
    """``kafka.controller:type=KafkaController`` over a committed metadata image, as Kafka's
    ``ControllerMetadataMetrics`` (every controller reports them, active or not) plus
    ``ActiveControllerCount`` (1 on the active controller only). A partition is offline when the image
    names no leader for it (-1); its preferred leader is the first of its replicas."""

    active_controller_count: int
    offline_partitions: int
    global_topics: int
    global_partitions: int
    fenced_brokers: int
    active_brokers: int
    preferred_replica_imbalance: int


def controller_gauges(image, *, active: bool) -> ControllerGauges:
    offline = partitions = imbalance = 0
    for topic in image.topics_by_name.values():
        for p in topic.partitions.values():
            partitions += 1
            if p.leader < 0:
                offline += 1
            if not p.replicas or p.leader != p.replicas[0]:
                imbalance += 1
    fenced = sum(1 for b in image.brokers.values() if b.fenced)
    return ControllerGauges(
        active_controller_count=1 if active else 0,
        offline_partitions=offline,
        global_topics=len(image.topics_by_name),
        global_partitions=partitions,
        fenced_brokers=fenced,
        active_brokers=len(image.brokers) - fenced,
        preferred_replica_imbalance=imbalance,
    )


def fetcher_client_id(leader_id: int, fetcher_id: int = 0) -> str:
    """Kafka's replica fetcher thread name, the ``clientId`` tag of its FetcherLagMetrics."""
    return f"ReplicaFetcherThread-{fetcher_id}-{leader_id}"


def follower_lags(rm) -> list[tuple[str, int, int, int]]:
    """``(topic, partition, leader id, lag)`` for each partition this broker follows: Kafka's
    ``kafka.server:type=FetcherLagMetrics,name=ConsumerLag`` (the leader's high watermark at the last
    fetch minus this replica's log end offset, never below 0)."""
    out = []
    for (topic, index), p in sorted(rm.partitions.items()):
        if not p.is_leader and not p.offline and p.leader_id >= 0:
            out.append((topic, index, p.leader_id, max(0, p.fetch_lag)))
    return out
