"""The guide's "Spring Boot Microservice - E2E Setup" (examples/spring-boot) running unmodified on Kavka.

The real application (Spring Boot 3.5.7, spring-kafka 3.3.10, kafka-clients 3.9.1) runs as a JVM process
against a broker of its own; orders go in through its REST endpoint, and what it did is checked from its
log (one "Processing order" line per delivery attempt), its metrics endpoint, and the topics and committed
offsets on the broker, read with confluent-kafka. The same scenario runs against Apache Kafka 4.4.0, so
every assertion is also a claim about Kafka; a second test kills Kavka (-9) under the running application
and restarts it. Both brokers run with ``group.initial.rebalance.delay.ms=0``
(the listener's three consumers otherwise wait two 3-second delays to form the group; that is Kafka's
behaviour too, and only costs time here).
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, wait_until
from tests.clients.clientlib import Rec, ck_read_all
from tests.examples.springboot import LogLine, OrderService, OrderServiceJar, order_service_jar  # noqa: F401
from tests.needs import require_kafka

GROUP = "order-service-group"
ORDERS, PAYMENTS, DLT = "orders", "payment-events", "orders.DLT"
PARTITIONS = 3
ATTEMPTS = 3  # the first delivery and app.kafka.retry.attempts (2) retries
TIMEOUT = 60.0
BROKER_OVERRIDES = {"group.initial.rebalance.delay.ms": "0"}

# Users whose keys hash (murmur2) to each of the three partitions: two per partition.
USERS = ("alice", "bob", "dave", "frank", "carol", "erin")
ORDERS_PER_USER = 5
# The PaymentService declines a negative amount, every time: these orders end in orders.DLT.
DECLINED = {("alice", 2), ("carol", 3), ("frank", 1)}


@pytest.fixture(params=["kavka", "kafka"])
def target(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A private broker (the app owns fixed topic and group names): Kavka, or Apache Kafka beside it."""
    if request.param == "kavka":
        yield request.getfixturevalue("broker_factory")(overrides=BROKER_OVERRIDES).bootstrap
        return
    require_kafka()
    kafka = ApacheKafka(tmp_path / "kafka", overrides=BROKER_OVERRIDES)
    with kafka:  # starts it, and stops it at the end
        yield kafka.bootstrap


@pytest.fixture
def order_service(
    order_service_jar: OrderServiceJar,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Iterator[Callable[[str, str], OrderService]]:
    """Start runs of the application (each with its own log file); every run is stopped at the end."""
    runs: list[OrderService] = []

    def start(bootstrap: str, name: str) -> OrderService:
        run = OrderService(order_service_jar, bootstrap, tmp_path / f"{name}.log")
        runs.append(run)
        return run.start(partitions=PARTITIONS)

    yield start
    for run in runs:
        run.cleanup()


def _committed(bootstrap: str) -> dict[int, int]:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
    from confluent_kafka.admin import AdminClient

    request = ConsumerGroupTopicPartitions(GROUP, [TopicPartition(ORDERS, p) for p in range(PARTITIONS)])
    admin = AdminClient({"bootstrap.servers": bootstrap})  # held until the future resolves
    result = admin.list_consumer_group_offsets([request])[GROUP].result(timeout=TIMEOUT)
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def _log_end_offsets(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "spring-boot-test-watermarks"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)}
    finally:
        c.close()


def _all_committed(bootstrap: str) -> bool:
    return _committed(bootstrap) == _log_end_offsets(bootstrap, ORDERS)


def _header(rec: Rec, name: str) -> bytes:
    values = [v for k, v in rec.headers if k == name]
    assert len(values) == 1, f"header {name} in {rec.headers}"
    assert values[0] is not None
    return values[0]


def _unexpected_log_lines(run: OrderService, declined: set[str]) -> list[LogLine]:
    """WARN and ERROR lines other than the listener's own "Failed processing order <declined id>"."""
    return [
        line
        for line in run.lines("WARN", "ERROR")
        if not (
            line.level == "ERROR"
            and line.logger == "com.example.kafka.OrderEventConsumer"
            and any(line.message.startswith(f"Failed processing order {oid}: Payment declined") for oid in declined)
        )
    ]


