"""The ACL matrix with an authenticated principal: ``User:alice`` over SASL PLAIN on Apache Kafka and
on Kavka (``aclfixtures.sasl_acl_pair``), every case of ``test_acls_matrix`` with its ACLs (and
filters) naming alice instead of ``User:ANONYMOUS``, the answers compared field by field; and what confluent-kafka, logged in as alice, is told with and without her ACLs.
"""

from __future__ import annotations

import dataclasses
import ssl
import uuid
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer

from kavka.protocol.records import Record, build_batch
from kavka.security.authorizer import Acl, PatternType
from kavka.security.authorizer import AclOperation as Op
from kavka.security.authorizer import ResourceType as R
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.certs import CLIENT_DN, make_pki
from kavka.testing.process import BrokerProcess, free_port, wait_until
from tests.needs import require_kafka
from tests.oracle.oraclediff import differences, normalise
from tests.security import test_acls_matrix as matrix
from tests.security.aclfixtures import (
    ADMIN_ACL,
    PRINCIPAL,
    SASL_PASSWORD,
    SASL_PRINCIPAL,
    SASL_USER,
    STANDARD_AUTHORIZER,
    USERS_JAAS,
    AclPair,
    acl,
    described,
    replace_acls,
)
from tests.security.aclfixtures import sasl_acl_pair as sasl_acl_pair  # noqa: F401  (the module's fixture)
from tests.security.aclwire import Connection, sasl_plain
from tests.security.quotawire import set_quota
from tests.security.tlsenv import TlsPorts, tls_settings


