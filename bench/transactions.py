#!/usr/bin/env python3
"""Transactional produce throughput and commit latency, with confluent-kafka.

For each transaction size (records per transaction) one transactional producer runs back-to-back
transactions into one partition for ``--seconds``: begin, produce SIZE records of ``--size`` bytes,
flush, commit. With ``--offsets`` each transaction also sends a consumer group's offsets
(``send_offsets_to_transaction``: AddOffsetsToTxn + TxnOffsetCommit, a transactional batch in
``__consumer_offsets``), as a consume-transform-produce copier does. It prints

- records/s and transactions/s,
- commit latency p50/p99/max: ``commit_transaction()`` after the flush, i.e. EndTxn, the
  PrepareCommit record in ``__transaction_state``, the markers and CompleteCommit,
- transaction latency p50/p99: begin to commit returned,

against a Kavka broker subprocess (fresh data dir; its CPU seconds are reported) and, as a peer in
the same run, librdkafka's mock cluster (it lives inside the producing process; no disk, no fsync).

With ``--consume N`` it then measures what ``read_committed`` costs: N records are written in
transactions of ``--consume-txn`` records, every ``--abort-every``-th transaction aborted, and one
consumer reads the partition from the start with each isolation level in turn (twice, alternating,
the best of each kept). read_uncommitted gets every record (aborted ones included); read_committed
gets the committed ones, the client dropping aborted batches with the ``aborted_transactions`` list
the broker sends from its ``.txnindex``. A non-transactional topic of N records is read as the
baseline. Reported: records/s delivered (from the first records handed over, as ``bench/produce_consume.py`` counts) and
broker CPU seconds per million records fetched.

    .venv/bin/python bench/transactions.py                        # sizes 100 and 1000, 5 s each
    .venv/bin/python bench/transactions.py --sizes 1,10,100,1000 --seconds 10 --offsets
    .venv/bin/python bench/transactions.py --sizes 1,10,100 --consume 1000000

Not a test: it prints figures (``--json`` writes them too).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from benchlib import machine
from kavka.testing.process import BrokerProcess, create_topic

OVERRIDES = {
    "num.partitions": "1",
    "transaction.state.log.num.partitions": "3",
    "offsets.topic.num.partitions": "3",
    "transaction.max.timeout.ms": "60000",
}


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def run_size(conf: dict, topic: str, size: int, value_size: int, seconds: float, offsets: bool) -> dict:
    producer = Producer(
        {
            "transactional.id": f"bench-{uuid.uuid4().hex[:8]}",
            "linger.ms": 5,
            "compression.type": "none",
            "transaction.timeout.ms": 60000,
            "queue.buffering.max.messages": 1_000_000,
            **conf,
        }
    )
    producer.init_transactions(30)
    group = None
    if offsets:
        group = Consumer({"group.id": f"bench-{uuid.uuid4().hex[:8]}", **conf}).consumer_group_metadata()
    value = b"v" * value_size
    commit_ms, txn_ms = [], []
    records = 0
    # one warm-up transaction (coordinator lookups, topic metadata) outside the figures
    for warm in (True, False):
        t_end = time.perf_counter() + (0 if warm else seconds)
        t_start = time.perf_counter()
        n_txn = 0
        while True:
            t0 = time.perf_counter()
            producer.begin_transaction()
            produce_n(producer, topic, value, size)
            if group is not None:
                producer.send_offsets_to_transaction([TopicPartition(topic, 0, records + size)], group, 30)
            producer.flush(30)
            t1 = time.perf_counter()
            producer.commit_transaction(30)
            t2 = time.perf_counter()
            if not warm:
                commit_ms.append((t2 - t1) * 1000)
                txn_ms.append((t2 - t0) * 1000)
                records += size
                n_txn += 1
            if time.perf_counter() >= t_end:
                break
    elapsed = time.perf_counter() - t_start
    return {
        "records_per_txn": size,
        "transactions": n_txn,
        "records": records,
        "seconds": round(elapsed, 3),
        "records_per_s": round(records / elapsed),
        "txn_per_s": round(n_txn / elapsed, 1),
        "commit_ms_p50": round(percentile(commit_ms, 50), 2),
        "commit_ms_p99": round(percentile(commit_ms, 99), 2),
        "commit_ms_max": round(max(commit_ms), 2),
        "txn_ms_p50": round(percentile(txn_ms, 50), 2),
        "txn_ms_p99": round(percentile(txn_ms, 99), 2),
        "commit_ms_mean": round(statistics.fmean(commit_ms), 2),
    }


def produce_n(producer: Producer, topic: str, value: bytes, n: int) -> None:
    """``n`` records to partition 0, waiting for queue room when librdkafka's buffer is full."""
    for _ in range(n):
        while True:
            try:
                producer.produce(topic, value, partition=0)
                break
            except BufferError:
                producer.poll(0.01)