def test_order_service_processes_in_user_order_dead_letters_declined_and_resumes_after_restart(
    target: str, order_service: Callable[[str, str], OrderService]
) -> None:
    bootstrap = target
    app = order_service(bootstrap, "first-run")

    # Send: 5 orders per user, users interleaved; each POST answers once the order is in the log.
    sent: dict[str, tuple[str, int, int]] = {}  # order id -> (user, partition, offset)
    by_user: dict[str, list[str]] = {u: [] for u in USERS}
    declined: set[str] = set()
    for i in range(ORDERS_PER_USER):
        for user in USERS:
            oid = f"{user}-{i}"
            amount = -5.0 if (user, i) in DECLINED else 10.0 + i
            partition, offset = app.post_order(oid, user, amount)
            sent[oid] = (user, partition, offset)
            by_user[user].append(oid)
            if amount < 0:
                declined.add(oid)
    good = set(sent) - declined
    # The key (user id) fixes the partition: one per user, offsets increasing in send order.
    for user, oids in by_user.items():
        assert len({sent[o][1] for o in oids}) == 1, (user, [sent[o] for o in oids])
        assert [sent[o][2] for o in oids] == sorted(sent[o][2] for o in oids)
    assert {p for _, p, _ in sent.values()} == set(range(PARTITIONS))

    # Done when the group has committed every offset: successes by ack, dead-lettered ones by the handler.
    wait_until(
        lambda: _all_committed(bootstrap),
        TIMEOUT,
        interval=0.2,
        message=lambda: (
            f"committed offsets {_committed(bootstrap)} to reach {_log_end_offsets(bootstrap, ORDERS)}"
            f"\n{app.log_tail()}"
        ),
    )

    attempts = app.processing()
    # Each good order is processed once, at the partition and offset it was written to; each declined one
    # is delivered ATTEMPTS times, never again after it went to the dead-letter topic.
    for oid in good:
        assert [(p, o) for i, p, o in attempts if i == oid] == [sent[oid][1:]], oid
    for oid in declined:
        assert [(p, o) for i, p, o in attempts if i == oid] == [sent[oid][1:]] * ATTEMPTS, oid
    assert {i for i, _, _ in attempts} == set(sent)
    # Per user, the orders were handled in the order they were sent (retries block the partition).
    for user, oids in by_user.items():
        handled = [i for i, _, _ in attempts if sent[i][0] == user]
        deduplicated = [i for n, i in enumerate(handled) if n == 0 or handled[n - 1] != i]
        assert deduplicated == oids, (user, handled)

    # A payment event for each good order, once, in each user's order.
    payments = ck_read_all(bootstrap, PAYMENTS, PARTITIONS)

    paid = [(r.key.decode(), json.loads(r.value)["orderId"]) for r in payments if r.key and r.value]
    assert sorted(o for _, o in paid) == sorted(good)
    for user, oids in by_user.items():
        assert [o for u, o in paid if u == user] == [o for o in oids if o in good]

    # The declined orders, in orders.DLT at their original partition, with spring-kafka's headers.
    dead = ck_read_all(bootstrap, DLT, PARTITIONS)
    assert sorted(json.loads(r.value)["orderId"] for r in dead if r.value) == sorted(declined)
    for rec in dead:
        assert rec.value is not None
        oid = json.loads(rec.value)["orderId"]
        user, partition, offset = sent[oid]
        assert rec.key == user.encode() and rec.partition == partition
        assert _header(rec, "kafka_dlt-original-topic") == ORDERS.encode()
        assert struct.unpack(">i", _header(rec, "kafka_dlt-original-partition")) == (partition,)
        assert struct.unpack(">q", _header(rec, "kafka_dlt-original-offset")) == (offset,)
        assert _header(rec, "kafka_dlt-original-consumer-group") == GROUP.encode()
        assert _header(rec, "kafka_dlt-exception-cause-fqcn") == b"com.example.service.PaymentDeclinedException"
        assert f"Payment declined for order {oid}: amount -5".encode() in _header(rec, "kafka_dlt-exception-message")
        assert b"PaymentDeclinedException" in _header(rec, "kafka_dlt-exception-stacktrace")

    assert app.processed_counter() == len(good)
    assert _unexpected_log_lines(app, declined) == []

    # Restart: nothing is reprocessed. One more order per partition (a user of each) is the marker:
    # once each is processed, anything before it in its partition would have been processed first.
    assert app.stop() in (0, 143), app.log_tail()  # 143: the JVM's exit status after SIGTERM
    assert _all_committed(bootstrap)
    again = order_service(bootstrap, "second-run")
    markers = {f"{user}-after-restart": user for user in ("alice", "dave", "carol")}
    positions = {oid: again.post_order(oid, user, 1.0) for oid, user in markers.items()}
    assert {p for p, _ in positions.values()} == set(range(PARTITIONS))
    wait_until(
        lambda: {i for i, _, _ in again.processing()} >= set(markers) and _all_committed(bootstrap),
        TIMEOUT,
        interval=0.2,
        message=lambda: f"the markers to be processed\n{again.log_tail()}",
    )
    assert sorted(again.processing()) == sorted((oid, p, o) for oid, (p, o) in positions.items())
    assert again.processed_counter() == len(markers)
    assert _unexpected_log_lines(again, set()) == []
    assert again.stop() in (0, 143), again.log_tail()


