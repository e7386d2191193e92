"""Brokers in the cluster, on the controller's side (``kavka.controller.brokers`` through
``QuorumController``): registration, heartbeats, fencing, session expiry, controlled shutdown and
producer id blocks, with a clock the test moves. The rules are Kafka 4.4's; the error codes are checked
against Kafka itself in tests/oracle/test_oracle_broker_lifecycle.py."""

from __future__ import annotations

import random
import uuid

import pytest

from kavka.controller import CreatableTopic, QuorumController
from kavka.controller.brokers import BrokerControlError, BrokerHeartbeatRequest, BrokerRegistrationRequest
from kavka.controller.features import BOOTSTRAP_LEVELS, SUPPORTED_FEATURES
from kavka.metadata.config import BrokerConfig, Listener
from kavka.metadata.image import MetadataImage, apply_all
from kavka.metadata.records import (
    BrokerEndpoint,
    BrokerFeature,
    BrokerRegistrationChangeRecord,
    FeatureLevelRecord,
    PartitionChangeRecord,
    RegisterBrokerRecord,
    decode_record,
    encode_record,
)
from kavka.protocol.api import ErrorCode
from kavka.raft.local import InMemoryMetadataLogStore, LocalMetadataQuorum

CLUSTER = "kavka-test-cluster-id1"
FEATURES = tuple(BrokerFeature(n, lo, hi) for n, (lo, hi) in SUPPORTED_FEATURES.items())
T0 = 1_000_000


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> int:
        return self.now


def make(props=None):
    store = InMemoryMetadataLogStore()
    quorum = LocalMetadataQuorum(store, CLUSTER)
    clock = Clock()
    c = QuorumController(quorum, BrokerConfig.for_serve(props), rng=random.Random(0), clock_ms=clock)
    c.bootstrap()
    for name, level in BOOTSTRAP_LEVELS.items():
        if name != "metadata.version" and level:
            quorum.append([FeatureLevelRecord(name, level)])
    return c, quorum, store, clock


def request(broker_id, incarnation=None, **kw):
    fields = dict(
        broker_id=broker_id,
        cluster_id=CLUSTER,
        incarnation_id=incarnation or uuid.uuid4(),
        listeners=(BrokerEndpoint("PLAINTEXT", "h", 9000 + broker_id, 0),),
        features=FEATURES,
        rack=None,
        log_dirs=(uuid.UUID(int=1000 + broker_id),),
    )
    fields.update(kw)
    return BrokerRegistrationRequest(**fields)


def beat(c, broker_id, epoch, offset, **kw):
    reply, records = c.broker_heartbeat(BrokerHeartbeatRequest(broker_id, epoch, offset, **kw))
    return reply, records


def refused(call, *args, **kw) -> ErrorCode:
    with pytest.raises(BrokerControlError) as e:
        call(*args, **kw)
    return e.value.code


def join(c, quorum, broker_id):
    """Register a broker and heartbeat it to unfenced (caught up to the log end)."""
    epoch, _ = c.broker_registration(request(broker_id))
    reply, _ = beat(c, broker_id, epoch, quorum.end_offset)
    assert not reply.is_fenced
    return epoch


def test_new_registration_is_fenced_with_the_offset_of_its_record_as_epoch():
    c, quorum, store, _ = make()
    offset = quorum.end_offset
    epoch, records = c.broker_registration(request(2))
    assert epoch == offset
    assert records == [records[0]] and isinstance(records[0], RegisterBrokerRecord)
    assert records[0].fenced and records[0].broker_epoch == offset
    assert c.image.brokers[2].fenced
    assert 2 not in [b.broker_id for b in c.image.live_brokers()]


def test_heartbeat_unfences_once_caught_up_with_the_registration_record():
    c, quorum, _, _ = make()
    epoch, _ = c.broker_registration(request(2))
    reply, records = beat(c, 2, epoch, epoch - 1)
    assert (reply.is_caught_up, reply.is_fenced, reply.should_shut_down) == (False, True, False)
    assert records == []
    reply, records = beat(c, 2, epoch, epoch)
    assert (reply.is_caught_up, reply.is_fenced) == (True, False)
    assert records == [BrokerRegistrationChangeRecord(2, epoch, fenced=-1)]
    assert [b.broker_id for b in c.image.live_brokers()] == [2]
    # asking to be fenced fences it again
    reply, records = beat(c, 2, epoch, epoch, want_fence=True)
    assert reply.is_fenced and records == [BrokerRegistrationChangeRecord(2, epoch, fenced=1)]
    assert c.image.brokers[2].fenced


