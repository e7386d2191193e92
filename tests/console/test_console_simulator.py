"""The live simulator: real confluent-kafka clients whose records land in the broker; consumers share
the partitions and move them when one stops."""

from __future__ import annotations

import json
import time

from confluent_kafka import Consumer, TopicPartition

from kavka.testing.process import wait_until


def _sim(env) -> dict:
    return env.get("/api/simulator").json()


def test_simulated_producer_records_land_in_the_broker(console_env):
    topic = console_env.create_topic(partitions=3)
    r = console_env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 50, "keys": "alice,bob,carol"})
    assert r.status == 201, r.text
    pid, number = r.json()["id"], r.json()["number"]
    broker = console_env.broker.server.broker

    def hw_total():
        return console_env.on_loop(
            lambda: sum(broker.replica_manager.get(topic, i).log.high_watermark for i in range(3))
        )

    wait_until(lambda: hw_total() >= 20, 20, message="simulated records in the broker")
    state = console_env.send("DELETE", f"/api/simulator/clients/{pid}").json()
    assert pid not in [p["id"] for p in state["producers"] if p["running"]]
    total = hw_total()
    time.sleep(0.3)
    assert hw_total() == total  # stopped means stopped

    # what a real consumer reads is what the simulator sent, placed by murmur2 like Java clients
    from kafka.partitioner.default import murmur2

    c = Consumer({"bootstrap.servers": console_env.bootstrap, "group.id": "check", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, i, 0) for i in range(3)])
    got = []
    deadline = time.monotonic() + 20
    while len(got) < total and time.monotonic() < deadline:
        m = c.poll(0.5)
        if m is not None and not m.error():
            got.append(m)
    c.close()
    assert len(got) == total
    for m in got:
        assert m.key().decode() in {"alice", "bob", "carol"}
        assert m.partition() == (murmur2(m.key()) & 0x7FFFFFFF) % 3
        assert json.loads(m.value())["producer"] == number  # as the page and the event log name it


def test_consumers_share_partitions_and_rebalance(console_env):
    topic = console_env.create_topic(partitions=4)
    group = f"g-{topic}"
    p = console_env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 40, "keys": ""}).json()
    a = console_env.send("POST", "/api/simulator/consumers", {"topic": topic, "group": group, "rate": 0}).json()
    b = console_env.send("POST", "/api/simulator/consumers", {"topic": topic, "group": group, "rate": 0}).json()

    def consumers():
        return {c["id"]: c for c in _sim(console_env)["consumers"] if c["running"]}

    def split():
        cs = consumers()
        parts = sorted(x for c in cs.values() for x in c["assigned"])
        return len(cs) == 2 and parts == [0, 1, 2, 3] and all(c["assigned"] for c in cs.values())

    wait_until(split, 30, message="two consumers splitting four partitions")
    wait_until(lambda: all(c["consumed"] > 0 for c in consumers().values()), 30, message="both consuming")
    console_env.send("DELETE", f"/api/simulator/clients/{b['id']}")
    wait_until(
        lambda: list(consumers()) == [a["id"]] and consumers()[a["id"]]["assigned"] == [0, 1, 2, 3],
        30,
        message="the remaining consumer takes every partition",
    )
    state = _sim(console_env)
    texts = [e["text"] for e in console_env.on_loop(lambda: console_env.runner.console.simulator.events_since(0, 500))]
    assert any(f"consumer {b['number']} stopped" in t for t in texts)
    assert any(f"consumer {a['number']} assigned [0, 1, 2, 3]" in t for t in texts)
    assert state["groups"][0]["group"] == group and state["groups"][0]["members"] == [a["id"]]
    # lag falls to zero once the producer stops and the consumer catches up
    console_env.send("DELETE", f"/api/simulator/clients/{p['id']}")
    wait_until(lambda: _sim(console_env)["groups"][0]["lag"] == 0, 30, message="lag back to zero")
    final = console_env.send("DELETE", "/api/simulator").json()
    assert not [c for c in final["consumers"] + final["producers"] if c["running"]]


