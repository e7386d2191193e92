"""Kafka's group coordinator: classic groups (JoinGroup/SyncGroup) and committed offsets.

:class:`GroupCoordinator` is the entry point; :mod:`.records` holds the ``__consumer_offsets`` codecs.
"""

from kavka.coordinator.group.classic import ClassicGroup, ClassicMember, GroupState
from kavka.coordinator.group.config import GroupConfig
from kavka.coordinator.group.coordinator import GroupCoordinator, partition_for

__all__ = ["GroupCoordinator", "GroupConfig", "GroupState", "ClassicGroup", "ClassicMember", "partition_for"]
