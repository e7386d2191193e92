"""Broker config definitions: every broker config Kafka describes, plus the topic configs.

The configs Kavka reads are defined here by hand, with Kafka's names, types, defaults and validators
and Kavka's own documentation; every other config of Kafka's catalogue (``kafkabrokerconfigs``,
generated from Kafka 4.4) is defined from Kafka's facts by ``configcatalogue.catalogue_def``. Kavka's
own keys (``console.*``, ``cluster.id``) are marked in their documentation. ``read_only`` follows
Kafka's update mode (``DynamicBrokerConfig``); DescribeConfigs reports the flag. ``configeffects``
says which configs Kavka accepts without acting on them.

Where Kafka's name differs from a nickname people use, Kafka's name wins: the broker default for
``file.delete.delay.ms`` is ``log.segment.delete.delay.ms`` (there is no ``log.delete.delay.ms``).
"""

from __future__ import annotations

from .configcatalogue import CaseInsensitiveValidString, GzipLevel, broker_def, catalogue_def
from .configtypes import (
    INT_MAX,
    LONG_MAX,
    AtLeast,
    Between,
    ConfigDef,
    ConfigError,
    ConfigType,
    Importance,
    ValidList,
    ValidString,
)
from .kafkabrokerconfigs import KAFKA_BROKER_CONFIGS
from .kraftconfigdefs import KRAFT_DEFS
from .replicationconfigdefs import REPLICATION_DEFS
from .topicconfigs import (
    COMPRESSION_TYPES,
    DEFAULT_MAX_MESSAGE_BYTES,
    DEFAULT_SEGMENT_BYTES,
    TOPIC_CONFIG_SYNONYMS,
    TOPIC_CONFIGS,
    topic_config_def,
)

__all__ = [
    "BROKER_CONFIGS",
    "TOPIC_CONFIGS",
    "TOPIC_CONFIG_SYNONYMS",
    "BROKER_SYNONYMS",
    "KAVKA_DEFINED",
    "broker_config_def",
    "topic_config_def",
]

B, S, I, SH, L, D, LI, PW = (
    ConfigType.BOOLEAN,
    ConfigType.STRING,
    ConfigType.INT,
    ConfigType.SHORT,
    ConfigType.LONG,
    ConfigType.DOUBLE,
    ConfigType.LIST,
    ConfigType.PASSWORD,
)
HIGH, MEDIUM, LOW = Importance.HIGH, Importance.MEDIUM, Importance.LOW


class _AuthorizerClass:
    """``authorizer.class.name``: empty or Kafka's StandardAuthorizer, the one authorizer Kavka has (a
    class Kavka cannot load fails at start, as Kafka fails on a class it cannot find)."""

    STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"

    def ensure_valid(self, name: str, value: object) -> None:
        if value is None:
            raise ConfigError.invalid(name, None, "Value must be non-null")
        if value not in ("", self.STANDARD):
            raise ConfigError.invalid(name, value, f"Kavka's only authorizer is {self.STANDARD}")

    def __str__(self) -> str:
        return "non-null string"


class _HostCounts:
    """``host:count`` entries separated by commas (``max.connections.per.ip.overrides``); a count is a
    non-negative int, a host may be an IPv6 address (the count follows the last colon)."""

    def ensure_valid(self, name: str, value: object) -> None:
        for entry in str(value or "").split(","):
            entry = entry.strip()
            if not entry:
                continue
            host, sep, count = entry.rpartition(":")
            if not sep or not host.strip() or not count.strip().isdigit():
                raise ConfigError.invalid(name, value, f"entry {entry!r} is not host:count")

    def __str__(self) -> str:
        return "host:count,..."


_b = broker_def