def _as_alice(value):
    """A case's ACLs and body with ``User:ANONYMOUS`` (the matrix's principal) replaced by alice."""
    if isinstance(value, Acl):
        principal = SASL_PRINCIPAL if value.principal == PRINCIPAL else value.principal
        return dataclasses.replace(value, principal=principal)
    if isinstance(value, dict):
        return {k: _as_alice(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_alice(v) for v in value]
    return SASL_PRINCIPAL if value == PRINCIPAL else value


CASES = [_as_alice(list(c)) for c in matrix.CASES]


def test_the_cases_name_alice_instead_of_anonymous():
    granted = {a.principal for c in CASES for a in c[1]}
    assert granted == {SASL_PRINCIPAL, "User:*", "User:bob"}, granted
    assert PRINCIPAL not in repr([c[4] for c in CASES]) and SASL_PRINCIPAL in repr([c[4] for c in CASES])


@pytest.fixture(scope="module")
def pair(sasl_acl_pair: AclPair) -> AclPair:  # noqa: F811
    """The pair with the matrix's topics, created by each admin."""
    assert sasl_acl_pair.principal == SASL_PRINCIPAL
    for admin in sasl_acl_pair.admins():
        with admin() as conn:
            for name in (matrix.TOPIC, matrix.HIDDEN):
                body = {**matrix.create_topics(name), "validate_only": False}
                answer = conn.call(matrix.CREATE_TOPICS, 7, body)
                assert answer["topics"][0]["error_code"] in (0, 36), answer
    for side in (sasl_acl_pair.kafka, sasl_acl_pair.kavka):
        wait_until(lambda: matrix._has_leader(side.bootstrap), 30, message=f"{matrix.TOPIC} led on {side.bootstrap}")
    return sasl_acl_pair


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_acl_matrix_as_a_sasl_user(pair: AclPair, case) -> None:
    _, acls, api_key, version, body = case
    pair.set_acls(acls)
    if case[0] == "metadata-autocreate-create-topic":
        kafka, kavka = wait_until(lambda: matrix._created(pair.both(api_key, version, body)), 30, message="created")
    elif api_key == matrix.INIT_PRODUCER_ID:
        kafka, kavka = wait_until(lambda: matrix._settled(pair.both(api_key, version, body)), 30, message="pids")
    else:
        kafka, kavka = pair.both(api_key, version, body)
    found = differences(matrix._tidy(kafka), matrix._tidy(kavka))
    assert found == [], "\n".join(found) + f"\nkafka={kafka}\nkavka={kavka}"


def test_an_acl_for_anonymous_gives_alice_nothing(pair: AclPair) -> None:
    """The principal is the authenticated user's: WRITE granted to User:ANONYMOUS does not let alice
    produce, on either broker."""
    pair.set_acls([acl(R.TOPIC, matrix.TOPIC, Op.WRITE, principal=PRINCIPAL)])
    for answer in pair.both(matrix.PRODUCE, 9, matrix.produce()):
        assert answer["responses"][0]["partition_responses"][0]["error_code"] == 29, answer  # TOPIC_AUTHORIZATION


# --- confluent-kafka logged in as alice -------------------------------------------------------------


def _conf(host: str, port: int, **extra) -> dict:
    return {
        "bootstrap.servers": f"{host}:{port}",
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": "PLAIN",
        "sasl.username": SASL_USER,
        "sasl.password": SASL_PASSWORD,
        **extra,
    }


def _produce_error(conf: dict, topic: str) -> int | None:
    errors: list = []
    p = Producer({**conf, "message.timeout.ms": 10000})
    p.produce(topic, b"v", on_delivery=lambda err, msg: errors.append(err))
    p.flush(15)
    assert errors, "no delivery report"
    return None if errors[0] is None else errors[0].code()


def _consume_error(conf: dict, topic: str, group: str) -> int | None:
    """The first error a group consumer of ``topic`` sees (None once it read a message)."""
    c = Consumer({**conf, "group.id": group, "auto.offset.reset": "earliest", "session.timeout.ms": 10000})
    try:
        c.subscribe([topic])
        for _ in range(60):
            msg = c.poll(0.5)
            if msg is None:
                continue
            if msg.error() is None:
                return None
            if msg.error().code() != KafkaError._PARTITION_EOF:
                return msg.error().code()
        pytest.fail("neither a message nor an error in 30 s")
    finally:
        c.close()


def _transaction_error(conf: dict, txn_id: str) -> int | None:
    p = Producer({**conf, "transactional.id": txn_id, "transaction.timeout.ms": 10000})
    try:
        p.init_transactions(15)
    except KafkaException as e:
        return e.args[0].code()
    return None


def _side(pair: AclPair, side: str) -> dict:
    broker = pair.kafka if side == "kafka" else pair.kavka
    return _conf(broker.host, pair.kafka_sasl if side == "kafka" else pair.kavka_sasl)


def test_confluent_kafka_as_alice_without_and_with_acls(pair: AclPair) -> None:
    topic, group, txn = matrix.TOPIC, f"alice-g-{uuid.uuid4().hex[:6]}", "alice-tx"
    seen: dict[str, list] = {}
    steps = [
        ([], "produce"),
        ([acl(R.TOPIC, topic, Op.WRITE, principal=SASL_PRINCIPAL)], "produce"),
        ([acl(R.TOPIC, topic, Op.READ, principal=SASL_PRINCIPAL)], "consume"),  # no GROUP READ
        (
            [
                acl(R.TOPIC, topic, Op.READ, principal=SASL_PRINCIPAL),
                acl(R.GROUP, "alice-g-", Op.READ, pattern=PatternType.PREFIXED, principal=SASL_PRINCIPAL),
            ],
            "consume",
        ),
        ([acl(R.TOPIC, topic, Op.WRITE, principal=SASL_PRINCIPAL)], "transaction"),
        (
            [acl(R.TRANSACTIONAL_ID, txn, Op.WRITE, principal=SASL_PRINCIPAL)],
            "transaction",
        ),
    ]
    for acls, what in steps:
        pair.set_acls(acls)
        for side in ("kafka", "kavka"):
            conf = _side(pair, side)
            if what == "produce":
                got = _produce_error(conf, topic)
            elif what == "consume":
                got = _consume_error(conf, topic, group)
            else:
                got = _transaction_error(conf, txn)
            seen.setdefault(side, []).append((what, got))
    assert seen["kavka"] == seen["kafka"]
    assert seen["kafka"] == [
        ("produce", KafkaError.TOPIC_AUTHORIZATION_FAILED),
        ("produce", None),
        ("consume", KafkaError.GROUP_AUTHORIZATION_FAILED),
        ("consume", None),
        ("transaction", KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED),
        ("transaction", None),
    ], seen


# --- a certificate's principal (mTLS) -----------------------------------------------------------------

# DN: a client certificate required, the default rule (User: + the subject); MTLS: the same, with a
# mapping rule making the principal User:client@acme
MAPPING_RULE = "RULE:^CN=(.*?),OU=(.*?),O=(.*?),C=(.*?)$/$1@$3/L,DEFAULT"
DN_PRINCIPAL, MAPPED_PRINCIPAL = f"User:{CLIENT_DN}", "User:client@acme"


def _mtls_settings(pki, ports: TlsPorts, dn: int, sasl_ssl: int, controller: int | None) -> dict[str, str]:
    extra = f",CONTROLLER://127.0.0.1:{controller}" if controller else ""
    settings = tls_settings(
        pki,
        ports,
        extra_listeners=f",DN://127.0.0.1:{dn},SASL_SSL://127.0.0.1:{sasl_ssl}{extra}",
        extra_map=",DN:SSL,SASL_SSL:SASL_SSL" + (",CONTROLLER:PLAINTEXT" if controller else ""),
    )
    settings["advertised.listeners"] += f",DN://127.0.0.1:{dn},SASL_SSL://127.0.0.1:{sasl_ssl}"
    return {
        **settings,
        # SASL_SSL asks for a certificate too, but its principal is SASL's (KIP-684)
        "listener.name.sasl_ssl.ssl.client.auth": "required",
        "listener.name.sasl_ssl.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_ssl.plain.sasl.jaas.config": USERS_JAAS,
        "listener.name.dn.ssl.client.auth": "required",
        "listener.name.mtls.ssl.principal.mapping.rules": MAPPING_RULE,
        "authorizer.class.name": STANDARD_AUTHORIZER,
        "super.users": PRINCIPAL,  # the PLAINTEXT admin (and Kafka's own broker, on PLAINTEXT)
        "num.partitions": "1",
    }


@pytest.fixture(scope="module")
def mtls_pair(tmp_path_factory):
    """{"kafka": (host, plaintext, ports), "kavka": ...}: both brokers with the DN and MTLS listeners."""
    require_kafka()
    base = tmp_path_factory.mktemp("mtls-acls")
    pki = make_pki(base / "pki")
    ports, dn, sasl_ssl = TlsPorts.free(), free_port(), free_port()
    kavka = BrokerProcess(
        base / "kavka", port=ports.plaintext, overrides=_mtls_settings(pki, ports, dn, sasl_ssl, None)
    )
    kafka = ApacheKafka(base / "kafka")
    kports, kdn, ksasl_ssl = TlsPorts(kafka.port, free_port(), free_port()), free_port(), free_port()
    kafka.overrides.update(_mtls_settings(pki, kports, kdn, ksasl_ssl, kafka.controller_port))
    kavka.start()
    try:
        kafka.start()
        try:
            sides = {"kafka": (kafka, kports, kdn, ksasl_ssl), "kavka": (kavka, ports, dn, sasl_ssl)}
            for broker, *_ in sides.values():
                with Connection(broker.host, broker.port) as conn:
                    body = {**matrix.create_topics(matrix.TOPIC), "validate_only": False}
                    assert conn.call(matrix.CREATE_TOPICS, 7, body)["topics"][0]["error_code"] in (0, 36)
                wait_until(lambda b=broker: matrix._has_leader(b.bootstrap), 30, message="the topic led")
            yield pki, sides
        finally:
            try:
                kafka.stop()
            finally:
                kafka.cleanup()
    finally:
        kavka.stop()
        kavka.cleanup()


def _mtls_call(pki, side, listener: str, api_key: int, version: int, body: dict, raw: bool = False) -> Any:
    """One request on a TLS connection with the client certificate; normalised unless ``raw`` (the
    oracle's normalisation hides throttle times)."""
    broker, ports, dn, _ = side
    ctx = ssl.create_default_context(cafile=pki.ca_pem)
    ctx.load_cert_chain(pki.client_cert_pem, pki.client_key_pem)
    port = dn if listener == "dn" else ports.mtls
    with Connection("127.0.0.1", port, tls=ctx) as conn:
        answer = conn.call(api_key, version, body)
    return answer if raw else normalise(answer, {f":{port}": ":<port>"})


MTLS_CASES = [
    ("dn-produce-none", "dn", [], matrix.PRODUCE, 9, matrix.produce()),
    ("dn-produce-write", "dn", [(DN_PRINCIPAL, Op.WRITE)], matrix.PRODUCE, 9, matrix.produce()),
    ("dn-produce-mapped-acl", "dn", [(MAPPED_PRINCIPAL, Op.WRITE)], matrix.PRODUCE, 9, matrix.produce()),
    ("dn-metadata-describe", "dn", [(DN_PRINCIPAL, Op.DESCRIBE)], matrix.METADATA, 12, matrix.metadata()),
    ("mapped-produce-write", "mtls", [(MAPPED_PRINCIPAL, Op.WRITE)], matrix.PRODUCE, 9, matrix.produce()),
    ("mapped-produce-dn-acl", "mtls", [(DN_PRINCIPAL, Op.WRITE)], matrix.PRODUCE, 9, matrix.produce()),
    ("mapped-fetch-read", "mtls", [(MAPPED_PRINCIPAL, Op.READ)], matrix.FETCH, 12, matrix.fetch()),
]


@pytest.mark.parametrize("case", MTLS_CASES, ids=[c[0] for c in MTLS_CASES])
def test_acls_for_a_certificates_principal(mtls_pair, case) -> None:
    """The principal of a client certificate (default rule, and ``ssl.principal.mapping.rules`` on the
    listener) is what ACLs match, as on Kafka configured the same way."""
    pki, sides = mtls_pair
    _, listener, grants, api_key, version, body = case
    acls = [acl(R.TOPIC, matrix.TOPIC, op, principal=p) for p, op in grants]
    answers = []
    for broker, *_ in sides.values():
        with Connection(broker.host, broker.port) as conn:
            replace_acls(conn, acls)
            wanted = set(acls) | {ADMIN_ACL}
            wait_until(lambda c=conn: described(c) == wanted, 15, message="ACLs applied")
    for side in sides.values():
        answers.append(_mtls_call(pki, side, listener, api_key, version, body))
    kafka, kavka = answers
    found = differences(matrix._tidy(kafka), matrix._tidy(kavka))
    assert found == [], "\n".join(found) + f"\nkafka={kafka}\nkavka={kavka}"
    if api_key == matrix.PRODUCE:
        code = kavka["responses"][0]["partition_responses"][0]["error_code"]
        assert code == (0 if case[0] in ("dn-produce-write", "mapped-produce-write") else 29), kavka


def test_a_certificates_principal_is_its_quota_user(mtls_pair) -> None:
    """The mapped certificate principal ``User:client@acme`` is quota user ``client@acme``: a
    producer_byte_rate on it throttles the MTLS listener's producer and not the same certificate on the
    DN listener (principal ``User:CN=...``), on Kafka and on Kavka alike."""
    pki, sides = mtls_pair
    acls = [acl(R.TOPIC, matrix.TOPIC, Op.WRITE, principal=p) for p in (DN_PRINCIPAL, MAPPED_PRINCIPAL)]
    big = {
        **matrix.produce(),
        "topic_data": [
            {
                "name": matrix.TOPIC,
                "partition_data": [
                    {"index": 0, "records": build_batch([Record(0, 1_700_000_000_000, None, b"x" * 50_000)])}
                ],
            }
        ],
    }
    seen = {}
    for kind, side in sides.items():
        broker = side[0]
        with Connection(broker.host, broker.port) as conn:
            replace_acls(conn, acls)
            wait_until(lambda c=conn: described(c) == set(acls) | {ADMIN_ACL}, 15, message="ACLs applied")
        set_quota(broker.bootstrap, [("user", "client@acme")], {"producer_byte_rate": 500.0})
        try:
            last: list = []

            def throttles(side=side):
                got = last
                got.clear()
                for listener in ("mtls", "dn"):
                    answer = _mtls_call(pki, side, listener, matrix.PRODUCE, 9, big, raw=True)
                    assert answer["responses"][0]["partition_responses"][0]["error_code"] == 0, answer
                    got.append(answer["throttle_time"] > 0)
                return got if got[0] else None

            seen[kind] = wait_until(throttles, 15, message=lambda k=kind: f"the quota applied on {k}: {last}")
        finally:
            set_quota(broker.bootstrap, [("user", "client@acme")], {"producer_byte_rate": None})
    assert seen == {"kafka": [True, False], "kavka": [True, False]}


# --- the tools as alice -------------------------------------------------------------------------------


def _jaas_properties(path, user: str, password: str) -> str:
    path.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{user}" password="{password}";\n'
    )
    return str(path)


