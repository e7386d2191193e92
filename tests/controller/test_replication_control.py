"""The controller's side of replication on plain images, no I/O (``kavka.controller.replication`` through
``QuorumController``, over an in-memory quorum): broker fencing, unfencing, controlled shutdown and
unregistration move leadership and shrink ISRs in the broker's own batch; unclean elections only where
allowed; AlterPartition's checks and answers; ElectLeaders; the automatic preferred and unclean
elections; and reassignments step by step. Kafka's rules are those of its ``ReplicationControlManager``
and ``PartitionChangeBuilder`` (4.4, metadata.version 4.0-IV3, no ELR)."""

from __future__ import annotations

import uuid

import pytest

from kavka.controller import CreatableTopic
from kavka.controller.brokers import BrokerControlError
from kavka.controller.partition_change import Election, PartitionChangeBuilder
from kavka.controller.replication import AlterPartitionData, merged, reassigning_partitions
from kavka.metadata.image import PartitionImage, apply
from kavka.metadata.records import (
    BrokerRegistrationChangeRecord,
    ConfigRecord,
    ConfigResourceType,
    PartitionChangeRecord,
    RegisterBrokerRecord,
    UnregisterBrokerRecord,
    decode_record,
)
from kavka.protocol.api import ErrorCode
from tests.controller.test_brokers import beat, join, make, request

SESSION_MS = 9000


def cluster(brokers=(1, 2, 3), props=None):
    c, quorum, store, clock = make(props)
    epochs = {b: join(c, quorum, b) for b in brokers}
    return c, quorum, clock, epochs


def topic(c, name, *assignments, configs=None):
    [result], _ = c.create_topics(
        [CreatableTopic(name, assignments=dict(enumerate(assignments)), configs=configs or {})]
    )
    assert result.error_code == 0, result.error_message
    return result.topic_id


def part(c, name, index=0):
    return c.image.partition(name, index)


def state(p):
    return p.leader, p.leader_epoch, p.isr, p.partition_epoch


def expire(c, clock, *alive, epochs, quorum):
    """Let every session but those of ``alive`` expire, and run the session timer."""
    clock.now += SESSION_MS - 1
    for b in alive:
        beat(c, b, epochs[b], quorum.end_offset)
    clock.now += 2
    return c.fence_stale_brokers()


def alter(c, broker, epoch, tid, index, isr, leader_epoch=None, partition_epoch=None, epochs=None):
    p = c.image.topic_by_id(tid).partitions[index] if c.image.topic_by_id(tid) else None
    data = AlterPartitionData(
        index,
        p.leader_epoch if leader_epoch is None else leader_epoch,
        p.partition_epoch if partition_epoch is None else partition_epoch,
        tuple((b, (epochs or {}).get(b, -1)) for b in isr),
    )
    [(_, [result])], records = c.alter_partition(broker, epoch, [(tid, [data])])
    return result, records


# ---- fencing, unfencing, controlled shutdown ------------------------------------------------------


def test_a_fenced_leader_hands_over_to_the_next_isr_replica_in_the_same_batch():
    c, quorum, clock, epochs = cluster()
    tid = topic(c, "t", [1, 2, 3], [2, 1, 3])
    records = expire(c, clock, 2, 3, epochs=epochs, quorum=quorum)
    # the partition changes come first, then the fencing: no committed state has a fenced leader
    assert records == [
        PartitionChangeRecord(0, tid, isr=(2, 3), leader=2),
        PartitionChangeRecord(1, tid, isr=(2, 3)),
        BrokerRegistrationChangeRecord(1, epochs[1], fenced=1),
    ]
    assert state(part(c, "t", 0)) == (2, 1, (2, 3), 1)  # a new leader: a new leader epoch
    assert state(part(c, "t", 1)) == (2, 0, (2, 3), 1)  # an ISR shrink alone keeps the leader epoch