_DEFS = [
    *KRAFT_DEFS,
    *REPLICATION_DEFS,
    # --- network ---
    _b(
        "listeners",
        S,
        "PLAINTEXT://:9092",
        HIGH,
        "Comma-separated listener URIs (NAME://host:port); an empty host binds all interfaces.",
    ),
    _b("advertised.listeners", S, None, HIGH, "Listeners published to clients, if different from listeners."),
    _b(
        "listener.security.protocol.map",
        S,
        "SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT",
        LOW,
        "Map from listener name to security protocol, as NAME:PROTOCOL pairs.",
    ),
    _b("inter.broker.listener.name", S, None, MEDIUM, "Name of the listener used for communication between brokers."),
    _b(
        "socket.send.buffer.bytes",
        I,
        100 * 1024,
        HIGH,
        "SO_SNDBUF of the socket server sockets; -1 uses the OS default.",
    ),
    _b(
        "socket.receive.buffer.bytes",
        I,
        100 * 1024,
        HIGH,
        "SO_RCVBUF of the socket server sockets; -1 uses the OS default.",
    ),
    _b(
        "socket.request.max.bytes",
        I,
        100 * 1024 * 1024,
        HIGH,
        "Maximum number of bytes in a socket request.",
        AtLeast(1),
    ),
    _b(
        "queued.max.requests",
        I,
        500,
        HIGH,
        "The number of queued requests allowed for data-plane, before blocking the network threads.",
        AtLeast(1),
    ),
    _b(
        "queued.max.request.bytes",
        L,
        -1,
        MEDIUM,
        "The number of queued bytes allowed before no more requests are read.",
    ),
    _b(
        "max.connections",
        I,
        2147483647,
        MEDIUM,
        "The maximum number of connections the broker allows at any time; at the limit new connections "
        "wait (are not accepted) until one closes.",
        AtLeast(0),
    ),
    _b(
        "max.connections.per.ip",
        I,
        2147483647,
        MEDIUM,
        "The maximum number of connections allowed from each ip address; new connections from an address "
        "at the limit are dropped.",
        AtLeast(0),
    ),
    _b(
        "max.connections.per.ip.overrides",
        S,
        "",
        MEDIUM,
        "A comma-separated list of per-ip or hostname overrides to the default maximum number of "
        'connections, e.g. "hostName:100,127.0.0.1:200".',
        _HostCounts(),
    ),
    _b(
        "num.network.threads",
        I,
        3,
        HIGH,
        "Threads receiving requests from and sending responses to the network.",
        AtLeast(1),
    ),
    _b("num.io.threads", I, 8, HIGH, "Threads processing requests.", AtLeast(1)),
    _b("background.threads", I, 10, HIGH, "Threads for background processing tasks.", AtLeast(1)),
    _b("request.timeout.ms", I, 30000, HIGH, "Maximum time the broker waits for a request's response."),
    _b("connections.max.idle.ms", L, 600_000, MEDIUM, "Idle connections are closed after this many ms."),
    # --- log ---
    _b(
        "log.dir",
        S,
        "/tmp/kafka-logs",
        HIGH,
        "The directory in which the log data is kept (supplemental for log.dirs).",
    ),
    _b("log.dirs", S, None, HIGH, "Comma-separated list of log data directories; if not set, log.dir is used."),
    _b("num.partitions", I, 1, MEDIUM, "The default number of log partitions per topic.", AtLeast(1)),
    _b("default.replication.factor", I, 1, MEDIUM, "The default replication factor for automatically created topics."),
    _b("auto.create.topics.enable", B, True, HIGH, "Enable auto creation of topics on the server."),
    _b("delete.topic.enable", B, True, HIGH, "Enables topic deletion; deleting a topic has no effect if this is off."),
    _b(
        "log.segment.bytes",
        I,
        DEFAULT_SEGMENT_BYTES,
        HIGH,
        "The maximum size of a single log file.",
        AtLeast(1024 * 1024),
    ),
    _b(
        "log.roll.ms",
        L,
        None,
        HIGH,
        "Maximum time before a new log segment is rolled out (ms); if not set, log.roll.hours is used.",
    ),
    _b(
        "log.roll.hours",
        I,
        168,
        HIGH,
        "Maximum time before a new log segment is rolled out (hours), secondary to log.roll.ms.",
        AtLeast(1),
    ),
    _b(
        "log.roll.jitter.ms",
        L,
        None,
        HIGH,
        "Maximum jitter subtracted from the segment roll time (ms); if not set, log.roll.jitter.hours is used.",
    ),
    _b(
        "log.roll.jitter.hours", I, 0, HIGH, "Maximum jitter subtracted from the segment roll time (hours).", AtLeast(0)
    ),
    _b(
        "log.index.interval.bytes",
        I,
        4096,
        MEDIUM,
        "The interval with which an entry is added to the offset index.",
        AtLeast(0),
    ),
    _b(
        "log.index.size.max.bytes",
        I,
        10 * 1024 * 1024,
        MEDIUM,
        "The maximum size in bytes of the offset index.",
        AtLeast(4),
    ),
    _b(
        "log.retention.ms",
        L,
        None,
        HIGH,
        "Time to keep a log file before deleting it (ms); if not set, log.retention.minutes is used; "
        "-1 means no time limit.",
    ),
    _b(
        "log.retention.minutes",
        I,
        None,
        HIGH,
        "Time to keep a log file before deleting it (minutes); if not set, log.retention.hours is used.",
    ),
    _b(
        "log.retention.hours",
        I,
        168,
        HIGH,
        "Time to keep a log file before deleting it (hours), tertiary to log.retention.ms.",
    ),
    _b("log.retention.bytes", L, -1, HIGH, "The maximum size of the log before deleting it."),
    _b(
        "log.retention.check.interval.ms",
        L,
        300_000,
        MEDIUM,
        "How often the log cleaner checks whether any log is eligible for deletion.",
        AtLeast(1),
    ),
    _b(
        "log.cleanup.policy",
        LI,
        ["delete"],
        MEDIUM,
        "Default cleanup policy for segments beyond the retention window: 'delete' and/or 'compact'.",
        ValidList(("compact", "delete")),
    ),
    _b(
        "log.flush.interval.messages",
        L,
        LONG_MAX,
        HIGH,
        "Messages accumulated on a partition before they are flushed to disk.",
        AtLeast(1),
    ),
    _b(
        "log.flush.interval.ms",
        L,
        None,
        HIGH,
        "Maximum time a message stays unflushed; if not set, log.flush.scheduler.interval.ms is used.",
    ),
    _b(
        "log.flush.scheduler.interval.ms",
        L,
        LONG_MAX,
        HIGH,
        "How often the log flusher checks whether any log needs to be flushed to disk.",
    ),
    _b(
        "log.flush.offset.checkpoint.interval.ms",
        I,
        60000,
        HIGH,
        "How often the recovery point checkpoint (last flush) is updated.",
        AtLeast(0),
    ),
    _b(
        "log.flush.start.offset.checkpoint.interval.ms",
        I,
        60000,
        HIGH,
        "How often the log start offset checkpoint is updated.",
        AtLeast(0),
    ),
    _b(
        "log.segment.delete.delay.ms",
        L,
        60000,
        HIGH,
        "Time to wait before deleting a file from the filesystem.",
        AtLeast(0),
    ),
    _b("log.preallocate", B, False, MEDIUM, "Preallocate the file when creating a new segment."),
    _b(
        "log.message.timestamp.type",
        S,
        "CreateTime",
        MEDIUM,
        "Whether record timestamps are the create time or the log append time.",
        ValidString(("CreateTime", "LogAppendTime")),
    ),
    _b(
        "log.message.timestamp.before.max.ms",
        L,
        LONG_MAX,
        MEDIUM,
        "Maximum amount a record timestamp may be behind the broker's time.",
        AtLeast(0),
    ),
    _b(
        "log.message.timestamp.after.max.ms",
        L,
        3_600_000,
        MEDIUM,
        "Maximum amount a record timestamp may be ahead of the broker's time.",
        AtLeast(0),
    ),
    _b(
        "log.message.downconversion.enable",
        B,
        True,
        LOW,
        "[DEPRECATED] Whether down-conversion of message formats is enabled; ignored.",
        deprecated=True,
    ),
    _b(
        "log.local.retention.ms",
        L,
        -2,
        MEDIUM,
        "Tiered storage local retention time; -2 uses log.retention.ms (not supported).",
        AtLeast(-2),
    ),
    _b(
        "log.local.retention.bytes",
        L,
        -2,
        MEDIUM,
        "Tiered storage local retention size; -2 uses log.retention.bytes (not supported).",
        AtLeast(-2),
    ),
    _b(
        "num.recovery.threads.per.data.dir",
        I,
        2,
        HIGH,
        "Threads per data directory used for log recovery at startup and flushing at shutdown.",
        AtLeast(1),
    ),
    _b(
        "message.max.bytes",
        I,
        DEFAULT_MAX_MESSAGE_BYTES,
        HIGH,
        "Largest record batch size allowed (after compression).",
        AtLeast(0),
    ),
    _b(
        "min.insync.replicas",
        I,
        1,
        HIGH,
        "Minimum in-sync replicas that must acknowledge a write with acks=all.",
        AtLeast(1),
    ),
    _b(
        "compression.type",
        S,
        "producer",
        HIGH,
        "Final compression type for topics; 'producer' keeps the codec set by the producer.",
        ValidString(COMPRESSION_TYPES),
    ),
    _b("compression.gzip.level", I, -1, MEDIUM, "Compression level used if compression.type is gzip.", GzipLevel()),
    _b("compression.lz4.level", I, 9, MEDIUM, "Compression level used if compression.type is lz4.", Between(1, 17)),
    _b(
        "compression.zstd.level",
        I,
        3,
        MEDIUM,
        "Compression level used if compression.type is zstd.",
        Between(-131072, 22),
    ),
    _b(
        "unclean.leader.election.enable",
        B,
        False,
        HIGH,
        "Whether replicas not in the ISR may be elected leader as a last resort (may lose data).",
    ),
    # --- log cleaner ---
    _b("log.cleaner.enable", B, True, MEDIUM, "Enable the log cleaner process on the server."),
    _b("log.cleaner.threads", I, 1, MEDIUM, "Background threads used for log cleaning.", AtLeast(0)),
    _b(
        "log.cleaner.dedupe.buffer.size",
        L,
        128 * 1024 * 1024,
        MEDIUM,
        "Total memory used for log deduplication across all cleaner threads.",
    ),
    _b(
        "log.cleaner.io.buffer.size",
        I,
        512 * 1024,
        MEDIUM,
        "Total memory used for log cleaner I/O buffers across all cleaner threads.",
        AtLeast(0),
    ),
    _b("log.cleaner.backoff.ms", L, 15000, MEDIUM, "Time to sleep when there are no logs to clean.", AtLeast(0)),
    _b(
        "log.cleaner.io.max.bytes.per.second",
        D,
        1.7976931348623157e308,
        MEDIUM,
        "The log cleaner will be throttled so that the sum of its read and write i/o will be less than "
        "this value on average.",
    ),
    _b(
        "log.cleaner.delete.retention.ms",
        L,
        86_400_000,
        MEDIUM,
        "How long delete tombstones are retained for log compacted topics.",
        AtLeast(0),
    ),
    _b(
        "log.cleaner.min.compaction.lag.ms",
        L,
        0,
        MEDIUM,
        "Minimum time a message remains uncompacted in the log.",
        AtLeast(0),
    ),
    _b(
        "log.cleaner.max.compaction.lag.ms",
        L,
        LONG_MAX,
        MEDIUM,
        "Maximum time a message remains ineligible for compaction.",
        AtLeast(1),
    ),
    _b(
        "log.cleaner.min.cleanable.ratio",
        D,
        0.5,
        MEDIUM,
        "Minimum ratio of dirty log to total log for a log to be eligible for cleaning.",
        Between(0, 1),
    ),
    # --- group coordinator ---
    _b(
        "offsets.topic.num.partitions",
        I,
        50,
        HIGH,
        "Number of partitions of the offset commit topic (must not change after deployment).",
        AtLeast(1),
    ),
    _b("offsets.topic.replication.factor", SH, 3, HIGH, "Replication factor of the offsets topic.", AtLeast(1)),
    _b("offsets.topic.segment.bytes", I, 100 * 1024 * 1024, HIGH, "Segment size of the offsets topic.", AtLeast(1)),
    _b(
        "offsets.topic.compression.codec",
        I,
        0,
        HIGH,
        "Compression codec for the offsets topic (0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd).",
    ),
    _b(
        "offsets.retention.minutes",
        I,
        10080,
        HIGH,
        "How long committed offsets of an empty group are kept.",
        AtLeast(1),
    ),
    _b("offsets.retention.check.interval.ms", L, 600_000, HIGH, "How often to check for stale offsets.", AtLeast(1)),
    _b(
        "offsets.load.buffer.size",
        I,
        5 * 1024 * 1024,
        HIGH,
        "Batch size for reading from the offsets segments when loading them.",
        AtLeast(1),
    ),
    _b(
        "offsets.commit.timeout.ms",
        I,
        5000,
        HIGH,
        "Time an offset commit waits for the offsets topic replicas.",
        AtLeast(1),
    ),
    _b(
        "group.initial.rebalance.delay.ms",
        I,
        3000,
        MEDIUM,
        "Time the coordinator waits for more members before the first rebalance of a new group.",
    ),
    _b("group.min.session.timeout.ms", I, 6000, MEDIUM, "Minimum allowed session timeout for members."),
    _b("group.max.session.timeout.ms", I, 1_800_000, MEDIUM, "Maximum allowed session timeout for members."),
    _b("group.max.size", I, INT_MAX, MEDIUM, "Maximum number of members in a single group.", AtLeast(1)),
    _b(
        "group.coordinator.rebalance.protocols",
        LI,
        ["classic", "consumer"],
        MEDIUM,
        "Rebalance protocols enabled in the group coordinator (Kavka serves classic and consumer).",
        ValidList(("consumer", "classic", "share", "streams")),
    ),
    _b(
        "group.consumer.session.timeout.ms",
        I,
        45000,
        MEDIUM,
        "Session timeout of consumer-protocol (KIP-848) members.",
        AtLeast(1),
    ),
    _b(
        "group.consumer.heartbeat.interval.ms",
        I,
        5000,
        MEDIUM,
        "Heartbeat interval given to consumer-protocol (KIP-848) members.",
        AtLeast(1),
    ),
    _b(
        "group.consumer.min.session.timeout.ms",
        I,
        45000,
        MEDIUM,
        "Minimum session timeout of consumer-protocol (KIP-848) members.",
        AtLeast(1),
    ),
    _b(
        "group.consumer.max.session.timeout.ms",
        I,
        60000,
        MEDIUM,
        "Maximum session timeout of consumer-protocol (KIP-848) members.",
        AtLeast(1),
    ),
    _b(
        "group.consumer.min.heartbeat.interval.ms",
        I,
        5000,
        MEDIUM,
        "Minimum heartbeat interval of consumer-protocol (KIP-848) members.",
        AtLeast(1),
    ),
    _b(
        "group.consumer.max.heartbeat.interval.ms",
        I,
        15000,
        MEDIUM,
        "Maximum heartbeat interval of consumer-protocol (KIP-848) members.",
        AtLeast(1),
    ),
    _b(
        "group.consumer.max.size",
        I,
        INT_MAX,
        MEDIUM,
        "Maximum number of members in a consumer-protocol (KIP-848) group.",
        AtLeast(1),
    ),
    _b(
        "group.consumer.assignors",
        LI,
        [
            "uniform",
            "range",
        ],
        MEDIUM,
        "Server-side assignors of consumer-protocol groups, by short name (uniform, range) or Kafka's "
        "class name; the first is the default.",
    ),
    _b(
        "group.consumer.migration.policy",
        S,
        "bidirectional",
        MEDIUM,
        "Which online conversions between a non-empty classic group using the consumer embedded protocol "
        "and a consumer-protocol (KIP-848) group are allowed: bidirectional (both), upgrade (classic to "
        "consumer only), downgrade (consumer to classic only) or disabled (neither). Internal in Kafka.",
        CaseInsensitiveValidString(("DISABLED", "DOWNGRADE", "UPGRADE", "BIDIRECTIONAL")),
    ),
    # --- transactions ---
    _b(
        "transaction.state.log.num.partitions",
        I,
        50,
        HIGH,
        "Number of partitions of the transaction topic.",
        AtLeast(1),
    ),
    _b(
        "transaction.state.log.replication.factor",
        SH,
        3,
        HIGH,
        "Replication factor of the transaction topic.",
        AtLeast(1),
    ),
    _b("transaction.state.log.min.isr", I, 2, HIGH, "min.insync.replicas of the transaction topic.", AtLeast(1)),
    _b(
        "transaction.state.log.segment.bytes",
        I,
        100 * 1024 * 1024,
        HIGH,
        "Segment size of the transaction topic.",
        AtLeast(1),
    ),
    _b(
        "transaction.max.timeout.ms",
        I,
        900_000,
        HIGH,
        "Maximum transaction timeout a producer may request.",
        AtLeast(1),
    ),
    _b(
        "transactional.id.expiration.ms",
        I,
        604_800_000,
        HIGH,
        "Time a transactional id is kept without transaction status updates.",
        AtLeast(1),
    ),
    _b(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        I,
        10000,
        LOW,
        "How often to roll back transactions that have timed out.",
        AtLeast(1),
    ),
    _b(
        "transaction.partition.verification.enable",
        B,
        True,
        LOW,
        "Before the first transactional write of a producer to a partition, check with the transaction "
        "coordinator that the partition was added to the producer's ongoing transaction (KIP-890).",
    ),
    _b("producer.id.expiration.ms", I, 86_400_000, LOW, "Time a producer id is kept after its last write.", AtLeast(1)),
    _b("quota.window.num", I, 11, LOW, "Samples kept for client quotas' rates.", AtLeast(1)),
    _b("quota.window.size.seconds", I, 1, LOW, "Length of each sample of client quotas' rates.", AtLeast(1)),
    _b("controller.quota.window.num", I, 11, LOW, "Samples of controller mutation quotas.", AtLeast(1)),
    _b(
        "controller.quota.window.size.seconds",
        I,
        1,
        LOW,
        "Length of each sample of controller mutation quotas.",
        AtLeast(1),
    ),
    _b(
        "producer.id.expiration.check.interval.ms",
        I,
        600_000,
        LOW,
        "How often producer ids past producer.id.expiration.ms are removed (internal in Kafka).",
        AtLeast(1),
    ),
    # --- Kavka extensions ---
    _b(
        "console.listener",
        S,
        "http://127.0.0.1:8080",
        MEDIUM,
        "Kavka extension: URL the web console listens on; empty disables it.",
    ),
    _b(
        "console.auth",
        PW,
        None,
        MEDIUM,
        "Kavka extension: user:password required by the web console (HTTP basic); unset means open.",
    ),
    _b(
        "console.client.listener",
        S,
        None,
        MEDIUM,
        "Kavka extension: the listener the console's own clients connect to; unset means the first one.",
    ),
    _b(
        "console.client.config",
        S,
        None,
        MEDIUM,
        "Kavka extension: a Kafka client properties file (security.protocol, sasl.*, ssl.*) the console's "
        "own clients connect with, as that principal; unset means no authentication.",
    ),
    _b(
        "authorizer.class.name",
        S,
        "",
        LOW,
        "Fully qualified name of the authorizer class; empty disables authorization. Kavka implements "
        "org.apache.kafka.metadata.authorizer.StandardAuthorizer (ACLs in the metadata log).",
        _AuthorizerClass(),
    ),
]

