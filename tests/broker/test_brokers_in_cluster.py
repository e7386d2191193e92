"""Brokers that joined over the wire take part in placement: a Kavka broker process (node 1, the active
controller) and two more brokers registered and unfenced by ``BrokerLifecycleManager``s through its
BrokerRegistration / BrokerHeartbeat handlers; CreateTopics then spreads replicas and leaders over the
three as Kafka's striped placer does, a fenced broker holds replicas but leads none and is out of the
ISR, and a replication factor above the registered brokers is refused with Kafka's message."""

from __future__ import annotations

import asyncio
from collections import Counter

from tests.broker.test_lifecycle import _cluster_id, _manager, controller_node
from tests.clients import adminwire

CREATE_TOPICS, METADATA = 19, 3


def _create(bootstrap: str, name: str, partitions: int, rf: int):
    topic = {"name": name, "num_partitions": partitions, "replication_factor": rf, "assignments": [], "configs": []}
    return adminwire.call(bootstrap, CREATE_TOPICS, 7, {"topics": [topic], "timeout": 30000}).topics[0]


def _partitions(bootstrap: str, name: str) -> list:
    body = {"topics": [{"name": name, "topic_id": None}], "allow_auto_topic_creation": False}
    body |= {"include_topic_authorized_operations": False}
    [topic] = adminwire.call(bootstrap, METADATA, 12, body).topics
    return sorted(topic.partitions, key=lambda p: p.partition_index)


def test_registered_brokers_share_new_partitions(broker_factory):
    b, controller = controller_node(broker_factory)
    cluster_id = _cluster_id(b.bootstrap)

    async def scenario():
        # no racks (as node 1 has none): one rack, where Kafka's placer gives each broker 2 of 6 leaders
        managers = [_manager(controller, cluster_id, n, lambda: 2**40, rack=None) for n in (2, 3)]
        for m in managers:
            m.start()
        try:
            await asyncio.wait_for(asyncio.gather(*(m.unfenced.wait() for m in managers)), 10)
            assert _create(b.bootstrap, "spread", 6, 3).error_code == 0
            spread = _partitions(b.bootstrap, "spread")
            assert all(sorted(p.replica_nodes) == [1, 2, 3] for p in spread)
            assert sorted(Counter(p.leader_id for p in spread).values()) == [2, 2, 2]

            # broker 3 asks to be fenced: it still holds replicas of new partitions, never leads, is out of the ISR
            managers[1].ready_to_unfence = False
            await asyncio.wait_for(_fenced(managers[1]), 10)
            assert _create(b.bootstrap, "without-3", 4, 3).error_code == 0
            parts = _partitions(b.bootstrap, "without-3")
            assert all(sorted(p.replica_nodes) == [1, 2, 3] for p in parts)
            assert {p.leader_id for p in parts} <= {1, 2} and all(3 not in p.isr_nodes for p in parts)

            refused = _create(b.bootstrap, "too-many", 1, 4)
            assert (refused.error_code, refused.error_message) == (
                38,
                "Unable to replicate the partition 4 time(s): The target replication factor of 4 cannot be "
                "reached because only 3 broker(s) are registered or some brokers have all their log "
                "directories cordoned.",
            )
        finally:
            for m in managers:
                await m.close()

    asyncio.run(scenario())


async def _fenced(manager) -> None:
    while not manager.fenced:
        await asyncio.sleep(0.01)  # polling a condition; the caller bounds it with a timeout
