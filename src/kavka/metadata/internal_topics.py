"""The names of Kafka's internal topics, in one place (Kafka: ``org.apache.kafka.common.internals.Topic``).

- ``__consumer_offsets``: the group coordinator's log (groups, members, committed offsets);
- ``__transaction_state``: the transaction coordinator's log;
- ``__share_group_state``: the share coordinator's log (KIP-932; Kavka does not create it, but reserves
  the name as Kafka does);
- ``__cluster_metadata``: the KRaft metadata log. It is not a topic of the metadata image: Metadata never
  lists it, CreateTopics refuses the name, and it is not "internal" in Kafka's sense.

:func:`is_internal` is Kafka's ``Topic.isInternal``: the topics Metadata and DescribeTopicPartitions
report with ``is_internal`` set, that Produce refuses to append to from clients (INVALID_TOPIC_EXCEPTION)
and DeleteRecords refuses to truncate.
"""

from __future__ import annotations

__all__ = ["OFFSETS_TOPIC", "TXN_TOPIC", "SHARE_GROUP_STATE_TOPIC", "METADATA_TOPIC", "INTERNAL_TOPICS", "is_internal"]

OFFSETS_TOPIC = "__consumer_offsets"
TXN_TOPIC = "__transaction_state"
SHARE_GROUP_STATE_TOPIC = "__share_group_state"
METADATA_TOPIC = "__cluster_metadata"

INTERNAL_TOPICS = frozenset({OFFSETS_TOPIC, TXN_TOPIC, SHARE_GROUP_STATE_TOPIC})


def is_internal(topic: str) -> bool:
    """Kafka's ``Topic.isInternal``: one of :data:`INTERNAL_TOPICS` (``__cluster_metadata`` is not)."""
    return topic in INTERNAL_TOPICS
