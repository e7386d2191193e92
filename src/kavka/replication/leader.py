"""The leader side of one partition (Kafka's ``Partition`` as leader): where each follower is, the high
watermark, and which ISR change to ask the controller for.

Pure and synchronous: the caller passes the leader's log end offset and the clock, and acts on what
comes back (moves the log's high watermark, sends AlterPartition, answers delayed produces).

Rules, as Kafka's ``Partition.scala`` has them:

- A follower's fetch at ``fetch_offset`` says its log ends there. It is *caught up* if it fetched up to
  the leader's log end offset as it is now (``last_caught_up_ms`` = this fetch's time) or as it was at its
  previous fetch (``last_caught_up_ms`` = the previous fetch's time).
- The high watermark is the smallest log end offset among the leader and the followers of the
  *maximal ISR*: the committed ISR plus the members of an expansion in flight (Kafka counts a replica
  being added before the controller has agreed, and keeps one being removed until it has), so an
  acknowledged write is on every replica that may be elected. It never moves back.
- Shrink: an ISR member (not the leader) whose last caught-up time is more than
  ``replica.lag.time.max.ms`` ago leaves the ISR.
- Expand: a replica outside the ISR joins once its log end offset reaches the high watermark and the
  start of the leader's current epoch (so it holds everything this leader committed), and the
  controller's image says its broker is active (registered, unfenced, not shutting down).
- One AlterPartition in flight per partition; while it is, no other change is proposed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

__all__ = ["FollowerState", "LeaderState"]


@dataclass(slots=True)
class FollowerState:
    """What the leader knows of one follower replica (Kafka's ``Replica``)."""

    log_end_offset: int = -1
    last_fetch_ms: int = -1
    last_caught_up_ms: int = -1
    leader_end_offset_at_last_fetch: int = -1  # the leader's LEO when that fetch came in


@dataclass(slots=True)
class LeaderState:
    """``node_id`` leads at ``leader_epoch``; ``isr`` is the committed ISR (with ``partition_epoch``)."""

    node_id: int
    replicas: tuple[int, ...]
    isr: tuple[int, ...]
    leader_epoch: int
    partition_epoch: int
    epoch_start_offset: int  # the leader's log end offset when it became leader at this epoch
    followers: dict[int, FollowerState] = field(default_factory=dict)
    pending_isr: tuple[int, ...] | None = None  # the ISR of an AlterPartition in flight

    @classmethod
    def become_leader(
        cls,
        node_id: int,
        replicas: Iterable[int],
        isr: Iterable[int],
        leader_epoch: int,
        partition_epoch: int,
        log_end_offset: int,
        now_ms: int,
    ) -> LeaderState:
        """A new leadership: followers' positions are unknown; those in the ISR count as caught up now
        (Kafka: they had until the election to keep up, and get the lag time again from here)."""
        replicas, isr = tuple(replicas), tuple(isr)
        followers = {r: FollowerState(last_caught_up_ms=now_ms if r in isr else -1) for r in replicas if r != node_id}
        return cls(node_id, replicas, isr, leader_epoch, partition_epoch, log_end_offset, followers)

    def update(self, replicas: Iterable[int], isr: Iterable[int], partition_epoch: int, now_ms: int) -> None:
        """The committed image changed this partition at the same leader epoch (an ISR change, or a
        reassignment adding replicas). An image older than what AlterPartition answered is ignored."""
        if partition_epoch < self.partition_epoch:
            return
        self.replicas, self.isr, self.partition_epoch = tuple(replicas), tuple(isr), partition_epoch
        self.pending_isr = None
        for r in self.replicas:
            if r != self.node_id and r not in self.followers:
                self.followers[r] = FollowerState()
        for r in [r for r in self.followers if r not in self.replicas]:
            del self.followers[r]

    @property
    def maximal_isr(self) -> tuple[int, ...]:
        """The replicas the high watermark waits for: the ISR, plus those of an expansion in flight."""
        if self.pending_isr is None:
            return self.isr
        return self.isr + tuple(r for r in self.pending_isr if r not in self.isr)

    def follower_fetched(self, replica: int, fetch_offset: int, leader_end_offset: int, now_ms: int) -> bool:
        """Record a follower's fetch; False if ``replica`` is not a replica of this partition."""
        state = self.followers.get(replica)
        if state is None:
            return False
        if fetch_offset >= leader_end_offset:
            state.last_caught_up_ms = max(state.last_caught_up_ms, now_ms)
        elif fetch_offset >= state.leader_end_offset_at_last_fetch >= 0:
            state.last_caught_up_ms = max(state.last_caught_up_ms, state.last_fetch_ms)
        state.log_end_offset = fetch_offset
        state.last_fetch_ms = now_ms
        state.leader_end_offset_at_last_fetch = leader_end_offset
        return True

    def high_watermark(self, leader_end_offset: int) -> int:
        """The smallest log end offset of the maximal ISR (the leader's own included)."""
        hw = leader_end_offset
        for r in self.maximal_isr:
            if r == self.node_id:
                continue
            state = self.followers.get(r)
            end = -1 if state is None else state.log_end_offset
            hw = min(hw, end)
        return hw

    def isr_to_shrink(self, now_ms: int, lag_time_max_ms: int) -> tuple[int, ...] | None:
        """The ISR without its members that have not caught up for ``lag_time_max_ms``; None if it stays."""
        if self.pending_isr is not None:
            return None
        out_of_sync = {
            r
            for r in self.isr
            if r != self.node_id
            and (state := self.followers.get(r)) is not None
            and now_ms - state.last_caught_up_ms > lag_time_max_ms
        }
        if not out_of_sync:
            return None
        return tuple(r for r in self.isr if r not in out_of_sync)

    def isr_to_expand(
        self, replica: int, high_watermark: int, is_active: Callable[[int], bool]
    ) -> tuple[int, ...] | None:
        """The ISR with ``replica`` added, if it has caught up to the high watermark and the start of this
        leader's epoch and its broker is active; None otherwise."""
        if self.pending_isr is not None or replica in self.isr or replica not in self.replicas:
            return None
        state = self.followers.get(replica)
        if state is None or state.log_end_offset < max(high_watermark, self.epoch_start_offset):
            return None
        if not is_active(replica):
            return None
        return self.isr + (replica,)
