"""Topic config definitions (Kafka's ``LogConfig``) and their broker synonyms.

Names, types, defaults, validators and importance follow Kafka 4.0 (``TopicConfig`` / ``LogConfig``,
with KIP-1030's 4.0 changes: ``segment.bytes`` at least 1 MiB, ``message.timestamp.after.max.ms``
defaults to one hour). Every topic config is dynamic (``read_only=False``).

``TOPIC_CONFIG_SYNONYMS`` is Kafka's ``ServerTopicConfigSynonyms.ALL_TOPIC_CONFIG_SYNONYMS``: for each
topic config, the broker configs that supply its cluster default, highest priority first, with the
factor that converts the broker unit to the topic unit (hours -> ms is 3 600 000). A topic config
missing here has no broker default (its own default applies).
"""

from __future__ import annotations

from typing import Any

from .configcatalogue import GzipLevel
from .configtypes import (
    LONG_MAX,
    AtLeast,
    Between,
    ConfigDef,
    ConfigError,
    ConfigType,
    Importance,
    Validator,
    ValidList,
    ValidString,
)

__all__ = [
    "TOPIC_CONFIGS",
    "TOPIC_CONFIG_SYNONYMS",
    "COMPRESSION_TYPES",
    "topic_config_def",
]

B, S, I, SH, L, D, LI = (
    ConfigType.BOOLEAN,
    ConfigType.STRING,
    ConfigType.INT,
    ConfigType.SHORT,
    ConfigType.LONG,
    ConfigType.DOUBLE,
    ConfigType.LIST,
)
HIGH, MEDIUM, LOW = Importance.HIGH, Importance.MEDIUM, Importance.LOW

COMPRESSION_TYPES = ("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer")
TIMESTAMP_TYPES = ("CreateTime", "LogAppendTime")
CLEANUP_POLICIES = ("compact", "delete")

MS_PER_HOUR = 3_600_000
MS_PER_MINUTE = 60_000
DEFAULT_RETENTION_MS = 7 * 24 * MS_PER_HOUR
DEFAULT_SEGMENT_BYTES = 1024 * 1024 * 1024
DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024 + 12  # 1048588: 1 MiB plus the 12-byte log overhead


def _t(
    name: str,
    type_: ConfigType,
    default: Any,
    importance: Importance,
    doc: str,
    validator: Validator | None = None,
    deprecated: bool = False,
) -> ConfigDef:
    return ConfigDef(name, type_, default, importance, doc, validator, read_only=False, deprecated=deprecated)


