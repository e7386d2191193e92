"""The transaction coordinator: Kafka's transaction state machine over ``__transaction_state``.

See :mod:`kavka.coordinator.txn.metadata` for the states and transitions,
:mod:`kavka.coordinator.txn.records` for the record format, :mod:`kavka.coordinator.txn.shard` for one
partition's state, timers and markers, :mod:`kavka.coordinator.txn.coordinator` for the API, and
:mod:`kavka.coordinator.txn.verification` for transaction partition verification (KIP-890 part 1).
"""

from kavka.coordinator.txn.config import TxnConfig
from kavka.coordinator.txn.coordinator import TransactionCoordinator, partition_for
from kavka.coordinator.txn.metadata import TxnMetadata, TxnState
from kavka.coordinator.txn.shard import MarkerJob, TxnShard

__all__ = ["TxnConfig", "TransactionCoordinator", "partition_for", "TxnMetadata", "TxnState", "MarkerJob", "TxnShard"]
