#!/usr/bin/env python3
"""The cost of ACL checks on the produce path with 10,000 ACLs.

1. In process (kavka.broker.authz over kavka.security.authorizer): the check a Produce request makes
   (WRITE on its topics, ``filter_authorized``), per request, against an index of N ACLs (a third
   literal, a third prefixed, a third for other principals, a few wildcards and DENYs), with the
   decision cache cold (cleared before each check: the first request after an ACL change) and warm;
   and the time to rebuild the index after an ACL change.
2. End to end (``--e2e``): confluent-kafka producing M records of 100 B to a Kavka broker subprocess
   with no authorizer, then to one with Kafka's StandardAuthorizer and the N ACLs (created with one
   CreateAcls per 1,000 ACLs), records/s and the broker's CPU ms per million records for each, after a
   warm-up of ``--warmup`` records on each fresh broker.
3. ``--kafka``: step 2 on Apache Kafka 4.4 too (one KRaft node from KAVKA_KAFKA_LIB, its own
   StandardAuthorizer, the same ACLs through the same admin calls, the JVM's CPU from /proc), then a
   table of both brokers with the ratio Kavka / Kafka.

    .venv/bin/python bench/acls.py                    # 10,000 ACLs, in process
    .venv/bin/python bench/acls.py --e2e --records 300000
    KAVKA_KAFKA_LIB=... .venv/bin/python bench/acls.py --kafka

Not a test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from benchlib import machine, process_cpu_seconds
from kavka.broker.authz import BrokerAuthorizer, filter_authorized
from kavka.metadata.records import AccessControlEntryRecord
from kavka.security.authorizer import AclOperation, PatternType, PermissionType, ResourceType

STANDARD = "org.apache.kafka.metadata.authorizer.StandardAuthorizer"
PRINCIPAL = "User:producer"
TOPIC = "bench-acl"


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


def _bindings(n: int) -> list:
    """The N ACLs of `make_acls` as confluent-kafka AclBindings, plus WRITE on the bench topic for
    ANONYMOUS (the wildcard DESCRIBE ACL makes every topic one with ACLs)."""
    from confluent_kafka.admin import AclBinding
    from confluent_kafka.admin import AclOperation as O
    from confluent_kafka.admin import AclPermissionType as PT
    from confluent_kafka.admin import ResourcePatternType as RPT
    from confluent_kafka.admin import ResourceType as RT

    bindings = [
        AclBinding(RT(a.resource_type), a.resource_name, RPT(a.pattern_type), a.principal, a.host,
                   O(a.operation), PT(a.permission_type))
        for a in make_acls(n)
    ]  # fmt: skip
    bindings.append(AclBinding(RT.TOPIC, TOPIC, RPT.LITERAL, "User:ANONYMOUS", "*", O.WRITE, PT.ALLOW))
    return bindings


def _create_acls(bootstrap: str, n: int) -> None:
    """CreateAcls in requests of 1,000: Kafka's controller refuses one operation of more than 10,000
        records (QuorumController.MAX_RECORDS_PER_USER_OP); both brokers get the same requests. Returns once
    DescribeAcls lists every one of them."""
    from confluent_kafka.admin import (
        AclBindingFilter,
        AclOperation,
        AclPermissionType,
        AdminClient,
        ResourcePatternType,
        ResourceType,
    )

    admin = AdminClient({"bootstrap.servers": bootstrap})
    bindings = _bindings(n)
    for i in range(0, len(bindings), 1000):
        for f in admin.create_acls(bindings[i : i + 1000], request_timeout=60).values():
            f.result(timeout=60)
    # The broker's authorizer applies them from the metadata log: time nothing until it lists them all.
    every = AclBindingFilter(
        ResourceType.ANY, None, ResourcePatternType.ANY, None, None, AclOperation.ANY, AclPermissionType.ANY
    )
    deadline = time.monotonic() + 60
    while (seen := len(admin.describe_acls(every, request_timeout=30).result(timeout=30))) < len(bindings):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the broker lists {seen} of the {len(bindings)} ACLs created")
        time.sleep(0.2)  # polling a condition with a deadline, not synchronising by sleep


def _produce(bootstrap: str, records: int) -> float:
    from confluent_kafka import Producer

    p = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5, "acks": 1})
    value = b"v" * 100
    t0 = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                p.produce(TOPIC, value)
                break
            except BufferError:
                p.poll(0.01)
    if p.flush(120):
        raise RuntimeError("produce: records left undelivered after 120 s")
    return records / (time.perf_counter() - t0)


def _run(kind: str, secured: bool, n: int, records: int, warmup: int) -> tuple[float, float]:
    """One fresh broker (``kavka`` or ``kafka``), with the authorizer and N ACLs when ``secured``:
    produce ``warmup`` records, then time ``records``; return (records/s, broker CPU ms per M records)."""
    from kavka.testing.process import BrokerProcess, create_topic

    overrides = {"authorizer.class.name": STANDARD, "allow.everyone.if.no.acl.found": "true"} if secured else {}
    with tempfile.TemporaryDirectory() as d:
        if kind == "kafka":
            from kavka.testing.apache_kafka import ApacheKafka

            broker: Any = ApacheKafka(Path(d), overrides=overrides)
        else:
            broker = BrokerProcess(Path(d) / "data", overrides=overrides)
        broker.start()
        try:
            create_topic(broker.bootstrap, TOPIC, partitions=1)
            if secured:
                _create_acls(broker.bootstrap, n)
            _produce(broker.bootstrap, warmup)
            pid = broker.popen.pid
            cpu0 = process_cpu_seconds(pid)
            rate = _produce(broker.bootstrap, records)
            cpu_ms_per_m = (process_cpu_seconds(pid) - cpu0) * 1000 * 1e6 / records
            return rate, cpu_ms_per_m
        finally:
            broker.stop()


def e2e(n: int, records: int, repeat: int, warmup: int, kinds: tuple[str, ...]) -> dict:
    """For each broker kind: produce with no authorizer and with StandardAuthorizer and the N ACLs,
    alternated, ``repeat`` times each (the machine is shared, single runs vary by tens of percent).
    ANONYMOUS may write the bench topic by one literal ACL among the N; cluster operations by the no-ACL
    default. Returns {kind: {"plain": [(rec/s, cpu ms/M), ...], "acls": [...]}}."""
    out: dict = {}
    for kind in kinds:
        runs: dict = {"plain": [], "acls": []}
        for _ in range(repeat):
            runs["plain"].append(_run(kind, False, n, records, warmup))
            runs["acls"].append(_run(kind, True, n, records, warmup))
        out[kind] = runs
        for what, label in (("plain", "no authorizer"), ("acls", f"StandardAuthorizer with {n:,} ACLs")):
            rates = ", ".join(f"{r:,.0f}" for r, _ in runs[what])
            cpus = ", ".join(f"{c:,.0f}" for _, c in runs[what])
            print(f"{kind} produce, {label}: best {max(r for r, _ in runs[what]):,.0f} records/s "
                  f"(runs: {rates}; broker CPU ms per M: {cpus})")  # fmt: skip
    return out


def side_by_side(out: dict) -> None:
    """Best records/s and median broker CPU per M records, each broker, with and without the ACLs."""
    import statistics

    def best(runs: list) -> float:
        return max(r for r, _ in runs)

    def cpu(runs: list) -> float:
        return statistics.median(c for _, c in runs)

    kv, kf = out["kavka"], out["kafka"]
    print(f"{'':44} {'Kavka':>12} {'Kafka':>12} {'Kavka/Kafka':>12}")
    rows = (
        ("produce records/s, no authorizer (best)", best(kv["plain"]), best(kf["plain"])),
        ("produce records/s, 10,000 ACLs (best)", best(kv["acls"]), best(kf["acls"])),
        ("ACLs / no authorizer, records/s", best(kv["acls"]) / best(kv["plain"]), best(kf["acls"]) / best(kf["plain"])),
        ("broker CPU ms per M, no authorizer (median)", cpu(kv["plain"]), cpu(kf["plain"])),
        ("broker CPU ms per M, 10,000 ACLs (median)", cpu(kv["acls"]), cpu(kf["acls"])),
    )
    for label, a, b in rows:
        print(f"{label:44} {a:12,.2f} {b:12,.2f} {a / b:12.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--acls", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=200_000)
    ap.add_argument("--e2e", action="store_true")
    ap.add_argument("--records", type=int, default=300_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=100_000, help="records produced before each timed run")
    ap.add_argument("--kafka", action="store_true", help="--e2e on Apache Kafka 4.4 too (needs KAVKA_KAFKA_LIB)")
    args = ap.parse_args()
    print(machine())
    in_process(args.acls, args.rounds)
    if args.e2e or args.kafka:
        out = e2e(args.acls, args.records, args.repeat, args.warmup, ("kavka", "kafka") if args.kafka else ("kavka",))
        if args.kafka:
            side_by_side(out)
    print("load after:", [round(x, 2) for x in os.getloadavg()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