def test_tools_with_a_command_config_act_as_its_user(pair: AclPair, tmp_path) -> None:
    """Kafka's kafka-acls with the admin's --command-config grants alice DESCRIBE on one topic; then
    ``kavka topics list`` and kafka-topics with alice's --command-config list that topic only, and
    ``kavka topics create`` as alice is refused: the same on Kafka and on Kavka."""
    from click.testing import CliRunner

    from kavka.cli.main import main

    pair.set_acls([])
    admin = _jaas_properties(tmp_path / "admin.properties", "admin", "admin-secret")
    alice = _jaas_properties(tmp_path / "alice.properties", SASL_USER, SASL_PASSWORD)
    granted = acl(R.TOPIC, matrix.TOPIC, Op.DESCRIBE, principal=SASL_PRINCIPAL)
    seen = {}
    for side, port, admin_conn in (
        ("kafka", pair.kafka_sasl, pair.kafka_admin),
        ("kavka", pair.kavka_sasl, pair.kavka_admin),
    ):
        bootstrap = f"127.0.0.1:{port}"
        added = pair.kafka.run_tool(
            "org.apache.kafka.tools.AclCommand",
            ["--bootstrap-server", bootstrap, "--command-config", admin, "--add", "--allow-principal",
             SASL_PRINCIPAL, "--operation", "Describe", "--topic", matrix.TOPIC],
        )  # fmt: skip
        assert added.returncode == 0, added.stderr
        with admin_conn() as conn:
            wait_until(lambda c=conn: granted in described(c), 15, message="the tool's ACL applied")
        runner = CliRunner()
        listed = runner.invoke(main, ["topics", "list", "-b", bootstrap, "--command-config", alice], prog_name="kavka")
        java_listed = pair.kafka.run_tool(
            "org.apache.kafka.tools.TopicCommand",
            ["--bootstrap-server", bootstrap, "--command-config", alice, "--list"],
        )
        created = runner.invoke(
            main,
            ["topics", "create", "acl-by-alice", "-b", bootstrap, "--command-config", alice],
            prog_name="kavka",
        )
        seen[side] = (listed.exit_code, listed.output, java_listed.stdout, created.exit_code, created.output)
    assert seen["kavka"] == seen["kafka"]
    assert seen["kafka"][:3] == (0, f"{matrix.TOPIC}\n", f"{matrix.TOPIC}\n"), seen
    assert seen["kafka"][3:] == (1, "Error: Authorization failed.\n"), seen  # TOPIC_AUTHORIZATION_FAILED


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "OAUTHBEARER"])
def test_every_mechanism_gives_the_same_principal(pair: AclPair, mechanism) -> None:
    """alice logged in with SCRAM (a credential in the metadata log) or an unsecured OAUTHBEARER token
    (sub=alice) is ``User:alice`` to the authorizer, as with PLAIN: refused without her ACL, allowed
    with it, on Kafka and on Kavka."""
    seen: dict[str, list] = {"kafka": [], "kavka": []}
    extra = (
        {"enable.sasl.oauthbearer.unsecure.jwt": True, "sasl.oauthbearer.config": f"principal={SASL_USER}"}
        if mechanism == "OAUTHBEARER"
        else {}
    )
    for acls in ([], [acl(R.TOPIC, matrix.TOPIC, Op.WRITE, principal=SASL_PRINCIPAL)]):
        pair.set_acls(acls)
        for side in seen:
            conf = {**_side(pair, side), "sasl.mechanism": mechanism, **extra}
            if mechanism == "OAUTHBEARER":
                del conf["sasl.username"], conf["sasl.password"]
            seen[side].append(_produce_error(conf, matrix.TOPIC))
    assert seen == {s: [KafkaError.TOPIC_AUTHORIZATION_FAILED, None] for s in seen}, seen