def test_stale_and_unknown_epochs():
    c, quorum, _, _ = make()
    epoch, _ = c.broker_registration(request(2))
    assert refused(beat, c, 2, epoch + 1, epoch) == ErrorCode.stale_broker_epoch
    assert refused(beat, c, 9, 0, 0) == ErrorCode.stale_broker_epoch
    assert refused(c.allocate_producer_ids, 2, epoch - 1) == ErrorCode.stale_broker_epoch


def test_cluster_id_features_and_log_dirs_are_checked():
    c, _, _, _ = make()
    assert refused(c.broker_registration, request(2, cluster_id="other")) == ErrorCode.inconsistent_cluster_id
    no_mv = tuple(f for f in FEATURES if f.name != "metadata.version")
    assert refused(c.broker_registration, request(2, features=no_mv)) == ErrorCode.invalid_registration
    old_mv = (BrokerFeature("metadata.version", 7, 20), *no_mv)
    assert refused(c.broker_registration, request(2, features=old_mv)) == ErrorCode.unsupported_version
    # transaction.version is finalized at 2: a broker that does not name it supports only 0
    no_tv = tuple(f for f in FEATURES if f.name != "transaction.version")
    assert refused(c.broker_registration, request(2, features=no_tv)) == ErrorCode.unsupported_version
    for dirs in [(), (uuid.UUID(int=1),), (uuid.UUID(int=500), uuid.UUID(int=500))]:
        assert refused(c.broker_registration, request(2, log_dirs=dirs)) == ErrorCode.invalid_registration
    c.broker_registration(request(2))
    taken = request(3, log_dirs=(uuid.UUID(int=1002),))
    with pytest.raises(BrokerControlError, match="Broker 2 is already registered with directory"):
        c.broker_registration(taken)


def test_duplicate_registration_while_the_session_is_live():
    c, quorum, _, clock = make()
    incarnation = uuid.uuid4()
    epoch, _ = c.broker_registration(request(2, incarnation))
    beat(c, 2, epoch, quorum.end_offset)
    # another process with the same id while this one heartbeats
    assert refused(c.broker_registration, request(2)) == ErrorCode.duplicate_broker_registration
    # the same incarnation again amends the registration: same epoch, still unfenced
    again, records = c.broker_registration(request(2, incarnation, rack="r1"))
    assert again == epoch and not records[0].fenced
    assert c.image.brokers[2].rack == "r1" and not c.image.brokers[2].fenced
    # once the session has expired, a new incarnation registers with a new epoch, fenced
    clock.now += 9001
    c.fence_stale_brokers()
    newer, _ = c.broker_registration(request(2))
    assert newer > epoch and c.image.brokers[2].fenced


def test_session_expiry_fences_and_a_heartbeat_unfences_again():
    c, quorum, _, clock = make({"broker.session.timeout.ms": "3000"})
    epoch = join(c, quorum, 2)
    clock.now += 3000
    assert c.fence_stale_brokers() == []
    assert c.brokers.next_session_deadline() == clock.now
    clock.now += 1
    assert c.fence_stale_brokers() == [BrokerRegistrationChangeRecord(2, epoch, fenced=1)]
    assert c.image.brokers[2].fenced and c.image.live_brokers() == []
    reply, _ = beat(c, 2, epoch, quorum.end_offset)
    assert not reply.is_fenced and not c.image.brokers[2].fenced


def test_a_new_active_controller_starts_the_session_timers_afresh():
    c, quorum, store, clock = make()
    epoch = join(c, quorum, 2)
    clock.now += 8000
    # a new controller over the same log (a failover): it never heard from broker 2
    other = QuorumController(LocalMetadataQuorum(store, CLUSTER), c.config, clock_ms=clock)
    assert not other.image.brokers[2].fenced
    clock.now += 8000
    assert other.fence_stale_brokers() == []  # 8 s since its activation: within the session
    clock.now += 1001
    assert other.fence_stale_brokers() == [BrokerRegistrationChangeRecord(2, epoch, fenced=1)]


def test_the_in_process_broker_is_unfenced_at_once_and_never_expires():
    c, quorum, _, clock = make()
    epoch, records = c.register_broker(1, [Listener("PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT")])
    assert records == [records[0], BrokerRegistrationChangeRecord(1, epoch, fenced=-1)]
    assert records[0].fenced and records[0].broker_epoch == epoch
    assert [b.broker_id for b in c.image.live_brokers()] == [1]
    clock.now += 10**9
    assert c.fence_stale_brokers() == []


