"""The broker configs of partition replication that Kavka reads itself (``replica.*``: followers'
fetching, the ISR's lag limit, the high watermark checkpoint), with Kafka's names, types, defaults and
validators; ``configdefs`` puts them with the rest."""

from __future__ import annotations

from .configcatalogue import broker_def
from .configtypes import AtLeast, ConfigType, Importance

__all__ = ["REPLICATION_DEFS", "RACK_AWARE_SELECTOR"]

RACK_AWARE_SELECTOR = "org.apache.kafka.common.replica.RackAwareReplicaSelector"

I, L, C = ConfigType.INT, ConfigType.LONG, ConfigType.CLASS
HIGH, MEDIUM = Importance.HIGH, Importance.MEDIUM

REPLICATION_DEFS = [
    broker_def(
        "replica.lag.time.max.ms",
        L,
        30000,
        HIGH,
        "If a follower has not sent any fetch requests or has not consumed up to the leader's log end offset "
        "for at least this time, the leader removes the follower from the ISR.",
    ),
    broker_def(
        "replica.fetch.wait.max.ms",
        I,
        500,
        HIGH,
        "The maximum wait time for each fetcher request issued by follower replicas.",
    ),
    broker_def("replica.fetch.min.bytes", I, 1, HIGH, "Minimum bytes expected for each fetch response."),
    broker_def(
        "replica.fetch.max.bytes",
        I,
        1048576,
        MEDIUM,
        "The number of bytes of messages to attempt to fetch for each partition (a larger first batch is "
        "still returned).",
        AtLeast(0),
    ),
    broker_def(
        "replica.fetch.response.max.bytes",
        I,
        10485760,
        MEDIUM,
        "Maximum bytes expected for the entire fetch response.",
        AtLeast(0),
    ),
    broker_def(
        "replica.fetch.backoff.ms",
        I,
        1000,
        MEDIUM,
        "The amount of time to sleep when a fetch partition error occurs.",
        AtLeast(0),
    ),
    broker_def(
        "replica.socket.timeout.ms",
        I,
        30000,
        HIGH,
        "The socket timeout for network requests to the leader for replicating data.",
    ),
    broker_def(
        "replica.high.watermark.checkpoint.interval.ms",
        L,
        5000,
        HIGH,
        "The frequency with which the high watermark is saved out to disk.",
    ),
    broker_def(
        "replica.selector.class",
        C,
        None,
        MEDIUM,
        "The fully qualified class name that implements ReplicaSelector; Kavka knows Kafka's "
        "org.apache.kafka.common.replica.RackAwareReplicaSelector (KIP-392).",
    ),
]
