"""Controller decisions on metadata: topics, partitions, configs, brokers."""

from .configs import AlterableConfig, AlterConfigOp, AlterConfigsResource, AlterConfigsResult
from .controller import QuorumController
from .errors import ApiError, ErrorCode
from .topics import (
    CreatableTopic,
    CreatePartitionsResult,
    CreatePartitionsTopic,
    CreateTopicResult,
    DeleteTopicResult,
)

__all__ = [
    "AlterConfigOp",
    "AlterConfigsResource",
    "AlterConfigsResult",
    "AlterableConfig",
    "ApiError",
    "CreatableTopic",
    "CreatePartitionsResult",
    "CreatePartitionsTopic",
    "CreateTopicResult",
    "DeleteTopicResult",
    "ErrorCode",
    "QuorumController",
]