def test_order_service_carries_on_when_kavka_is_killed_and_restarted(
    broker_factory: Callable[..., BrokerProcess], order_service: Callable[[str, str], OrderService]
) -> None:
    """kill -9 of the broker under an idle application, then a restart on the same port and data: what
    the group committed survives (nothing is processed again), the idempotent producer and the group
    carry on, and the next orders are processed once each."""
    broker = broker_factory(overrides=BROKER_OVERRIDES)
    app = order_service(broker.bootstrap, "run")
    before = {f"{user}-before": app.post_order(f"{user}-before", user, 10.0) for user in USERS}
    wait_until(lambda: _all_committed(broker.bootstrap), TIMEOUT, interval=0.2, message=app.log_tail)

    broker.restart(clean=False)  # SIGKILL, then the same port and data directory
    after = {f"{user}-after": app.post_order(f"{user}-after", user, 20.0) for user in USERS}
    for oid, (_, offset) in after.items():
        assert offset == before[oid.replace("-after", "-before")][1] + len(USERS) // PARTITIONS, (oid, before)
    wait_until(
        lambda: {i for i, _, _ in app.processing()} >= set(after) and _all_committed(broker.bootstrap),
        TIMEOUT,
        interval=0.2,
        message=lambda: f"the orders sent after the restart to be processed\n{app.log_tail()}",
    )
    assert sorted(app.processing()) == sorted((oid, p, o) for oid, (p, o) in {**before, **after}.items())
    paid = ck_read_all(broker.bootstrap, PAYMENTS, PARTITIONS)
    assert sorted(json.loads(r.value)["orderId"] for r in paid if r.value) == sorted({**before, **after})
    assert app.processed_counter() == 2 * len(USERS)
    # The clients' reconnect attempts while the broker was down are the only warnings.
    warnings = app.lines("WARN", "ERROR")
    assert all(
        line.level == "WARN"
        and line.logger == "org.apache.kafka.clients.NetworkClient"
        and line.message.endswith("could not be established. Node may not be available.")
        for line in warnings
    ), warnings


