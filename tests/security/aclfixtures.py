"""Apache Kafka and Kavka with Kafka's StandardAuthorizer, side by side, for the ACL tests.

Both run ``authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer`` with
``allow.everyone.if.no.acl.found`` unset (false). The principal under test (``PRINCIPAL``) connects on
PLAINTEXT from 127.0.0.1: ``User:ANONYMOUS`` (fixture ``acl_pair``). Fixture ``sasl_acl_pair`` runs
the same with an authenticated user: both brokers get a SASL_PLAINTEXT listener (PLAIN with users
``admin`` and ``alice``; SCRAM-SHA-256, where alice has a credential; unsecured OAUTHBEARER), the principal under test is ``User:alice`` (``SASL_PRINCIPAL``) and each
request goes on a connection that authenticated first; the admin is the super user ``User:admin``
on both (Kavka's on its SASL listener).

The admin that sets the ACLs (``tests.security.aclwire``): on Kafka ``User:admin``, a super user, over
the SASL_PLAINTEXT CONTROLLER listener (Kafka's broker must not be ANONYMOUS: its controller would refuse
its registration); on Kavka ``User:ANONYMOUS`` from 127.0.0.2, allowed everything on the cluster by
``ADMIN_ACL``, granted while ANONYMOUS was still a super user (Kavka restarts once without that).
Kafka gets the same ``ADMIN_ACL``, so both describe the same ACLs; it matches no request from 127.0.0.1.

``AclPair.both(api_key, version, body)`` sends the same raw request (as ``PRINCIPAL``) to each and
returns both answers normalised; ``AclPair.set_acls([...])`` makes the ACLs of both exactly
``ADMIN_ACL`` plus the given ones, and waits until each broker enforces them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

from kavka.security.authorizer import Acl, AclOperation, PatternType, PermissionType, ResourceType
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, free_port, wait_until
from tests.needs import require_kafka
from tests.oracle.oraclediff import differences, normalise
from tests.oracle.oraclewire import call
from tests.security.aclwire import ADMIN_SOURCE, Connection, kafka_admin, kavka_admin, sasl_plain

STANDARD_AUTHORIZER = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PRINCIPAL = "User:ANONYMOUS"
SASL_USER, SASL_PASSWORD = "alice", "alice-secret"
SASL_PRINCIPAL = f"User:{SASL_USER}"
DESCRIBE_ACLS, CREATE_ACLS, DELETE_ACLS = 29, 30, 31
CLUSTER = "kafka-cluster"

ADMIN_ACL = Acl(
    ResourceType.CLUSTER, CLUSTER, PatternType.LITERAL, "User:ANONYMOUS", ADMIN_SOURCE, AclOperation.ALL,
    PermissionType.ALLOW,
)  # fmt: skip

_JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    'username="admin" password="admin-secret" user_admin="admin-secret";'
)
# the SASL_PLAINTEXT listener of sasl_acl_pair, on both brokers
USERS_JAAS = (
    "org.apache.kafka.common.security.plain.PlainLoginModule required "
    f'user_admin="admin-secret" user_{SASL_USER}="{SASL_PASSWORD}";'
)
SASL_LISTENER = {
    "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,OAUTHBEARER",
    "listener.name.sasl_plaintext.plain.sasl.jaas.config": USERS_JAAS,
    "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config": (
        "org.apache.kafka.common.security.scram.ScramLoginModule required ;"
    ),
    "listener.name.sasl_plaintext.oauthbearer.sasl.jaas.config": (
        "org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required ;"
    ),
}

KAFKA_OVERRIDES = {
    "num.partitions": "1",
    "authorizer.class.name": STANDARD_AUTHORIZER,
    "super.users": "User:admin",
    "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
    "sasl.mechanism.controller.protocol": "PLAIN",
    "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
    "listener.name.controller.plain.sasl.jaas.config": _JAAS,
    "group.initial.rebalance.delay.ms": "0",
}
KAVKA_OVERRIDES = {
    "num.partitions": "1",
    "authorizer.class.name": STANDARD_AUTHORIZER,
    "super.users": "User:admin",
    "group.initial.rebalance.delay.ms": "0",
}

# alice's SCRAM-SHA-256 credential (AlterUserScramCredentials v0), salted as a client would
ALTER_SCRAM = 51
_SALT = b"alice-salt-0123456789"
SCRAM_UPSERTION = {
    "name": SASL_USER,
    "mechanism": 1,  # SCRAM-SHA-256
    "iterations": 4096,
    "salt": _SALT,
    "salted_password": hashlib.pbkdf2_hmac("sha256", SASL_PASSWORD.encode(), _SALT, 4096),
}

# The "match everything" filter of DeleteAcls / DescribeAcls (ANY codes, null strings).
ALL_ACLS = {
    "resource_type_filter": 1,
    "resource_name_filter": None,
    "pattern_type_filter": 1,
    "principal_filter": None,
    "host_filter": None,
    "operation": 1,
    "permission_type": 1,
}


def acl(
    resource_type: int, name: str, operation: int, permission: int = PermissionType.ALLOW, *,
    pattern: int = PatternType.LITERAL, principal: str = PRINCIPAL, host: str = "*",
) -> Acl:  # fmt: skip
    return Acl(resource_type, name, pattern, principal, host, operation, permission)


def creation(a: Acl) -> dict:
    return {
        "resource_type": a.resource_type,
        "resource_name": a.resource_name,
        "resource_pattern_type": a.pattern_type,
        "principal": a.principal,
        "host": a.host,
        "operation": a.operation,
        "permission_type": a.permission,
    }


def exact_filter(a: Acl) -> dict:
    return {
        "resource_type_filter": a.resource_type,
        "resource_name_filter": a.resource_name,
        "pattern_type_filter": a.pattern_type,
        "principal_filter": a.principal,
        "host_filter": a.host,
        "operation": a.operation,
        "permission_type": a.permission,
    }


def described(conn: Connection) -> set[Acl]:
    answer = conn.call(DESCRIBE_ACLS, 3, dict(ALL_ACLS))
    assert answer["error_code"] == 0, answer
    return {
        Acl(
            r["resource_type"],
            r["resource_name"],
            r["pattern_type"],
            a["principal"],
            a["host"],
            a["operation"],
            a["permission_type"],
        )  # fmt: skip
        for r in answer["resources"]
        for a in r["acls"]
    }


def replace_acls(conn: Connection, acls: Sequence[Acl]) -> None:
    """Through an admin connection: the broker's ACLs become ``ADMIN_ACL`` plus ``acls``."""
    wanted = set(acls) | {ADMIN_ACL}
    stale = described(conn) - wanted
    if stale:
        answer = conn.call(DELETE_ACLS, 3, {"filters": [exact_filter(a) for a in stale]})
        assert all(r["error_code"] == 0 for r in answer["filter_results"]), answer
    answer = conn.call(CREATE_ACLS, 3, {"creations": [creation(a) for a in wanted]})
    assert all(r["error_code"] == 0 for r in answer["results"]), answer


