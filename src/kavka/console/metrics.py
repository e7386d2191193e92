"""``GET /metrics``: the broker's state in Prometheus text format, with Kafka-derived names.

Names follow what Prometheus' JMX exporter makes of Kafka's MBeans (``kafka.server:type=
BrokerTopicMetrics,name=BytesInPerSec,topic=T`` → ``kafka_server_brokertopicmetrics_bytesin_total
{topic="T"}``), so dashboards written for Kafka read Kavka. Consumer-group series use kafka_exporter's
names (``kafka_consumergroup_lag``), since Kafka brokers do not export lag themselves.

Replication (Kafka's MBeans in :data:`REPLICA_MANAGER`, :data:`KAFKA_CONTROLLER`, :data:`FETCHER_LAG`;
values from :mod:`kavka.broker.metrics`): ``kafka_server_replicamanager_*`` on nodes with the broker role,
``kafka_controller_kafkacontroller_*`` only on a node with the controller role (as Kafka registers
them), ``ActiveControllerCount`` 1 only on the active one; the per-partition
``kafka_cluster_partition_*`` gauges and, on a follower,
``kafka_server_fetcherlagmetrics_consumerlag{clientId="ReplicaFetcherThread-0-<leader>",topic,partition}``.

Counters (``*_total``) come in two shapes, as in Kafka: per topic (``topic`` label) and for all
topics (no ``topic`` label: select it with ``{topic=""}``). Every value is read at scrape time from
the broker's in-process state; this module keeps nothing.
"""

from __future__ import annotations

from kavka.broker.dispatch import TIME_BUCKETS_MS
from kavka.broker.metrics import (
    controller_gauges,
    fetcher_client_id,
    follower_lags,
    partition_flags,
    replica_gauges,
)
from kavka.console.state import connection_count, request_counts, request_times

