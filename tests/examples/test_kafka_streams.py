"""The guide's Kafka Streams answer (examples/kafka-streams, kafka-streams 4.4.0) against Kavka and Kafka.

``OrderAnalytics`` runs unmodified in its own JVM: one-minute tumbling-window order totals per user, orders
joined with a compacted ``users`` table, totals per region through a re-keying groupBy, exactly_once_v2.
The input is deterministic (fixed amounts and record timestamps the test sets), so the test computes every
output in Python and compares the final value per key read with isolation.level=read_committed:

- on both brokers (``any_broker``): the results, the store state in the changelogs, the consumer group's
  committed input offsets, and the internal topics Kafka Streams creates (repartition and changelogs)
  with the configs it gives them — one expectation for Kafka and Kavka; then Kafka's application reset
  tool, and the same totals computed again from scratch;
- on Kavka (both scenarios pass against Kafka as well; they run on Kavka alone to keep CI short): the
  application is killed with SIGKILL inside an open transaction and again while it works through more
  input, restarted on its state directory each time, and the results are still exactly the expectation:
  aborted output stays invisible, nothing is counted twice, state comes back from changelogs; and two
  instances share the tasks, one is killed, the other takes its tasks over and the results stay exact.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kavka.testing.process import create_topic, free_port, wait_until
from tests.conftest import Target
from tests.examples.streamsexample import (
    StreamsApp,
    StreamsExample,
    StreamsExampleError,
    run_streams_resetter,
    streams_example,  # noqa: F401 - a fixture, found by pytest here
)
from tests.javabuild import REPO_ROOT

TIMEOUT = 90.0
PARTITIONS = 2
WINDOW_MS = 60_000
# The stores and the repartition topic the application names (OrderAnalytics.java).
USERS_STORE, WINDOWED_STORE, REGION_STORE = "users-by-id", "order-totals-per-user-1m", "order-totals-per-region"
REPARTITION = "orders-by-region"
# window size + grace (1 h) is the window store's retention; its changelog keeps a day more
# (windowstore.changelog.additional.retention.ms).
WINDOWED_CHANGELOG_RETENTION_MS = WINDOW_MS + 3_600_000 + 86_400_000

# The configs Kafka Streams 4.4.0 gives the internal topics it creates (what DescribeConfigs reports as
# DYNAMIC_TOPIC_CONFIG), the same on Kafka and Kavka.
INTERNAL_TOPIC_CONFIGS = {
    f"{REPARTITION}-repartition": {
        "cleanup.policy": "delete",
        "message.timestamp.type": "CreateTime",
        "retention.ms": "-1",
        "segment.bytes": "52428800",
    },
    f"{USERS_STORE}-changelog": {"cleanup.policy": "compact", "message.timestamp.type": "CreateTime"},
    f"{WINDOWED_STORE}-changelog": {
        "cleanup.policy": "compact,delete",
        "message.timestamp.type": "CreateTime",
        "retention.ms": str(WINDOWED_CHANGELOG_RETENTION_MS),
    },
    f"{REGION_STORE}-changelog": {"cleanup.policy": "compact", "message.timestamp.type": "CreateTime"},
}

USERS = {"u0": "Ann,eu", "u1": "Bob,us", "u2": "Chen,apac", "u3": "Dana,eu", "u4": "Eve,us", "u5": "Femi,eu"}
GHOST = "u6"  # orders for a user with no row: counted per user, dropped by the inner join


@dataclass(frozen=True)
class In:
    key: str
    value: str
    timestamp: int


@dataclass
class Results:
    """What the three output topics say: the last value per key, and every enriched order per user."""

    windowed: dict[str, str] = field(default_factory=dict)
    enriched: dict[str, list[str]] = field(default_factory=dict)
    regions: dict[str, str] = field(default_factory=dict)


def _base_ms() -> int:
    """A minute boundary ten minutes ago: recent enough for every retention, old enough to be complete."""
    return (int(time.time() * 1000) // WINDOW_MS - 10) * WINDOW_MS


def users(base: int) -> list[In]:
    # Before every order, so the join sees each row (Kafka Streams processes a task's records by timestamp).
    return [In(k, v, base - WINDOW_MS) for k, v in USERS.items()]


def orders(base: int, first: int, count: int) -> list[In]:
    """Orders ``first`` .. ``first+count-1``: one a second from ``base``, amounts from a seeded generator."""
    rng = random.Random(first)
    out = []
    for n in range(first, first + count):
        user = rng.choice([*USERS, GHOST])
        out.append(In(user, f"o{n},{user},{rng.randint(1, 500)}", base + n * 1000))
    return out


def expected(user_rows: Sequence[In], order_rows: Sequence[In]) -> Results:
    table = {u.key: u.value for u in user_rows}
    want = Results()
    windowed: Counter[str] = Counter()
    regions: Counter[str] = Counter()
    for o in order_rows:
        fields = o.value.split(",")
        if len(fields) != 3 or not fields[2].isdigit():
            continue  # the application skips malformed orders
        amount = int(fields[2])
        windowed[f"{o.key}@{o.timestamp // WINDOW_MS * WINDOW_MS}"] += amount
        if o.key in table:
            want.enriched.setdefault(o.key, []).append(f"{o.value},{table[o.key]}")
            regions[table[o.key].split(",")[1]] += amount
    want.windowed = {k: str(v) for k, v in windowed.items()}
    want.regions = {k: str(v) for k, v in regions.items()}
    return want


def produce(bootstrap: str, topic: str, rows: Sequence[In]) -> None:
    from confluent_kafka import Producer

    failed: list[str] = []
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 5})
    for r in rows:
        p.produce(
            topic,
            key=r.key,
            value=r.value,
            timestamp=r.timestamp,
            on_delivery=lambda err, _m: failed.append(str(err)) if err else None,
        )
    assert p.flush(30) == 0, f"{topic}: records left unsent"
    assert not failed, f"{topic}: {failed[:3]}"


def read_raw(
    bootstrap: str, topics: Sequence[str], isolation: str = "read_committed"
) -> dict[str, list[tuple[bytes, bytes | None]]]:
    """Every (key, value) of each of ``topics`` that a consumer with ``isolation`` sees, to the end of every
    partition (one consumer for all: a librdkafka consumer takes most of a second to reach its first EOF)."""
    from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, TopicPartition

    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"reader-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
            "isolation.level": isolation,
            "fetch.wait.max.ms": 50,
        }
    )
    try:
        c.assign([TopicPartition(t, p, OFFSET_BEGINNING) for t in topics for p in range(PARTITIONS)])
        out: dict[str, list[tuple[bytes, bytes | None]]] = {t: [] for t in topics}
        at_end: set[tuple[str, int]] = set()

        def drained() -> bool:
            for m in c.consume(num_messages=500, timeout=0.1):
                err = m.error()
                if err is not None and err.code() == KafkaError._PARTITION_EOF:
                    at_end.add((m.topic(), m.partition()))
                elif err is not None:
                    raise AssertionError(f"consumer error on {m.topic()}: {err}")
                else:
                    out[m.topic()].append((m.key(), m.value()))
            return len(at_end) == len(topics) * PARTITIONS

        wait_until(drained, 30, interval=0, message=f"{isolation} read of {topics} to the end")
        return out
    finally:
        c.close()


def read(bootstrap: str, topics: Sequence[str], isolation: str = "read_committed") -> dict[str, list[tuple[str, str]]]:
    """`read_raw` for topics of UTF-8 keys and values (the application's inputs and outputs)."""
    return {
        t: [(k.decode(), v.decode() if v is not None else "") for k, v in records]
        for t, records in read_raw(bootstrap, topics, isolation).items()
    }


def results(bootstrap: str, prefix: str) -> Results:
    names = [f"{prefix}order-totals-windowed", f"{prefix}orders-enriched", f"{prefix}order-totals-by-region"]
    seen = read(bootstrap, names)
    windowed, enriched, regions = (seen[n] for n in names)
    got = Results(windowed=dict(windowed), regions=dict(regions))
    for k, v in enriched:
        got.enriched.setdefault(k, []).append(v)
    return got


def store_contents(bootstrap: str, application_id: str) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """What the stores' changelogs hold (the last committed record per key): the users table, the windowed
    totals as ``user@windowStart``, the region totals. Kafka Streams writes a store's key and value as its
    serdes make them (String: UTF-8; Long: 8 bytes big-endian; the timestamp goes in the record's); a window
    store's key is the record key, the window start (8 bytes) and a sequence number (4 bytes)."""
    names = [f"{application_id}-{store}-changelog" for store in (USERS_STORE, WINDOWED_STORE, REGION_STORE)]
    raw = read_raw(bootstrap, names)
    tables: list[dict[str, str]] = [{}, {}, {}]
    for i, name in enumerate(names):
        for key, value in raw[name]:
            if i == 1:
                key = f"{key[:-12].decode()}@{int.from_bytes(key[-12:-4], 'big')}".encode()
            if value is None:
                tables[i].pop(key.decode(), None)
            else:
                tables[i][key.decode()] = value.decode() if i == 0 else str(int.from_bytes(value, "big", signed=True))
    return tables[0], tables[1], tables[2]


def _admin(bootstrap: str):
    from confluent_kafka.admin import AdminClient

    return AdminClient({"bootstrap.servers": bootstrap})


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition

    request = ConsumerGroupTopicPartitions(group, [TopicPartition(topic, p) for p in range(PARTITIONS)])
    admin = _admin(bootstrap)  # held until the future resolves: librdkafka drops a collected client's calls
    result = admin.list_consumer_group_offsets([request])[group].result(timeout=30)
    return {tp.partition: tp.offset for tp in result.topic_partitions}


def log_ends(bootstrap: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"ends-{uuid.uuid4().hex[:8]}"})
    try:
        return {p: c.get_watermark_offsets(TopicPartition(topic, p), timeout=10)[1] for p in range(PARTITIONS)}
    finally:
        c.close()


