"""The rules behind the limits, without sockets: Kafka's non-strict request memory pool, the format of
``max.connections.per.ip.overrides``, and per-address counting."""

from __future__ import annotations

import pytest

from kavka.metadata.config import BrokerConfig
from kavka.metadata.configtypes import ConfigError
from kavka.server.memory_pool import RequestMemoryPool
from kavka.server.quotas import ConnectionQuotas, parse_overrides


def test_pool_is_not_strict_and_wakes_waiters_when_memory_returns():
    woken = []
    pool = RequestMemoryPool(100)
    assert pool.try_allocate(250)  # memory was left, so a bigger request still fits (Kafka's pool)
    assert not pool.try_allocate(1)  # nothing left: the next request waits
    pool.wait(1, lambda: woken.append(1))
    pool.release(100)
    assert woken == []  # still at/over capacity (150 of 100 used)
    pool.release(100)
    assert woken == [1] and pool.try_allocate(10)


@pytest.mark.parametrize("capacity", [-1, 0])
def test_no_pool_for_minus_one_or_zero(capacity):
    pool = RequestMemoryPool(capacity)
    assert all(pool.try_allocate(100 * 1024 * 1024) for _ in range(100))


def test_config_checks_as_kafka_does():
    BrokerConfig.from_properties({"queued.max.request.bytes": "0"})
    with pytest.raises(
        ConfigError, match="queued.max.request.bytes must be larger or equal to socket.request.max.bytes"
    ):
        BrokerConfig.from_properties({"queued.max.request.bytes": "1000"})
    with pytest.raises(ConfigError, match="max.connections.per.ip.overrides"):
        BrokerConfig.from_properties({"max.connections.per.ip.overrides": "127.0.0.1"})


def test_overrides_format():
    assert parse_overrides("hostName:100,127.0.0.1:200") == {"hostName": 100, "127.0.0.1": 200}
    assert parse_overrides("") == {}
    assert parse_overrides("[::1]:3") == {"::1": 3}
    for bad in ("127.0.0.1", "127.0.0.1:x", ":5", "h:-1"):
        with pytest.raises(ValueError, match="max.connections.per.ip.overrides"):
            parse_overrides(bad)


def test_per_ip_counts_and_override():
    configs = {"max.connections": 10, "max.connections.per.ip": 2, "max.connections.per.ip.overrides": "10.0.0.1:0"}
    q = ConnectionQuotas(configs.__getitem__)
    assert q.try_open("10.0.0.2") and q.try_open("10.0.0.2") and not q.try_open("10.0.0.2")
    assert not q.try_open("10.0.0.1")
    q.closed("10.0.0.2")
    assert q.try_open("10.0.0.2") and q.total == 2
    configs["max.connections"] = 2
    assert q.broker_full()
