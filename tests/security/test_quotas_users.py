"""Kafka's quota precedence with authenticated users, on Apache Kafka and on Kavka: quotas on users,
client ids, user + client id pairs and their ``<default>`` entities, set with ``kavka configs
--command-config`` (SASL PLAIN), and which of them a producer logged in as alice or bob, with client id
c1 or c2, is held to. The most specific entity wins, in Kafka's order: user+client, user+<default>
client, user, <default> user+client, <default> user+<default> client, <default> user, client,
<default> client.

A probe is one 50 kB Produce on a fresh SASL connection; its throttle time says whether the quota that
applies is the strict one (500 B/s: throttled) or the lenient one (1 GB/s: not).
"""

from __future__ import annotations

import uuid

from kavka.protocol.records import Record, build_batch
from kavka.testing.process import create_topic as create_on
from kavka.testing.process import wait_until
from tests.security.aclwire import sasl_plain
from tests.security.test_quotas_sasl import USERS, _kavka, _props
from tests.security.test_quotas_sasl import sasl_kafka as sasl_kafka  # noqa: F401  (the fixtures)
from tests.security.test_quotas_sasl import sasl_kafka_broker as sasl_kafka_broker  # noqa: F401
from tests.security.test_quotas_sasl import sasl_kavka_broker as sasl_kavka_broker  # noqa: F401

PRODUCE = 0
STRICT, LENIENT = "500", "1000000000"
PROBES = [("alice", "c1"), ("alice", "c2"), ("bob", "c1"), ("bob", "c2")]


def _throttled(sasl: str, topic: str, user: str, client_id: str) -> bool:
    host, port = sasl.rsplit(":", 1)
    batch = build_batch([Record(0, 1_700_000_000_000, None, b"x" * 50_000)])
    body = {
        "transactional_id": None,
        "acks": 1,
        "timeout": 30000,
        "topic_data": [{"name": topic, "partition_data": [{"index": 0, "records": batch}]}],
    }
    with sasl_plain(host, int(port), user, USERS[user], client_id=client_id) as conn:
        answer = conn.call(PRODUCE, 9, body)
    assert answer["responses"][0]["partition_responses"][0]["error_code"] == 0, answer
    return answer["throttle_time"] > 0


# (the entity's options for kavka configs, its producer_byte_rate, then whether each of PROBES is
# throttled once it is set on top of the steps before)
STEPS = [
    (["--client-defaults"], STRICT, [True, True, True, True]),
    (["--client", "{c1}"], LENIENT, [False, True, False, True]),
    (["--user-defaults"], STRICT, [True, True, True, True]),
    (["--user-defaults", "--client", "{c1}"], LENIENT, [False, True, False, True]),
    (["--user", "alice"], LENIENT, [False, False, False, True]),
    (["--user", "alice", "--client-defaults"], STRICT, [True, True, False, True]),
    (["--user", "alice", "--client", "{c1}"], LENIENT, [False, True, False, True]),
]


def test_quota_precedence_for_users_and_client_ids(sasl_kafka, tmp_path):  # noqa: F811
    broker, sasl = sasl_kafka
    topic = f"quota-users-{uuid.uuid4().hex[:6]}"
    create_on(broker.bootstrap, topic)
    run = uuid.uuid4().hex[:6]  # client ids of this run only: a sensor's bytes outlive a quota change
    ids = {"c1": f"c1-{run}", "c2": f"c2-{run}"}
    admin = _props(tmp_path, "bob", USERS["bob"])
    entities = []
    try:
        for options, rate, expected in STEPS:
            entity = [o.format(**ids) for o in options]
            entities.append(entity)
            done = _kavka("configs", "alter", *entity, "--add-config", f"producer_byte_rate={rate}",
                          "-b", sasl, "--command-config", admin)  # fmt: skip
            assert done.exit_code == 0, done.output

            def seen(expected=expected):
                got = [_throttled(sasl, topic, u, ids[c]) for u, c in PROBES]
                return got if got == expected else None

            wait_until(seen, 20, message=lambda e=entity, x=expected: f"after {e}: {x}")
    finally:
        for entity in entities:
            _kavka("configs", "alter", *entity, "--delete-config", "producer_byte_rate",
                   "-b", sasl, "--command-config", admin)  # fmt: skip


def test_describe_shows_the_user_and_client_entity(sasl_kafka, tmp_path):  # noqa: F811
    """``kavka configs alter / describe --user U --client C`` over SASL print kafka-configs' lines for
    the pair (the alter line names the user only, as Kafka's ConfigCommand does)."""
    _, sasl = sasl_kafka
    user = "alice"
    admin = _props(tmp_path, user, USERS[user])
    client = f"cd-{uuid.uuid4().hex[:6]}"
    done = _kavka("configs", "alter", "--user", user, "--client", client, "--add-config",
                  "consumer_byte_rate=2048", "-b", sasl, "--command-config", admin)  # fmt: skip
    assert done.output.strip() == f"Completed updating config for user {user}.", done.output
    shown = _kavka("configs", "describe", "--user", user, "--client", client, "-b", sasl, "--command-config", admin)
    assert shown.output.strip() == (
        f"Quota configs for user-principal '{user}', client-id '{client}' are consumer_byte_rate=2048.0"
    ), shown.output


def test_consumer_byte_rate_per_user(sasl_kafka, tmp_path):  # noqa: F811
    """consumer_byte_rate on user alice throttles her Fetch and not bob's, with the same client id."""
    broker, sasl = sasl_kafka
    topic = f"quota-fetch-{uuid.uuid4().hex[:6]}"
    create_on(broker.bootstrap, topic)
    run = uuid.uuid4().hex[:6]
    assert not _throttled(sasl, topic, "bob", f"w-{run}")  # 50 kB to read
    host, port = sasl.rsplit(":", 1)
    fetch = {
        "replica_id": -1, "max_wait": 0, "min_bytes": 1, "max_bytes": 1 << 20, "isolation_level": 0,
        "session_id": 0, "session_epoch": -1, "forgotten_topics_data": [], "rack_id": "",
        "topics": [{"topic": topic, "partitions": [{"partition": 0, "fetch_offset": 0, "partition_max_bytes": 1 << 20}]}],
    }  # fmt: skip

    def fetch_throttled(user: str) -> bool:
        with sasl_plain(host, int(port), user, USERS[user], client_id=f"f-{run}") as conn:
            answer = conn.call(1, 12, fetch)
        assert answer["error_code"] == 0, answer
        return answer["throttle_time"] > 0

    admin = _props(tmp_path, "bob", USERS["bob"])
    done = _kavka("configs", "alter", "--user", "alice", "--add-config", "consumer_byte_rate=500",
                  "-b", sasl, "--command-config", admin)  # fmt: skip
    assert done.exit_code == 0, done.output
    try:
        wait_until(lambda: fetch_throttled("alice"), 20, message="alice's fetch throttled")
        assert not fetch_throttled("bob")
    finally:
        _kavka("configs", "alter", "--user", "alice", "--delete-config", "consumer_byte_rate",
               "-b", sasl, "--command-config", admin)  # fmt: skip
