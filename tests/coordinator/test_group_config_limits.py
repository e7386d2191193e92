"""KIP-848 timing limits: the consumer-group session timeout and heartbeat interval within their
``group.consumer.min/max.*`` bounds (Kafka's GroupCoordinatorConfig checks, with its messages), and
the configured values being the ones members live by."""

from __future__ import annotations

import uuid

import pytest

from kavka.coordinator.group import GroupConfig, GroupCoordinator
from kavka.coordinator.group.consumer import TopicInfo, TopicsImage
from kavka.metadata.config import consumer_timing_problem
from tests.coordinator.group_harness import PARTITIONS, FakeClock, FakeLog, Reply

HB, MIN_HB, MAX_HB = (
    "group.consumer.heartbeat.interval.ms",
    "group.consumer.min.heartbeat.interval.ms",
    "group.consumer.max.heartbeat.interval.ms",
)
ST, MIN_ST, MAX_ST = (
    "group.consumer.session.timeout.ms",
    "group.consumer.min.session.timeout.ms",
    "group.consumer.max.session.timeout.ms",
)


def test_kafka_defaults_hold():
    c = GroupConfig()
    assert (
        c.consumer_session_timeout_ms,
        c.consumer_min_session_timeout_ms,
        c.consumer_max_session_timeout_ms,
        c.consumer_heartbeat_interval_ms,
        c.consumer_min_heartbeat_interval_ms,
        c.consumer_max_heartbeat_interval_ms,
    ) == (45_000, 45_000, 60_000, 5_000, 5_000, 15_000)


@pytest.mark.parametrize(
    "props, message",
    [
        ({MIN_HB: "20000"}, f"{MAX_HB} must be greater than or equal to {MIN_HB}"),
        ({HB: "4000"}, f"{HB} must be greater than or equal to {MIN_HB}"),
        ({HB: "16000"}, f"{HB} must be less than or equal to {MAX_HB}"),
        ({MIN_ST: "70000"}, f"{MAX_ST} must be greater than or equal to {MIN_ST}"),
        ({ST: "44999"}, f"{ST} must be greater than or equal to {MIN_ST}"),
        ({ST: "60001"}, f"{ST} must be less than or equal to {MAX_ST}"),
        ({MIN_ST: "1000", ST: "3000", MIN_HB: "100", HB: "3000"}, f"{HB} must be less than {ST}"),
    ],
)
def test_out_of_bounds_values_are_refused_with_kafkas_message(props, message):
    with pytest.raises(ValueError) as e:
        GroupConfig.from_broker_config(props)
    assert str(e.value) == message


def test_the_first_broken_rule_is_reported_in_kafkas_order():
    # both the heartbeat bounds and the session timeout are wrong: Kafka checks heartbeats first
    assert (
        consumer_timing_problem(1, 4000, 45_000, 60_000, 5000, 15_000)
        == f"{HB} must be greater than or equal to {MIN_HB}"
    )
    assert consumer_timing_problem(45_000, 5000, 45_000, 60_000, 5000, 15_000) is None


def test_lowered_bounds_admit_short_timings():
    c = GroupConfig.from_broker_config({ST: "6000", MIN_ST: "6000", HB: "300", MIN_HB: "300"})
    assert (c.consumer_session_timeout_ms, c.consumer_heartbeat_interval_ms) == (6000, 300)


def _coordinator(config: GroupConfig, clock: FakeClock, image: TopicsImage) -> GroupCoordinator:
    coord = GroupCoordinator(config, FakeLog().append, clock, topics=lambda: image)
    for p in range(PARTITIONS):
        coord.load(p, [])
    return coord


def _heartbeat(coord: GroupCoordinator, member_id: str, epoch: int, joining: bool) -> dict:
    reply = Reply()
    coord.consumer_group_heartbeat(
        group_id="g",
        member_id=member_id,
        member_epoch=epoch,
        respond=reply,
        rebalance_timeout_ms=30_000 if joining else -1,
        subscribed_topic_names=["t"] if joining else None,
        topic_partitions=[] if joining else None,
    )
    return reply.value


def test_members_get_the_configured_interval_and_are_fenced_after_the_configured_session_timeout():
    config = GroupConfig(
        offsets_topic_num_partitions=PARTITIONS,
        consumer_session_timeout_ms=50_000,
        consumer_max_session_timeout_ms=50_000,
        consumer_heartbeat_interval_ms=7_000,
    )
    clock = FakeClock()
    image = TopicsImage({"t": TopicInfo(uuid.uuid4(), 2)})
    coord = _coordinator(config, clock, image)
    joined = _heartbeat(coord, "a", 0, True)
    assert joined["error_code"] == 0 and joined["heartbeat_interval"] == 7_000
    _heartbeat(coord, "b", 0, True)
    group = coord.shard_of("g").consumer_groups["g"]
    clock.now += 49_999
    coord.tick()
    assert set(group.members) == {"a", "b"}
    assert _heartbeat(coord, "a", group.members["a"].member_epoch, False)["error_code"] == 0
    clock.now += 1  # b has been silent for 50 s: fenced; a heartbeated 1 ms ago: stays
    coord.tick()
    assert set(coord.shard_of("g").consumer_groups["g"].members) == {"a"}
