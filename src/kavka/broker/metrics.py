"""Kafka's BrokerTopicMetrics, per topic and for all topics: plain counters the broker bumps.

Kafka keeps one ``BrokerTopicMetrics`` per topic plus an all-topics one (JMX
``kafka.server:type=BrokerTopicMetrics,name=BytesInPerSec[,topic=T]``); each "PerSec" meter is a count
with rates on top. Here they are monotonically increasing integers; rates are the reader's business
(Prometheus ``rate()``, or the console sampling twice).

Who counts: :class:`~kavka.broker.replica_manager.ReplicaManager` calls :meth:`BrokerTopicMetrics.record_produce`
after an append that was not a duplicate, :meth:`record_fetch` for the bytes a fetch returns and
:meth:`remove_topic` when a topic goes (Kafka removes a deleted topic's metrics). Readers get the
object as ``ReplicaManager.topic_metrics``.

Everything here runs on the event loop thread; nothing takes a lock.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TopicCounters", "BrokerTopicMetrics"]


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
