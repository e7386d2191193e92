"""Storage-layer exceptions, each carrying Kafka's numeric ``error_code``.

The broker maps an exception to a partition-level error in a response by reading ``error_code``; nothing
else about the exception crosses the wire. Corrupt or invalid record sets raise the protocol layer's
``CorruptRecordError`` (CORRUPT_MESSAGE, 2) and ``InvalidRecordError`` (INVALID_RECORD, 87), re-exported
here so callers can import every storage error from one place.
"""

from __future__ import annotations

from kavka.protocol.batch import CorruptRecordError, InvalidRecordError

__all__ = [
    "StorageError",
    "OffsetOutOfRangeError",
    "CorruptRecordError",
    "InvalidRecordError",
    "RecordTooLargeError",
    "InvalidTimestampError",
    "OutOfOrderSequenceError",
    "InvalidProducerEpochError",
    "InvalidTxnStateError",
    "TransactionCoordinatorFencedError",
    "KafkaStorageError",
    "UnexpectedAppendOffsetError",
    "LogDirError",
    "error_code_of",
]


class StorageError(Exception):
    """Base of the storage errors below. ``error_code`` is Kafka's error code for the partition."""

    error_code = -1  # UNKNOWN_SERVER_ERROR


class OffsetOutOfRangeError(StorageError):
    """A read or truncation asked for an offset outside [log_start_offset, log_end_offset]."""

    error_code = 1


class RecordTooLargeError(StorageError):
    """A batch exceeds the topic's ``max.message.bytes`` (or a record set exceeds ``segment.bytes``).

    Kafka answers MESSAGE_TOO_LARGE (10) for both; RECORD_LIST_TOO_LARGE (18) is not used here.
    """

    error_code = 10


class InvalidTimestampError(StorageError):
    """A CreateTime batch's timestamp lies outside ``message.timestamp.before/after.max.ms`` of now."""

    error_code = 32


class OutOfOrderSequenceError(StorageError):
    """An idempotent producer's batch does not continue its last sequence number."""

    error_code = 45


class InvalidProducerEpochError(StorageError):
    """An idempotent producer's epoch is older than the one the partition has seen (a fenced zombie)."""

    error_code = 47


class InvalidTxnStateError(StorageError):
    """A producer with an open transaction wrote a non-transactional batch (INVALID_TXN_STATE)."""

    error_code = 48


class TransactionCoordinatorFencedError(StorageError):
    """An end-transaction marker carries a coordinator epoch older than one already seen
    (TRANSACTION_COORDINATOR_FENCED)."""

    error_code = 52


class KafkaStorageError(StorageError):
    """An I/O error made the log unusable (KAFKA_STORAGE_ERROR)."""

    error_code = 56


class UnexpectedAppendOffsetError(StorageError):
    """A follower append whose batches do not continue the log exactly (Kafka's
    UnexpectedAppendOffsetException): the first batch is not at the log end, or one overlaps or leaves
    a gap after the batch before it."""


class LogDirError(Exception):
    """A log directory the broker must not start on (locked by another process, meta.properties missing
    beside data, or unreadable). The message is one line naming the directory or file; ``kavka serve``
    prints it and exits non-zero."""


def error_code_of(exc: BaseException) -> int:
    """Kafka error code for an exception raised by storage (UNKNOWN_SERVER_ERROR, -1, if none)."""
    if isinstance(exc, CorruptRecordError):
        return 2
    if isinstance(exc, InvalidRecordError):
        return 87
    return getattr(exc, "error_code", -1)