def duplicated_orders(got: Results) -> list[str]:
    """Order ids that appear more than once in orders-enriched: under exactly-once, never."""
    ids = Counter(value.split(",")[0] for values in got.enriched.values() for value in values)
    return sorted(order for order, n in ids.items() if n > 1)


def wait_for_results(
    app: StreamsApp, bootstrap: str, prefix: str, want: Results, *, distinct_orders: bool = True
) -> None:
    """Until the outputs are exactly ``want`` and the group has committed all of its input (so nothing is
    still to come), then once more: the results stay exactly ``want``. With ``distinct_orders``, an order
    seen twice fails at once."""
    seen: list[Results] = []
    inputs = [f"{prefix}orders", f"{prefix}users"]

    def done() -> bool:
        if not app.is_running():
            return True  # checked below: wait_until would take an exception for "not yet"
        seen.append(results(bootstrap, prefix))
        if distinct_orders and duplicated_orders(seen[-1]):
            return True  # checked below
        if seen[-1] != want:
            return False
        return all(committed(bootstrap, app.application_id, t) == log_ends(bootstrap, t) for t in inputs)

    def why() -> str:
        last = seen[-1] if seen else Results()
        wrong = {k: (last.windowed.get(k), v) for k, v in want.windowed.items() if last.windowed.get(k) != v}
        return (
            f"results: windowed keys wrong (got, want) {dict(list(wrong.items())[:5])} of {len(want.windowed)}; "
            f"enriched users right {sum(last.enriched.get(k) == v for k, v in want.enriched.items())}"
            f"/{len(want.enriched)}; regions {last.regions} want {want.regions}\n{app.log_tail(40)}"
        )

    wait_until(done, TIMEOUT, interval=0.2, message=why)
    assert app.is_running(), f"the application exited ({app.returncode})\n{app.log_tail()}"
    assert not (distinct_orders and duplicated_orders(seen[-1])), (
        f"orders enriched twice: {duplicated_orders(seen[-1])[:10]}"
    )
    assert results(bootstrap, prefix) == want


