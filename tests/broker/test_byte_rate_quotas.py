"""ByteRateQuotas: Kafka's produce/fetch byte-rate quota arithmetic, with a hand-driven clock."""

from __future__ import annotations

from kavka.broker.byte_rate_quotas import ANONYMOUS, ByteRateQuotas

P = "producer_byte_rate"


def _quotas(entities):
    return ByteRateQuotas(lambda: entities)


def test_no_quota_never_throttles():
    q = _quotas({})
    assert q.record(P, ANONYMOUS, "c", 1e12, 0) == 0


def test_throttle_time_is_kafkas_formula():
    q = _quotas({(("client-id", "c"),): {P: 1000.0}})
    # the first burst is measured over samples - 1 = 10 full windows of 1 s: 10,000 bytes is exactly 1000/s
    assert q.record(P, ANONYMOUS, "c", 10_000, 0) == 0
    # 1,000 more: 1100/s, 10% over, for a 10 s window -> 1000 ms
    assert q.record(P, ANONYMOUS, "c", 1_000, 0) == 1000
    # twelve seconds later every sample has expired: within the quota again
    assert q.record(P, ANONYMOUS, "c", 100, 12_000) == 0


def test_precedence_and_what_is_shared():
    entities = {
        (("client-id", None),): {P: 1000.0},  # every client id, each its own
        (("user", ANONYMOUS),): {"consumer_byte_rate": 50.0},  # the user, shared by its clients
        (("client-id", "vip"), ("user", ANONYMOUS)): {P: 1e9},
    }
    q = _quotas(entities)
    assert q.quota(P, ANONYMOUS, "a") == (1000.0, ("", "a"))
    assert q.quota(P, ANONYMOUS, "vip") == (1e9, (ANONYMOUS, "vip"))
    assert q.quota("consumer_byte_rate", ANONYMOUS, "a") == (50.0, (ANONYMOUS, ""))
    # two clients under the default client-id quota do not share it
    assert q.record(P, ANONYMOUS, "a", 10_000, 0) == 0
    assert q.record(P, ANONYMOUS, "b", 10_000, 0) == 0
    # two clients of one user share the user's quota
    assert q.record("consumer_byte_rate", ANONYMOUS, "a", 500, 0) == 0
    assert q.record("consumer_byte_rate", ANONYMOUS, "b", 500, 0) > 0


def test_quota_changes_apply_to_the_next_record():
    entities: dict = {}
    q = _quotas(entities)
    assert q.record(P, ANONYMOUS, "c", 50_000, 0) == 0
    entities[(("client-id", "c"),)] = {P: 1000.0}
    assert q.record(P, ANONYMOUS, "c", 50_000, 0) == 40_000  # 5000/s against 1000/s over 10 s
