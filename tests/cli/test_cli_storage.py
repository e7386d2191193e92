"""``kavka storage`` (kafka-storage.sh): random-uuid, format and info, with Kafka's messages and exit
codes; Kafka's own StorageTool reads the dirs Kavka formats and prints the same; a broker started on
formatted dirs keeps the cluster id it was given."""

from __future__ import annotations

import re

from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from kavka.cli.main import main
from kavka.testing.process import BrokerProcess


def storage(*args: str):
    return CliRunner().invoke(main, ["storage", *args], catch_exceptions=False, prog_name="kavka")


def properties(tmp_path, node_id=3):
    dirs = [tmp_path / "a", tmp_path / "b"]
    path = tmp_path / "server.properties"
    path.write_text(f"node.id={node_id}\nlog.dirs={dirs[0]},{dirs[1]}\n")
    return str(path), dirs


def test_random_uuid_is_a_cluster_id():
    a, b = storage("random-uuid").output.strip(), storage("random-uuid").output.strip()
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", a) and a != b


def test_format_info_and_refusing_formatted_dirs(tmp_path):
    config, (a, b) = properties(tmp_path)
    r = storage("info", "-c", config)
    assert r.exit_code == 1
    assert r.output == f"Found problems:\n  {a} does not exist\n  {b} does not exist\n\n"

    r = storage("format", "-t", "abcdefghijklmnopqrstuv", "-c", config)
    assert r.exit_code == 0, r.output
    assert r.output == f"Formatting metadata directory {a}.\nFormatting data directory {b}.\n"
    for d in (a, b):
        text = (d / "meta.properties").read_text()
        assert "cluster.id=abcdefghijklmnopqrstuv\n" in text and "node.id=3\n" in text and "version=1\n" in text

    r = storage("format", "-t", "abcdefghijklmnopqrstuv", "-c", config)
    assert r.exit_code == 1
    assert "Log directory" in r.output and "is already formatted. Use --ignore-formatted" in r.output
    r = storage("format", "-t", "abcdefghijklmnopqrstuv", "-c", config, "--ignore-formatted")
    assert r.exit_code == 0 and r.output == "All of the log directories are already formatted.\n"

    r = storage("info", "-c", config)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(
        f"Found log directories:\n  {a}\n  {b}\n\nFound metadata: {{cluster.id=abcdefghijklmnopqrstuv, directory.id="
    )
    assert r.output.endswith(", node.id=3, version=1}\n\n")


def test_a_bad_cluster_id_is_refused(tmp_path):
    config, _ = properties(tmp_path)
    r = storage("format", "-t", "not-a-uuid", "-c", config)
    assert r.exit_code == 1
    assert "Cluster ID string not-a-uuid does not appear to be a valid UUID" in r.output


def test_kafkas_storage_tool_reads_what_kavka_formats(tmp_path, apache_kafka):
    config, (a, b) = properties(tmp_path, node_id=1)
    with open(config, "a") as f:  # Kafka's tool needs a KRaft config to start
        f.write(
            "process.roles=broker,controller\ncontroller.quorum.bootstrap.servers=localhost:9093\n"
            "listeners=PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093\ncontroller.listener.names=CONTROLLER\n"
        )
    assert storage("format", "-t", "abcdefghijklmnopqrstuv", "-c", config).exit_code == 0
    theirs = apache_kafka.run_tool("kafka.tools.StorageTool", ["info", "-c", config])
    ours = storage("info", "-c", config)
    assert theirs.returncode == ours.exit_code == 0, theirs.stderr[-2000:]
    assert theirs.stdout == ours.output


def test_a_broker_on_formatted_dirs_keeps_the_cluster_id(tmp_path):
    config, (a, _) = properties(tmp_path, node_id=1)
    assert storage("format", "-t", "abcdefghijklmnopqrstuv", "-c", config).exit_code == 0
    broker = BrokerProcess(a)
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert admin.describe_cluster().result(30).cluster_id == "abcdefghijklmnopqrstuv"
    finally:
        broker.stop()
        broker.cleanup()
