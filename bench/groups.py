#!/usr/bin/env python3
"""Consumer-group figures for Kavka's classic group coordinator, with confluent-kafka members.

Against a Kavka broker subprocess (fresh data dir, loopback), three measurements:

1. **cold join**: 10 members, each a separate process, subscribe to a 20-partition topic in a new
   group at the same moment; time from that moment until every member has its final assignment (2
   partitions each, together all 20). The members only report after `import confluent_kafka`, so the
   figure covers constructing the client, bootstrap, FindCoordinator, the join (with MEMBER_ID_REQUIRED),
   every rebalance until all 10 are in, and SyncGroup.
2. **rebalance after a leave**: in that stable group, one member closes (LeaveGroup); time until the
   9 others hold all 20 partitions again (they learn of the rebalance from a heartbeat response).
3. **commits**: 100 members in one group (10 processes hosting 10 consumers each, one thread per
   consumer, a 100-partition topic so each owns one partition) each commit their partition's offset
   synchronously every 100 ms (offered: 1,000 commits/s) for a fixed time; reports achieved commits/s,
   commit latency (p50/p99/max) and the broker's CPU. Then the same members commit back to back with
   no pause, which gives the most the coordinator sustained on this machine (the clients share it).

Rounds 1-2 repeat ``--rounds`` times with fresh groups and processes; medians and ranges are printed.
Members use ``heartbeat.interval.ms`` = ``--heartbeat-ms`` (default 300) in 1-2 and librdkafka's
defaults (3 s heartbeats, 45 s session) in 3. The broker runs with
``group.initial.rebalance.delay.ms`` = ``--initial-delay-ms`` (default 0; Kafka's default of 3000 adds
about that much to the cold join).

    .venv/bin/python bench/groups.py
    .venv/bin/python bench/groups.py --rounds 3 --commit-seconds 10 --json groups.json

Not a test: it prints figures. Everything is bounded by timeouts; members are child processes of this
script and are ended by it.
"""

from __future__ import annotations

import argparse
import json
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from benchlib import machine

HERE = Path(__file__).resolve()


# ---------------------------------------------------------------------------------------- the members


def host_main(args: argparse.Namespace) -> int:
    """A child process hosting ``--members`` consumers, each in its own thread, driven by stdin.

    stdin commands: ``subscribe`` (create and subscribe every consumer), ``commit SECONDS INTERVAL_MS``
    (each consumer commits its partitions' offsets every INTERVAL_MS for SECONDS), ``leave I`` (close
    consumer I), ``quit``. stdout: one JSON event per line.
    """
    from confluent_kafka import Consumer, KafkaException, TopicPartition

    conf = json.loads(args.conf)
    lock = threading.Lock()

    def say(**event) -> None:
        with lock:
            sys.stdout.write(json.dumps(event) + "\n")
            sys.stdout.flush()

    class Member(threading.Thread):
        def __init__(self, index: int):
            super().__init__(daemon=True)
            self.index = index
            self.assigned: list = []
            self.leave = threading.Event()
            self.commit_job: tuple[float, float] | None = None
            self.commit_ready = threading.Event()

        def _on_assign(self, consumer, partitions) -> None:
            self.assigned = [TopicPartition(p.topic, p.partition) for p in partitions]
            say(ev="assigned", m=self.index, t=time.monotonic(), parts=sorted(p.partition for p in partitions))

        def _on_revoke(self, consumer, partitions) -> None:
            self.assigned = []
            say(ev="revoked", m=self.index, t=time.monotonic())

        def run(self) -> None:
            c = Consumer({**conf, "client.id": f"{args.name}-{self.index}"})
            c.subscribe([args.topic], on_assign=self._on_assign, on_revoke=self._on_revoke)
            while not self.leave.is_set():
                if self.commit_ready.is_set():
                    self.commit_ready.clear()
                    self._commit(c, *self.commit_job)
                c.poll(0.05)
            t = time.monotonic()
            c.close()
            say(ev="left", m=self.index, t=t, closed=time.monotonic())

        def _commit(self, c, seconds: float, interval_s: float) -> None:
            latencies, errors, offset = [], 0, 0
            start = time.monotonic()
            end = start + seconds
            tick = start
            while True:
                now = time.monotonic()
                if now >= end:
                    break
                if interval_s > 0 and now < tick:
                    time.sleep(tick - now)  # pacing to the offered rate, not synchronisation
                    continue
                tick += interval_s
                offset += 1
                c.poll(0)  # serve heartbeats' callbacks
                t0 = time.perf_counter()
                try:
                    c.commit(
                        offsets=[TopicPartition(tp.topic, tp.partition, offset) for tp in self.assigned],
                        asynchronous=False,
                    )
                except KafkaException:
                    errors += 1
                    continue
                latencies.append((time.perf_counter() - t0) * 1000)
            say(
                ev="commits",
                m=self.index,
                n=len(latencies),
                errors=errors,
                lat=latencies,
                seconds=time.monotonic() - start,
            )

    members = [Member(i) for i in range(args.members)]
    say(ev="ready")
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "subscribe":
            for m in members:
                m.start()
        elif cmd[0] == "commit":
            for m in members:
                m.commit_job = (float(cmd[1]), float(cmd[2]) / 1000)
                m.commit_ready.set()
        elif cmd[0] == "leave":
            members[int(cmd[1])].leave.set()
        elif cmd[0] == "quit":
            break
    for m in members:
        m.leave.set()
    for m in members:
        if m.is_alive():
            m.join(30)
    say(ev="quit")
    return 0


