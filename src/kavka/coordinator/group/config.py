"""The group coordinator's settings, with Kafka's names and defaults."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["GroupConfig"]


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """Settings of the group coordinator (Kafka broker config name in each comment)."""

    offsets_topic_num_partitions: int = 50              # offsets.topic.num.partitions
    initial_rebalance_delay_ms: int = 3000              # group.initial.rebalance.delay.ms
    min_session_timeout_ms: int = 6000                  # group.min.session.timeout.ms
    max_session_timeout_ms: int = 1_800_000             # group.max.session.timeout.ms
    max_size: int = 2**31 - 1                           # group.max.size
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000    # offsets.retention.minutes (10080)
    offsets_retention_check_interval_ms: int = 600_000  # offsets.retention.check.interval.ms
    offset_metadata_max_bytes: int = 4096               # offset.metadata.max.bytes
    # Kafka's internal group.classic.new.member.join.timeout.ms: a JoinGroup of a new member that is
    # parked this long is answered UNKNOWN_MEMBER_ID, so defunct retries do not pile up (KIP-394).
    new_member_join_timeout_ms: int = 300_000

    @classmethod
    def from_broker_config(cls, config) -> GroupConfig:
        """From a ``BrokerConfig`` (or any mapping-like ``get``); names missing there keep defaults."""
        d = cls()

        def get(name: str, default):
            value = config.get(name, None)
            return default if value is None else value

        return cls(
            offsets_topic_num_partitions=int(get("offsets.topic.num.partitions", d.offsets_topic_num_partitions)),
            initial_rebalance_delay_ms=int(get("group.initial.rebalance.delay.ms", d.initial_rebalance_delay_ms)),
            min_session_timeout_ms=int(get("group.min.session.timeout.ms", d.min_session_timeout_ms)),
            max_session_timeout_ms=int(get("group.max.session.timeout.ms", d.max_session_timeout_ms)),
            max_size=int(get("group.max.size", d.max_size)),
            offsets_retention_ms=int(get("offsets.retention.minutes", 10080)) * 60_000,
            offsets_retention_check_interval_ms=int(
                get("offsets.retention.check.interval.ms", d.offsets_retention_check_interval_ms)),
            offset_metadata_max_bytes=int(get("offset.metadata.max.bytes", d.offset_metadata_max_bytes)),
        )
