"""``kavka bench produce | consume | e2e``: small runs, checking the summary lines."""

from __future__ import annotations

import re


def test_bench_produce_then_consume(kavka, create_topic):
    name = create_topic(partitions=2)
    r = kavka(f"bench produce {name} --num-records 2000 --record-size 50 --producer-props 'acks=1 linger.ms=2'")
    assert r.exit_code == 0, r.output
    assert re.match(
        r"^2000 records sent, [\d.]+ records/sec \([\d.]+ MB/sec\), [\d.]+ ms avg latency, "
        r"[\d.]+ ms max latency, \d+ ms 50th, \d+ ms 95th, \d+ ms 99th, \d+ ms 99.9th\.$",
        r.stdout.strip(),
    )
    r = kavka(f"bench consume {name} --messages 2000")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("2000 records consumed, ")


def test_bench_throughput_limit(kavka, create_topic):
    name = create_topic()
    r = kavka(f"bench produce {name} --num-records 50 --record-size 10 --throughput 100")
    assert r.exit_code == 0, r.output
    rate = float(r.stdout.split(" records sent, ")[1].split()[0])
    assert rate < 130


def test_bench_e2e(kavka, create_topic):
    name = create_topic()
    r = kavka(f"bench e2e {name} --num-records 20")
    assert r.exit_code == 0, r.output
    assert r.stdout.startswith("20 round trips, ") and "99.9th" in r.stdout