def test_controlled_shutdown_moves_leadership_first():
    c, quorum, _, _ = make()
    e1, e2 = join(c, quorum, 1), join(c, quorum, 2)
    [result], _ = c.create_topics([CreatableTopic("t", assignments={0: [1, 2]})])
    assert result.error_code == 0 and c.image.partition("t", 0).leader == 1
    # broker 1 leads t-0 and broker 2 is in sync: it enters controlled shutdown (a v1 record), and in
    # the same batch leaves the ISR and hands the leadership to broker 2 (a new leader epoch)
    reply, records = beat(c, 1, e1, quorum.end_offset, want_shut_down=True)
    assert (reply.is_fenced, reply.is_in_controlled_shutdown, reply.should_shut_down) == (False, True, False)
    tid = c.image.topic("t").topic_id
    assert records == [
        BrokerRegistrationChangeRecord(1, e1, in_controlled_shutdown=1),
        PartitionChangeRecord(0, tid, isr=(2,), leader=2),
    ]
    assert encode_record(records[0])[2] == 1  # the body version Kafka writes for it
    assert c.image.brokers[1].in_controlled_shutdown
    p = c.image.partition("t", 0)
    assert (p.leader, p.leader_epoch, p.isr) == (2, 1, (2,))
    # it leads nothing now, but broker 2 has not reported seeing the change yet: not yet
    reply, records = beat(c, 1, e1, quorum.end_offset, want_shut_down=True)
    assert reply.is_in_controlled_shutdown and not reply.should_shut_down and records == []
    beat(c, 2, e2, quorum.end_offset)
    reply, records = beat(c, 1, e1, quorum.end_offset, want_shut_down=True)
    assert (reply.is_fenced, reply.should_shut_down) == (True, True)
    assert records == [BrokerRegistrationChangeRecord(1, e1, fenced=1)]


def test_shutdown_of_a_broker_that_leads_nothing_is_immediate():
    c, quorum, _, _ = make()
    epoch = join(c, quorum, 2)
    reply, records = beat(c, 2, epoch, quorum.end_offset, want_shut_down=True)
    assert (reply.is_fenced, reply.is_in_controlled_shutdown, reply.should_shut_down) == (True, False, True)
    assert records == [BrokerRegistrationChangeRecord(2, epoch, fenced=1)]


def test_producer_id_blocks_are_unique_across_brokers():
    c, quorum, _, _ = make()
    e2, e3 = join(c, quorum, 2), join(c, quorum, 3)
    blocks = [c.allocate_producer_ids(b, e)[:2] for b, e in [(2, e2), (3, e3), (2, e2)]]
    assert blocks == [(0, 1000), (1000, 1000), (2000, 1000)]
    assert c.image.next_producer_id == 3000


def test_records_round_trip_and_replay_rebuilds_the_broker_state():
    c, quorum, store, _ = make()
    e1 = join(c, quorum, 1)
    join(c, quorum, 2)
    c.broker_registration(request(3))
    [result], _ = c.create_topics([CreatableTopic("t", assignments={0: [1, 2]})])
    beat(c, 1, e1, quorum.end_offset, want_shut_down=True)
    records = [decode_record(r) for r in store.read_all()]
    assert [decode_record(encode_record(r)) for r in records] == records
    rebuilt = apply_all(MetadataImage.empty(CLUSTER), records)
    assert rebuilt == c.image
    states = {b.broker_id: (b.fenced, b.in_controlled_shutdown) for b in rebuilt.brokers.values()}
    assert states == {1: (False, True), 2: (False, False), 3: (True, False)}
    assert rebuilt.brokers[3].log_dirs == (uuid.UUID(int=1003),)


def test_the_in_process_broker_registers_again_after_a_restart():
    c, quorum, store, clock = make()
    listeners = [Listener("PLAINTEXT", "127.0.0.1", 9092, "PLAINTEXT")]
    first, _ = c.register_broker(1, listeners)
    # the process restarts: a new controller over the same log, a new incarnation of the broker
    again = QuorumController(LocalMetadataQuorum(store, CLUSTER), c.config, clock_ms=clock)
    second, records = again.register_broker(1, listeners)
    assert second > first and not again.image.brokers[1].fenced
    # and a remote process claiming that id is refused while this one lives
    assert refused(again.broker_registration, request(1)) == ErrorCode.duplicate_broker_registration