def create_topics(bootstrap: str, prefix: str) -> None:
    create_topic(bootstrap, f"{prefix}orders", PARTITIONS)
    create_topic(bootstrap, f"{prefix}users", PARTITIONS, {"cleanup.policy": "compact"})
    for name in ("order-totals-windowed", "orders-enriched", "order-totals-by-region"):
        create_topic(bootstrap, f"{prefix}{name}", PARTITIONS)


def internal_topics(bootstrap: str, application_id: str) -> dict[str, tuple[int, dict[str, str]]]:
    """The topics named ``<application.id>-...``: partition count and the configs set on the topic."""
    from confluent_kafka.admin import ConfigResource, ConfigSource

    admin = _admin(bootstrap)
    listed = admin.list_topics(timeout=10).topics
    names = sorted(t for t in listed if t.startswith(f"{application_id}-"))
    out: dict[str, tuple[int, dict[str, str]]] = {}
    for name in names:
        resource = ConfigResource(ConfigResource.Type.TOPIC, name)
        entries = admin.describe_configs([resource])[resource].result(timeout=30)
        dynamic = {k: e.value for k, e in entries.items() if e.source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value}
        out[name.removeprefix(f"{application_id}-")] = (len(listed[name].partitions), dynamic)
    return out


def _app(example: StreamsExample, bootstrap: str, tmp_path: Path, **configs: object) -> StreamsApp:
    tag = uuid.uuid4().hex[:8]
    return StreamsApp(
        example,
        bootstrap,
        application_id=f"order-analytics-{tag}",
        topic_prefix=f"{tag}-",
        state_dir=tmp_path / "state",
        log_path=tmp_path / "order-analytics.log",
        configs=configs,
    )


