#!/usr/bin/env python3
"""The cost of ACL checks on the produce path with 10,000 ACLs.

1. In process (kavka.broker.authz over kavka.security.authorizer): the check a Produce request makes
   (WRITE on its topics, ``filter_authorized``), per request, against an index of N ACLs (a third
   literal, a third prefixed, a third for other principals, a few wildcards and DENYs), with the
   decision cache cold (cleared before each check: the first request after an ACL change) and warm;
   and the time to rebuild the index after an ACL change.
2. End to end (``--e2e``): confluent-kafka producing M records of 100 B to a Kavka broker subprocess
   with no authorizer, then to one with Kafka's StandardAuthorizer and the N ACLs (created with one
   CreateAcls), records/s for each.

    .venv/bin/python bench/acls.py                    # 10,000 ACLs, in process
    .venv/bin/python bench/acls.py --e2e --records 300000

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

from benchlib import machine
from kavka.broker.authz import BrokerAuthorizer, filter_authorized
from kavka.metadata.records import AccessControlEntryRecord
from kavka.security.authorizer import AclOperation, PatternType, PermissionType, ResourceType

STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PRINCIPAL = "User:producer"


def make_acls(n: int) -> list[AccessControlEntryRecord]:
    import uuid

    out = []
    for i in range(n):
        kind = i % 3
        if kind == 0:  # literal, this principal, WRITE
            name, pattern, principal = f"topic-{i}", PatternType.LITERAL, PRINCIPAL
        elif kind == 1:  # prefixed, of many lengths
            name, pattern, principal = f"team{i % 97}-svc{i}", PatternType.PREFIXED, PRINCIPAL
        else:  # other principals
            name, pattern, principal = f"topic-{i}", PatternType.LITERAL, f"User:u{i}"
        permission = PermissionType.DENY if i % 50 == 49 else PermissionType.ALLOW
        out.append(
            AccessControlEntryRecord(
                uuid.uuid4(), ResourceType.TOPIC, name, pattern, principal, "*", AclOperation.WRITE, permission
            )
        )
    out.append(
        AccessControlEntryRecord(
            uuid.uuid4(),
            ResourceType.TOPIC,
            "*",
            PatternType.LITERAL,
            "User:monitor",
            "*",
            AclOperation.DESCRIBE,
            PermissionType.ALLOW,
        )  # fmt: skip
    )
    return out


class _Config(dict):
    """The two things BrokerAuthorizer reads from a BrokerConfig."""

    authorizer_configs: dict = {}

    def __init__(self) -> None:
        super().__init__({"authorizer.class.name": STANDARD})


def in_process(n: int, rounds: int) -> None:
    records = {r.id: r for r in make_acls(n)}
    az = BrokerAuthorizer(_Config(), lambda: records)
    t0 = time.perf_counter()
    az.current()
    build = time.perf_counter() - t0
    ctx = SimpleNamespace(
        broker=SimpleNamespace(authz=az), conn=SimpleNamespace(principal=PRINCIPAL, peer=("10.1.2.3", 5555))
    )
    topics = [f"topic-{i * 3}" for i in range(0, 200)] + [f"team{i % 97}-svc{i}-orders" for i in range(1, 600, 3)]
    # cold: the cache cleared before each check
    t0 = time.perf_counter()
    for i in range(rounds):
        az.authorizer._cache.clear()
        filter_authorized(ctx, AclOperation.WRITE, ResourceType.TOPIC, (topics[i % len(topics)],))
    cold = (time.perf_counter() - t0) / rounds
    t0 = time.perf_counter()
    for i in range(rounds):
        filter_authorized(ctx, AclOperation.WRITE, ResourceType.TOPIC, (topics[i % len(topics)],))
    warm = (time.perf_counter() - t0) / rounds
    allowed = len(filter_authorized(ctx, AclOperation.WRITE, ResourceType.TOPIC, topics))
    print(f"ACLs: {len(records)}  index build after a change: {build * 1e3:.1f} ms")
    print(f"one-topic Produce check, cold cache: {cold * 1e6:.2f} us; warm: {warm * 1e6:.2f} us")
    print(f"({allowed}/{len(topics)} of the probe topics writable)")


def e2e(n: int, records: int, repeat: int) -> None:
    from confluent_kafka import Producer
    from confluent_kafka.admin import AclBinding, AdminClient

    from kavka.testing.process import BrokerProcess, create_topic

    def run(overrides: dict, grant: bool) -> float:
        with tempfile.TemporaryDirectory() as d:
            b = BrokerProcess(Path(d) / "data", overrides=overrides)
            b.start()
            try:
                create_topic(b.bootstrap, "bench-acl", partitions=1)
                if grant:
                    from confluent_kafka.admin import AclOperation as O
                    from confluent_kafka.admin import AclPermissionType as PT
                    from confluent_kafka.admin import ResourcePatternType as RPT
                    from confluent_kafka.admin import ResourceType as RT

                    bindings = [
                        AclBinding(RT(a.resource_type), a.resource_name, RPT(a.pattern_type), a.principal, a.host,
                                   O(a.operation), PT(a.permission_type))
                        for a in make_acls(n)
                    ]  # fmt: skip
                    # the wildcard ACL above makes every topic one with ACLs: grant the bench topic
                    bindings.append(
                        AclBinding(RT.TOPIC, "bench-acl", RPT.LITERAL, "User:ANONYMOUS", "*", O.WRITE, PT.ALLOW)
                    )
                    admin = AdminClient({"bootstrap.servers": b.bootstrap})
                    for f in admin.create_acls(bindings, request_timeout=60).values():
                        f.result(timeout=60)
                p = Producer({"bootstrap.servers": b.bootstrap, "linger.ms": 5, "acks": 1})
                value = b"v" * 100
                t0 = time.perf_counter()
                for _ in range(records):
                    while True:
                        try:
                            p.produce("bench-acl", value)
                            break
                        except BufferError:
                            p.poll(0.01)
                p.flush(120)
                return records / (time.perf_counter() - t0)
            finally:
                b.stop()

    # ANONYMOUS may write the bench topic by one literal ACL among the N; cluster ops by the no-ACL default.
    # Alternated, best of `repeat` each: the machine is shared, single runs vary by tens of percent.
    secured_overrides = {"authorizer.class.name": STANDARD, "allow.everyone.if.no.acl.found": "true"}
    plain, secured = [], []
    for _ in range(repeat):
        plain.append(run({}, False))
        secured.append(run(secured_overrides, True))
    print(f"produce, no authorizer: {max(plain):,.0f} records/s (runs: {', '.join(f'{x:,.0f}' for x in plain)})")
    print(
        f"produce, StandardAuthorizer with {n:,} ACLs: {max(secured):,.0f} records/s "
        f"(runs: {', '.join(f'{x:,.0f}' for x in secured)})"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acls", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=200_000)
    ap.add_argument("--e2e", action="store_true")
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    print(machine())
    in_process(args.acls, args.rounds)
    if args.e2e:
        e2e(args.acls, args.records, args.repeat)
    return 0


if __name__ == "__main__":
    sys.exit(main())