_DEFS = [
    _t(
        "cleanup.policy",
        LI,
        ["delete"],
        MEDIUM,
        "Retention policy for old segments: 'delete', 'compact', or both.",
        ValidList(CLEANUP_POLICIES, allow_duplicates=True),
    ),
    _t(
        "compression.type",
        S,
        "producer",
        MEDIUM,
        "Final compression type of the topic; 'producer' keeps the codec set by the producer.",
        ValidString(COMPRESSION_TYPES),
    ),
    _t(
        "compression.gzip.level",
        I,
        -1,
        MEDIUM,
        "Compression level used if compression.type is gzip (1-9, or -1 for the codec default).",
        GzipLevel(),
    ),
    _t("compression.lz4.level", I, 9, MEDIUM, "Compression level used if compression.type is lz4.", Between(1, 17)),
    _t(
        "compression.zstd.level",
        I,
        3,
        MEDIUM,
        "Compression level used if compression.type is zstd.",
        Between(-131072, 22),
    ),
    _t(
        "delete.retention.ms",
        L,
        86_400_000,
        MEDIUM,
        "How long delete tombstones are retained for log compacted topics.",
        AtLeast(0),
    ),
    _t(
        "file.delete.delay.ms",
        L,
        60_000,
        MEDIUM,
        "Time to wait before deleting a file from the filesystem.",
        AtLeast(0),
    ),
    _t(
        "flush.messages",
        L,
        LONG_MAX,
        MEDIUM,
        "Number of messages written to a partition before an fsync is forced.",
        AtLeast(1),
    ),
    _t("flush.ms", L, LONG_MAX, MEDIUM, "Time interval after which an fsync of the log is forced.", AtLeast(0)),
    _t(
        "follower.replication.throttled.replicas",
        LI,
        [],
        MEDIUM,
        "Replicas whose log replication is throttled on the follower side.",
    ),
    _t(
        "index.interval.bytes",
        I,
        4096,
        MEDIUM,
        "How frequently (in bytes) an entry is added to the offset index.",
        AtLeast(0),
    ),
    _t(
        "leader.replication.throttled.replicas",
        LI,
        [],
        MEDIUM,
        "Replicas whose log replication is throttled on the leader side.",
    ),
    _t(
        "local.retention.bytes",
        L,
        -2,
        MEDIUM,
        "Maximum local log size before old segments are deleted (tiered storage); -2 uses retention.bytes.",
        AtLeast(-2),
    ),
    _t(
        "local.retention.ms",
        L,
        -2,
        MEDIUM,
        "Maximum time to keep a local log segment (tiered storage); -2 uses retention.ms.",
        AtLeast(-2),
    ),
    _t(
        "max.compaction.lag.ms",
        L,
        LONG_MAX,
        MEDIUM,
        "Maximum time a message remains ineligible for compaction.",
        AtLeast(1),
    ),
    _t(
        "max.message.bytes",
        I,
        DEFAULT_MAX_MESSAGE_BYTES,
        MEDIUM,
        "Largest record batch size allowed by Kafka (after compression).",
        AtLeast(0),
    ),
    _t(
        "message.downconversion.enable",
        B,
        True,
        LOW,
        "[DEPRECATED] Whether down-conversion of message formats is enabled; ignored (Kavka serves only v2).",
        deprecated=True,
    ),
    _t(
        "message.timestamp.after.max.ms",
        L,
        MS_PER_HOUR,
        MEDIUM,
        "Maximum allowed amount a message timestamp may be ahead of the broker's time.",
        AtLeast(0),
    ),
    _t(
        "message.timestamp.before.max.ms",
        L,
        LONG_MAX,
        MEDIUM,
        "Maximum allowed amount a message timestamp may be behind the broker's time.",
        AtLeast(0),
    ),
    _t(
        "message.timestamp.type",
        S,
        "CreateTime",
        MEDIUM,
        "Whether the record timestamp is the create time or the log append time.",
        ValidString(TIMESTAMP_TYPES),
    ),
    _t(
        "min.cleanable.dirty.ratio",
        D,
        0.5,
        MEDIUM,
        "Minimum ratio of dirty log to total log for a log to be eligible for cleaning.",
        Between(0, 1),
    ),
    _t("min.compaction.lag.ms", L, 0, MEDIUM, "Minimum time a message remains uncompacted in the log.", AtLeast(0)),
    _t(
        "min.insync.replicas",
        I,
        1,
        MEDIUM,
        "Minimum number of in-sync replicas that must acknowledge a write with acks=all.",
        AtLeast(1),
    ),
    _t("preallocate", B, False, MEDIUM, "Preallocate the file on disk when creating a new log segment."),
    _t("remote.storage.enable", B, False, MEDIUM, "Enable tiered storage for the topic (not supported)."),
    _t(
        "retention.bytes",
        L,
        -1,
        MEDIUM,
        "Maximum size a partition can grow to before old segments are discarded; -1 means no limit.",
    ),
    _t(
        "retention.ms",
        L,
        DEFAULT_RETENTION_MS,
        MEDIUM,
        "Maximum time a log is retained before old segments are discarded; -1 means no limit.",
        AtLeast(-1),
    ),
    _t("segment.bytes", I, DEFAULT_SEGMENT_BYTES, MEDIUM, "Segment file size for the log.", AtLeast(1024 * 1024)),
    _t(
        "segment.index.bytes",
        I,
        10 * 1024 * 1024,
        MEDIUM,
        "Size of the index that maps offsets to file positions.",
        AtLeast(4),
    ),
    _t(
        "segment.jitter.ms",
        L,
        0,
        MEDIUM,
        "Maximum random jitter subtracted from the scheduled segment roll time.",
        AtLeast(0),
    ),
    _t(
        "segment.ms",
        L,
        DEFAULT_RETENTION_MS,
        MEDIUM,
        "Time after which the log rolls a new segment even if the current one is not full.",
        AtLeast(1),
    ),
    # Kafka 4.2+ topic configs of features Kavka lacks: accepted, validated, described, not acted on.
    _t(
        "errors.deadletterqueue.group.enable",
        B,
        False,
        MEDIUM,
        "Whether share groups may send undeliverable records of this topic to a dead-letter queue; "
        "Kavka has no share groups and does not act on it.",
    ),
    _t(
        "max.decompressed.message.bytes",
        I,
        2147483639,
        MEDIUM,
        "Kafka's cap on a batch's decompressed size; Kavka keeps its own cap (docs/configuration.md) "
        "and does not act on it.",
        Between(1, 2147483639),
    ),
    _t(
        "remote.copy.lag.bytes",
        L,
        -1,
        MEDIUM,
        "Tiered storage: bytes a segment may wait before it is copied to remote storage (not supported).",
        AtLeast(-1),
    ),
    _t(
        "remote.copy.lag.ms",
        L,
        0,
        MEDIUM,
        "Tiered storage: time a segment may wait before it is copied to remote storage (not supported).",
        AtLeast(-1),
    ),
    _t(
        "remote.log.copy.disable",
        B,
        False,
        MEDIUM,
        "Tiered storage: stop copying segments to remote storage (not supported).",
    ),
    _t(
        "remote.log.delete.on.disable",
        B,
        False,
        MEDIUM,
        "Tiered storage: delete remote segments when tiering is disabled (not supported).",
    ),
    _t(
        "unclean.leader.election.enable",
        B,
        False,
        MEDIUM,
        "Whether replicas not in the ISR may be elected leader as a last resort, at the risk of data loss.",
    ),
]


