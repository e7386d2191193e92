"""The group coordinator's settings, with Kafka's names and defaults.

The consumer-group (KIP-848) session timeout and heartbeat interval must lie within their bounds,
and the interval must be shorter than the timeout; a :class:`GroupConfig` that breaks one of these
rules cannot be made (ValueError with Kafka's message, in Kafka's order of checks: Kafka's
GroupCoordinatorConfig refuses them when the broker starts).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kavka.coordinator.group.assignors import assignor_name
from kavka.metadata.config import ConfigLookup, consumer_timing_problem

__all__ = ["GroupConfig", "MIGRATION_POLICIES", "migration_policy"]

_DEFAULT_ASSIGNORS = ("uniform", "range")


@dataclass(frozen=True, slots=True)
class GroupConfig:
    """Settings of the group coordinator (Kafka broker config name in each comment)."""

    offsets_topic_num_partitions: int = 50  # offsets.topic.num.partitions
    initial_rebalance_delay_ms: int = 3000  # group.initial.rebalance.delay.ms
    min_session_timeout_ms: int = 6000  # group.min.session.timeout.ms
    max_session_timeout_ms: int = 1_800_000  # group.max.session.timeout.ms
    max_size: int = 2**31 - 1  # group.max.size
    offsets_retention_ms: int = 7 * 24 * 3600 * 1000  # offsets.retention.minutes (10080)
    offsets_retention_check_interval_ms: int = 600_000  # offsets.retention.check.interval.ms
    offset_metadata_max_bytes: int = 4096  # offset.metadata.max.bytes
    # Kafka's internal group.classic.new.member.join.timeout.ms: a JoinGroup of a new member that is
    # parked this long is answered UNKNOWN_MEMBER_ID, so defunct retries do not pile up (KIP-394).
    new_member_join_timeout_ms: int = 300_000
    # consumer groups (KIP-848)
    consumer_session_timeout_ms: int = 45_000  # group.consumer.session.timeout.ms
    consumer_heartbeat_interval_ms: int = 5_000  # group.consumer.heartbeat.interval.ms
    consumer_min_session_timeout_ms: int = 45_000  # group.consumer.min.session.timeout.ms
    consumer_max_session_timeout_ms: int = 60_000  # group.consumer.max.session.timeout.ms
    consumer_min_heartbeat_interval_ms: int = 5_000  # group.consumer.min.heartbeat.interval.ms
    consumer_max_heartbeat_interval_ms: int = 15_000  # group.consumer.max.heartbeat.interval.ms
    consumer_max_size: int = 2**31 - 1  # group.consumer.max.size
    consumer_assignors: tuple[str, ...] = _DEFAULT_ASSIGNORS  # group.consumer.assignors (first: default)
    # group.consumer.migration.policy: which online conversions between a classic group and a
    # consumer group (KIP-848) are allowed: bidirectional, upgrade, downgrade or disabled
    consumer_migration_policy: str = "bidirectional"

    @property
    def upgrade_enabled(self) -> bool:
        """A consumer-protocol member may convert a classic group into a consumer group."""
        return self.consumer_migration_policy in ("bidirectional", "upgrade")

    @property
    def downgrade_enabled(self) -> bool:
        """A consumer group left with only classic members may convert back to a classic group."""
        return self.consumer_migration_policy in ("bidirectional", "downgrade")

    def __post_init__(self) -> None:
        problem = consumer_timing_problem(
            self.consumer_session_timeout_ms,
            self.consumer_heartbeat_interval_ms,
            self.consumer_min_session_timeout_ms,
            self.consumer_max_session_timeout_ms,
            self.consumer_min_heartbeat_interval_ms,
            self.consumer_max_heartbeat_interval_ms,
        )
        if problem is not None:
            raise ValueError(problem)

    @classmethod
    def from_broker_config(cls, config: ConfigLookup) -> GroupConfig:
        """From a ``BrokerConfig`` (or any mapping-like ``get``); names missing there keep defaults."""
        d = cls()

        def get(name: str, default: object) -> Any:  # the setting's value, of its definition's type
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
                get("offsets.retention.check.interval.ms", d.offsets_retention_check_interval_ms)
            ),
            offset_metadata_max_bytes=int(get("offset.metadata.max.bytes", d.offset_metadata_max_bytes)),
            consumer_session_timeout_ms=int(get("group.consumer.session.timeout.ms", d.consumer_session_timeout_ms)),
            consumer_heartbeat_interval_ms=int(
                get("group.consumer.heartbeat.interval.ms", d.consumer_heartbeat_interval_ms)
            ),
            consumer_min_session_timeout_ms=int(
                get("group.consumer.min.session.timeout.ms", d.consumer_min_session_timeout_ms)
            ),
            consumer_max_session_timeout_ms=int(
                get("group.consumer.max.session.timeout.ms", d.consumer_max_session_timeout_ms)
            ),
            consumer_min_heartbeat_interval_ms=int(
                get("group.consumer.min.heartbeat.interval.ms", d.consumer_min_heartbeat_interval_ms)
            ),
            consumer_max_heartbeat_interval_ms=int(
                get("group.consumer.max.heartbeat.interval.ms", d.consumer_max_heartbeat_interval_ms)
            ),
            consumer_max_size=int(get("group.consumer.max.size", d.consumer_max_size)),
            consumer_assignors=_assignors(get("group.consumer.assignors", d.consumer_assignors)),
            consumer_migration_policy=migration_policy(
                get("group.consumer.migration.policy", d.consumer_migration_policy)
            ),
        )


MIGRATION_POLICIES = ("bidirectional", "upgrade", "downgrade", "disabled")


def migration_policy(value: object) -> str:
    """Kafka's ConsumerGroupMigrationPolicy.parse: case-insensitive; anything else is ``disabled``."""
    name = str(value).strip().lower()
    return name if name in MIGRATION_POLICIES else "disabled"


def _assignors(value: str | Iterable[object]) -> tuple[str, ...]:
    """Short names of ``group.consumer.assignors`` (a list or a comma-separated string; Kafka's class
    names are accepted); unknown names raise ValueError."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = tuple(dict.fromkeys(assignor_name(str(v)) for v in items if str(v).strip()))
    return names or _DEFAULT_ASSIGNORS
