"""MutationQuotas and RequestQuotas: Kafka's controller mutation token bucket and request-time quota
arithmetic, with a hand-driven clock (``controller.quota.window.*`` and ``quota.window.*``)."""

from __future__ import annotations

from kavka.broker.byte_rate_quotas import ByteRateQuotas
from kavka.broker.mutation_quotas import MutationQuotas
from kavka.broker.request_quotas import RequestQuotas

M = "controller_mutation_rate"


class Clock:
    def __init__(self) -> None:
        self.ms = 1_000_000

    def __call__(self) -> int:
        return self.ms


def test_no_quota_no_bucket():
    assert MutationQuotas(lambda: {}).for_request("u", "c", True, Clock()) is None


def test_strict_bucket_admits_until_negative_then_refuses():
    clock = Clock()
    quotas = MutationQuotas(lambda: {(("client-id", "c"),): {M: 2.0}}, window_num=5, window_size_seconds=1)
    q = quotas.for_request("u", "c", True, clock)
    assert q is not None
    assert q.admit(10) and q.throttle_time_ms() == 0  # burst 2 × 5 × 1 s = 10 tokens -> 0
    assert q.admit(3)  # 0 is not below zero: admitted, -> -3
    assert not q.admit(1)  # below zero: refused, -3 / 2 per s = 1500 ms
    assert q.throttle_time_ms() == 1500
    clock.ms += 500
    assert q.throttle_time_ms() == 1000  # counted down from when it was measured
    # the bucket is the client's, not the request's: a later request sees it refilled
    clock.ms += 1000
    later = quotas.for_request("other-user", "c", True, clock)
    assert later is not None and later.admit(1)  # -3 + 2 × 1.5 s = 0 -> admitted


def test_permissive_admits_and_throttles():
    clock = Clock()
    quotas = MutationQuotas(lambda: {(("user", None),): {M: 1.0}}, window_num=2, window_size_seconds=1)
    q = quotas.for_request("alice", "any", False, clock)
    assert q is not None
    assert q.admit(5) and q.throttle_time_ms() == 3000  # 2 tokens - 5 = -3 -> 3 s
    assert q.admit(1) and q.throttle_time_ms() == 4000


def test_request_quota_is_bounded_by_one_window():
    clock_ms = 0
    entities = {(("client-id", "c"),): {"request_percentage": 1.0}}
    quotas = RequestQuotas(ByteRateQuotas(lambda: entities, 11, 1))
    # 10 s minimum window at 1% allows 100 ms of handler time; 50 ms is within
    assert quotas.record("u", "c", 50_000_000, clock_ms) == 0
    # a whole second more is far over: Kafka's formula says 9.5 s, bounded to one 1 s window
    assert quotas.record("u", "c", 1_000_000_000, clock_ms) == 1000
    assert quotas.record("u", "other", 1_000_000_000, clock_ms) == 0
