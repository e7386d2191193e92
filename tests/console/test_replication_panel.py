"""The guide's replication panel and Kafka's ISR gauges, as pure functions of the state they read.

The panel is drawn from the committed image (leader, ISR, replicas) and the nodes' own views of their
replicas; here that state is written out step by step as the guide tells the story (healthy with a
follower one record behind, the ISR shrinking when a follower stops, a new leader elected, the follower
catching up), and each step checks the line and the boxes a user sees. The process tests in
test_console_cluster.py check the same functions against a real cluster.
"""

from __future__ import annotations

from kavka.broker.metrics import controller_gauges, follower_lags, replica_gauges
from kavka.broker.replica_manager import FollowerState, Partition, ReplicaManager
from kavka.console.cluster import partition_state, replication_panel
from kavka.metadata.image import PartitionImage


def _broker(node_id: int, state: str = "running", process: str | None = "running") -> dict:
    return {"node_id": node_id, "state": state, "process": process, "answering": process in (None, "running")}


def _leader_view(leo: int, hw: int, followers: dict[int, int], isr) -> dict:
    return {
        "is_leader": True,
        "leader_epoch": 0,
        "isr": list(isr),
        "offline": False,
        "log_start_offset": 0,
        "log_end_offset": leo,
        "high_watermark": hw,
        "followers": {
            str(n): {"log_end_offset": o, "last_fetch_ms": 0, "last_caught_up_ms": 0} for n, o in followers.items()
        },
    }


def _follower_view(leo: int, hw: int) -> dict:
    return {"is_leader": False, "leader_epoch": 0, "isr": [], "offline": False, "log_start_offset": 0,
            "log_end_offset": leo, "high_watermark": hw, "fetch_lag": 0}  # fmt: skip


def _panel(pimg: PartitionImage, views: dict[int, dict], brokers: list[dict]) -> dict:
    view = {
        "partitions": [
            partition_state("orders", 0, pimg, {n: {"partitions": {"orders/0": v}} for n, v in views.items()})
        ],
        "brokers": brokers,
        "controllable": True,
    }
    panel = replication_panel(view, "orders", 0)
    assert panel is not None
    return panel


def _marks(box: dict) -> str:
    return "".join("✓" if o["replicated"] else "⏳" if o["replicated"] is False else "?" for o in box["offsets"])


def test_the_guide_story_isr_shrinks_new_leader_follower_catches_up():
    # healthy: broker 0 leads offsets 0-3, broker 1 has 0-2 (offset 3 on its way), broker 2 has all
    pimg = PartitionImage(leader=0, leader_epoch=0, replicas=(0, 1, 2), isr=(0, 1, 2), partition_epoch=0)
    views = {0: _leader_view(4, 3, {1: 3, 2: 4}, (0, 1, 2))}
    panel = _panel(pimg, views, [_broker(0), _broker(1, process=None), _broker(2, process=None)])
    assert panel["status"] == "Cluster healthy. Broker 0 is leader. RF=3, ISR=[0,1,2]"
    assert [b["title"] for b in panel["brokers"]] == ["Broker 0 — LEADER", "Broker 1 — Follower", "Broker 2 — Follower"]
    assert [o["offset"] for o in panel["brokers"][0]["offsets"]] == [0, 1, 2, 3]
    assert [_marks(b) for b in panel["brokers"]] == ["✓✓✓✓", "✓✓✓⏳", "✓✓✓✓"]
    assert [o["latest"] for o in panel["brokers"][0]["offsets"]] == [False, False, False, True]
    assert panel["brokers"][1]["lag"] == 1 and panel["brokers"][1]["source"] == "leader's view"

    # broker 1 stops; the leader drops it from the ISR
    pimg = PartitionImage(leader=0, leader_epoch=0, replicas=(0, 1, 2), isr=(0, 2), partition_epoch=1)
    views = {0: _leader_view(6, 6, {1: 3, 2: 6}, (0, 2)), 2: _follower_view(6, 6)}
    panel = _panel(pimg, views, [_broker(0), _broker(1, "fenced", "stopped"), _broker(2)])
    assert panel["status"] == "Under-replicated: broker 1 out of the ISR. Broker 0 is leader. RF=3, ISR=[0,2]"
    assert not panel["healthy"]
    assert panel["brokers"][1]["title"] == "Broker 1 — Follower (out of ISR, stopped)"
    assert [_marks(b) for b in panel["brokers"]] == ["✓✓✓✓", "✓⏳⏳⏳", "✓✓✓✓"]  # it has offset 2, not 3-5
    assert panel["brokers"][2]["source"] == "replica"

    # the leader is paused: the line says so before the controller fences it
    panel = _panel(pimg, views, [_broker(0, process="paused"), _broker(1, "fenced", "stopped"), _broker(2)])
    assert panel["status"] == "Leader unavailable: broker 0 is paused. RF=3, ISR=[0,2]"

    # broker 0 is fenced, broker 2 elected leader (epoch 1)
    pimg = PartitionImage(leader=2, leader_epoch=1, replicas=(0, 1, 2), isr=(2,), partition_epoch=2)
    views = {2: _leader_view(7, 7, {}, (2,))}
    panel = _panel(pimg, views, [_broker(0, "fenced", "stopped"), _broker(1, "fenced", "stopped"), _broker(2)])
    assert panel["status"] == "Under-replicated: brokers 0, 1 out of the ISR. Broker 2 is leader. RF=3, ISR=[2]"
    assert panel["brokers"][0]["title"] == "Broker 2 — LEADER"
    assert [o["offset"] for o in panel["brokers"][0]["offsets"]] == [3, 4, 5, 6]
    assert [_marks(b) for b in panel["brokers"][1:]] == ["????", "????"]  # nobody knows their offsets

    # broker 1 restarts and catches up; then broker 0 too: healthy under the new leader
    pimg = PartitionImage(leader=2, leader_epoch=1, replicas=(0, 1, 2), isr=(2, 1), partition_epoch=3)
    views = {2: _leader_view(7, 7, {1: 7}, (2, 1)), 1: _follower_view(7, 7)}
    panel = _panel(pimg, views, [_broker(0, "fenced", "stopped"), _broker(1), _broker(2)])
    assert panel["status"] == "Under-replicated: broker 0 out of the ISR. Broker 2 is leader. RF=3, ISR=[2,1]"
    assert _marks(panel["brokers"][2]) == "✓✓✓✓"  # broker 1, in replica order after the leader
    pimg = PartitionImage(leader=2, leader_epoch=1, replicas=(0, 1, 2), isr=(2, 1, 0), partition_epoch=4)
    views[0] = _follower_view(7, 7)
    panel = _panel(pimg, views, [_broker(0), _broker(1), _broker(2)])
    assert panel["status"] == "Cluster healthy. Broker 2 is leader. RF=3, ISR=[2,1,0]"
    assert panel["healthy"]