def test_simulator_offers_its_own_topic(console_env):
    # not the README's `orders`, which `kavka bench` fills: a new group there starts a million behind
    assert {k: _sim(console_env)[k] for k in ("default_topic", "default_partitions")} == {
        "default_topic": "simulator-orders",
        "default_partitions": 3,
    }


def test_simulator_refuses_bad_input(console_env):
    r = console_env.send("POST", "/api/simulator/producers", {"topic": "no-such-topic", "rate": 1})
    assert r.status == 404 and "does not exist" in r.json()["error"]
    topic = console_env.create_topic(partitions=1)
    r = console_env.send("POST", "/api/simulator/producers", {"topic": topic, "rate": 100000})
    assert r.status == 400 and "rate" in r.json()["error"]
    assert console_env.send("DELETE", "/api/simulator/clients/999").status == 404


def test_clients_are_numbered_per_kind_with_ids_unique_across_kinds(console_env):
    topic = console_env.create_topic(partitions=1)
    send = console_env.send
    p1 = send("POST", "/api/simulator/producers", {"topic": topic, "rate": 1}).json()
    c1 = send("POST", "/api/simulator/consumers", {"topic": topic, "group": f"g-{topic}", "rate": 1}).json()
    c2 = send("POST", "/api/simulator/consumers", {"topic": topic, "group": f"g-{topic}", "rate": 1}).json()
    p2 = send("POST", "/api/simulator/producers", {"topic": topic, "rate": 1}).json()
    # each kind counts on by one, whatever the other kind did in between; the event log uses the same names
    assert (c2["number"], p2["number"]) == (c1["number"] + 1, p1["number"] + 1)
    assert [c["name"] for c in (p1, c1, c2, p2)] == [
        f"producer {p1['number']}",
        f"consumer {c1['number']}",
        f"consumer {c2['number']}",
        f"producer {p2['number']}",
    ]
    assert len({c["id"] for c in (p1, c1, c2, p2)}) == 4  # the API's ids stay unambiguous
    # stopping by id stops that client, named as the page names it
    state = send("DELETE", f"/api/simulator/clients/{c2['id']}").json()
    assert c2["id"] not in [c["id"] for c in state["consumers"]]
    texts = [e["text"] for e in console_env.on_loop(lambda: console_env.runner.console.simulator.events_since(0, 500))]
    assert f"consumer {c2['number']} stopped" in texts
    assert any(t.startswith(f"consumer {c1['number']} joined group g-{topic}") for t in texts)
    send("DELETE", "/api/simulator")


def test_positions_name_exactly_the_assigned_partitions(console_env):
    topic = console_env.create_topic(partitions=3)
    group = f"g-{topic}"
    send = console_env.send
    send("POST", "/api/simulator/producers", {"topic": topic, "rate": 40, "keys": ""})
    a = send("POST", "/api/simulator/consumers", {"topic": topic, "group": group, "rate": 0}).json()

    def running():
        return {c["id"]: c for c in _sim(console_env)["consumers"] if c["running"]}

    def positions_follow(count):
        cs = running()
        return (
            len(cs) == count
            and sorted(p for c in cs.values() for p in c["assigned"]) == [0, 1, 2]
            and all(c["assigned"] and [int(p) for p in c["positions"]] == c["assigned"] for c in cs.values())
        )

    wait_until(lambda: positions_follow(1), 30, message="one consumer with a position on each partition")
    # a second consumer takes some partitions over: the first keeps positions for what it still owns only
    b = send("POST", "/api/simulator/consumers", {"topic": topic, "group": group, "rate": 0}).json()
    wait_until(lambda: positions_follow(2), 30, message="two consumers, positions matching assignments")
    send("DELETE", f"/api/simulator/clients/{b['id']}")
    wait_until(lambda: positions_follow(1) and a["id"] in running(), 30, message="the first takes every partition")
    send("DELETE", "/api/simulator")