def test_the_last_isr_member_stays_and_the_partition_goes_offline_then_back_with_it():
    c, quorum, clock, epochs = cluster()
    topic(c, "solo", [1])
    expire(c, clock, 2, 3, epochs=epochs, quorum=quorum)
    assert state(part(c, "solo")) == (-1, 1, (1,), 1)
    # broker 1 comes back (a heartbeat caught up): it leads again, in the batch that unfences it
    reply, records = beat(c, 1, epochs[1], quorum.end_offset)
    assert not reply.is_fenced
    assert records[0] == BrokerRegistrationChangeRecord(1, epochs[1], fenced=-1)
    assert isinstance(records[1], PartitionChangeRecord) and records[1].leader == 1
    assert state(part(c, "solo")) == (1, 2, (1,), 2)


def test_two_brokers_expiring_together_are_fenced_one_after_the_other():
    c, quorum, clock, epochs = cluster()
    topic(c, "t", [1, 2, 3])
    expire(c, clock, 3, epochs=epochs, quorum=quorum)
    assert state(part(c, "t"))[:3] == (3, 2, (3,))
    assert c.image.brokers[1].fenced and c.image.brokers[2].fenced


def test_a_heartbeat_asking_to_be_fenced_moves_its_leaderships():
    c, quorum, _, epochs = cluster()
    topic(c, "t", [2, 3])
    reply, records = beat(c, 2, epochs[2], quorum.end_offset, want_fence=True)
    assert reply.is_fenced
    assert [type(r).__name__ for r in records] == ["PartitionChangeRecord", "BrokerRegistrationChangeRecord"]
    assert state(part(c, "t"))[:3] == (3, 1, (3,))


def test_controlled_shutdown_of_a_sole_replica_leaves_the_partition_leaderless_and_lets_it_stop():
    c, quorum, _, epochs = cluster((1, 2))
    topic(c, "solo", [1])
    reply, _ = beat(c, 1, epochs[1], quorum.end_offset, want_shut_down=True)
    assert reply.is_in_controlled_shutdown and not reply.should_shut_down
    assert state(part(c, "solo"))[:3] == (-1, 1, (1,))
    topic(c, "new", [2, 1])  # a broker shutting down is no ISR member of a new partition
    assert part(c, "new").isr == (2,)
    beat(c, 2, epochs[2], quorum.end_offset)  # the other broker has seen it
    reply, _ = beat(c, 1, epochs[1], quorum.end_offset, want_shut_down=True)
    assert reply.should_shut_down


def test_unregistering_a_broker_takes_it_out_of_every_isr_first():
    c, quorum, _, epochs = cluster()
    tid = topic(c, "t", [3, 1])
    assert c.unregister_broker(3).code == 0
    p = part(c, "t")
    assert (p.leader, p.isr) == (1, (1,))
    assert 3 not in c.image.brokers
    last = [decode_record(r) for r in quorum._store.read_all()][-2:]
    assert last == [PartitionChangeRecord(0, tid, isr=(1,), leader=1), UnregisterBrokerRecord(3, epochs[3])]


def test_a_new_incarnation_first_takes_the_old_one_out_of_isrs_and_leadership():
    c, quorum, clock, epochs = cluster()
    tid = topic(c, "t", [2, 1])
    clock.now += SESSION_MS + 1  # broker 2's session has expired, but the timer has not fenced it yet
    for b in (1, 3):
        beat(c, b, epochs[b], quorum.end_offset)
    offset = quorum.end_offset
    epoch, records = c.broker_registration(request(2))
    assert records[0] == PartitionChangeRecord(0, tid, isr=(1,), leader=1)
    assert isinstance(records[1], RegisterBrokerRecord) and records[1].fenced
    assert epoch == offset  # the offset of the batch's first record, as Kafka's
    # caught up means: up to the registration record itself, the second of the batch
    assert not beat(c, 2, epoch, offset)[0].is_caught_up
    assert beat(c, 2, epoch, offset + 1)[0].is_caught_up


# ---- unclean elections ---------------------------------------------------------------------------


def shrink_to_leader(c, epochs, name="t"):
    p = part(c, name)
    result, _ = alter(c, p.leader, epochs[p.leader], c.image.topic(name).topic_id, 0, [p.leader])
    assert result.error_code == 0
    return part(c, name)