def test_a_record_that_is_not_an_order_goes_to_the_dlt_and_its_partition_carries_on(
    broker_factory: Callable[..., BrokerProcess], order_service: Callable[[str, str], OrderService]
) -> None:
    """A poison pill: a record on ``orders`` that is not an OrderEvent (the Kafka Streams example's
    orders topic has the same name and CSV values). It goes to orders.DLT at once and unchanged, with
    the deserialization error in spring-kafka's headers, its offset is committed, and the same user's
    next order is processed. (With the guide's bare JsonDeserializer the consumer failed on it on every
    poll, logging about a gigabyte of errors in 15 s, and nothing behind it in its partition ran.)"""
    from confluent_kafka import Producer

    broker = broker_factory(overrides=BROKER_OVERRIDES)
    app = order_service(broker.bootstrap, "run")
    first = app.post_order("alice-0", "alice", 10.0)
    pill = b"o1,alice,250"
    delivered: list[tuple[int, int]] = []
    # murmur2, the Java client's partitioner, so the key puts it behind alice's order
    producer = Producer({"bootstrap.servers": broker.bootstrap, "partitioner": "murmur2_random"})
    producer.produce(
        ORDERS, key=b"alice", value=pill, on_delivery=lambda err, msg: delivered.append((msg.partition(), msg.offset()))
    )
    assert producer.flush(10) == 0
    [(partition, offset)] = delivered
    assert (partition, offset) == (first[0], first[1] + 1)
    second = app.post_order("alice-1", "alice", 11.0)
    wait_until(
        lambda: _committed(broker.bootstrap)[partition] == second[1] + 1,
        30,
        interval=0.2,
        message=lambda: f"alice-1 committed (offset {second[1] + 1})\n{app.log_tail(20)}",
    )
    assert sorted(app.processing()) == [("alice-0", *first), ("alice-1", *second)]
    assert app.processed_counter() == 2

    [dead] = ck_read_all(broker.bootstrap, DLT, PARTITIONS)
    assert (dead.key, dead.value, dead.partition) == (b"alice", pill, partition)
    assert _header(dead, "kafka_dlt-original-topic") == ORDERS.encode()
    assert struct.unpack(">q", _header(dead, "kafka_dlt-original-offset")) == (offset,)
    assert _header(dead, "kafka_dlt-exception-fqcn") == (
        b"org.springframework.kafka.support.serializer.DeserializationException"
    )
    # one failed delivery, not retried (a DeserializationException never is), and no error logged
    assert app.log_text().count(f"Retrying {ORDERS}-{partition}@{offset}: attempt") == 1
    assert app.lines("WARN", "ERROR") == []


def test_the_readme_runs_in_one_command_with_demo_sh(
    order_service_jar: OrderServiceJar,  # noqa: F811 - the fixture imported above (the build is cached)
    tmp_path: Path,
) -> None:
    """``examples/spring-boot/demo.sh --once``, as the README gives it: a broker of its own, the service,
    five orders (one declined), the metric and the dead letter printed, and everything it started stopped."""
    from kavka.testing.process import free_port

    broker_port, console_port, app_port = free_port(), free_port(), free_port()
    env = {
        **os.environ,
        "KAVKA": f"{sys.executable} -m kavka",  # the kavka of this interpreter, installed or not
        "KAVKA_PORT": str(broker_port),
        "KAVKA_CONSOLE_PORT": str(console_port),
        "APP_PORT": str(app_port),
        "JAVA": order_service_jar.java,
        "TMPDIR": str(tmp_path),
    }
    demo = Path(__file__).resolve().parents[2] / "examples" / "spring-boot" / "demo.sh"
    done = subprocess.run(["bash", str(demo), "--once"], env=env, capture_output=True, text=True, timeout=300)
    out = done.stdout
    assert done.returncode == 0, out + done.stderr
    assert out.count("POST /orders ") == 5 and '"orderId":"o-5"' in out, out
    assert '"statistic":"COUNT","value":4.0' in out, out  # the four good orders, once each
    dead = out.split("then dead-lettered):\n", 1)[1].splitlines()[0]
    assert dead.startswith('carol\t{"orderId":"o-4"'), out
    for port in (broker_port, console_port, app_port):  # what it started is gone
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
