"""Kafka's textual uuids (``org.apache.kafka.common.Uuid``): 22-char unpadded base64url of 16 bytes.

Cluster ids and topic ids are printed this way by Kafka tools (``kafka-storage random-uuid``,
``kafka-topics --describe``). Kafka never hands out the all-zero uuid (``ZERO_UUID``), the metadata
topic's id (``ONE_UUID``), or a uuid whose text starts with ``-`` (it would read as a CLI flag).
"""

from __future__ import annotations

import base64
import uuid

__all__ = ["ZERO_UUID", "ONE_UUID", "uuid_to_str", "uuid_from_str", "random_uuid", "new_cluster_id"]

ZERO_UUID = uuid.UUID(int=0)
ONE_UUID = uuid.UUID(int=1)  # Kafka's METADATA_TOPIC_ID


def uuid_to_str(value: uuid.UUID) -> str:
    return base64.urlsafe_b64encode(value.bytes).decode().rstrip("=")


def uuid_from_str(text: str) -> uuid.UUID:
    if len(text) != 22:
        raise ValueError(f"Input string with prefix `{text[:22]}` is too long to be decoded as a base64 UUID")
    return uuid.UUID(bytes=base64.urlsafe_b64decode(text + "=="))


def random_uuid() -> uuid.UUID:
    """A uuid4 that Kafka would also hand out (not reserved, text not starting with ``-``)."""
    while True:
        value = uuid.uuid4()
        if value not in (ZERO_UUID, ONE_UUID) and not uuid_to_str(value).startswith("-"):
            return value


def new_cluster_id() -> str:
    """A fresh cluster id, as ``kafka-storage random-uuid`` prints it."""
    return uuid_to_str(random_uuid())
