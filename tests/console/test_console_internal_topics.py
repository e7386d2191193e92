"""Kafka's internal topics (``kavka.metadata.internal_topics``): Metadata reports ``is_internal`` for
``__consumer_offsets``, ``__transaction_state`` and ``__share_group_state`` only (Kafka's
``Topic.isInternal``), and the console shows and filters the same set; a user topic whose name starts
with ``__`` is an ordinary topic."""

from __future__ import annotations

from confluent_kafka.admin import AdminClient, NewTopic
from kafka.admin import KafkaAdminClient

NAMES = ["__consumer_offsets", "__transaction_state", "__share_group_state", "__private", "plain"]
INTERNAL = {"__consumer_offsets", "__transaction_state", "__share_group_state"}


def test_internal_topics_in_metadata_and_the_console(console_env):
    admin = AdminClient({"bootstrap.servers": console_env.bootstrap})
    for _name, f in admin.create_topics([NewTopic(n, 1, 1) for n in NAMES]).items():
        f.result(15)
    k = KafkaAdminClient(bootstrap_servers=console_env.bootstrap)
    try:
        described = {d["name"]: d["is_internal"] for d in k.describe_topics(NAMES)}  # Metadata v1+
    finally:
        k.close()
    assert described == {n: n in INTERNAL for n in NAMES}
    listed = {t["name"]: t["internal"] for t in console_env.get("/api/topics").json()["topics"]}
    assert {n: listed[n] for n in NAMES} == described
    shown = {t["name"] for t in console_env.get("/api/topics?internal=0").json()["topics"]}
    assert shown & set(NAMES) == {"__private", "plain"}
    r = console_env.send("POST", "/api/topics/__private/messages", {"value": "mine"})
    assert r.status == 201, r.text
