"""Authorized operations (KIP-430): the principal's real rights as a 32-bit field.

Metadata, DescribeCluster, DescribeGroups, ConsumerGroupDescribe and DescribeTopicPartitions carry a
32-bit field with one bit per ``AclOperation`` code the caller may perform on the resource. Kafka's
``AuthHelper.authorizedOperations`` sets the bits of every operation ``AclEntry.supportedOperations``
lists for the resource type that the authorizer allows (:func:`authorized_operations`, through
``kavka.broker.authz``); with no authorizer that is all of them (the ``*_OPERATIONS`` constants). When the
request does not ask for the field, it stays at the schema default, INT32_MIN.
"""

from __future__ import annotations

from collections.abc import Iterable

from kavka.broker import authz

__all__ = [
    "NOT_REQUESTED",
    "TOPIC_OPERATIONS",
    "GROUP_OPERATIONS",
    "CLUSTER_OPERATIONS",
    "to_32bit_field",
    "authorized_operations",
]

# org.apache.kafka.common.acl.AclOperation codes.
READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE = 3, 4, 5, 6, 7, 8
CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE = 9, 10, 11, 12

# The schemas' default: "authorized operations were not requested".
NOT_REQUESTED = -(2**31)


def to_32bit_field(codes: Iterable[int]) -> int:
    """Kafka's ``Utils.to32BitField``: bit ``c`` set for each code ``c`` (0..31)."""
    value = 0
    for c in codes:
        if not 0 <= c <= 31:
            raise ValueError(f"operation code out of range: {c}")
        value |= 1 << c
    return value - (1 << 32) if value >= 1 << 31 else value


# AclEntry.supportedOperations(TOPIC / GROUP / CLUSTER).
TOPIC_OPERATIONS = to_32bit_field((READ, WRITE, CREATE, DESCRIBE, DELETE, ALTER, DESCRIBE_CONFIGS, ALTER_CONFIGS))
GROUP_OPERATIONS = to_32bit_field((READ, DESCRIBE, DELETE, DESCRIBE_CONFIGS, ALTER_CONFIGS))
CLUSTER_OPERATIONS = to_32bit_field(
    (CREATE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE, ALTER, DESCRIBE)
)


def authorized_operations(ctx, resource_type: int, name: str) -> int:
    """The field for the request's principal on one resource (``kavka.security.authorizer.ResourceType``)."""
    return to_32bit_field(authz.authorized_operations(ctx, resource_type, name))
