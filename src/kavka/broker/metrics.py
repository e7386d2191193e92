"""Kafka's BrokerTopicMetrics, per topic and for all topics: plain counters the broker bumps.

Kafka keeps one ``BrokerTopicMetrics`` per topic plus an all-topics one (JMX
``kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec[,topic=T]``); each "PerSec" meter is a count
with rates on top. Here they are monotonically increasing integers; rates are the reader's business
(Prometheus ``rate()``, or the console sampling twice).

Who counts: :class:`~kavka.broker.replica_manager.ReplicaManager` calls :meth:`BrokerTopicMetrics.record_produce`
after an append that was not a duplicate, :meth:`record_fetch` for the bytes a fetch returns and
:meth:`remove_topic` when a topic goes (Kafka removes a deleted topic's metrics). Readers get the
object with :func:`topic_metrics`.

Until the replica manager owns a ``topic_metrics`` attribute, :func:`topic_metrics` derives the
per-topic *in* figures from the logs instead (:class:`LogGrowthTracker`): each observation adds the
growth of every partition's log end offset (messages in) and size on disk (bytes in) since the
previous one. That is exact for messages between observations and a slight undercount for bytes when
retention deletes a segment in the same interval; per-topic bytes *out* cannot be derived from logs and
stay zero (``exact`` is False), while the all-topics figures come from the replica manager's totals.

Everything here runs on the event loop thread; nothing takes a lock.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TopicCounters", "BrokerTopicMetrics", "LogGrowthTracker", "topic_metrics"]


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


class LogGrowthTracker:
    """Derives per-topic BytesIn / MessagesIn from how partition logs grow between observations.

    The first observation is the baseline (like Kafka's meters, counting starts at zero); a partition
    that appears later (a new topic) starts from an empty log, so what was produced to it before the
    next observation is counted.
    """

    def __init__(self) -> None:
        self.metrics = BrokerTopicMetrics()
        self._seen: dict[tuple[str, int], tuple[object, int, int]] = {}  # key -> (log, leo, size)
        self._started = False

    def observe(self, partitions) -> BrokerTopicMetrics:
        """``partitions``: ReplicaManager.partitions, ``{(topic, index): Partition}``."""
        seen = self._seen
        m = self.metrics
        live_topics = set()
        for key, p in partitions.items():
            plog = p.log
            leo, size = plog.log_end_offset, plog.size_in_bytes
            live_topics.add(key[0])
            prev = seen.get(key)
            if prev is None or prev[0] is not plog:
                if not self._started:
                    seen[key] = (plog, leo, size)
                    m._of(key[0])
                    continue
                prev = (plog, plog.log_start_offset, 0)
            d_msgs = max(0, leo - prev[1])
            d_bytes = max(0, size - prev[2])
            c = m._of(key[0])
            if d_msgs or d_bytes:
                c.messages_in += d_msgs
                c.bytes_in += d_bytes
                m.all_topics.messages_in += d_msgs
                m.all_topics.bytes_in += d_bytes
            seen[key] = (plog, leo, size)
        self._started = True
        for key in [k for k in seen if k not in partitions]:
            del seen[key]
        for topic in [t for t in m.topics if t not in live_topics]:
            m.remove_topic(topic)
        return m


def topic_metrics(broker) -> tuple[BrokerTopicMetrics, bool]:
    """``(metrics, exact)`` for ``broker``: the replica manager's own counters when it keeps them
    (exact), else figures derived from log growth (see the module docstring)."""
    rm = broker.replica_manager
    own = getattr(rm, "topic_metrics", None)
    if isinstance(own, BrokerTopicMetrics):
        return own, True
    tracker = getattr(rm, "_kavka_log_growth", None)
    if tracker is None:
        tracker = LogGrowthTracker()
        rm._kavka_log_growth = tracker
    return tracker.observe(rm.partitions), False
