"""Transaction partition verification (KIP-890 part 1): the rules, and how answers reach producers.

The problem: a transactional batch that reaches a partition after its transaction ended (a late
retry), or from a client that never sent AddPartitionsToTxn, opens a transaction on that partition
that no coordinator knows about. No marker will ever close it, so the partition's last stable offset
stays where it is ("hanging transaction") and ``read_committed`` consumers stop there.

The rules (Kafka 3.6+, ``transaction.partition.verification.enable``, default true, dynamic):

1. Only a transactional batch whose producer has *no* open transaction on the partition is verified
   (Kafka's ``UnifiedLog.hasOngoingTransaction``: the producer's ``currentTxnFirstOffset`` is set).
   Once the first batch of a transaction is in, later ones are trusted until a marker closes it, so
   the check costs a dict lookup per batch. The same holds for the ``__consumer_offsets`` partition a
   TxnOffsetCommit writes to.
2. The leader asks the producer's transaction coordinator whether the partition is in the producer's
   ongoing transaction (AddPartitionsToTxn v4 with ``verifyOnly``; Kafka's
   ``TransactionCoordinator.handleVerifyPartitionsInTransaction``). Answers, in order of the checks:
   partition of the id not owned NOT_COORDINATOR, loading COORDINATOR_LOAD_IN_PROGRESS, unknown id or
   other producer id INVALID_PRODUCER_ID_MAPPING, other epoch PRODUCER_FENCED, PrepareCommit /
   PrepareAbort CONCURRENT_TRANSACTIONS; otherwise per partition NONE if it is in the transaction, else
   TRANSACTION_ABORTABLE. No record is written. (No coordinator for the id at all -- the transaction
   topic does not exist -- is COORDINATOR_NOT_AVAILABLE, from the leader.)
3. The leader translates (Kafka's ``AddPartitionsToTxnManager``): PRODUCER_FENCED becomes
   INVALID_PRODUCER_EPOCH (what producers handle on produce), and TRANSACTION_ABORTABLE becomes
   INVALID_TXN_STATE unless the request version lets the client know the new code (Produce v11+,
   TxnOffsetCommit v4+).
4. Produce then maps the retriable coordinator errors that older clients would not retry correctly
   (CONCURRENT_TRANSACTIONS, NETWORK_EXCEPTION, COORDINATOR_LOAD_IN_PROGRESS,
   COORDINATOR_NOT_AVAILABLE, NOT_COORDINATOR) to NOT_ENOUGH_REPLICAS, which every producer retries
   without a metadata refresh (Kafka's ``ReplicaManager.handleProduceAppend``). TxnOffsetCommit keeps
   them, after the group coordinator's usual translation of append errors
   (``CoordinatorOperationExceptionHelper``).
5. A refused partition is not appended; the other partitions of the request are.

Kafka does the check asynchronously and needs a ``VerificationGuard`` so that a marker written while
the coordinator's answer is in flight cannot be overtaken. When the coordinator is in the same process
the check runs on the event loop right before the append, so there is no window; when it is another
broker, the broker's transaction service keeps such a guard (``kavka.broker.txn_service``).

Everything here is pure: the broker's transaction service feeds it coordinator answers.
"""

from __future__ import annotations

from kavka.protocol.api import ErrorCode

__all__ = [
    "VERIFICATION_ENABLE_CONFIG",
    "PRODUCE_ABORTABLE_VERSION",
    "TXN_OFFSET_COMMIT_ABORTABLE_VERSION",
    "NOT_IN_TRANSACTION_MESSAGE",
    "leader_error",
    "produce_error",
    "txn_offset_commit_error",
]

VERIFICATION_ENABLE_CONFIG = "transaction.partition.verification.enable"
#: the first versions whose clients know TRANSACTION_ABORTABLE (KIP-890)
PRODUCE_ABORTABLE_VERSION = 11
TXN_OFFSET_COMMIT_ABORTABLE_VERSION = 4
NOT_IN_TRANSACTION_MESSAGE = "Partition was not added to the transaction"

_RETRY_AS_NOT_ENOUGH_REPLICAS = frozenset(
    {
        ErrorCode.concurrent_transactions,
        ErrorCode.network_exception,
        ErrorCode.coordinator_load_in_progress,
        ErrorCode.coordinator_not_available,
        ErrorCode.not_coordinator,
    }
)


def leader_error(code: int, abortable_known: bool) -> ErrorCode:
    """Rule 3: the coordinator's verification answer as the partition leader reports it."""
    code = ErrorCode(code)
    if code == ErrorCode.producer_fenced:
        return ErrorCode.invalid_producer_epoch
    if code == ErrorCode.transaction_abortable and not abortable_known:
        return ErrorCode.invalid_txn_state
    return code


def produce_error(code: int, version: int) -> tuple[ErrorCode, str | None]:
    """Rules 3 and 4: (error code, error message) a Produce of ``version`` gets for a coordinator answer."""
    code = leader_error(code, version >= PRODUCE_ABORTABLE_VERSION)
    if code == ErrorCode.invalid_txn_state:
        return code, NOT_IN_TRANSACTION_MESSAGE
    if code in _RETRY_AS_NOT_ENOUGH_REPLICAS:
        return ErrorCode.not_enough_replicas, (
            f"Unable to verify the partition has been added to the transaction. Underlying error: {code.name.upper()}"
        )
    return code, None


def txn_offset_commit_error(code: int, version: int) -> ErrorCode:
    """Rule 3, then the group coordinator's translation: the code a TxnOffsetCommit of ``version`` gets."""
    code = leader_error(code, version >= TXN_OFFSET_COMMIT_ABORTABLE_VERSION)
    if code == ErrorCode.network_exception:
        return ErrorCode.coordinator_load_in_progress
    if code in (ErrorCode.unknown_topic_or_partition, ErrorCode.not_enough_replicas, ErrorCode.request_timed_out):
        return ErrorCode.coordinator_not_available
    if code in (ErrorCode.not_leader_or_follower, ErrorCode.kafka_storage_error):
        return ErrorCode.not_coordinator
    return code