@dataclass
class AclPair:
    """``kafka_sasl`` / ``kavka_sasl``: each broker's SASL_PLAINTEXT port when the principal under test is
    a SASL user (``principal``, authenticated with PLAIN as ``SASL_USER``); None for ``User:ANONYMOUS``
    on the PLAINTEXT listeners."""

    kafka: ApacheKafka
    kavka: BrokerProcess
    kafka_sasl: int | None = None
    kavka_sasl: int | None = None

    @property
    def principal(self) -> str:
        return PRINCIPAL if self.kavka_sasl is None else SASL_PRINCIPAL

    def kafka_admin(self) -> Connection:
        return kafka_admin(self.kafka.host, self.kafka.controller_port)

    def kavka_admin(self) -> Connection:
        if self.kavka_sasl is not None:
            return sasl_plain(self.kavka.host, self.kavka_sasl)
        return kavka_admin(self.kavka.host, self.kavka.port)

    def admins(self) -> list[Callable[[], Connection]]:
        return [self.kafka_admin, self.kavka_admin]

    def ports(self) -> tuple[int, int]:
        """(Kafka's, Kavka's) port of the listener the principal under test connects to."""
        return self.kafka_sasl or self.kafka.port, self.kavka_sasl or self.kavka.port

    def call(self, side: str, api_key: int, version: int, body: dict) -> object:
        """One request as the principal under test, to ``side`` ("kafka" or "kavka"), normalised."""
        broker = self.kafka if side == "kafka" else self.kavka
        sasl = self.kafka_sasl if side == "kafka" else self.kavka_sasl
        if sasl is None:
            answer = call(broker.bootstrap, api_key, version, body)
        else:
            with sasl_plain(broker.host, sasl, SASL_USER, SASL_PASSWORD) as conn:
                answer = conn.call(api_key, version, body)
        return normalise(answer, self._renames(side))

    def both(self, api_key: int, version: int, body: dict) -> tuple[object, object]:
        return self.call("kafka", api_key, version, body), self.call("kavka", api_key, version, body)

    def diff(self, api_key: int, version: int, body: dict) -> list[str]:
        return differences(*self.both(api_key, version, body))

    def _renames(self, side: str) -> dict[str, str]:
        kafka_port, kavka_port = self.ports()
        if side == "kafka":
            return {f":{kafka_port}": ":<port>", str(self.kafka.data_dir): "<log.dirs>"}
        return {f":{kavka_port}": ":<port>", str(self.kavka.data_dir): "<log.dirs>"}

    def set_acls(self, acls: Sequence[Acl]) -> None:
        """Both brokers' ACLs become ``ADMIN_ACL`` plus ``acls``; returns once each enforces them (Kafka
        applies them when its broker replays the committed records)."""
        wanted = set(acls) | {ADMIN_ACL}
        for admin in self.admins():
            with admin() as conn:
                replace_acls(conn, acls)
                wait_until(lambda: described(conn) == wanted, 15, message="ACLs applied")