@pytest.mark.parametrize("where", ["none", "topic", "cluster", "node", "static"])
def test_an_out_of_sync_replica_leads_only_where_unclean_election_is_enabled(where):
    props = {"unclean.leader.election.enable": "true"} if where == "static" else None
    c, quorum, clock, epochs = cluster(props=props)
    topic(c, "t", [1, 2], configs={"unclean.leader.election.enable": "true"} if where == "topic" else None)
    if where in ("cluster", "node"):
        name = "" if where == "cluster" else str(c.config.node_id)
        quorum.append([ConfigRecord(ConfigResourceType.BROKER, name, "unclean.leader.election.enable", "true")])
    assert shrink_to_leader(c, epochs).isr == (1,)
    expire(c, clock, 2, 3, epochs=epochs, quorum=quorum)
    p = part(c, "t")
    if where == "none":
        assert (p.leader, p.isr) == (-1, (1,))  # offline: broker 2 may lack records the ISR had
    else:
        assert (p.leader, p.isr) == (2, (2,))  # the data loss that was allowed


def test_the_unclean_timer_elects_a_leader_once_the_topic_allows_it():
    c, quorum, clock, epochs = cluster()
    tid = topic(c, "t", [1, 2])
    shrink_to_leader(c, epochs)
    expire(c, clock, 2, 3, epochs=epochs, quorum=quorum)
    assert part(c, "t").leader == -1
    quorum.append([ConfigRecord(ConfigResourceType.TOPIC, "t", "unclean.leader.election.enable", "true")])
    for b in (2, 3):
        beat(c, b, epochs[b], quorum.end_offset)
    assert c.tick(clock.now) == []  # not yet: every unclean.leader.election.interval.ms (5 minutes)
    clock.now += 300_000
    for b in (2, 3):
        beat(c, b, epochs[b], quorum.end_offset)
    assert PartitionChangeRecord(0, tid, isr=(2,), leader=2) in c.tick(clock.now)


# ---- AlterPartition ------------------------------------------------------------------------------


def test_alter_partition_shrinks_and_expands_the_isr_and_answers_the_committed_state():
    c, quorum, _, epochs = cluster()
    tid = topic(c, "t", [1, 2, 3])
    result, records = alter(c, 1, epochs[1], tid, 0, [1, 3])
    assert records == [PartitionChangeRecord(0, tid, isr=(1, 3))]
    assert (result.error_code, result.leader_id, result.leader_epoch, result.isr, result.partition_epoch) == (
        0,
        1,
        0,
        (1, 3),
        1,
    )
    result, records = alter(c, 1, epochs[1], tid, 0, [1, 3, 2], epochs=epochs)
    assert result.error_code == 0 and result.isr == (1, 3, 2) and result.partition_epoch == 2
    assert part(c, "t").isr == (1, 3, 2)
    # the same ISR again: no record, the current state in the answer
    result, records = alter(c, 1, epochs[1], tid, 0, [1, 3, 2])
    assert records == [] and result.error_code == 0 and result.partition_epoch == 2


