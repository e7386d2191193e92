"""Auto-creation from Metadata requests with ``num.partitions`` (``auto.create.topics.enable``, default true):
producers ask for the topic's metadata before they produce, so producing to a new topic creates it."""

from __future__ import annotations

import pytest
from confluent_kafka import KafkaError
from confluent_kafka.admin import AdminClient

from kavka.testing.process import wait_until
from tests.clients.clientlib import Out, ck_produce, ck_read_all, kp_produce


@pytest.fixture(scope="module")
def broker3(tmp_path_factory):
    """A broker whose auto-created topics get 3 partitions."""
    from kavka.testing.process import BrokerProcess

    b = BrokerProcess(tmp_path_factory.mktemp("autocreate") / "data", overrides={"num.partitions": 3})
    b.start()
    yield b
    b.stop()
    b.cleanup()


def partitions_of(bootstrap: str, topic: str) -> int:
    md = AdminClient({"bootstrap.servers": bootstrap}).list_topics(timeout=10).topics.get(topic)
    return 0 if md is None or md.error is not None else len(md.partitions)


def test_produce_auto_creates_topic_with_num_partitions(broker3, topic_name):
    delivered = ck_produce(broker3.bootstrap, topic_name, [Out(b"k", b"v")])
    assert delivered[0].offset == 0
    assert partitions_of(broker3.bootstrap, topic_name) == 3
    got = ck_read_all(broker3.bootstrap, topic_name, 3)
    assert [(r.key, r.value) for r in got] == [(b"k", b"v")]


def test_kafka_python_metadata_auto_creates_topic(broker3, topic_name):
    # kafka-python's producer asks Metadata with allow_auto_topic_creation=true before its first send.
    kp_produce(broker3.bootstrap, topic_name, [Out(None, b"v")])
    assert partitions_of(broker3.bootstrap, topic_name) == 3


def test_no_auto_create_when_disabled(broker_factory, topic_name):
    b = broker_factory({"auto.create.topics.enable": "false"})
    results = ck_produce(b.bootstrap, topic_name, [Out(None, b"v")], check=False, message_timeout_ms=3000)
    assert isinstance(results[0], Exception)
    assert results[0].args[0].code() in (KafkaError.UNKNOWN_TOPIC_OR_PART, KafkaError._MSG_TIMED_OUT), results[0]
    wait_until(lambda: partitions_of(b.bootstrap, topic_name) == 0, 5, message="topic absent")