class Host:
    """A member-hosting child process, seen from the parent."""

    def __init__(
        self, events: queue.Queue, name: str, members: int, bootstrap: str, group: str, topic: str, conf: dict
    ):
        full = {
            "bootstrap.servers": bootstrap,
            "group.id": group,
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            **conf,
        }
        self.name = name
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(HERE),
                "--host",
                "--name",
                name,
                "--members",
                str(members),
                "--topic",
                topic,
                "--conf",
                json.dumps(full),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.stderr,
            text=True,
        )
        threading.Thread(target=self._read, args=(events,), daemon=True).start()

    def _read(self, events: queue.Queue) -> None:
        for line in self.proc.stdout:
            events.put((self.name, json.loads(line)))

    def send(self, command: str) -> None:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.send("quit")
                self.proc.wait(40)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait(10)
        self.stderr.close()


class Fleet:
    """Hosts of one group and the latest assignment of each of their members."""

    def __init__(self, hosts: int, per_host: int, bootstrap: str, group: str, topic: str, conf: dict):
        self.events: queue.Queue = queue.Queue()
        self.hosts = [Host(self.events, f"h{i}", per_host, bootstrap, group, topic, conf) for i in range(hosts)]
        self.assigned: dict[tuple[str, int], list[int]] = {}
        self.assign_events = 0
        self.last_assign_t = 0.0
        self.commit_reports: list[dict] = []
        self.left: dict[tuple[str, int], dict] = {}
        ready = set()
        self.wait(
            lambda: len(ready) == hosts,
            60,
            "member processes to start",
            on=lambda h, e: ready.add(h) if e["ev"] == "ready" else None,
        )

    def _apply(self, host: str, e: dict) -> None:
        key = (host, e.get("m", -1))
        if e["ev"] == "assigned":
            self.assigned[key] = e["parts"]
            self.assign_events += 1
            self.last_assign_t = max(self.last_assign_t, e["t"])
        elif e["ev"] == "revoked":
            self.assigned[key] = []
        elif e["ev"] == "commits":
            self.commit_reports.append(e)
        elif e["ev"] == "left":
            self.left[key] = e
            self.assigned.pop(key, None)

    def wait(self, condition, timeout: float, what: str, on=None) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
            try:
                host, e = self.events.get(timeout=min(left, 0.5))
            except queue.Empty:
                for h in self.hosts:
                    if h.proc.poll() is not None:
                        h.stderr.seek(0)
                        raise RuntimeError(f"member process {h.name} exited: {h.stderr.read()[-2000:]!r}") from None
                continue
            self._apply(host, e)
            if on is not None:
                on(host, e)

    def covers(self, partitions: int, members: int) -> bool:
        """``members`` members, each with ``partitions // members`` or one more, together all partitions."""
        owned = [p for ps in self.assigned.values() for p in ps]
        counts = sorted(len(ps) for ps in self.assigned.values())
        return (
            len(self.assigned) == members and sorted(owned) == list(range(partitions)) and counts[-1] - counts[0] <= 1
        )

    def send_all(self, command: str) -> float:
        t = time.monotonic()
        for h in self.hosts:
            h.send(command)
        return t

    def stop(self) -> None:
        for h in self.hosts:
            h.stop()


