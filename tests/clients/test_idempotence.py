"""Idempotent producers: InitProducerId, per-partition sequences, no duplicates, order kept.

Retries under injected faults are out of reach of unmodified clients, so these tests drive many small
batches with 5 in flight per connection (the window Kafka tracks) and then check both what consumers
read and the producer fields of the stored batches (Kafka's on-disk layout, DESIGN section 4).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.clients.clientlib import PRODUCE, READ_ALL, Out

N = 3000
PARTITIONS = 2


def records(n: int = N) -> list[Out]:
    return [Out(f"k{i}".encode(), f"{i:08d}".encode(), partition=i % PARTITIONS) for i in range(n)]


def stored_batches(data_dir: Path, topic: str, partition: int):
    from kavka.protocol.batch import iter_headers

    headers = []
    for seg in sorted((data_dir / f"{topic}-{partition}").glob("*.log")):
        buf = seg.read_bytes()
        headers.extend(h for _, h in iter_headers(buf))
    return headers


def assert_exactly_once_in_order(got, n: int = N) -> None:
    for p in range(PARTITIONS):
        values = [int(r.value) for r in got if r.partition == p]
        assert values == list(range(p, n, PARTITIONS)), f"partition {p}: duplicates, gaps or reordering"
        assert [r.offset for r in got if r.partition == p] == list(range(len(values)))


def assert_idempotent_batches(broker, topic: str) -> None:
    for p in range(PARTITIONS):
        batches = stored_batches(broker.data_dir, topic, p)
        assert batches, f"no batches found under {broker.data_dir / f'{topic}-{p}'}"
        pids = {b.producer_id for b in batches}
        assert len(pids) == 1 and min(pids) >= 0, f"producer ids {pids}"
        assert {b.producer_epoch for b in batches} == {0}
        expected_seq = 0
        for b in batches:
            assert b.base_sequence == expected_seq, "sequences must be contiguous per partition"
            expected_seq += b.records_count
        assert expected_seq == N // PARTITIONS


@pytest.mark.parametrize("client", ["confluent", "kafka-python", "aiokafka"])
def test_idempotent_producer_many_batches(client, broker, create_topic):
    topic = create_topic(partitions=PARTITIONS)
    if client == "confluent":
        conf = {
            "enable.idempotence": True,
            "max.in.flight.requests.per.connection": 5,
            "batch.num.messages": 20,
            "linger.ms": 1,
        }
    elif client == "kafka-python":
        conf = {"max_in_flight_requests_per_connection": 5, "batch_size": 400}  # idempotence is the default
    else:
        conf = {"enable_idempotence": True, "max_batch_size": 400}
    delivered = PRODUCE[client](broker.bootstrap, topic, records(), **conf)
    for p in range(PARTITIONS):
        assert sorted(d.offset for d in delivered if d.partition == p) == list(range(N // PARTITIONS))
    assert_exactly_once_in_order(READ_ALL[client](broker.bootstrap, topic, PARTITIONS))
    assert_idempotent_batches(broker, topic)


def test_two_idempotent_producers_get_distinct_ids(broker, create_topic):
    topic = create_topic(partitions=1)
    for _ in range(2):
        PRODUCE["confluent"](broker.bootstrap, topic, [Out(None, b"x", partition=0)], enable_idempotence=True)
    pids = [b.producer_id for b in stored_batches(broker.data_dir, topic, 0)]
    assert len(pids) == 2 and pids[0] != pids[1] and min(pids) >= 0


@pytest.mark.parametrize("idempotent", [True, False], ids=["idempotent", "control-not-idempotent"])
def test_retried_batches_after_lost_responses(idempotent, broker_factory, create_topic, topic_name):
    """Responses to some Produce requests are lost (the connection is cut after the broker appended
    them); the client retries those batches. With idempotence the broker recognises each retry and
    answers with the original offsets: no duplicates. The control run without idempotence shows the
    faults really cause duplicates."""
    from kavka.testing.process import free_port
    from tests.clients.clientlib import DropResponsesProxy, ck_produce, ck_read_all

    proxy_port = free_port()
    broker = broker_factory({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy_port}"})
    proxy = DropResponsesProxy((broker.host, broker.port), lambda n: n in (5, 12, 20), port=proxy_port)
    try:
        create_topic(topic_name, 1, bootstrap=proxy.address)
        n = 2000
        records = [Out(None, f"{i:06d}".encode(), partition=0) for i in range(n)]
        conf = {
            "linger_ms": 2,
            "batch_num_messages": 50,
            "retry_backoff_ms": 50,
            "max_in_flight_requests_per_connection": 5,
            "enable_idempotence": idempotent,
        }
        if not idempotent:
            conf["acks"] = "all"
        delivered = ck_produce(proxy.address, topic_name, records, **conf)
        assert proxy.dropped >= 1, "no response was dropped: the test did not inject a fault"
        got = ck_read_all(proxy.address, topic_name, 1)
    finally:
        proxy.close()
    values = [r.value for r in got]
    if idempotent:
        assert values == [o.value for o in records], "duplicates or reordering after retries"
        assert sorted(d.offset for d in delivered) == list(range(n))
    else:
        assert len(values) > n, "control: without idempotence the retried batches are duplicated"
        assert sorted(set(values)) == sorted(o.value for o in records)


@pytest.mark.parametrize("clean", [True, False], ids=["sigterm", "kill-9"])
def test_deduplication_survives_broker_restart(clean, broker_factory, create_topic, topic_name):
    """A batch is appended, its response lost, and the broker restarts before the client's retry
    arrives: the restarted broker still recognises the retry (producer state from the snapshot, or
    rebuilt from the log after a crash) and nothing is duplicated."""
    import threading

    from kavka.testing.process import free_port
    from tests.clients.clientlib import DropResponsesProxy, ck_produce, ck_read_all

    proxy_port = free_port()
    broker = broker_factory({"advertised.listeners": f"PLAINTEXT://127.0.0.1:{proxy_port}"})
    proxy = DropResponsesProxy((broker.host, broker.port), lambda n: n == 6, port=proxy_port)
    errors: list[BaseException] = []

    def restart_when_dropped() -> None:
        try:
            if not proxy.dropped_event.wait(30):
                return
            proxy.hold.set()  # the client cannot reconnect while the broker restarts
            broker.restart(clean=clean)
            proxy.hold.clear()
        except BaseException as exc:  # reported by the test thread
            errors.append(exc)
            proxy.hold.clear()

    try:
        create_topic(topic_name, 1, bootstrap=proxy.address)
        restarter = threading.Thread(target=restart_when_dropped)
        restarter.start()
        n = 1000
        records = [Out(None, f"{i:06d}".encode(), partition=0) for i in range(n)]
        delivered = ck_produce(
            proxy.address,
            topic_name,
            records,
            linger_ms=2,
            batch_num_messages=50,
            retry_backoff_ms=100,
            enable_idempotence=True,
            message_timeout_ms=60_000,
        )
        restarter.join(60)
        assert not errors, errors
        assert proxy.dropped == 1 and broker.starts == 2
        got = ck_read_all(proxy.address, topic_name, 1)
    finally:
        proxy.hold.clear()
        proxy.close()
    assert [r.value for r in got] == [o.value for o in records], "duplicates after the restart"
    assert sorted(d.offset for d in delivered) == list(range(n))
