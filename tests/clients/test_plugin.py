"""The ``kavka_broker`` pytest fixture (entry point ``kavka`` -> ``kavka.testing.plugin``) as a user
of Kavka would use it: no Docker, a real broker, any client."""

from __future__ import annotations

from tests.clients.clientlib import Out, ck_produce, ck_read_all, kp_produce


def test_kavka_broker_fixture_serves_clients(kavka_broker, topic_name):
    assert kavka_broker.bootstrap.startswith("127.0.0.1:")
    ck_produce(kavka_broker.bootstrap, topic_name, [Out(b"k", b"from confluent")])
    kp_produce(kavka_broker.bootstrap, topic_name, [Out(b"k", b"from kafka-python")], enable_idempotence=False)
    got = ck_read_all(kavka_broker.bootstrap, topic_name, 1)
    assert [r.value for r in got] == [b"from confluent", b"from kafka-python"]