# ---------------------------------------------------------------------------------------- measurements


def join_and_leave_round(bootstrap: str, topic: str, partitions: int, members: int, heartbeat_ms: int) -> dict:
    group = f"bench-join-{uuid.uuid4().hex[:8]}"
    conf = {"heartbeat.interval.ms": heartbeat_ms, "session.timeout.ms": 10_000}
    fleet = Fleet(members, 1, bootstrap, group, topic, conf)
    try:
        t0 = fleet.send_all("subscribe")
        fleet.wait(lambda: fleet.covers(partitions, members), 60, f"{members} members to be stable")
        stable_s = fleet.last_assign_t - t0
        generations_seen = fleet.assign_events
        fleet.last_assign_t = 0.0
        t1 = time.monotonic()
        fleet.hosts[0].send("leave 0")
        fleet.wait(
            lambda: ("h0", 0) in fleet.left and fleet.covers(partitions, members - 1),
            60,
            f"{members - 1} members to take over",
        )
        rebalance_s = fleet.last_assign_t - t1
        return {
            "stable_s": stable_s,
            "assign_events": generations_seen,
            "rebalance_after_leave_s": rebalance_s,
            "leave_close_s": fleet.left[("h0", 0)]["closed"] - fleet.left[("h0", 0)]["t"],
        }
    finally:
        fleet.stop()


def commit_load(broker, hosts: int, per_host: int, seconds: float, interval_ms: float, fleet: Fleet) -> dict:
    fleet.commit_reports.clear()
    cpu0, t0 = broker.cpu_seconds(), time.monotonic()
    fleet.send_all(f"commit {seconds} {interval_ms}")
    fleet.wait(lambda: len(fleet.commit_reports) == hosts * per_host, seconds + 60, "the commit reports")
    cpu1, wall = broker.cpu_seconds(), time.monotonic() - t0
    lat = sorted(x for r in fleet.commit_reports for x in r["lat"])
    n = len(lat)
    window = max(r["seconds"] for r in fleet.commit_reports)
    return {
        "members": hosts * per_host,
        "interval_ms": interval_ms,
        "seconds": window,
        "offered_per_s": (hosts * per_host * 1000 / interval_ms) if interval_ms else None,
        "commits": n,
        "errors": sum(r["errors"] for r in fleet.commit_reports),
        "commits_per_s": n / window,
        "latency_ms": {"p50": _pct(lat, 50), "p99": _pct(lat, 99), "max": lat[-1] if lat else None},
        "broker_cpu_s": cpu1 - cpu0,
        "broker_cpu_share": (cpu1 - cpu0) / wall,
    }


def commit_phase(broker, args: argparse.Namespace) -> dict:
    from kavka.testing.process import create_topic

    hosts, per = args.commit_hosts, args.commit_members_per_host
    members = hosts * per
    topic = create_topic(broker.bootstrap, "bench-commit", members)
    fleet = Fleet(hosts, per, broker.bootstrap, f"bench-commit-{uuid.uuid4().hex[:8]}", topic, {})
    figures: dict = {}
    try:
        t0 = fleet.send_all("subscribe")
        fleet.wait(lambda: fleet.covers(members, members), 180, f"{members} members to be stable")
        figures["stable_s"] = fleet.last_assign_t - t0
        print(f"{members} members ({hosts} processes x {per}) stable after {figures['stable_s'] * 1000:.0f} ms")
        runs = [("paced", args.commit_interval_ms, args.commit_seconds)]
        if args.saturation_seconds > 0:
            runs.append(("back-to-back", 0, args.saturation_seconds))
        for label, interval, seconds in runs:
            c = commit_load(broker, hosts, per, seconds, interval, fleet)
            figures[label] = c
            offered = f"offered {c['offered_per_s']:,.0f}/s" if c["offered_per_s"] else "no pause"
            print(
                f"commits, {members} members, {label} ({offered}): {c['commits_per_s']:,.0f}/s over "
                f"{c['seconds']:.1f} s, {c['errors']} errors; latency p50 {c['latency_ms']['p50']:.1f} ms, "
                f"p99 {c['latency_ms']['p99']:.1f} ms, max {c['latency_ms']['max']:.1f} ms; broker CPU "
                f"{c['broker_cpu_share'] * 100:.0f}% of a core"
            )
    finally:
        fleet.stop()
    return figures