def _another_instance(app: StreamsApp, tmp_path: Path, name: str) -> StreamsApp:
    """A second instance of ``app``'s application: the same application.id and topics, its own state."""
    return StreamsApp(
        app.example,
        app.bootstrap,
        app.application_id,
        app.topic_prefix,
        tmp_path / f"state-{name}",
        tmp_path / f"order-analytics-{name}.log",
        app.configs,
    )


def group_assignment(bootstrap: str, group: str) -> list[set[tuple[str, int]]]:
    """The partitions assigned to each member of ``group`` (DescribeGroups)."""
    admin = _admin(bootstrap)
    described = admin.describe_consumer_groups([group])[group].result(timeout=30)
    return [{(tp.topic, tp.partition) for tp in m.assignment.topic_partitions} for m in described.members]


def test_order_analytics_results_and_internal_topics(
    streams_example: StreamsExample,  # noqa: F811 - the fixture imported above
    any_broker: Target,
    tmp_path: Path,
) -> None:
    bootstrap = any_broker.bootstrap
    app = _app(streams_example, bootstrap, tmp_path)
    prefix = app.topic_prefix
    create_topics(bootstrap, prefix)
    base = _base_ms()
    user_rows = users(base)
    order_rows = orders(base, 0, 120)
    order_rows.insert(40, In("u1", "not-an-order", base + 40_500))  # skipped by the application
    produce(bootstrap, f"{prefix}users", user_rows)
    produce(bootstrap, f"{prefix}orders", order_rows)
    want = expected(user_rows, order_rows)
    assert len(want.windowed) > 10 and GHOST not in want.enriched and len(want.regions) == 3

    try:
        app.start()
        app.wait_running()
        wait_for_results(app, bootstrap, prefix, want)
        # The comparison would see one order counted twice, and so would the check for duplicates.
        got = results(bootstrap, prefix)
        assert got != expected(user_rows, [*order_rows, order_rows[-1]])
        got.enriched["u0"] = [*got.enriched["u0"], got.enriched["u0"][0]]
        assert duplicated_orders(got) == [got.enriched["u0"][0].split(",")[0]]
        # The state stores' changelogs hold the same state.
        assert store_contents(bootstrap, app.application_id) == (USERS, want.windowed, want.regions)
        assert internal_topics(bootstrap, app.application_id) == {
            name: (PARTITIONS, configs) for name, configs in INTERNAL_TOPIC_CONFIGS.items()
        }
        assert app.stop() == 143  # SIGTERM: the shutdown hook closes Kafka Streams, the JVM exits 128+15
        assert app.states()[-2:] == ["PENDING_SHUTDOWN", "NOT_RUNNING"], app.log_tail()

        # Kafka's application reset tool: the group's input offsets back to 0, the internal topics deleted.
        inputs = [f"{prefix}orders", f"{prefix}users"]
        done = run_streams_resetter(streams_example.java, bootstrap, app.application_id, inputs)
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        lines = done.stdout.splitlines()
        assert f"Force deleting all active members in the group: {app.application_id}" in lines, done.stdout
        assert {line for line in lines if line.startswith("Topic: ")} == {
            f"Topic: {t} Partition: {p} Offset: 0" for t in inputs for p in range(PARTITIONS)
        }, done.stdout
        deleted = next(line for line in lines if line.startswith("Deleting inferred internal topics "))
        assert set(deleted.partition("[")[2].rstrip("]").split(", ")) == {
            f"{app.application_id}-{name}" for name in INTERNAL_TOPIC_CONFIGS
        }, done.stdout
        assert internal_topics(bootstrap, app.application_id) == {}
        assert all(committed(bootstrap, app.application_id, t) == {0: 0, 1: 0} for t in inputs)

        # Restarted on a new state directory, it computes everything again from scratch: the same totals
        # (nothing counted twice), and each order enriched a second time (the tool leaves outputs alone).
        app.state_dir = tmp_path / "state-after-reset"
        app.start()
        app.wait_running()
        again = Results(want.windowed, {k: v + v for k, v in want.enriched.items()}, want.regions)
        wait_for_results(app, bootstrap, prefix, again, distinct_orders=False)
        assert app.stop() == 143
    finally:
        app.cleanup()


