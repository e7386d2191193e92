"""Kafka's group coordinator: classic groups (JoinGroup/SyncGroup), consumer groups (KIP-848,
ConsumerGroupHeartbeat) and committed offsets.

:class:`GroupCoordinator` is the entry point; :mod:`.records` and :mod:`.consumer_records` hold the
``__consumer_offsets`` codecs; :mod:`.membership` runs classic groups, :mod:`.consumer_membership`
consumer groups (model in :mod:`.consumer`, assignors in :mod:`.assignors`), :mod:`.consumer_classic`
the classic-protocol members of consumer groups and :mod:`.migration` the conversions between the
two kinds of group (KIP-848 online migration; the embedded consumer protocol is read and written
by :mod:`.consumer_protocol`).
"""

from kavka.coordinator.group.classic import ClassicGroup, ClassicMember, GroupState
from kavka.coordinator.group.config import GroupConfig
from kavka.coordinator.group.coordinator import GroupCoordinator, partition_for

__all__ = ["GroupCoordinator", "GroupConfig", "GroupState", "ClassicGroup", "ClassicMember", "partition_for"]