def test_on_sasl_ssl_the_principal_is_the_sasl_users(mtls_pair) -> None:
    """A SASL_SSL listener that requires a client certificate still takes its principal from SASL:
    alice's ACL lets her produce, the certificate's does not, on Kafka and on Kavka."""
    pki, sides = mtls_pair
    ctx = ssl.create_default_context(cafile=pki.ca_pem)
    ctx.load_cert_chain(pki.client_cert_pem, pki.client_key_pem)
    seen: dict[str, list[int]] = {"kafka": [], "kavka": []}
    for principal in (DN_PRINCIPAL, SASL_PRINCIPAL):
        acls = [acl(R.TOPIC, matrix.TOPIC, Op.WRITE, principal=principal)]
        for kind, (broker, _, _, sasl_ssl) in sides.items():
            with Connection(broker.host, broker.port) as conn:
                replace_acls(conn, acls)
                wait_until(lambda c=conn: described(c) == set(acls) | {ADMIN_ACL}, 15, message="ACLs applied")
            with sasl_plain("127.0.0.1", sasl_ssl, SASL_USER, SASL_PASSWORD, tls=ctx) as conn:
                answer = conn.call(matrix.PRODUCE, 9, matrix.produce())
            seen[kind].append(answer["responses"][0]["partition_responses"][0]["error_code"])
    assert seen == {"kafka": [29, 0], "kavka": [29, 0]}, seen