def test_alter_partition_errors_in_kafkas_order():
    c, quorum, _, epochs = cluster((1, 2, 3, 4))
    tid = topic(c, "t", [1, 2, 3])
    p = part(c, "t")
    with pytest.raises(BrokerControlError) as e:
        alter(c, 1, epochs[1] + 1, tid, 0, [1, 2])
    assert e.value.code == ErrorCode.stale_broker_epoch
    [(_, [r])], _ = c.alter_partition(1, epochs[1], [(tid, [AlterPartitionData(0, 0, 0, ((1, -1),))])])
    assert r.error_code == 0  # (shrunk to the leader for the rest: partition epoch 1)
    other = c.create_topics([CreatableTopic("u", assignments={0: [1]})])[0][0].topic_id
    unknown = uuid.UUID(int=12345)
    [(_, [r1])], _ = c.alter_partition(1, epochs[1], [(unknown, [AlterPartitionData(0, 0, 0, ((1, -1),))])])
    assert r1.error_code == ErrorCode.unknown_topic_id
    cases = [
        (dict(index=7, isr=[1]), ErrorCode.unknown_topic_or_partition),
        (dict(isr=[1], leader_epoch=p.leader_epoch + 1), ErrorCode.not_controller),
        (dict(isr=[1], partition_epoch=5), ErrorCode.not_controller),
        (dict(isr=[1], partition_epoch=0), ErrorCode.invalid_update_version),
        (dict(isr=[1, 4]), ErrorCode.invalid_request),  # 4 is not a replica
        (dict(isr=[2, 3]), ErrorCode.invalid_request),  # without the leader
        (dict(isr=[1, 2, 2]), ErrorCode.invalid_request),
        (dict(isr=[1, 2], epochs={2: epochs[2] + 7}), ErrorCode.ineligible_replica),  # a stale epoch
    ]
    for kw, code in cases:
        index = kw.pop("index", 0)
        kw.setdefault("epochs", {})
        if index != 0:
            data = AlterPartitionData(index, 0, 0, ((1, -1),))
            [(_, [r])], _ = c.alter_partition(1, epochs[1], [(tid, [data])])
        else:
            r, _ = alter(c, 1, epochs[1], tid, 0, **kw)
        assert r.error_code == code, (kw, r)
    r, _ = alter(c, 2, epochs[2], tid, 0, [1, 2])
    assert r.error_code == ErrorCode.invalid_request  # broker 2 does not lead it
    recovering = AlterPartitionData(0, part(c, "t").leader_epoch, part(c, "t").partition_epoch, ((1, -1),), 1)
    [(_, [r])], _ = c.alter_partition(1, epochs[1], [(tid, [recovering])])
    assert r.error_code == ErrorCode.invalid_request  # RECOVERED -> RECOVERING
    leader_epoch = part(c, "t").leader_epoch
    r, _ = alter(c, 1, epochs[1], tid, 0, [1, 2], leader_epoch=leader_epoch - 1 if leader_epoch else -1)
    assert r.error_code == ErrorCode.fenced_leader_epoch
    # a fenced or shutting-down replica may not join
    beat(c, 3, epochs[3], quorum.end_offset, want_fence=True)
    assert alter(c, 1, epochs[1], tid, 0, [1, 3])[0].error_code == ErrorCode.ineligible_replica
    topic(c, "v", [2, 4])  # broker 2 leads something, so its controlled shutdown lasts a while
    beat(c, 2, epochs[2], quorum.end_offset, want_shut_down=True)
    assert c.image.brokers[2].in_controlled_shutdown
    assert alter(c, 1, epochs[1], tid, 0, [1, 2])[0].error_code == ErrorCode.ineligible_replica
    assert other is not None


# ---- elections -----------------------------------------------------------------------------------


def test_preferred_election_brings_leadership_back_to_the_first_replica():
    c, quorum, clock, epochs = cluster()
    tid = topic(c, "t", [1, 2, 3])
    expire(c, clock, 2, 3, epochs=epochs, quorum=quorum)
    [(name, [(pid, error)])], _ = c.elect_leaders(0, [("t", [0])])
    assert (error.code, error.message) == (
        ErrorCode.preferred_leader_not_available,
        "The preferred leader was not available.",
    )
    beat(c, 1, epochs[1], quorum.end_offset)  # back, unfenced, but out of the ISR
    [(name, [(pid, error)])], _ = c.elect_leaders(0, [("t", [0])])
    assert error.code == ErrorCode.preferred_leader_not_available
    alter(c, 2, epochs[2], tid, 0, [2, 3, 1])  # the leader lets it back in
    [(name, [(pid, error)])], records = c.elect_leaders(0, [("t", [0])])
    assert error.code == 0 and records == [PartitionChangeRecord(0, tid, leader=1)]
    assert part(c, "t").leader == 1
    [(name, [(pid, error)])], _ = c.elect_leaders(0, [("t", [0])])
    assert (error.code, error.message) == (
        ErrorCode.election_not_needed,
        "Leader election not needed for topic partition.",
    )
    # every partition: those needing no election are left out
    assert c.elect_leaders(0, None)[0] == [("t", [])]
    [(_, [(_, error)])], _ = c.elect_leaders(1, [("t", [0])])
    assert error.code == ErrorCode.election_not_needed  # unclean: it has a leader
    [(_, [(_, error)])], _ = c.elect_leaders(0, [("nope", [0])])
    assert (error.code, error.message) == (ErrorCode.unknown_topic_or_partition, "No such topic as nope")