__all__ = ["KafkaCollector", "render", "prom_name", "REPLICA_MANAGER", "KAFKA_CONTROLLER", "FETCHER_LAG"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


# (MBean name, ReplicaGauges attribute, help) of kafka.server:type=ReplicaManager; a "PerSec" meter is
# a counter (``_total``), its rate is the reader's (Prometheus ``rate()``)
REPLICA_MANAGER = (
    ("UnderReplicatedPartitions", "under_replicated", "Partitions led here whose ISR is smaller than their replicas."),
    ("UnderMinIsrPartitionCount", "under_min_isr", "Partitions led here whose ISR is below min.insync.replicas."),
    ("AtMinIsrPartitionCount", "at_min_isr", "Partitions led here whose ISR is at min.insync.replicas."),
    ("OfflineReplicaCount", "offline_replica_count", "Partitions here whose log dir failed."),
    ("PartitionCount", "partition_count", "Partitions on this broker."),
    ("LeaderCount", "leader_count", "Partitions this broker leads."),
    ("IsrShrinksPerSec", "isr_shrinks", "ISR shrinks made by this broker as leader (IsrShrinksPerSec)."),
    ("IsrExpandsPerSec", "isr_expands", "ISR expands made by this broker as leader (IsrExpandsPerSec)."),
)
# (MBean name, ControllerGauges attribute, help) of kafka.controller:type=KafkaController
KAFKA_CONTROLLER = (
    ("ActiveControllerCount", "active_controller_count", "1 on the active controller, 0 elsewhere."),
    ("OfflinePartitionsCount", "offline_partitions", "Partitions with no leader."),
    ("GlobalTopicCount", "global_topics", "Topics in the cluster."),
    ("GlobalPartitionCount", "global_partitions", "Partitions in the cluster."),
    ("ActiveBrokerCount", "active_brokers", "Registered brokers that are not fenced."),
    ("FencedBrokerCount", "fenced_brokers", "Registered brokers that are fenced."),
    ("PreferredReplicaImbalanceCount", "preferred_replica_imbalance", "Partitions not led by their first replica."),
)
FETCHER_LAG = "kafka.server:type=FetcherLagMetrics,name=ConsumerLag"


def prom_name(mbean: str) -> str:
    """What the JMX exporter's Kafka rules make of an MBean name (``kafka.server:type=ReplicaManager,
    name=IsrShrinksPerSec`` → ``kafka_server_replicamanager_isrshrinks``; prometheus_client adds
    ``_total`` to a counter): domain, type and name lower-cased and joined by ``_``, a meter's
    ``PerSec`` dropped. Other keys (topic, partition, clientId) become labels."""
    domain, _, keys = mbean.partition(":")
    parts = dict(k.split("=", 1) for k in keys.split(","))
    name = parts["name"].removesuffix("PerSec")
    return "_".join([domain.replace(".", "_"), parts["type"], name]).lower()


class KafkaCollector:
    """A prometheus_client collector over one server; ``groups`` is the last consumer-group snapshot."""

    def __init__(self, server):
        self.server = server
        self.groups: list[dict] = []

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

        server = self.server
        broker = server.broker
        rm = broker.replica_manager
        metrics = rm.topic_metrics

        def counter(name, doc, labels=("topic",)):
            return CounterMetricFamily(name, doc, labels=list(labels))

        def gauge(name, doc, labels=()):
            return GaugeMetricFamily(name, doc, labels=list(labels))

        # --- BrokerTopicMetrics -----------------------------------------------------------------
        b_in = counter("kafka_server_brokertopicmetrics_bytesin", "Bytes appended by producers (BytesInPerSec).")
        b_out = counter("kafka_server_brokertopicmetrics_bytesout", "Bytes sent to fetchers (BytesOutPerSec).")
        m_in = counter("kafka_server_brokertopicmetrics_messagesin", "Records appended (MessagesInPerSec).")
        b_in.add_metric([], rm.bytes_in)
        b_out.add_metric([], rm.bytes_out)
        m_in.add_metric([], rm.messages_in)
        for topic, c in sorted(metrics.topics.items()):
            b_in.add_metric([topic], c.bytes_in)
            m_in.add_metric([topic], c.messages_in)
            b_out.add_metric([topic], c.bytes_out)
        yield b_in
        yield b_out
        yield m_in
        for attr, name, doc in (
            ("total_produce_requests", "totalproducerequests", "Partition appends (TotalProduceRequestsPerSec)."),
            ("failed_produce_requests", "failedproducerequests", "Refused appends (FailedProduceRequestsPerSec)."),
            ("total_fetch_requests", "totalfetchrequests", "Partition reads (TotalFetchRequestsPerSec)."),
        ):
            fam = counter(f"kafka_server_brokertopicmetrics_{name}", doc)
            fam.add_metric([], getattr(metrics.all_topics, attr))
            for topic, c in sorted(metrics.topics.items()):
                fam.add_metric([topic], getattr(c, attr))
            yield fam

        # --- replication: ReplicaManager, KafkaController, FetcherLagMetrics ---------------------
        r = replica_gauges(rm)
        for name, attr, doc in REPLICA_MANAGER if broker.is_broker_role else ():  # a controller-only node has none
            mbean = f"kafka.server:type=ReplicaManager,name={name}"
            if name.endswith("PerSec"):
                fam = counter(prom_name(mbean), doc, labels=())
            else:
                fam = gauge(prom_name(mbean), doc)
            fam.add_metric([], getattr(r, attr))
            yield fam
        if broker.is_controller_role:  # Kafka registers kafka.controller metrics on controllers only
            c = controller_gauges(broker.image, active=broker.controller is not None)
            for name, attr, doc in KAFKA_CONTROLLER:
                fam = gauge(prom_name(f"kafka.controller:type=KafkaController,name={name}"), doc)
                fam.add_metric([], getattr(c, attr))
                yield fam
        lag = gauge(
            prom_name(FETCHER_LAG),
            "Records this follower is behind the leader's high watermark (FetcherLagMetrics ConsumerLag).",
            ("clientId", "topic", "partition"),
        )
        for topic, index, leader, value in follower_lags(rm):
            lag.add_metric([fetcher_client_id(leader), topic, str(index)], value)
        yield lag
        state = gauge("kafka_server_kafkaserver_brokerstate", "Broker state (3 = RUNNING).")
        state.add_metric([], 3)
        yield state
        conns = gauge("kafka_server_socketservermetrics_connectioncount", "Open client connections.")
        conns.add_metric([], connection_count(server))
        yield conns
        if server.started_at:
            import time

            up = gauge("kavka_server_uptime_seconds", "Seconds since the broker started.")
            up.add_metric([], time.time() - server.started_at)
            yield up

        # --- RequestMetrics --------------------------------------------------------------------
        req = counter(
            "kafka_network_requestmetrics_requests", "Requests received, per API (RequestsPerSec).", labels=("request",)
        )
        for name, count in request_counts(server).items():
            req.add_metric([name], count)
        yield req
        hist = HistogramMetricFamily(
            "kafka_network_requestmetrics_totaltimems",
            "Time from a request's arrival to its response being ready, per API (TotalTimeMs).",
            labels=("request",),
        )
        for name, t in request_times(server).items():
            cumulative, buckets = 0, []
            for bound, n in zip((*TIME_BUCKETS_MS, float("inf")), t.buckets):
                cumulative += n
                buckets.append(("+Inf" if bound == float("inf") else str(bound), cumulative))
            hist.add_metric([name], buckets, t.sum_ms)
        yield hist

        # --- per-partition log gauges ----------------------------------------------------------
        lp = ("topic", "partition")
        leo = gauge("kafka_log_log_logendoffset", "Log end offset.", lp)
        lso = gauge("kafka_log_log_logstartoffset", "Log start offset.", lp)
        size = gauge("kafka_log_log_size", "Bytes of the partition's segments on disk.", lp)
        segs = gauge("kafka_log_log_numlogsegments", "Segments of the partition's log.", lp)
        cur = gauge("kafka_topic_partition_current_offset", "High watermark (what consumers can read up to).", lp)
        old = gauge("kafka_topic_partition_oldest_offset", "Log start offset (kafka_exporter name).", lp)
        urp = gauge("kafka_cluster_partition_underreplicated", "1 if the partition is under-replicated.", lp)
        umi = gauge("kafka_cluster_partition_underminisr", "1 if the ISR is below min.insync.replicas.", lp)
        ami = gauge("kafka_cluster_partition_atminisr", "1 if the ISR is at min.insync.replicas.", lp)
        isrc = gauge("kafka_cluster_partition_insyncreplicascount", "ISR size (0 unless led here).", lp)
        repc = gauge("kafka_cluster_partition_replicascount", "Replication factor (0 unless led here).", lp)
        for (topic, index), p in sorted(rm.partitions.items()):
            plog = p.log
            labels = [topic, str(index)]
            leo.add_metric(labels, plog.log_end_offset)
            lso.add_metric(labels, plog.log_start_offset)
            size.add_metric(labels, plog.size_in_bytes)
            segs.add_metric(labels, plog.num_segments)
            cur.add_metric(labels, plog.high_watermark)
            old.add_metric(labels, plog.log_start_offset)
            under, below, at = partition_flags(p)
            urp.add_metric(labels, int(under))
            umi.add_metric(labels, int(below))
            ami.add_metric(labels, int(at))
            leads = p.is_leader and not p.offline
            isrc.add_metric(labels, len(p.isr) if leads else 0)
            repc.add_metric(labels, len(p.replicas) if leads else 0)
        yield from (leo, lso, size, segs, cur, old, urp, umi, ami, isrc, repc)

        # --- consumer groups (kafka_exporter names) --------------------------------------------
        gl = ("consumergroup", "topic", "partition")
        g_off = gauge("kafka_consumergroup_current_offset", "Committed offset of the group.", gl)
        g_lag = gauge("kafka_consumergroup_lag", "High watermark minus committed offset.", gl)
        g_sum = gauge("kafka_consumergroup_lag_sum", "Total lag of the group on a topic.", ("consumergroup", "topic"))
        g_mem = gauge("kafka_consumergroup_members", "Members of the group.", ("consumergroup",))
        for g in self.groups:
            gid = g["group_id"]
            if g.get("members") is not None:
                g_mem.add_metric([gid], g["members"])
            sums: dict[str, int] = {}
            for o in g.get("offsets") or []:
                labels = [gid, o["topic"], str(o["partition"])]
                if o["committed"] is not None:
                    g_off.add_metric(labels, o["committed"])
                if o["lag"] is not None:
                    g_lag.add_metric(labels, o["lag"])
                    sums[o["topic"]] = sums.get(o["topic"], 0) + o["lag"]
            for topic, total in sorted(sums.items()):
                g_sum.add_metric([gid, topic], total)
        yield from (g_off, g_lag, g_sum, g_mem)


class MetricsEndpoint:
    def __init__(self, server):
        from prometheus_client import CollectorRegistry

        self.collector = KafkaCollector(server)
        self.registry = CollectorRegistry(auto_describe=False)
        self.registry.register(self.collector)

    def render(self, groups: list[dict]) -> bytes:
        from prometheus_client import generate_latest

        self.collector.groups = groups
        return generate_latest(self.registry)


def render(server, groups: list[dict] | None = None) -> bytes:
    """One-off rendering (tests, tools)."""
    return MetricsEndpoint(server).render(groups or [])