def test_offline_partition_has_no_offsets():
    pimg = PartitionImage(leader=-1, leader_epoch=3, replicas=(0, 1), isr=(1,), partition_epoch=5)
    panel = _panel(pimg, {}, [_broker(0, "fenced", "stopped"), _broker(1, "fenced", "stopped")])
    assert panel["status"] == "Partition offline: no leader. RF=2, ISR=[1]"
    assert all(b["offsets"] == [] for b in panel["brokers"])


def test_replica_manager_gauges_count_led_partitions_against_min_isr():
    rm = ReplicaManager(lambda: 0)

    def add(index, replicas, isr, min_isr, *, leader=True, offline=False, leader_id=1, lag=0):
        p = Partition("t", index, None, None, replicas=replicas, isr=isr, min_insync_replicas=min_isr)
        p.is_leader, p.offline, p.leader_id, p.fetch_lag = leader, offline, leader_id, lag
        rm.add(p)
        return p

    add(0, (1, 2, 3), (1, 2, 3), 2)  # healthy
    add(1, (1, 2, 3), (1, 2), 2)  # under-replicated, at min ISR
    add(2, (1, 2, 3), (1,), 2)  # under-replicated, under min ISR
    add(3, (1,), (1,), 2)  # min.insync.replicas 2 on RF 1: effective 1, at min
    add(4, (2, 1, 3), (2, 3), 2, leader=False, leader_id=2, lag=7)  # a follower: counted nowhere but lag
    add(5, (1, 2), (1,), 2, offline=True)  # a failed log dir
    rm.offline.add(("t", 6))  # failed before it could be opened
    p = rm.get("t", 0)
    p.followers[2] = FollowerState(log_end_offset=5)
    rm.isr_shrinks, rm.isr_expands = 3, 2
    g = replica_gauges(rm)
    assert (g.under_replicated, g.under_min_isr, g.at_min_isr) == (2, 1, 2)
    assert (g.leader_count, g.partition_count, g.offline_replica_count) == (4, 7, 2)
    assert (g.isr_shrinks, g.isr_expands) == (3, 2)
    assert follower_lags(rm) == [("t", 4, 2, 7)]


def test_controller_gauges_from_the_image():
    from kavka.metadata.image import MetadataImage, TopicImage

    parts = {
        0: PartitionImage(leader=1, leader_epoch=0, replicas=(1, 2), isr=(1, 2), partition_epoch=0),
        1: PartitionImage(leader=2, leader_epoch=1, replicas=(1, 2), isr=(2,), partition_epoch=1),  # not preferred
        2: PartitionImage(leader=-1, leader_epoch=2, replicas=(1,), isr=(1,), partition_epoch=2),  # offline
    }
    import uuid

    topic = TopicImage("t", uuid.uuid4(), parts)
    image = MetadataImage(topics_by_name={"t": topic}, topics_by_id={topic.topic_id: topic})
    c = controller_gauges(image, active=False)
    assert (c.active_controller_count, c.offline_partitions, c.global_partitions, c.global_topics) == (0, 1, 3, 1)
    assert c.preferred_replica_imbalance == 2
    assert controller_gauges(image, active=True).active_controller_count == 1
