"""The console's JSON API against a real broker, with confluent-kafka producing and consuming."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
import uuid

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from kavka.testing.process import wait_until


def produce_with_confluent(bootstrap: str, topic: str, records: list[tuple]) -> None:
    p = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2_random", "linger.ms": 0})
    errors = []

    def delivered(err, _msg):
        if err is not None:
            errors.append(err)

    for r in records:
        key, value, *rest = r
        p.produce(topic, key=key, value=value, headers=rest[0] if rest else None, on_delivery=delivered)
    assert p.flush(20) == 0
    assert errors == []


def consume_all(bootstrap: str, topic: str, partitions: int, expected: int, timeout: float = 20.0) -> list:
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": f"g-{uuid.uuid4().hex[:6]}", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    out = []
    deadline = time.monotonic() + timeout
    try:
        while len(out) < expected and time.monotonic() < deadline:
            m = c.poll(0.5)
            if m is not None and not m.error():
                out.append(m)
    finally:
        c.close()
    return out


def test_overview(console_env):
    o = console_env.get("/api/overview").json()
    broker = console_env.broker.server.broker
    assert o["cluster_id"] == broker.cluster_id and o["node_id"] == broker.node_id
    assert o["roles"] == ["broker", "controller"] and o["kraft"] is True
    assert o["health"]["ActiveControllerCount"] == 1
    assert o["health"]["UnderReplicatedPartitions"] == 0 and o["health"]["OfflinePartitionsCount"] == 0
    assert o["listeners"][0]["port"] == int(console_env.bootstrap.rsplit(":", 1)[1])
    assert o["log_dirs"][0]["path"] == console_env.broker.data_dir.rstrip("/")
    assert o["uptime_s"] >= 0 and o["version"]
    # the requests table's figures as the last tick had them, so a page shows them before its first tick
    assert set(o["requests_avg_ms"]) == set(o["requests_rate"])
    assert all(v is None or v >= 0 for v in o["requests_avg_ms"].values())


def test_topics_and_messages_after_confluent_produce(console_env):
    admin = AdminClient({"bootstrap.servers": console_env.bootstrap})
    name = f"orders-{uuid.uuid4().hex[:8]}"
    admin.create_topics([NewTopic(name, 3, 1, config={"cleanup.policy": "compact"})])[name].result(20)
    records = [(f"k{i % 4}".encode(), json.dumps({"n": i}).encode(), [("src", b"test")]) for i in range(20)]
    records.append((b"bin", bytes([0, 1, 2, 255])))  # a compacted topic refuses records without a key
    produce_with_confluent(console_env.bootstrap, name, records)

    topics = {t["name"]: t for t in console_env.get("/api/topics").json()["topics"]}
    t = topics[name]
    assert t["partitions"] == 3 and t["replication_factor"] == 1 and t["cleanup_policy"] == "compact"
    assert t["records"] == 21 and t["size_bytes"] > 0

    detail = console_env.get(f"/api/topics/{name}").json()
    assert [p["partition"] for p in detail["partitions"]] == [0, 1, 2]
    assert sum(p["high_watermark"] for p in detail["partitions"]) == 21
    for p in detail["partitions"]:
        assert p["leader"] == 1 and p["replicas"] == [1] and p["isr"] == [1] and p["segments"] == 1
        assert p["log_start_offset"] == 0 and p["log_end_offset"] == p["last_stable_offset"] == p["high_watermark"]
    cfg = {c["name"]: c for c in detail["configs"]}
    assert cfg["cleanup.policy"]["value"] == "compact" and cfg["cleanup.policy"]["override"]
    assert cfg["retention.ms"]["source"] == "DEFAULT_CONFIG"

    seen = []
    for p in range(3):
        page = console_env.get(f"/api/topics/{name}/messages?partition={p}&order=oldest&limit=100").json()
        assert page["high_watermark"] == detail["partitions"][p]["high_watermark"]
        assert [r["offset"] for r in page["records"]] == list(range(page["high_watermark"]))
        seen += page["records"]
    jsons = [r for r in seen if r["value"]["type"] == "json"]
    assert len(jsons) == 20
    assert sorted(json.loads(r["value"]["text"])["n"] for r in jsons) == list(range(20))
    assert all(
        r["headers"] == [{"key": "src", "value": {"type": "text", "text": "test", "size": 4, "truncated": False}}]
        for r in jsons
    )
    assert all(r["key"]["type"] == "text" and r["timestamp_type"] == "CreateTime" for r in jsons)
    [binary] = [r for r in seen if r["value"]["type"] == "binary"]
    assert binary["value"]["text"] == "00 01 02 ff" and binary["key"]["text"] == "bin"


def test_browse_newest_first_offset_and_timestamp(console_env):
    name = console_env.create_topic(partitions=1)
    t0 = int(time.time() * 1000)
    for i in range(30):
        r = console_env.send("POST", f"/api/topics/{name}/messages", {"key": "k", "value": f"v{i}"})
        assert r.status == 201 and r.json()["offset"] == i
    base = f"/api/topics/{name}/messages?partition=0"
    newest = console_env.get(base + "&order=newest&limit=5").json()
    assert [r["offset"] for r in newest["records"]] == [29, 28, 27, 26, 25] and newest["next_offset"] == 24
    older = console_env.get(base + "&order=newest&limit=5&offset=24").json()
    assert [r["offset"] for r in older["records"]] == [24, 23, 22, 21, 20]
    at = console_env.get(base + "&order=oldest&limit=3&offset=10").json()
    assert [r["value"]["text"] for r in at["records"]] == ["v10", "v11", "v12"] and at["next_offset"] == 13
    by_time = console_env.get(base + f"&timestamp={t0}&limit=1").json()
    assert by_time["records"][0]["offset"] == 0
    future = console_env.get(base + f"&timestamp={t0 + 3_600_000}").json()
    assert future["records"] == []


def test_create_and_delete_topic(console_env):
    name = f"made-{uuid.uuid4().hex[:8]}"
    r = console_env.send(
        "POST",
        "/api/topics",
        {"name": name, "partitions": 4, "replication_factor": 1, "configs": {"retention.ms": "3600000"}},
    )
    assert r.status == 201 and r.json()["partitions"] == 4
    admin = AdminClient({"bootstrap.servers": console_env.bootstrap})
    md = wait_until(lambda: admin.list_topics(topic=name, timeout=5).topics.get(name), 15)
    assert len(md.partitions) == 4
    again = console_env.send("POST", "/api/topics", {"name": name, "partitions": 1})
    assert again.status == 409 and "TOPIC_ALREADY_EXISTS" in again.json()["error"]
    bad = console_env.send("POST", "/api/topics", {"name": "x" + uuid.uuid4().hex, "configs": {"nope.config": "1"}})
    assert bad.status == 400 and "error" in bad.json()
    assert console_env.send("DELETE", f"/api/topics/{name}").json() == {"name": name, "deleted": True}
    wait_until(lambda: name not in admin.list_topics(timeout=5).topics, 15)
    gone = console_env.send("DELETE", f"/api/topics/{name}")
    assert gone.status == 404 and "does not exist" in gone.json()["error"]


def test_alter_topic_configs(console_env):
    name = console_env.create_topic(partitions=1)
    r = console_env.send("PATCH", f"/api/topics/{name}/configs", {"set": {"retention.ms": "123456"}})
    assert r.status == 200
    cfg = {c["name"]: c for c in r.json()["configs"]}
    assert cfg["retention.ms"]["value"] == "123456" and cfg["retention.ms"]["source"] == "DYNAMIC_TOPIC_CONFIG"
    plog = console_env.on_loop(lambda: console_env.broker.server.broker.replica_manager.get(name, 0).log)
    assert plog.config.retention_ms == 123456  # applied to the live log
    r = console_env.send("PATCH", f"/api/topics/{name}/configs", {"delete": ["retention.ms"]})
    cfg = {c["name"]: c for c in r.json()["configs"]}
    assert cfg["retention.ms"]["source"] == "DEFAULT_CONFIG"
    bad = console_env.send("PATCH", f"/api/topics/{name}/configs", {"set": {"retention.ms": "soon"}})
    assert bad.status == 400 and "INVALID_CONFIG" in bad.json()["error"]


def test_produce_via_console_then_consume_with_confluent(console_env):
    name = console_env.create_topic(partitions=3)
    from kafka.partitioner.default import murmur2

    sent = []
    for i, key in enumerate(["alice", "bob", "carol", "dave"]):
        r = console_env.send(
            "POST",
            f"/api/topics/{name}/messages",
            {"key": key, "value": f"hello {i}", "headers": [{"key": "h", "value": str(i)}]},
        )
        assert r.status == 201
        res = r.json()
        assert res["partition"] == (murmur2(key.encode()) & 0x7FFFFFFF) % 3  # Java's default partitioner
        sent.append(res)
    pinned = console_env.send("POST", f"/api/topics/{name}/messages", {"value": "pinned", "partition": 2}).json()
    assert pinned["partition"] == 2
    got = consume_all(console_env.bootstrap, name, 3, 5)
    by_value = {m.value(): m for m in got}
    assert set(by_value) == {b"hello 0", b"hello 1", b"hello 2", b"hello 3", b"pinned"}
    m = by_value[b"hello 1"]
    assert m.key() == b"bob" and m.headers() == [("h", b"1")] and m.partition() == sent[1]["partition"]
    assert m.offset() == sent[1]["offset"] and by_value[b"pinned"].key() is None
    bad = console_env.send("POST", f"/api/topics/{name}/messages", {"value": "x", "partition": 7})
    assert bad.status == 400 and "partitions 0..2" in bad.json()["error"]


def test_partitioner_matches_kafka_python(console_env):
    from kafka.partitioner.default import murmur2

    for key in ["", "a", "alice", "user-42", "ключ", "x" * 37]:
        for n in (1, 3, 7, 64):
            r = console_env.get(f"/api/partitioner?key={urllib.request.quote(key)}&partitions={n}").json()
            assert r["partition"] == (murmur2(key.encode()) & 0x7FFFFFFF) % n
            assert r["positive"] == murmur2(key.encode()) & 0x7FFFFFFF
    name = console_env.create_topic(partitions=5)
    r = console_env.get(f"/api/partitioner?key=alice&topic={name}").json()
    assert r["partitions"] == 5 and r["partition"] == (murmur2(b"alice") & 0x7FFFFFFF) % 5
    assert console_env.get("/api/partitioner?key=a&partitions=0").status == 400


def test_explorer(console_env):
    name = console_env.create_topic(partitions=2)
    produce_with_confluent(console_env.bootstrap, name, [(b"alice", b"1"), (b"bob", b"2"), (None, b"3")] * 3)
    data = console_env.get(f"/api/topics/{name}/explorer?per_partition=4").json()
    assert data["count"] == 2
    blocks = [b for p in data["partitions"] for b in p["blocks"]]
    assert 1 <= len(blocks) <= 8
    for p in data["partitions"]:
        assert all(b["offset"] >= p["high_watermark"] - 4 for b in p["blocks"])
        for b in p["blocks"]:
            if b["key"] is not None:
                assert p["partition"] == b["key_hash"] % 2


def test_consumer_group_lag_and_reset(console_env):
    name = console_env.create_topic(partitions=2)
    produce_with_confluent(console_env.bootstrap, name, [(f"k{i}".encode(), b"v") for i in range(10)])
    group = f"grp-{uuid.uuid4().hex[:8]}"
    c = Consumer(
        {
            "bootstrap.servers": console_env.bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
        }
    )
    c.subscribe([name])
    got = 0
    deadline = time.monotonic() + 30
    while got < 10 and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got += 1
            if got == 6:
                c.commit(message=m, asynchronous=False)
    assert got == 10
    try:
        groups = {g["group_id"]: g for g in console_env.get("/api/groups").json()["groups"]}
        assert groups[group]["state"] == "Stable" and groups[group]["members"] == 1
        assert groups[group]["topics"] == [name]
        d = console_env.get(f"/api/groups/{group}").json()
        # no page watched the group yet: its lag history starts with the lag now, for the chart on load
        assert [h["lag"] for h in d["history"]] == [d["total_lag"]]
        [member] = d["members"]
        assert member["assignment"] == {name: [0, 1]}
        committed = {o["partition"]: o for o in d["offsets"]}
        hws = console_env.get(f"/api/topics/{name}").json()["partitions"]
        assert (
            d["total_lag"] == sum(o["lag"] for o in d["offsets"]) == 10 - sum(o["committed"] or 0 for o in d["offsets"])
        )
        for p in hws:
            row = committed[p["partition"]]
            assert row["high_watermark"] == p["high_watermark"]
        r = console_env.send("POST", f"/api/groups/{group}/reset", {"topic": name, "to": "earliest"})
        assert r.status == 409 and "inactive" in r.json()["error"]
    finally:
        c.close()
    wait_until(
        lambda: console_env.get(f"/api/groups/{group}").json()["state"] == "Empty",
        30,
        message="group empty after the consumer left",
    )
    r = console_env.send("POST", f"/api/groups/{group}/reset", {"topic": name, "to": "latest"})
    assert r.status == 200, r.text
    d = console_env.get(f"/api/groups/{group}").json()
    assert d["total_lag"] == 0 and all(o["committed"] == o["high_watermark"] for o in d["offsets"])
    r = console_env.send(
        "POST", f"/api/groups/{group}/reset", {"topic": name, "to": "offset", "value": 1, "partitions": [0]}
    )
    assert r.json()["offsets"] == [{"topic": name, "partition": 0, "offset": 1}]
    d = console_env.get(f"/api/groups/{group}").json()
    p0 = next(o for o in d["offsets"] if o["partition"] == 0)
    assert p0["committed"] == 1 and d["total_lag"] == p0["high_watermark"] - 1
    # /metrics: kafka_exporter's names, the same figures
    from prometheus_client.parser import text_string_to_metric_families

    lags = {
        s.labels["partition"]: s.value
        for f in text_string_to_metric_families(console_env.get("/metrics").text)
        for s in f.samples
        if s.name == "kafka_consumergroup_lag" and s.labels["consumergroup"] == group
    }
    assert sum(lags.values()) == d["total_lag"] and lags["0"] == p0["lag"]


def test_tail_streams_new_records(console_env):
    name = console_env.create_topic(partitions=1)
    console_env.send("POST", f"/api/topics/{name}/messages", {"value": "before"})
    events = []
    ready = threading.Event()

    def listen():
        with urllib.request.urlopen(f"{console_env.url}/api/topics/{name}/partitions/0/tail", timeout=20) as resp:
            assert resp.headers["Content-Type"].startswith("text/event-stream")
            event = None
            for raw in resp:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    events.append((event, json.loads(line[6:])))
                    if event == "start":
                        ready.set()
                    if sum(1 for e, _ in events if e == "record") == 2:
                        return

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert ready.wait(10)
    produce_with_confluent(console_env.bootstrap, name, [(b"k", b"after-1")])
    console_env.send("POST", f"/api/topics/{name}/messages", {"value": "after-2"})
    t.join(20)
    records = [d for e, d in events if e == "record"]
    assert [r["value"]["text"] for r in records] == ["after-1", "after-2"]
    assert [r["offset"] for r in records] == [1, 2]


def test_event_stream_ticks(console_env):
    name = console_env.create_topic(partitions=2)
    with urllib.request.urlopen(f"{console_env.url}/api/events?channels=overview,topic:{name}", timeout=10) as resp:
        for raw in resp:
            line = raw.decode()
            if line.startswith("data: "):
                tick = json.loads(line[6:])
                break
    assert set(tick["overview"]["rates"]) == {
        "BytesInPerSec",
        "BytesOutPerSec",
        "MessagesInPerSec",
        "IsrShrinksPerSec",
        "IsrExpandsPerSec",
    }
    assert tick["overview"]["health"]["ActiveControllerCount"] == 1
    assert tick[f"topic:{name}"] == {
        "0": {"high_watermark": 0, "log_start_offset": 0},
        "1": {"high_watermark": 0, "log_start_offset": 0},
    }


@pytest.mark.parametrize(
    "body, headers, status",
    [
        (b"name=evil", {"Content-Type": "application/x-www-form-urlencoded"}, 415),
        (b'{"name": "evil"}', {"Content-Type": "application/json", "Origin": "http://evil.example"}, 403),
        (b'{"name": "evil"}', {"Content-Type": "application/json", "Host": "evil.example"}, 403),
    ],
)
def test_cross_site_changes_are_refused(console_env, body, headers, status):
    r = console_env.send("POST", "/api/topics", body, headers=headers)
    assert r.status == status
    assert "evil" not in {t["name"] for t in console_env.get("/api/topics").json()["topics"]}


def test_errors_are_json_messages(console_env):
    r = console_env.send("POST", "/api/topics", b"{not json", headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json() == {"error": "The request body is not valid JSON."}
    r = console_env.get("/api/topics/no-such-topic")
    assert r.status == 404 and "does not exist" in r.json()["error"]
    r = console_env.get("/api/topics/no-such-topic/messages?partition=0")
    assert r.status == 404
    r = console_env.get(f"/api/topics/{console_env.create_topic(partitions=1)}/messages?partition=0&offset=abc")
    assert r.status == 400 and "whole number" in r.json()["error"]