def _pct(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p / 100))]


def _summary(values: list[float]) -> str:
    return (
        f"median {statistics.median(values) * 1000:.0f} ms (min {min(values) * 1000:.0f}, "
        f"max {max(values) * 1000:.0f}; {len(values)} rounds)"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5, help="cold-join/leave rounds (fresh group each)")
    ap.add_argument("--join-members", type=int, default=10)
    ap.add_argument("--heartbeat-ms", type=int, default=300, help="heartbeat.interval.ms in the join rounds")
    ap.add_argument("--initial-delay-ms", type=int, default=0, help="group.initial.rebalance.delay.ms")
    ap.add_argument("--commit-hosts", type=int, default=10, help="processes in the commit test")
    ap.add_argument("--commit-members-per-host", type=int, default=10)
    ap.add_argument("--commit-interval-ms", type=float, default=100)
    ap.add_argument("--commit-seconds", type=float, default=20, help="0 skips the commit measurements")
    ap.add_argument("--saturation-seconds", type=float, default=10, help="0 skips the back-to-back run")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    # the child side
    ap.add_argument("--host", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--name", help=argparse.SUPPRESS)
    ap.add_argument("--members", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--topic", help=argparse.SUPPRESS)
    ap.add_argument("--conf", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.host:
        return host_main(args)

    from kavka.testing.process import BrokerProcess, create_topic

    figures: dict = {"command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine()}
    m = figures["machine"]
    print(
        f"commit {m['commit']}; machine: {m['nproc']} x {m['cpu']}; Python {m['python']}; "
        f"confluent-kafka {m['confluent_kafka']} / librdkafka {m['librdkafka']}"
    )
    with tempfile.TemporaryDirectory(prefix="kavka-bench-groups-") as tmp:
        broker = BrokerProcess(
            Path(tmp) / "data",
            overrides={"num.partitions": 1, "group.initial.rebalance.delay.ms": args.initial_delay_ms},
        )
        broker.start()
        try:
            n = args.join_members
            join_topic = create_topic(broker.bootstrap, "bench-join", 2 * n)
            print(
                f"broker: group.initial.rebalance.delay.ms={args.initial_delay_ms}; members: "
                f"heartbeat.interval.ms={args.heartbeat_ms}, session.timeout.ms=10000, range assignor"
            )
            rounds = []
            for i in range(args.rounds):
                r = join_and_leave_round(broker.bootstrap, join_topic, 2 * n, n, args.heartbeat_ms)
                rounds.append(r)
                print(
                    f"  round {i + 1}: stable after {r['stable_s'] * 1000:.0f} ms ({r['assign_events']} "
                    f"assignments delivered), rebalanced after a leave in "
                    f"{r['rebalance_after_leave_s'] * 1000:.0f} ms"
                )
            figures["join"] = {
                "members": n,
                "partitions": 2 * n,
                "rounds": rounds,
                "initial_delay_ms": args.initial_delay_ms,
                "heartbeat_ms": args.heartbeat_ms,
            }
            print(f"cold join of {n} members to stable: {_summary([r['stable_s'] for r in rounds])}")
            print(f"rebalance after one of {n} leaves: {_summary([r['rebalance_after_leave_s'] for r in rounds])}")

            if args.commit_seconds > 0:
                figures["commits"] = commit_phase(broker, args)
            figures["broker_peak_rss_mib"] = broker.memory_kib("VmHWM") / 1024
            print(f"broker peak RSS {figures['broker_peak_rss_mib']:.0f} MiB")
        finally:
            broker.stop()
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
