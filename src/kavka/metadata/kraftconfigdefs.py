"""The broker configs of a node's identity and of its KRaft quorum that Kavka reads itself (``node.id``,
``process.roles``, ``controller.quorum.*``, ``broker.*`` session settings, the metadata log's, the
controller's leader balancing), with
Kafka's names, types, defaults and validators; ``configdefs`` puts them with the rest."""

from __future__ import annotations

from .configcatalogue import broker_def
from .configtypes import AtLeast, ConfigType, Importance, ValidList

__all__ = ["KRAFT_DEFS"]

I, L, S, LI, B = ConfigType.INT, ConfigType.LONG, ConfigType.STRING, ConfigType.LIST, ConfigType.BOOLEAN
HIGH, MEDIUM, LOW = Importance.HIGH, Importance.MEDIUM, Importance.LOW

KRAFT_DEFS = [
    broker_def(
        "node.id", I, -1, HIGH, "The node ID of this process in its process.roles (broker, controller, or both)."
    ),
    broker_def("broker.id", I, -1, HIGH, "The broker id; if set, it must equal node.id."),
    broker_def(
        "process.roles",
        LI,
        [],
        HIGH,
        "The roles this process plays: 'broker', 'controller', or 'broker,controller'.",
        ValidList(("broker", "controller")),
    ),
    broker_def(
        "controller.quorum.voters", LI, [], HIGH, "Static voter set as id@host:port entries, e.g. 1@localhost:9093."
    ),
    broker_def(
        "controller.quorum.bootstrap.servers",
        LI,
        [],
        HIGH,
        "host:port list used to discover the controller quorum's voters.",
    ),
    broker_def(
        "controller.listener.names", S, None, HIGH, "Comma-separated names of the listeners used by the controller."
    ),
    broker_def(
        "controller.quorum.election.timeout.ms",
        I,
        1000,
        HIGH,
        "Maximum time without a leader before an election.",
        AtLeast(0),
    ),
    broker_def(
        "controller.quorum.fetch.timeout.ms", I, 2000, HIGH, "Maximum time without a fetch from the leader.", AtLeast(0)
    ),
    broker_def(
        "controller.quorum.election.backoff.max.ms", I, 1000, HIGH, "Maximum backoff before a new election.", AtLeast(0)
    ),
    broker_def(
        "controller.quorum.request.timeout.ms", I, 2000, MEDIUM, "How long a quorum request may wait.", AtLeast(0)
    ),
    broker_def(
        "metadata.log.max.record.bytes.between.snapshots",
        L,
        20971520,
        HIGH,
        "Bytes of metadata records appended since the last snapshot before a new one is taken.",
        AtLeast(1),
    ),
    broker_def("metadata.max.retention.bytes", L, 104857600, HIGH, "Maximum size of metadata log and snapshots."),
    broker_def(
        "metadata.log.max.snapshot.interval.ms",
        L,
        3600000,
        HIGH,
        "Maximum time between metadata snapshots.",
        AtLeast(0),
    ),
    broker_def("broker.heartbeat.interval.ms", I, 2000, MEDIUM, "Milliseconds between broker heartbeats."),
    broker_def("broker.session.timeout.ms", I, 9000, MEDIUM, "Time a broker lease lasts without a heartbeat."),
    broker_def(
        "metadata.log.dir", S, None, HIGH, "Directory of the cluster metadata log; defaults to the first log directory."
    ),
    broker_def(
        "cluster.id",
        S,
        None,
        LOW,
        "Kavka extension: the cluster id (22-char base64url uuid); normally read from meta.properties.",
    ),
    broker_def("broker.rack", S, None, MEDIUM, "Rack of the broker, used for rack-aware replica placement."),
    broker_def(
        "metadata.log.segment.bytes",
        I,
        1073741824,
        HIGH,
        "The maximum size of a single metadata log file.",
        AtLeast(8388608),
    ),
    # the active controller's leader balancing (kavka.controller.replication)
    broker_def(
        "auto.leader.rebalance.enable",
        B,
        True,
        HIGH,
        "The controller moves leadership back to each partition's preferred (first) replica every "
        "leader.imbalance.check.interval.seconds.",
    ),
    broker_def(
        "leader.imbalance.check.interval.seconds",
        L,
        300,
        HIGH,
        "The frequency with which the partition rebalance check is triggered by the controller.",
        AtLeast(1),
    ),
]