def fill(conf: dict, topic: str, n: int, value_size: int, txn_size: int, abort_every: int) -> tuple[int, int]:
    """Write ``n`` records to partition 0 of ``topic``; transactional when ``txn_size`` > 0, every
    ``abort_every``-th transaction aborted. Returns (records written, records committed)."""
    value = b"v" * value_size
    if txn_size <= 0:
        producer = Producer({"linger.ms": 20, "queue.buffering.max.messages": 1_000_000, **conf})
        produce_n(producer, topic, value, n)
        producer.flush(60)
        return n, n
    producer = Producer(
        {
            "transactional.id": f"fill-{uuid.uuid4().hex[:8]}",
            "linger.ms": 20,
            "queue.buffering.max.messages": 1_000_000,
            "transaction.timeout.ms": 60000,
            **conf,
        }
    )
    producer.init_transactions(30)
    written = committed = 0
    txn = 0
    while written < n:
        size = min(txn_size, n - written)
        producer.begin_transaction()
        produce_n(producer, topic, value, size)
        producer.flush(60)
        txn += 1
        if abort_every and txn % abort_every == 0:
            producer.abort_transaction(60)
        else:
            producer.commit_transaction(60)
            committed += size
        written += size
    return written, committed


def read_once(conf: dict, topic: str, isolation: str, expect: int, broker: BrokerProcess) -> dict:
    """Read partition 0 of ``topic`` from the start until ``expect`` records came back."""
    # the consumer settings of bench/produce_consume.py, so the figures compare with its plain consume
    consumer = Consumer(
        {
            "group.id": f"bench-{uuid.uuid4().hex[:8]}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "fetch.max.bytes": 64 * 1024 * 1024,
            "max.partition.fetch.bytes": 16 * 1024 * 1024,
            "fetch.wait.max.ms": 100,
            "queued.max.messages.kbytes": 1_048_576,
            "queued.min.messages": 1_000_000,
            **conf,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    got = 0
    cpu0 = broker.cpu_seconds()
    t0 = time.perf_counter()
    t_first = None
    deadline = t0 + 300
    while got < expect and time.perf_counter() < deadline:
        # a short timeout: consume() waits for all 10,000 or the timeout, which would count a partial last
        # batch's wait against the rate
        msgs = consumer.consume(10000, 0.01)
        if msgs and t_first is None:
            t_first = time.perf_counter()
        for m in msgs:
            if m.error() is not None:
                raise KafkaException(m.error())
        got += len(msgs)
    # the rate over the stream, from the first records handed to the application (as produce_consume.py)
    elapsed = time.perf_counter() - (t_first or t0)
    cpu = broker.cpu_seconds() - cpu0
    consumer.close()
    if got != expect:
        raise SystemExit(f"{isolation} read of {topic}: {got} records, {expect} expected")
    return {
        "isolation": isolation,
        "records": got,
        "seconds": round(elapsed, 3),
        "records_per_s": round(got / elapsed),
        "broker_cpu_s": round(cpu, 3),
    }


def consume_cost(broker: BrokerProcess, n: int, value_size: int, txn_size: int, abort_every: int) -> list[dict]:
    conf = {"bootstrap.servers": broker.bootstrap}
    rows = []
    plain = create_topic(broker.bootstrap, f"bench-plain-{uuid.uuid4().hex[:6]}", 1)
    fill(conf, plain, n, value_size, 0, 0)
    txn = create_topic(broker.bootstrap, f"bench-txnread-{uuid.uuid4().hex[:6]}", 1)
    written, committed = fill(conf, txn, n, value_size, txn_size, abort_every)
    cases = [
        ("plain topic", plain, "read_uncommitted", n),
        ("transactional, read_uncommitted", txn, "read_uncommitted", written),
        ("transactional, read_committed", txn, "read_committed", committed),
    ]
    best: dict[str, dict] = {}
    for _ in range(2):
        for label, topic, isolation, expect in cases:
            r = read_once(conf, topic, isolation, expect, broker)
            if label not in best or r["records_per_s"] > best[label]["records_per_s"]:
                best[label] = {"case": label, **r}
    for label, *_ in cases:
        r = best[label]
        r["broker_cpu_s_per_million"] = round(r["broker_cpu_s"] / r["records"] * 1e6, 3) if r["records"] else None
        rows.append(r)
    return rows


def show_consume(rows: list[dict], txn_size: int, abort_every: int) -> None:
    print(f"\nConsumption cost ({txn_size} records per transaction, every {abort_every}th aborted; best of 2)")
    print(f"  {'case':<34} {'records':>9} {'records/s':>10} {'broker CPU s/M':>15}")
    for r in rows:
        print(f"  {r['case']:<34} {r['records']:>9,} {r['records_per_s']:>10,} {r['broker_cpu_s_per_million']:>15}")


def show(label: str, rows: list[dict]) -> None:
    print(f"\n{label}")
    print(
        f"  {'rec/txn':>7} {'txns':>6} {'records/s':>10} {'txn/s':>7} {'commit p50':>10} {'p99':>8} "
        f"{'max':>8} {'txn p50':>8} {'p99':>8}  (ms)"
    )
    for r in rows:
        print(
            f"  {r['records_per_txn']:>7} {r['transactions']:>6} {r['records_per_s']:>10,} {r['txn_per_s']:>7} "
            f"{r['commit_ms_p50']:>10} {r['commit_ms_p99']:>8} {r['commit_ms_max']:>8} {r['txn_ms_p50']:>8} "
            f"{r['txn_ms_p99']:>8}"
        )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,1000", help="records per transaction, comma-separated")
    ap.add_argument("--size", type=int, default=100, help="bytes per record value")
    ap.add_argument("--seconds", type=float, default=5.0, help="duration per transaction size")
    ap.add_argument("--offsets", action="store_true", help="send a group's offsets in every transaction")
    ap.add_argument("--no-mock", action="store_true", help="skip librdkafka's mock cluster")
    ap.add_argument(
        "--consume",
        type=int,
        default=0,
        metavar="N",
        help="also measure read_committed vs read_uncommitted over N records",
    )
    ap.add_argument("--consume-txn", type=int, default=100, help="records per transaction for --consume")
    ap.add_argument("--abort-every", type=int, default=10, help="abort every k-th transaction for --consume")
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s]
    out: dict = {"machine": machine(), "value_bytes": args.size, "offsets": args.offsets, "kavka": [], "mock": []}
    print(
        f"transactions bench: sizes {sizes}, {args.size} B values, {args.seconds:g} s each, "
        f"offsets {'on' if args.offsets else 'off'}; commit {out['machine']['commit']}; {out['machine']}"
    )

    with tempfile.TemporaryDirectory(prefix="kavka-bench-txn-") as tmp:
        broker = BrokerProcess(Path(tmp) / "data", overrides=OVERRIDES)
        broker.start()
        try:
            conf = {"bootstrap.servers": broker.bootstrap}
            cpu0 = broker.cpu_seconds()
            for size in sizes:
                topic = create_topic(broker.bootstrap, f"bench-txn-{size}-{uuid.uuid4().hex[:6]}", 1)
                row = run_size(conf, topic, size, args.size, args.seconds, args.offsets)
                out["kavka"].append(row)
            out["kavka_cpu_seconds"] = round(broker.cpu_seconds() - cpu0, 2)
            if args.consume:
                out["consume"] = consume_cost(broker, args.consume, args.size, args.consume_txn, args.abort_every)
        finally:
            broker.stop()
    show(f"Kavka (broker CPU {out['kavka_cpu_seconds']} s over the runs)", out["kavka"])
    if args.consume:
        show_consume(out["consume"], args.consume_txn, args.abort_every)

    if not args.no_mock:
        for size in sizes:
            conf = {"test.mock.num.brokers": 1}
            out["mock"].append(run_size(conf, f"bench-txn-{size}", size, args.size, args.seconds, args.offsets))
        show("librdkafka mock cluster (in process, peer)", out["mock"])

    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
