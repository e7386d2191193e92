"""The log: Kafka's on-disk layout, synchronous, with the file system injected (see DESIGN.md §4)."""

from kavka.storage.cleaner import CleanerStats, LogCleaner
from kavka.storage.config import LogConfig
from kavka.storage.errors import (
    InvalidProducerEpochError,
    InvalidTimestampError,
    KafkaStorageError,
    OffsetOutOfRangeError,
    OutOfOrderSequenceError,
    RecordTooLargeError,
    StorageError,
)
from kavka.storage.fs import FileSystem, OsFileSystem
from kavka.storage.log import AppendResult, PartitionLog, ReadResult
from kavka.storage.manager import LogManager

__all__ = [
    "AppendResult",
    "CleanerStats",
    "FileSystem",
    "InvalidProducerEpochError",
    "InvalidTimestampError",
    "KafkaStorageError",
    "LogCleaner",
    "LogConfig",
    "LogManager",
    "OffsetOutOfRangeError",
    "OsFileSystem",
    "OutOfOrderSequenceError",
    "PartitionLog",
    "ReadResult",
    "RecordTooLargeError",
    "StorageError",
]
