"""The transaction coordinator's settings, with Kafka's names and defaults."""

from __future__ import annotations

from dataclasses import dataclass

from kavka.metadata.config import ConfigLookup

__all__ = ["TxnConfig"]


@dataclass(frozen=True, slots=True)
class TxnConfig:
    """Settings of the transaction coordinator (Kafka broker config name in each comment)."""

    transaction_state_log_num_partitions: int = 50  # transaction.state.log.num.partitions
    transaction_max_timeout_ms: int = 900_000  # transaction.max.timeout.ms
    transactional_id_expiration_ms: int = 604_800_000  # transactional.id.expiration.ms
    abort_timed_out_transactions_interval_ms: int = (
        10_000  # transaction.abort.timed.out.transaction.cleanup.interval.ms
    )
    remove_expired_transactions_interval_ms: int = (
        3_600_000  # transaction.remove.expired.transaction.cleanup.interval.ms
    )
    offsets_topic_num_partitions: int = 50  # offsets.topic.num.partitions (AddOffsetsToTxn)
    # how long to wait before writing markers again to partitions that refused them (Kafka retries
    # through its marker channel on every metadata change / request timeout)
    marker_retry_backoff_ms: int = 100

    @classmethod
    def from_broker_config(cls, config: ConfigLookup) -> TxnConfig:
        """From a ``BrokerConfig`` (or any mapping-like ``get``); names missing there keep defaults."""
        d = cls()

        def get(name: str, default: int) -> int:
            value = config.get(name, None)
            return int(default if value is None else value)

        return cls(
            transaction_state_log_num_partitions=get(
                "transaction.state.log.num.partitions", d.transaction_state_log_num_partitions
            ),
            transaction_max_timeout_ms=get("transaction.max.timeout.ms", d.transaction_max_timeout_ms),
            transactional_id_expiration_ms=get("transactional.id.expiration.ms", d.transactional_id_expiration_ms),
            abort_timed_out_transactions_interval_ms=get(
                "transaction.abort.timed.out.transaction.cleanup.interval.ms",
                d.abort_timed_out_transactions_interval_ms,
            ),
            remove_expired_transactions_interval_ms=get(
                "transaction.remove.expired.transaction.cleanup.interval.ms", d.remove_expired_transactions_interval_ms
            ),
            offsets_topic_num_partitions=get("offsets.topic.num.partitions", d.offsets_topic_num_partitions),
        )