# Kavka parses a few configs as strings that Kafka defines as LIST (listeners, log.dirs, ...):
# DescribeConfigs reports Kafka's type.
for _d in _DEFS:
    _fact = KAFKA_BROKER_CONFIGS.get(_d.name)
    if _fact is not None and _fact.type != _d.type.name:
        _d.extra["reported_type"] = ConfigType[_fact.type]

# Every other broker config Kafka describes: Kafka's type, default, validator and update mode.
_OWN = {d.name for d in _DEFS}
_DEFS += [catalogue_def(fact) for name, fact in KAFKA_BROKER_CONFIGS.items() if name not in _OWN]

BROKER_CONFIGS: dict[str, ConfigDef] = {d.name: d for d in sorted(_DEFS, key=lambda d: d.name)}

# The configs Kavka reads itself (the rest come from Kafka's catalogue; see configeffects).
KAVKA_DEFINED: frozenset[str] = frozenset(_OWN)

_missing = {b for syns in TOPIC_CONFIG_SYNONYMS.values() for b, _ in syns} - BROKER_CONFIGS.keys()
assert not _missing, f"topic synonyms without a broker definition: {sorted(_missing)}"

# broker config -> the topic config it supplies a default for (reverse of TOPIC_CONFIG_SYNONYMS).
BROKER_SYNONYMS: dict[str, str] = {broker: topic for topic, syns in TOPIC_CONFIG_SYNONYMS.items() for broker, _ in syns}


def broker_config_def(name: str) -> ConfigDef:
    try:
        return BROKER_CONFIGS[name]
    except KeyError:
        raise ConfigError(f"Unknown broker config name: {name}", name) from None
