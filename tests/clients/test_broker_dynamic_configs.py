"""Dynamic broker configs of the full catalogue on a private broker (issue 13): a cluster-wide
``message.max.bytes`` takes effect at once for topics without their own ``max.message.bytes``; configs of
features Kavka lacks, thread counts and custom names are stored as ConfigRecords in the metadata log and
survive a restart, described as before; deleting the default gives the static value back, live. The
log cleaner's dynamic configs reach the running cleaner.
"""

from __future__ import annotations

from confluent_kafka import KafkaError, KafkaException
from confluent_kafka.admin import ConfigSource

from kavka.storage.cleaner import DEDUPE_LOAD_FACTOR, MAP_ENTRY_BYTES
from kavka.testing.embedded import EmbeddedBroker
from kavka.testing.process import wait_until
from tests.clients import adminwire
from tests.clients.clientlib import Out, ck_produce, now_ms
from tests.clients.test_admin_configs import BROKER, SET, admin_for, describe, incremental


def test_catalogue_configs_live_and_after_a_restart(broker_factory, create_topic):
    # A Kafka server.properties with settings Kavka does not act on starts, saying so in one line each.
    b = broker_factory(
        overrides={"num.network.threads": "3", "sasl.kerberos.service.name": "kafka", "no.such.key": "1"}
    )
    log = b.log_text()
    assert "kavka: warning: num.network.threads is accepted but has no effect in Kavka" in log
    assert "kavka: warning: sasl.kerberos.service.name is accepted but has no effect in Kavka" in log
    assert "kavka: warning: unknown config no.such.key ignored" in log
    admin = admin_for(b.bootstrap)
    topic = create_topic(bootstrap=b.bootstrap)
    # message.max.bytes as the cluster default: the topic (no override) refuses a 5000-byte record now.
    assert adminwire.incremental_alter(b.bootstrap, adminwire.BROKER, "", [("message.max.bytes", "SET", "3000")]) == (
        0,
        None,
    )
    [res] = ck_produce(b.bootstrap, topic, [Out(b"k", b"y" * 5000)], check=False, message_timeout_ms=10_000)
    assert isinstance(res, KafkaException) and res.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    changes = [
        ("sasl.kerberos.min.time.before.relogin", SET, "60001"),
        ("num.io.threads", SET, "12"),
        ("my.custom.setting", SET, "on"),
    ]
    assert incremental(admin, BROKER, "1", changes) is None
    b.restart()
    admin = admin_for(b.bootstrap)
    wait_until(lambda: topic in admin.list_topics(timeout=5).topics, 15, message="topic after restart")
    configs = describe(admin, BROKER, "1")
    assert configs["sasl.kerberos.min.time.before.relogin"].value == "60001"
    assert configs["num.io.threads"].value == "12"
    assert configs["num.io.threads"].source == ConfigSource.DYNAMIC_BROKER_CONFIG.value
    custom = configs["my.custom.setting"]  # as Kafka shows a custom config: no value, sensitive, read-only
    assert (custom.value, custom.is_sensitive, custom.is_read_only) == (None, True, True)
    assert configs["message.max.bytes"].value == "3000"
    assert configs["message.max.bytes"].source == ConfigSource.DYNAMIC_DEFAULT_BROKER_CONFIG.value
    [res] = ck_produce(b.bootstrap, topic, [Out(b"k", b"y" * 5000)], check=False, message_timeout_ms=10_000)
    assert isinstance(res, KafkaException) and res.args[0].code() == KafkaError.MSG_SIZE_TOO_LARGE
    # The limits of Kafka's thread pools hold against the value in force after the restart (12).
    error = incremental(admin, BROKER, "1", [("num.io.threads", SET, "25")])
    assert error is not None and "value should not be greater than double the current value 12" in error.str()
    # Deleting the default: the record fits again, without a restart.
    assert adminwire.incremental_alter(b.bootstrap, adminwire.BROKER, "", [("message.max.bytes", "DELETE", None)]) == (
        0,
        None,
    )
    ck_produce(b.bootstrap, topic, [Out(b"k", b"y" * 5000)])


def test_log_cleaner_configs_change_live(tmp_path):
    """log.cleaner.backoff.ms / io.buffer.size / dedupe.buffer.size are cluster-wide dynamic in Kafka,
    which restarts its cleaner threads with them: Kavka's cleaner takes them at once and looks again."""
    with EmbeddedBroker(str(tmp_path), {"log.cleaner.backoff.ms": "3600000"}) as b:
        cleaner = b.server.broker.log_manager.cleaner
        wait_until(lambda: cleaner._next_look_ms > 0, 15, message="the cleaner's first idle look")
        changes = [
            ("log.cleaner.backoff.ms", "SET", "100"),
            ("log.cleaner.io.buffer.size", "SET", "1048576"),
            ("log.cleaner.dedupe.buffer.size", "SET", str(64 * 1024 * 1024)),
        ]
        assert adminwire.incremental_alter(b.bootstrap, adminwire.BROKER, "", changes) == (0, None)
        assert (cleaner.backoff_ms, cleaner.io_buffer_size) == (100, 1048576)
        assert cleaner.max_map_entries == int(64 * 1024 * 1024 * DEDUPE_LOAD_FACTOR) // MAP_ENTRY_BYTES
        # an idle cleaner that would have slept an hour looks again within a tick
        wait_until(lambda: 0 < cleaner._next_look_ms < now_ms() + 60_000, 15, message="a new look")
        deleted = [(name, "DELETE", None) for name, _, _ in changes]
        assert adminwire.incremental_alter(b.bootstrap, adminwire.BROKER, "", deleted) == (0, None)
        assert (cleaner.backoff_ms, cleaner.io_buffer_size) == (3600000, 512 * 1024)