def _start_kavka(base: Path) -> BrokerProcess:
    """Kavka with ``ADMIN_ACL`` in its metadata: granted while ANONYMOUS is a super user, then restarted
    with ``super.users=User:admin`` only."""
    kavka = BrokerProcess(base / "kavka" / "data", overrides={**KAVKA_OVERRIDES, "super.users": PRINCIPAL})
    kavka.start()
    try:
        with Connection(kavka.host, kavka.port) as conn:
            answer = conn.call(CREATE_ACLS, 3, {"creations": [creation(ADMIN_ACL)]})
            assert answer["results"][0]["error_code"] == 0, answer
        kavka.stop()
        kavka.overrides = dict(KAVKA_OVERRIDES)
        kavka.start()
    except BaseException:
        kavka.stop()
        kavka.cleanup()
        raise
    return kavka


@pytest.fixture(scope="module")
def acl_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclPair]:
    require_kafka()
    base: Path = tmp_path_factory.mktemp("acls")
    kavka = _start_kavka(base)
    kafka = ApacheKafka(base / "kafka", overrides=KAFKA_OVERRIDES)
    try:
        kafka.start()
        try:
            with kafka_admin(kafka.host, kafka.controller_port) as conn:
                replace_acls(conn, [])
            yield AclPair(kafka, kavka)
        finally:
            try:
                kafka.stop()
            finally:
                kafka.cleanup()
    finally:
        kavka.stop()
        kavka.cleanup()


@pytest.fixture(scope="module")
def sasl_acl_pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AclPair]:
    """The pair with a SASL_PLAINTEXT listener each; the principal under test is ``User:alice``."""
    require_kafka()
    base: Path = tmp_path_factory.mktemp("sasl-acls")
    kavka_sasl = free_port()
    kavka = BrokerProcess(base / "kavka" / "data")
    kavka.overrides = {
        **KAVKA_OVERRIDES,
        **SASL_LISTENER,
        "listeners": f"PLAINTEXT://{kavka.host}:{kavka.port},SASL_PLAINTEXT://{kavka.host}:{kavka_sasl}",
    }
    kafka = ApacheKafka(base / "kafka", overrides=KAFKA_OVERRIDES)
    kafka_sasl = free_port()
    h = kafka.host
    kafka.overrides.update(
        {
            **SASL_LISTENER,
            "listeners": f"PLAINTEXT://{h}:{kafka.port},CONTROLLER://{h}:{kafka.controller_port},"
            f"SASL_PLAINTEXT://{h}:{kafka_sasl}",
            "advertised.listeners": f"PLAINTEXT://{h}:{kafka.port},SASL_PLAINTEXT://{h}:{kafka_sasl}",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:SASL_PLAINTEXT,"
            "SASL_PLAINTEXT:SASL_PLAINTEXT",
        }
    )
    kavka.start()
    try:
        kafka.start()
        try:
            pair = AclPair(kafka, kavka, kafka_sasl, kavka_sasl)
            for admin in pair.admins():
                with admin() as conn:
                    replace_acls(conn, [])
                    answer = conn.call(ALTER_SCRAM, 0, {"deletions": [], "upsertions": [SCRAM_UPSERTION]})
                    assert answer["results"][0]["error_code"] == 0, answer
            yield pair
        finally:
            try:
                kafka.stop()
            finally:
                kafka.cleanup()
    finally:
        kavka.stop()
        kavka.cleanup()