def test_an_unclean_election_by_request_needs_no_topic_config():
    c, quorum, clock, epochs = cluster()
    tid = topic(c, "t", [1, 2])
    shrink_to_leader(c, epochs)
    expire(c, clock, 2, 3, epochs=epochs, quorum=quorum)
    [(_, [(_, error)])], records = c.elect_leaders(1, [("t", [0])])
    assert error.code == 0 and records == [PartitionChangeRecord(0, tid, isr=(2,), leader=2)]


def test_auto_rebalance_moves_leaders_back_every_check_interval_unless_disabled():
    for enabled in (True, False):
        props = None if enabled else {"auto.leader.rebalance.enable": "false"}
        c, quorum, clock, epochs = cluster(props=props)
        tid = topic(c, "t", [1, 2, 3])
        expire(c, clock, 2, 3, epochs=epochs, quorum=quorum)
        beat(c, 1, epochs[1], quorum.end_offset)
        alter(c, 2, epochs[2], tid, 0, [2, 3, 1])
        assert part(c, "t").leader == 2
        clock.now += 300_000  # leader.imbalance.check.interval.seconds after activation, and more
        for b in (1, 2, 3):
            beat(c, b, epochs[b], quorum.end_offset)
        records = c.tick(clock.now)
        assert (PartitionChangeRecord(0, tid, leader=1) in records) is enabled
        assert part(c, "t").leader == (1 if enabled else 2)


# ---- reassignments -------------------------------------------------------------------------------


def test_a_reassignment_adds_then_completes_in_the_leaders_alter_partition():
    c, quorum, _, epochs = cluster((1, 2, 3, 4))
    tid = topic(c, "t", [1, 2])
    [(_, [r])], records = c.alter_partition_reassignments([("t", [(0, [2, 3])])])
    assert r.error.code == 0
    assert records == [PartitionChangeRecord(0, tid, replicas=(2, 3, 1), removing_replicas=(1,), adding_replicas=(3,))]
    p = part(c, "t")
    assert (p.replicas, p.adding_replicas, p.removing_replicas, p.leader, p.leader_epoch) == (
        (2, 3, 1),
        (3,),
        (1,),
        1,
        0,
    )
    assert [(n, [i for i, _ in ps]) for n, ps in reassigning_partitions(c.image, None)] == [("t", [0])]
    # broker 3 caught up: the leader adds it to the ISR, which completes the move; leadership leaves 1
    result, records = alter(c, 1, epochs[1], tid, 0, [1, 2, 3])
    assert result.error_code == ErrorCode.new_leader_elected
    assert records == [
        PartitionChangeRecord(0, tid, isr=(2, 3), leader=2, replicas=(2, 3), removing_replicas=(), adding_replicas=())
    ]
    p = part(c, "t")
    assert (p.replicas, p.isr, p.leader, p.leader_epoch, p.adding_replicas, p.removing_replicas) == (
        (2, 3),
        (2, 3),
        2,
        1,
        (),
        (),
    )
    assert reassigning_partitions(c.image, None) == []


def test_a_reassignment_the_isr_already_covers_completes_at_once():
    c, quorum, _, epochs = cluster()
    tid = topic(c, "t", [1, 2, 3])
    _, records = c.alter_partition_reassignments([("t", [(0, [2, 1])])])
    # replica 3 removed: the leader epoch is bumped (leader set to itself), the move done in one record
    assert records == [PartitionChangeRecord(0, tid, isr=(1, 2), leader=1, replicas=(2, 1))]
    p = part(c, "t")
    assert (p.replicas, p.isr, p.leader, p.leader_epoch) == ((2, 1), (1, 2), 1, 1)
    _, records = c.alter_partition_reassignments([("t", [(0, [2, 1])])])
    assert records == []  # the same target again: nothing to do


def test_cancelling_a_reassignment_restores_the_original_replicas():
    c, quorum, _, epochs = cluster((1, 2, 3, 4))
    tid = topic(c, "t", [1, 2])
    c.alter_partition_reassignments([("t", [(0, [1, 3])])])
    assert part(c, "t").replicas == (1, 3, 2)
    [(_, [r])], records = c.alter_partition_reassignments([("t", [(0, None)])])
    assert r.error.code == 0
    # replica 3 leaves: the leader epoch is bumped (the leader set to itself)
    assert records == [
        PartitionChangeRecord(0, tid, leader=1, replicas=(1, 2), removing_replicas=(), adding_replicas=())
    ]
    p = part(c, "t")
    assert (p.replicas, p.isr, p.adding_replicas, p.removing_replicas) == ((1, 2), (1, 2), (), ())
    [(_, [r])], _ = c.alter_partition_reassignments([("t", [(0, None)])])
    assert (r.error.code, r.error.message) == (ErrorCode.no_reassignment_in_progress, None)


