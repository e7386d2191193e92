"""``PartitionChangeBuilder``: from a partition's registration and target state, the one
``PartitionChangeRecord`` that gets it there, or None (Kafka's ``PartitionChangeBuilder``).

Pure: a ``PartitionImage``, a predicate saying which brokers may lead (``acceptable``: registered,
unfenced, not in controlled shutdown, plus what the caller adds or removes), the targets, and out comes
a record. The rules, in the order ``build`` applies them (Kafka 4.4 with metadata.version 4.0-IV3 and
eligible leader replicas off, which is what Kavka finalizes):

1. A reassignment completes when the target ISR, less the replicas being removed, is not empty and
   holds every replica that stays: replicas and ISR lose the removed ones, adding/removing are cleared.
2. Election. ONLINE (the default) and UNCLEAN keep the current leader if it is in the target ISR and
   acceptable, else take the first replica (in replica order) in the target ISR that is acceptable;
   PREFERRED tries the first replica before the current leader, then the others. UNCLEAN, when nothing
   in the ISR can lead, takes the first acceptable replica and makes the ISR that leader alone (the
   records it lacks are lost). No candidate: the leader becomes -1 (NO_LEADER). A leader change sets
   ``leader``; replay bumps the leader epoch whenever ``leader`` is set (``PartitionRegistration.merge``).
3. A replica set that loses a broker bumps the leader epoch: ``leader`` is set to the current leader.
   An ISR shrink does not (it did before metadata.version 3.6-IV0, KAFKA-15021).
4. The ISR is written when it differs, but never emptied: a target ISR with no member keeps the
   current one (Kafka keeps the last member of an ISR when its broker goes away).
5. Replicas, removing and adding replicas are written when they differ.

No field changed: no record. Kafka also tracks the leader recovery state (RECOVERING after an unclean
election) and log directories; Kavka's image keeps neither (docs/compatibility.md).
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable, Sequence

from kavka.metadata.image import PartitionImage
from kavka.metadata.records import NO_LEADER, NO_LEADER_CHANGE, PartitionChangeRecord

__all__ = ["Election", "PartitionChangeBuilder", "complete_reassignment"]


class Election(enum.Enum):
    """Kafka's ``PartitionChangeBuilder.Election``."""

    PREFERRED = "preferred"  # the first replica if it can lead, else keep the partition online
    ONLINE = "online"  # keep the partition online from the ISR
    UNCLEAN = "unclean"  # from the ISR if possible, else any acceptable replica (may lose data)


def complete_reassignment(
    replicas: Sequence[int], removing: Sequence[int], adding: Sequence[int], isr: Sequence[int]
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Kafka's ``PartitionReassignmentReplicas.maybeCompleteReassignment``: ``(replicas, isr)`` once a
    reassignment in progress can finish with this ISR, else None."""
    if not removing and not adding:
        return None
    new_isr = tuple(isr)
    new_replicas = tuple(replicas)
    if removing:
        new_isr = tuple(r for r in isr if r not in removing)
        if not new_isr:
            return None
        new_replicas = tuple(r for r in replicas if r not in removing)
        if not new_replicas:
            return None
    if not set(new_replicas) <= set(new_isr):
        return None
    return new_replicas, new_isr


class PartitionChangeBuilder:
    """Build the change of one partition; set targets, then :meth:`build` (see the module rules)."""

    def __init__(
        self,
        partition: PartitionImage,
        topic_id: uuid.UUID,
        partition_id: int,
        acceptable: Callable[[int], bool],
        election: Election = Election.ONLINE,
    ) -> None:
        self.partition = partition
        self.topic_id = topic_id
        self.partition_id = partition_id
        self.acceptable = acceptable
        self.election = election
        self.target_isr: tuple[int, ...] = partition.isr
        self.target_replicas: tuple[int, ...] = partition.replicas
        self.target_removing: tuple[int, ...] = partition.removing_replicas
        self.target_adding: tuple[int, ...] = partition.adding_replicas
        self.unclean = False  # set by build: the election took a replica outside the ISR

    def set_target_isr(self, isr: Sequence[int]) -> PartitionChangeBuilder:
        self.target_isr = tuple(isr)
        return self

    def set_target_replicas(self, replicas: Sequence[int]) -> PartitionChangeBuilder:
        self.target_replicas = tuple(replicas)
        return self

    def set_target_removing(self, removing: Sequence[int]) -> PartitionChangeBuilder:
        self.target_removing = tuple(removing)
        return self

    def set_target_adding(self, adding: Sequence[int]) -> PartitionChangeBuilder:
        self.target_adding = tuple(adding)
        return self

    # -- election ---------------------------------------------------------------------------------

    def _valid_leader(self, replica: int) -> bool:
        return replica in self.target_isr and self.acceptable(replica)

    def elect(self) -> tuple[int, bool]:
        """``(leader, unclean)`` by the election rules; NO_LEADER when no replica can lead."""
        current = self.partition.leader
        if self.election is Election.PREFERRED:
            if self.target_replicas and self._valid_leader(self.target_replicas[0]):
                return self.target_replicas[0], False
            if self._valid_leader(current):
                return current, False
            for r in self.target_replicas[1:]:
                if self._valid_leader(r):
                    return r, False
            return NO_LEADER, False
        if self._valid_leader(current):
            return current, False
        for r in self.target_replicas:
            if self._valid_leader(r):
                return r, False
        if self.election is Election.UNCLEAN:
            for r in self.target_replicas:
                if self.acceptable(r):
                    return r, True
        return NO_LEADER, False

    # -- build ------------------------------------------------------------------------------------

    def build(self) -> PartitionChangeRecord | None:
        old = self.partition
        done = complete_reassignment(self.target_replicas, self.target_removing, self.target_adding, self.target_isr)
        if done is not None:
            self.target_replicas, self.target_isr = done
            self.target_removing = self.target_adding = ()

        leader = NO_LEADER_CHANGE
        isr: tuple[int, ...] | None = None
        elected, unclean = self.elect()
        if elected != old.leader:
            leader = elected
            if unclean:
                self.unclean = True
                isr = (elected,)  # data loss: the new leader's log is the truth now
        if leader == NO_LEADER_CHANGE and not set(old.replicas) <= set(self.target_replicas):
            leader = old.leader  # a replica removed: bump the leader epoch
        if isr is None and self.target_isr and self.target_isr != old.isr:
            isr = self.target_isr
        replicas = self.target_replicas if self.target_replicas and self.target_replicas != old.replicas else None
        removing = self.target_removing if self.target_removing != old.removing_replicas else None
        adding = self.target_adding if self.target_adding != old.adding_replicas else None
        if leader == NO_LEADER_CHANGE and isr is None and replicas is None and removing is None and adding is None:
            return None
        return PartitionChangeRecord(
            partition_id=self.partition_id,
            topic_id=self.topic_id,
            isr=isr,
            leader=leader,
            replicas=replicas,
            removing_replicas=removing,
            adding_replicas=adding,
        )