def test_order_analytics_exactly_once_across_sigkill(
    streams_example: StreamsExample,  # noqa: F811 - the fixture imported above
    bootstrap: str,
    tmp_path: Path,
) -> None:
    # A static member (group.instance.id): a restarted instance takes over its partitions at once, as a
    # pod restarted under the same name does, instead of waiting for the dead one's session to expire.
    app = _app(
        streams_example,
        bootstrap,
        tmp_path,
        **{"group.instance.id": "order-analytics-instance", "max.poll.records": 5},
    )
    prefix, enriched = app.topic_prefix, f"{app.topic_prefix}orders-enriched"
    create_topics(bootstrap, prefix)
    base = _base_ms()
    user_rows = users(base)
    first, second, third = orders(base, 0, 100), orders(base, 100, 300), orders(base, 400, 100)
    produce(bootstrap, f"{prefix}users", user_rows)
    produce(bootstrap, f"{prefix}orders", first)

    try:
        # 1. A run that never reaches a commit: its output is in the log, inside an open transaction,
        #    when it is killed. (The join writes at once; the aggregations only at a commit.)
        app.start({"commit.interval.ms": 600_000, "producer.transaction.timeout.ms": 600_000})
        app.wait_running()
        in_flight = wait_until(
            lambda: read(bootstrap, [enriched], "read_uncommitted")[enriched],
            TIMEOUT,
            interval=0.2,
            message=lambda: f"output of the open transaction in {enriched}\n{app.log_tail(30)}",
        )
        assert read(bootstrap, [enriched])[enriched] == [], "read_committed saw output of a transaction never committed"
        assert app.kill() == -9

        # 2. Restarted on the same state directory, so with the same transactional.id (Kafka Streams keeps
        #    its process id there): the new producer fences the dead one and its transaction is aborted.
        #    The first input is processed once more, and counted once.
        app.start()
        app.wait_running()
        wait_for_results(app, bootstrap, prefix, expected(user_rows, first))
        aborted = Counter(read(bootstrap, [enriched], "read_uncommitted")[enriched]) - Counter(
            read(bootstrap, [enriched])[enriched]
        )
        assert sum(aborted.values()) >= len(in_flight), "the aborted output should still be in the log"

        # 3. Killed while it works through more input, as soon as part of that is committed (it polls 5
        #    records at a time and commits every 100 ms); more input arrives while it is down. Under
        #    exactly-once a store without a checkpoint is rebuilt from its changelog on restart.
        processed = sum(log_ends(bootstrap, f"{prefix}orders").values())
        produce(bootstrap, f"{prefix}orders", second)
        wait_until(
            lambda: sum(committed(bootstrap, app.application_id, f"{prefix}orders").values()) > processed,
            TIMEOUT,
            interval=0.05,
            message=lambda: f"a commit of the second input\n{app.log_tail(30)}",
        )
        assert app.kill() == -9
        produce(bootstrap, f"{prefix}orders", third)
        app.start()
        app.wait_running()
        wait_for_results(app, bootstrap, prefix, expected(user_rows, first + second + third))
        assert app.stop() == 143
    finally:
        app.cleanup()


def _shared_by_two(assignment: list[set[tuple[str, int]]]) -> list[set[tuple[str, int]]] | None:
    """The assignment when two members both have partitions, else None."""
    return assignment if len(assignment) == 2 and all(assignment) else None


