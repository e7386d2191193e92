"""/metrics parsed with prometheus_client's parser; the values are what the broker did."""

from __future__ import annotations

import uuid

from confluent_kafka import Consumer, Producer, TopicPartition
from prometheus_client.parser import text_string_to_metric_families

from kavka.broker.metrics import BrokerTopicMetrics


def scrape(env) -> dict[tuple[str, tuple], float]:
    r = env.get("/metrics")
    assert r.status == 200 and r.headers["Content-Type"].startswith("text/plain")
    out = {}
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_metrics_match_the_broker(console_env):
    topic = f"m-{uuid.uuid4().hex[:8]}"
    console_env.create_topic(topic, partitions=2)
    before = scrape(console_env)
    p = Producer({"bootstrap.servers": console_env.bootstrap, "partitioner": "murmur2_random"})
    for i in range(25):
        p.produce(topic, key=f"k{i % 5}", value=b"x" * 100)
    assert p.flush(20) == 0
    c = Consumer({"bootstrap.servers": console_env.bootstrap, "group.id": "m", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, i, 0) for i in range(2)])
    got = 0
    for _ in range(40):
        m = c.poll(0.5)
        got += m is not None and not m.error()
        if got == 25:
            break
    c.close()
    assert got == 25
    m = scrape(console_env)
    broker = console_env.broker.server.broker
    logs = console_env.on_loop(lambda: {i: broker.replica_manager.get(topic, i).log for i in range(2)})
    t = (("topic", topic),)
    assert m[("kafka_server_brokertopicmetrics_messagesin_total", t)] == 25
    assert m[("kafka_server_brokertopicmetrics_bytesin_total", t)] == sum(log.size_in_bytes for log in logs.values())
    rm = broker.replica_manager
    assert m[("kafka_server_brokertopicmetrics_bytesin_total", ())] == rm.bytes_in
    assert m[("kafka_server_brokertopicmetrics_messagesin_total", ())] == rm.messages_in
    assert m[("kafka_server_brokertopicmetrics_bytesout_total", ())] == rm.bytes_out
    assert m[("kafka_server_brokertopicmetrics_bytesout_total", ())] >= before[
        ("kafka_server_brokertopicmetrics_bytesout_total", ())
    ] + sum(log.size_in_bytes for log in logs.values())
    for i, log in logs.items():
        lp = (("partition", str(i)), ("topic", topic))
        assert m[("kafka_log_log_logendoffset", lp)] == log.log_end_offset
        assert m[("kafka_log_log_logstartoffset", lp)] == 0
        assert m[("kafka_log_log_size", lp)] == log.size_in_bytes
        assert m[("kafka_log_log_numlogsegments", lp)] == 1
        assert m[("kafka_topic_partition_current_offset", lp)] == log.high_watermark
        assert m[("kafka_cluster_partition_underreplicated", lp)] == 0
    assert sum(log.log_end_offset for log in logs.values()) == 25
    assert m[("kafka_server_replicamanager_underreplicatedpartitions", ())] == 0
    assert m[("kafka_controller_kafkacontroller_activecontrollercount", ())] == 1
    assert m[("kafka_controller_kafkacontroller_offlinepartitionscount", ())] == 0
    assert m[("kafka_controller_kafkacontroller_globaltopiccount", ())] == len(broker.image.topics_by_name)
    assert m[("kafka_server_replicamanager_partitioncount", ())] == len(rm.partitions)
    produce = m[("kafka_network_requestmetrics_requests_total", (("request", "Produce"),))]
    fetch = m[("kafka_network_requestmetrics_requests_total", (("request", "Fetch"),))]
    assert produce >= 1 and fetch >= 1
    assert m[("kafka_network_requestmetrics_requests_total", (("request", "Metadata"),))] >= 2
    assert ("kafka_server_socketservermetrics_connectioncount", ()) in m


def test_console_produce_counts_too(console_env):
    topic = console_env.create_topic(partitions=1)
    scrape(console_env)
    for i in range(3):
        console_env.send("POST", f"/api/topics/{topic}/messages", {"value": f"v{i}"})
    m = scrape(console_env)
    assert m[("kafka_server_brokertopicmetrics_messagesin_total", (("topic", topic),))] == 3


# --- kavka.broker.metrics, no I/O ----------------------------------------------------------------


def test_broker_topic_metrics_counters():
    m = BrokerTopicMetrics()
    m.record_produce("t", 100, 3)
    m.record_produce("u", 50, 1)
    m.record_failed_produce("t")
    m.record_fetch("t", 70)
    assert (m.topics["t"].bytes_in, m.topics["t"].messages_in, m.topics["t"].bytes_out) == (100, 3, 70)
    assert (m.all_topics.bytes_in, m.all_topics.messages_in) == (150, 4)
    assert m.all_topics.total_produce_requests == 3 and m.all_topics.failed_produce_requests == 1
    m.remove_topic("t")
    assert "t" not in m.topics


def test_grafana_dashboard_charts_series_that_exist(console_env):
    import json
    import re
    from pathlib import Path

    dash = json.loads((Path(__file__).parents[2] / "docs" / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    names = {n for e in exprs for n in re.findall(r"\b(kafka_[a-z_]+)\b", e)}
    assert len(names) >= 12
    text = console_env.get("/metrics").text
    declared = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
    for name in names:
        assert name in declared or name.removesuffix("_total") in declared, name


def test_request_latency_histogram_per_api(console_env):
    """TotalTimeMs is exported as a histogram per API; its +Inf bucket counts every request timed."""
    topic = console_env.create_topic(partitions=1)
    p = Producer({"bootstrap.servers": console_env.bootstrap})
    p.produce(topic, b"x")
    assert p.flush(20) == 0
    m = scrape(console_env)
    for api in ("Produce", "Metadata"):
        label = (("request", api),)
        count = m[("kafka_network_requestmetrics_totaltimems_count", label)]
        assert count >= 1
        assert m[("kafka_network_requestmetrics_totaltimems_bucket", (("le", "+Inf"), ("request", api)))] == count
        assert m[("kafka_network_requestmetrics_totaltimems_sum", label)] >= 0
