"""The replication metrics Kavka exports are Kafka's: each MBean named in kavka.console.metrics exists in
a running Apache Kafka 4.4 (read with Kafka's own JmxTool, after ``jcmd`` opens the JVM's JMX agent on a
free loopback port), and Kavka's ``/metrics`` carries it under the JMX exporter's name.

FetcherLagMetrics exists only on a broker that follows a partition, which one Kafka node never does; its
name is checked against Kafka's source (``AbstractFetcherThread.FetcherLagMetrics``) instead, and its
values on a follower by the cluster tests.
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kavka.console.metrics import KAFKA_CONTROLLER, REPLICA_MANAGER, prom_name
from kavka.testing.process import free_port


def kafka_mbeans(apache_kafka) -> set[str]:
    """Every kafka.server ReplicaManager and kafka.controller KafkaController MBean of the running Kafka."""
    if shutil.which("jcmd") is None:
        pytest.skip("jcmd (the JDK's) is needed to open Kafka's JMX agent")
    port = free_port()
    opened = subprocess.run(
        [
            "jcmd",
            str(apache_kafka.popen.pid),
            "ManagementAgent.start",
            f"jmxremote.port={port}",
            "jmxremote.host=127.0.0.1",
            "jmxremote.authenticate=false",
            "jmxremote.ssl=false",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert opened.returncode == 0, opened.stdout + opened.stderr
    out = apache_kafka.run_tool(
        "org.apache.kafka.tools.JmxTool",
        [
            "--jmx-url",
            f"service:jmx:rmi:///jndi/rmi://127.0.0.1:{port}/jmxrmi",
            "--object-name",
            "kafka.server:type=ReplicaManager,*",
            "--object-name",
            "kafka.controller:type=KafkaController,*",
            "--one-time",
            "--report-format",
            "properties",
        ],
    )
    assert out.returncode == 0, out.stderr
    return set(re.findall(r"^(kafka\.[a-z]+:type=\w+,name=\w+):", out.stdout, re.M))


def test_exported_replication_metrics_are_kafkas_mbeans(apache_kafka, console_env):
    mbeans = kafka_mbeans(apache_kafka)
    assert "kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions" in mbeans  # the probe works
    ours = {f"kafka.server:type=ReplicaManager,name={n}" for n, _, _ in REPLICA_MANAGER}
    ours |= {f"kafka.controller:type=KafkaController,name={n}" for n, _, _ in KAFKA_CONTROLLER}
    assert ours - mbeans == set()

    scraped = {f.name for f in text_string_to_metric_families(console_env.get("/metrics").text)}
    for mbean in ours:
        assert prom_name(mbean) in scraped, mbean
    assert (
        prom_name("kafka.server:type=ReplicaManager,name=IsrShrinksPerSec") == "kafka_server_replicamanager_isrshrinks"
    )
    assert (
        prom_name("kafka.controller:type=KafkaController,name=ActiveControllerCount")
        == "kafka_controller_kafkacontroller_activecontrollercount"
    )