def test_order_analytics_scales_out_and_fails_over(
    streams_example: StreamsExample,  # noqa: F811 - the fixture imported above
    bootstrap: str,
    tmp_path: Path,
) -> None:
    """Two instances share the tasks (one classic consumer group, the Streams assignor); when one dies the
    other takes its tasks over once the dead member's session expires, rebuilds their stores from the
    changelogs and goes on: the results are still exactly the expectation."""
    configs = {"session.timeout.ms": 6000, "heartbeat.interval.ms": 1000, "max.poll.records": 5}
    first_app = _app(streams_example, bootstrap, tmp_path, **configs)
    second_app = _another_instance(first_app, tmp_path, "second")
    prefix, group = first_app.topic_prefix, first_app.application_id
    create_topics(bootstrap, prefix)
    base = _base_ms()
    user_rows = users(base)
    first, second, third = orders(base, 0, 100), orders(base, 100, 200), orders(base, 300, 100)
    produce(bootstrap, f"{prefix}users", user_rows)
    produce(bootstrap, f"{prefix}orders", first)
    # Each instance's task: orders, users and the repartition topic, partition 0 or 1 of each.
    every_partition = {
        (t, p) for t in (f"{prefix}orders", f"{prefix}users", f"{group}-{REPARTITION}-repartition") for p in (0, 1)
    }

    try:
        first_app.start()
        first_app.wait_running()
        wait_for_results(first_app, bootstrap, prefix, expected(user_rows, first))

        second_app.start()
        second_app.wait_running()
        split = wait_until(
            lambda: _shared_by_two(group_assignment(bootstrap, group)),
            TIMEOUT,
            interval=0.2,
            message=lambda: f"both instances assigned partitions: {group_assignment(bootstrap, group)}",
        )
        assert split[0] | split[1] == every_partition and not split[0] & split[1]
        produce(bootstrap, f"{prefix}orders", second)
        wait_for_results(second_app, bootstrap, prefix, expected(user_rows, first + second))

        assert first_app.kill() == -9
        produce(bootstrap, f"{prefix}orders", third)
        wait_for_results(second_app, bootstrap, prefix, expected(user_rows, first + second + third))
        assert group_assignment(bootstrap, group) == [every_partition]
        assert second_app.stop() == 143
    finally:
        first_app.cleanup()
        second_app.cleanup()


def test_streams_rebalance_protocol_is_refused_with_a_clear_error(
    streams_example: StreamsExample,  # noqa: F811 - the fixture imported above
    bootstrap: str,
    tmp_path: Path,
) -> None:
    """Kavka serves no KIP-1071 streams groups (no StreamsGroupHeartbeat in its ApiVersions; see
    docs/compatibility.md): an application asking for ``group.protocol=streams`` stops at once with the
    client's own UnsupportedVersionException (its uncaught-exception handler shuts it down), where Kafka
    4.4 runs it."""
    app = _app(streams_example, bootstrap, tmp_path, **{"group.protocol": "streams"})
    create_topics(bootstrap, app.topic_prefix)
    try:
        app.start()
        with pytest.raises(StreamsExampleError, match=r"exited \(1\)"):
            app.wait_running()
        assert app.states()[-1] == "ERROR", app.log_tail()
        assert (
            "UnsupportedVersionException: The cluster does not support the STREAMS group protocol" in app.log_text()
        ), app.log_tail()
    finally:
        app.cleanup()


def test_the_readme_runs_in_one_command_with_demo_sh(
    streams_example: StreamsExample,  # noqa: F811 - the fixture imported above (the build is cached)
    tmp_path: Path,
) -> None:
    """``examples/kafka-streams/demo.sh --once``, as the README gives it: it starts a broker of its own,
    creates the topics, runs the application, feeds it two users and three orders, prints the totals by
    region the application committed, and stops everything it started."""
    broker_port, console_port = free_port(), free_port()
    env = {
        **os.environ,
        "KAVKA": f"{sys.executable} -m kavka",  # the kavka of this interpreter, installed or not
        "KAVKA_PORT": str(broker_port),
        "KAVKA_CONSOLE_PORT": str(console_port),
        "TMPDIR": str(tmp_path),
    }
    demo = REPO_ROOT / "examples" / "kafka-streams" / "demo.sh"
    done = subprocess.run(["bash", str(demo), "--once"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    totals = done.stdout.split("Totals by region:\n", 1)[1].split("Stopped.", 1)[0]
    assert sorted(totals.splitlines()) == ["eu\t350", "us\t40"], done.stdout
    assert f"Started kavka serve on 127.0.0.1:{broker_port}" in done.stdout
    for port in (broker_port, console_port):  # the broker it started is gone
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