def test_reassignment_errors():
    c, quorum, _, epochs = cluster()
    topic(c, "t", [1, 2])
    [(_, results)], records = c.alter_partition_reassignments(
        [("t", [(5, [1]), (0, []), (0, [1, 9]), (0, [1, 1])])], allow_rf_change=True
    )
    assert records == []
    assert [(r.error.code, r.error.message) for r in results] == [
        (ErrorCode.unknown_topic_or_partition, "Unable to find partition t:5."),
        (ErrorCode.invalid_replica_assignment, "The manual partition assignment includes an empty replica list."),
        (
            ErrorCode.invalid_replica_assignment,
            "The manual partition assignment includes broker 9, but no such broker is registered.",
        ),
        (ErrorCode.invalid_replica_assignment, "The manual partition assignment includes the broker 1 more than once."),
    ]
    [(_, [r])], _ = c.alter_partition_reassignments([("t", [(0, [1, 2, 3])])], allow_rf_change=False)
    assert (r.error.code, r.error.message) == (
        ErrorCode.invalid_replication_factor,
        "The replication factor is changed from 2 to 3",
    )
    [(_, [r])], _ = c.alter_partition_reassignments([("nope", [(0, [1])])])
    assert (r.error.code, r.error.message) == (
        ErrorCode.unknown_topic_or_partition,
        "Unable to find a topic named nope.",
    )


# ---- the builder and the replay rule --------------------------------------------------------------


def test_builder_elections():
    p = PartitionImage(leader=2, leader_epoch=4, replicas=(1, 2, 3), isr=(2, 3, 1), partition_epoch=9)
    tid = uuid.uuid4()
    everyone = lambda r: True  # noqa: E731
    assert PartitionChangeBuilder(p, tid, 0, everyone).build() is None  # the current leader is fine
    assert PartitionChangeBuilder(p, tid, 0, everyone, Election.PREFERRED).build() == PartitionChangeRecord(
        0, tid, leader=1
    )
    not1 = lambda r: r != 1  # noqa: E731
    assert PartitionChangeBuilder(p, tid, 0, not1, Election.PREFERRED).build() is None
    not2 = lambda r: r != 2  # noqa: E731
    # the first replica in replica order that is in the ISR, not the first in ISR order
    assert PartitionChangeBuilder(p, tid, 0, not2).build() == PartitionChangeRecord(0, tid, leader=1)
    b = PartitionChangeBuilder(p, tid, 0, lambda r: r == 3).set_target_isr([2])
    assert b.build() == PartitionChangeRecord(0, tid, isr=(2,), leader=-1)
    b = PartitionChangeBuilder(p, tid, 0, lambda r: r == 3, Election.UNCLEAN).set_target_isr([2])
    assert b.build() == PartitionChangeRecord(0, tid, isr=(3,), leader=3) and b.unclean
    # an empty target ISR is never written
    b = PartitionChangeBuilder(p, tid, 0, lambda r: False).set_target_isr([])
    assert b.build() == PartitionChangeRecord(0, tid, leader=-1)


def test_merged_agrees_with_the_image_replay():
    c, quorum, clock, epochs = cluster()
    tid = topic(c, "t", [1, 2, 3])
    p = part(c, "t")
    for record in [
        PartitionChangeRecord(0, tid, isr=(1, 2)),
        PartitionChangeRecord(0, tid, leader=2),
        PartitionChangeRecord(0, tid, leader=2, replicas=(2, 1)),
        PartitionChangeRecord(0, tid, replicas=(2, 1, 3), adding_replicas=(3,)),
    ]:
        expected = merged(p, record)
        p = apply(c.image, record).partition("t", 0)
        assert p == expected
        quorum.append([record])
    assert (p.leader_epoch, p.partition_epoch) == (2, 4)
