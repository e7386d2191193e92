"""The Kafka error codes the controller answers with, and ``ApiError`` (code + message).

Codes and default messages are Kafka's (``org.apache.kafka.common.protocol.Errors``). When
``kavka.protocol`` grows its full error table, this module should re-export from it.
"""

from __future__ import annotations

import enum
from typing import NamedTuple

__all__ = ["ErrorCode", "ApiError", "NONE", "NotControllerError", "ProducerIdsNotReady"]


class ErrorCode(enum.IntEnum):
    UNKNOWN_SERVER_ERROR = -1
    NONE = 0
    UNKNOWN_TOPIC_OR_PARTITION = 3
    INVALID_TOPIC_EXCEPTION = 17
    TOPIC_AUTHORIZATION_FAILED = 29
    TOPIC_ALREADY_EXISTS = 36
    INVALID_PARTITIONS = 37
    INVALID_REPLICATION_FACTOR = 38
    INVALID_REPLICA_ASSIGNMENT = 39
    INVALID_CONFIG = 40
    INVALID_REQUEST = 42
    POLICY_VIOLATION = 44
    TOPIC_DELETION_DISABLED = 73
    UNKNOWN_TOPIC_ID = 100
    NOT_CONTROLLER = 41
    BROKER_ID_NOT_REGISTERED = 102
    THROTTLING_QUOTA_EXCEEDED = 89  # no message: Kafka 4.4 answers it with a null error_message

    @property
    def default_message(self) -> str | None:
        return _DEFAULT_MESSAGES.get(self)


_DEFAULT_MESSAGES = {
    ErrorCode.UNKNOWN_SERVER_ERROR: "The server experienced an unexpected error when processing the request.",
    ErrorCode.UNKNOWN_TOPIC_OR_PARTITION: "This server does not host this topic-partition.",
    ErrorCode.INVALID_TOPIC_EXCEPTION: "The request attempted to perform an operation on an invalid topic.",
    ErrorCode.TOPIC_AUTHORIZATION_FAILED: "Topic authorization failed.",
    ErrorCode.TOPIC_ALREADY_EXISTS: "Topic with this name already exists.",
    ErrorCode.INVALID_PARTITIONS: "Number of partitions is below 1.",
    ErrorCode.INVALID_REPLICATION_FACTOR: "Replication factor is below 1 or larger than the number of available brokers.",
    ErrorCode.INVALID_REPLICA_ASSIGNMENT: "Replica assignment is invalid.",
    ErrorCode.INVALID_CONFIG: "Configuration is invalid.",
    ErrorCode.INVALID_REQUEST: (
        "This most likely occurs because of a request being malformed by the client library or the "
        "message was sent to an incompatible broker. See the broker logs for more details."
    ),
    ErrorCode.POLICY_VIOLATION: "Request parameters do not satisfy the configured policy.",
    ErrorCode.TOPIC_DELETION_DISABLED: "Topic deletion is disabled.",
    ErrorCode.UNKNOWN_TOPIC_ID: "This server does not host this topic ID.",
    ErrorCode.NOT_CONTROLLER: "This is not the correct controller for this cluster.",
    ErrorCode.BROKER_ID_NOT_REGISTERED: "The given broker ID was not registered.",
}


class ApiError(NamedTuple):
    """An error code with its message; ``message`` defaults to Kafka's text for the code."""

    code: ErrorCode
    message: str | None

    @classmethod
    def of(cls, code: ErrorCode, message: str | None = None) -> ApiError:
        return cls(code, message if message is not None else code.default_message)

    @property
    def is_failure(self) -> bool:
        return self.code != ErrorCode.NONE


NONE = ApiError(ErrorCode.NONE, None)


class NotControllerError(Exception):
    """This node is not (or stopped being) the active controller: answer NOT_CONTROLLER. Raised by the
    quorum runtime when leadership is lost before appended records commit."""


class ProducerIdsNotReady(RuntimeError):
    """A broker has no producer id block yet and asked the active controller for one (retriable:
    Kafka answers COORDINATOR_LOAD_IN_PROGRESS meanwhile)."""
