"""Typed view of a topic's log configuration, with Kafka's topic-level config names and defaults.

The full definitions (validation, documentation, broker-level ``log.*`` fallbacks) live in
``kavka.metadata``; storage only needs the values. ``LogConfig.from_dict`` accepts Kafka's names
(``segment.bytes``, ``flush.messages``, ...) with already-typed values (or strings that parse as them);
unknown names are ignored so the caller may pass a topic's whole config map.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

__all__ = ["LogConfig", "LONG_MAX", "CONFIG_NAMES"]

LONG_MAX = 2**63 - 1


@dataclass(frozen=True)
class LogConfig:
    segment_bytes: int = 1073741824
    segment_ms: int = 604800000
    segment_jitter_ms: int = 0
    segment_index_bytes: int = 10485760
    index_interval_bytes: int = 4096
    max_message_bytes: int = 1048588
    message_timestamp_type: str = "CreateTime"
    # Kafka 4.0 (KIP-1030) changed after.max.ms's default to one hour; before.max.ms stays Long.MAX.
    message_timestamp_before_max_ms: int = LONG_MAX
    message_timestamp_after_max_ms: int = 3600000
    flush_messages: int = LONG_MAX
    flush_ms: int = LONG_MAX
    retention_ms: int = 604800000
    retention_bytes: int = -1
    cleanup_policy: str = "delete"
    file_delete_delay_ms: int = 60000
    min_insync_replicas: int = 1
    compression_type: str = "producer"
    delete_retention_ms: int = 86400000
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = LONG_MAX
    min_cleanable_dirty_ratio: float = 0.5

    @cached_property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    # The derived values below are read on every append; the config is frozen, so each is computed once
    # per instance (cached_property stores in the instance __dict__, which frozen does not guard).

    @cached_property
    def policies(self) -> frozenset[str]:
        """``cleanup.policy`` as a set (``"compact,delete"`` -> {"compact", "delete"})."""
        return frozenset(
            p.strip() for p in self.cleanup_policy.replace("[", "").replace("]", "").split(",") if p.strip()
        )

    @cached_property
    def compact(self) -> bool:
        return "compact" in self.policies

    @cached_property
    def delete(self) -> bool:
        return "delete" in self.policies

    @cached_property
    def max_segment_ms(self) -> int:
        """Kafka's ``LogConfig.maxSegmentMs``: a compacted log also rolls by ``max.compaction.lag.ms``
        (KIP-354), so a record can become cleanable within that lag."""
        if self.compact and self.max_compaction_lag_ms > 0:
            return min(self.max_compaction_lag_ms, self.segment_ms)
        return self.segment_ms

    @classmethod
    def from_dict(cls, values: Mapping[str, Any], base: LogConfig | None = None) -> LogConfig:
        """Build from Kafka topic config names; names not given keep ``base``'s (default: Kafka's) values."""
        base = base or cls()
        changes: dict[str, Any] = {}
        for name, value in values.items():
            field = CONFIG_NAMES.get(name)
            if field is None or value is None:
                continue
            current = getattr(base, field)
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            if isinstance(current, float):
                value = float(value)
            elif isinstance(current, int) and not isinstance(value, int):
                value = int(value)
            elif isinstance(current, str):
                value = str(value)
            changes[field] = value
        return dataclasses.replace(base, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Kafka config name -> value."""
        return {name: getattr(self, field) for name, field in CONFIG_NAMES.items()}


CONFIG_NAMES: dict[str, str] = {
    "segment.bytes": "segment_bytes",
    "segment.ms": "segment_ms",
    "segment.jitter.ms": "segment_jitter_ms",
    "segment.index.bytes": "segment_index_bytes",
    "index.interval.bytes": "index_interval_bytes",
    "max.message.bytes": "max_message_bytes",
    "message.timestamp.type": "message_timestamp_type",
    "message.timestamp.before.max.ms": "message_timestamp_before_max_ms",
    "message.timestamp.after.max.ms": "message_timestamp_after_max_ms",
    "flush.messages": "flush_messages",
    "flush.ms": "flush_ms",
    "retention.ms": "retention_ms",
    "retention.bytes": "retention_bytes",
    "cleanup.policy": "cleanup_policy",
    "file.delete.delay.ms": "file_delete_delay_ms",
    "min.insync.replicas": "min_insync_replicas",
    "compression.type": "compression_type",
    "delete.retention.ms": "delete_retention_ms",
    "min.compaction.lag.ms": "min_compaction_lag_ms",
    "max.compaction.lag.ms": "max_compaction_lag_ms",
    "min.cleanable.dirty.ratio": "min_cleanable_dirty_ratio",
}