TOPIC_CONFIGS: dict[str, ConfigDef] = {d.name: d for d in sorted(_DEFS, key=lambda d: d.name)}

# topic config -> [(broker config, multiplier to the topic unit)], highest priority first.
TOPIC_CONFIG_SYNONYMS: dict[str, list[tuple[str, int]]] = {
    "segment.bytes": [("log.segment.bytes", 1)],
    "segment.ms": [("log.roll.ms", 1), ("log.roll.hours", MS_PER_HOUR)],
    "segment.jitter.ms": [("log.roll.jitter.ms", 1), ("log.roll.jitter.hours", MS_PER_HOUR)],
    "segment.index.bytes": [("log.index.size.max.bytes", 1)],
    "flush.messages": [("log.flush.interval.messages", 1)],
    "flush.ms": [("log.flush.interval.ms", 1), ("log.flush.scheduler.interval.ms", 1)],
    "retention.bytes": [("log.retention.bytes", 1)],
    "retention.ms": [
        ("log.retention.ms", 1),
        ("log.retention.minutes", MS_PER_MINUTE),
        ("log.retention.hours", MS_PER_HOUR),
    ],
    "max.message.bytes": [("message.max.bytes", 1)],
    "index.interval.bytes": [("log.index.interval.bytes", 1)],
    "delete.retention.ms": [("log.cleaner.delete.retention.ms", 1)],
    "min.compaction.lag.ms": [("log.cleaner.min.compaction.lag.ms", 1)],
    "max.compaction.lag.ms": [("log.cleaner.max.compaction.lag.ms", 1)],
    "file.delete.delay.ms": [("log.segment.delete.delay.ms", 1)],
    "min.cleanable.dirty.ratio": [("log.cleaner.min.cleanable.ratio", 1)],
    "cleanup.policy": [("log.cleanup.policy", 1)],
    "unclean.leader.election.enable": [("unclean.leader.election.enable", 1)],
    "min.insync.replicas": [("min.insync.replicas", 1)],
    "compression.type": [("compression.type", 1)],
    "compression.gzip.level": [("compression.gzip.level", 1)],
    "compression.lz4.level": [("compression.lz4.level", 1)],
    "compression.zstd.level": [("compression.zstd.level", 1)],
    "preallocate": [("log.preallocate", 1)],
    "message.timestamp.type": [("log.message.timestamp.type", 1)],
    "message.timestamp.before.max.ms": [("log.message.timestamp.before.max.ms", 1)],
    "message.timestamp.after.max.ms": [("log.message.timestamp.after.max.ms", 1)],
    "message.downconversion.enable": [("log.message.downconversion.enable", 1)],
    "local.retention.ms": [("log.local.retention.ms", 1)],
    "local.retention.bytes": [("log.local.retention.bytes", 1)],
    "max.decompressed.message.bytes": [("max.decompressed.message.bytes", 1)],
    "remote.copy.lag.ms": [("log.remote.copy.lag.ms", 1)],
    "remote.copy.lag.bytes": [("log.remote.copy.lag.bytes", 1)],
}


def topic_config_def(name: str) -> ConfigDef:
    """The definition of topic config ``name``; ``ConfigError('Unknown topic config name: x')`` if none."""
    try:
        return TOPIC_CONFIGS[name]
    except KeyError:
        raise ConfigError(f"Unknown topic config name: {name}", name) from None
