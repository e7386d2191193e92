"""quixstreams (confluent-kafka / librdkafka underneath) against Kavka.

A page-view counter as a quixstreams user writes it: an `Application` with exactly-once processing
(transactional producer, offsets sent to the transaction, read_committed consumer) reads JSON page views
keyed by user, filters out bots, counts views per user in a state store (RocksDB locally, backed by a
changelog topic that quix creates with ``cleanup.policy=compact``) and produces the enriched view to an
output topic. A second run with an empty state directory must rebuild the counts from the changelog
and continue from the committed offsets. Skipped when quixstreams is not installed (the ``frameworks``
extra).
"""

from __future__ import annotations

import json
import uuid

import pytest

pytest.importorskip("quixstreams")

from confluent_kafka import Consumer, Producer, TopicPartition  # noqa: E402
from confluent_kafka.admin import AdminClient, ConfigResource  # noqa: E402
from quixstreams import Application, State  # noqa: E402

RUN_TIMEOUT = 20.0  # quix stops a run after this long without a new input message


def _produce(bootstrap: str, topic: str, views: list[dict]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
    for v in views:
        p.produce(topic, key=v["user"].encode(), value=json.dumps(v).encode())
    assert p.flush(15) == 0


def _read_all(bootstrap: str, topic: str, isolation: str = "read_committed") -> list[tuple[bytes, bytes]]:
    """Every record of partition 0, up to its end, as (key, value)."""
    c = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"check-{uuid.uuid4().hex[:6]}",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    try:
        c.assign([TopicPartition(topic, 0, 0)])
        out: list[tuple[bytes, bytes]] = []
        import time

        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is None:
                continue
            if m.error():
                if m.error().code() == -191:  # _PARTITION_EOF
                    return out
                continue
            out.append((m.key(), m.value()))
        raise AssertionError(f"no end of {topic} within 15 s; read {len(out)} records")
    finally:
        c.close()


def _end_offset(bootstrap: str, topic: str) -> int:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"wm-{uuid.uuid4().hex[:6]}"})
    try:
        return c.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        c.close()


def _app(bootstrap: str, group: str, state_dir) -> Application:  # noqa: ANN001
    return Application(
        broker_address=bootstrap,
        consumer_group=group,
        auto_offset_reset="earliest",
        processing_guarantee="exactly-once",
        state_dir=str(state_dir),
        commit_interval=0.5,
        loglevel="WARNING",
        broker_availability_timeout=30,  # fail, not hang, if the broker goes away
    )


def _pipeline(app: Application, source: str, sink: str) -> None:
    views = app.topic(source, value_deserializer="json")
    enriched = app.topic(sink, value_serializer="json")

    def count_view(view: dict, state: State) -> dict:
        n = state.get("views", 0) + 1
        state.set("views", n)
        return {"user": view["user"], "page": view["page"], "views": n}

    sdf = app.dataframe(views)
    sdf = sdf.filter(lambda v: not v["user"].startswith("bot-"))
    sdf = sdf.apply(count_view, stateful=True)
    sdf = sdf.to_topic(enriched)


def test_quixstreams_exactly_once_stateful_counter(bootstrap, create_topic, tmp_path):
    source = create_topic()
    sink = create_topic()
    group = f"pageviews-{uuid.uuid4().hex[:8]}"

    first = [
        {"user": "ada", "page": "/"},
        {"user": "bot-1", "page": "/robots.txt"},
        {"user": "bob", "page": "/pricing"},
        {"user": "ada", "page": "/docs"},
        {"user": "ada", "page": "/blog"},
    ]
    _produce(bootstrap, source, first)
    app = _app(bootstrap, group, tmp_path / "state1")
    _pipeline(app, source, sink)
    results = app.run(count=4, timeout=RUN_TIMEOUT)
    assert [(r["user"], r["views"]) for r in results] == [("ada", 1), ("bob", 1), ("ada", 2), ("ada", 3)]

    out = [(k, json.loads(v)) for k, v in _read_all(bootstrap, sink)]
    assert [(k, v["views"]) for k, v in out] == [(b"ada", 1), (b"bob", 1), (b"ada", 2), (b"ada", 3)]
    # Exactly once: the output is transactional (commit markers take offsets too) and nothing was aborted.
    assert len(_read_all(bootstrap, sink, "read_uncommitted")) == 4
    assert _end_offset(bootstrap, sink) > 4

    # The changelog topic: created by quix, compacted, holding the committed state.
    admin = AdminClient({"bootstrap.servers": bootstrap})
    changelogs = [t for t in admin.list_topics(timeout=10).topics if t.startswith("changelog__") and group in t]
    assert len(changelogs) == 1, changelogs
    changelog = changelogs[0]
    res = ConfigResource(ConfigResource.Type.TOPIC, changelog)
    cfg = admin.describe_configs([res])[res].result(15)
    assert cfg["cleanup.policy"].value == "compact"
    # Quix writes each checkpoint's last value per key ("<message key>|<state key>"): the latest wins.
    latest = {k: json.loads(v) for k, v in _read_all(bootstrap, changelog)}
    assert latest == {b'ada|"views"': 3, b'bob|"views"': 1}

    # Second run: fresh state dir, so the store is rebuilt from the changelog; new input continues the counts.
    second = [{"user": "bob", "page": "/signup"}, {"user": "bot-2", "page": "/"}, {"user": "ada", "page": "/"}]
    _produce(bootstrap, source, second)
    app2 = _app(bootstrap, group, tmp_path / "state2")
    _pipeline(app2, source, sink)
    results2 = app2.run(count=2, timeout=RUN_TIMEOUT)
    assert [(r["user"], r["views"]) for r in results2] == [("bob", 2), ("ada", 4)]

    out = [(k, json.loads(v)) for k, v in _read_all(bootstrap, sink)]
    assert [(k, v["views"]) for k, v in out] == [
        (b"ada", 1),
        (b"bob", 1),
        (b"ada", 2),
        (b"ada", 3),
        (b"bob", 2),
        (b"ada", 4),
    ]
    # The group's committed offset covers every input record (committed inside the transactions).
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False})
    try:
        assert c.committed([TopicPartition(source, 0)], timeout=10)[0].offset == len(first) + len(second)
    finally:
        c.close()
