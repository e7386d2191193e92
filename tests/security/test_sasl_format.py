"""``kavka storage format --add-scram`` as ``kafka-storage.sh format --add-scram``: the same
UserScramCredentialRecords in the bootstrap snapshot (given the salt, byte for byte), Kafka's messages
for bad arguments, and a broker started on the formatted dirs lets the user log in with SCRAM."""

from __future__ import annotations

import base64

import pytest
from click.testing import CliRunner

from kavka.cli.main import main
from kavka.metadata.records import UserScramCredentialRecord, decode_record
from kavka.protocol.records import iter_batches
from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess, free_port
from tests.needs import require_kafka
from tests.security import saslwire as w

CLUSTER = "abcdefghijklmnopqrstuv"
SNAPSHOT = "__cluster_metadata-0/00000000000000000000-0000000000.checkpoint"
SALT = base64.b64encode(b"0123456789abcdef").decode()
SCRAM = [
    f"SCRAM-SHA-256=[name=alice,password=alice-secret,salt={SALT},iterations=8192]",
    f'SCRAM-SHA-512=[name="bob",password="bob-secret",salt="{SALT}"]',
]


def _config(tmp_path, port: int, controller_port: int) -> str:
    data = tmp_path / "data"
    props = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "log.dirs": str(data),
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listener.security.protocol.map": "SASL_PLAINTEXT:SASL_PLAINTEXT,CONTROLLER:PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "offsets.topic.replication.factor": "1",
    }
    path = tmp_path / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return str(path)


def _scram_records(snapshot: bytes) -> list[UserScramCredentialRecord]:
    out = []
    for _, header, records in iter_batches(snapshot):
        if not header.attributes & 0x20:
            for r in records:
                record = decode_record(r.value)
                if isinstance(record, UserScramCredentialRecord):
                    out.append(record)
    return out


def _format(config: str, *args: str):
    return CliRunner().invoke(main, ["storage", "format", "-t", CLUSTER, "-c", config, *args])


def test_the_same_records_as_kafka_storage(tmp_path):
    require_kafka()
    config = _config(tmp_path, 9092, 9093)
    args = [a for s in SCRAM for a in ("--add-scram", s)]
    theirs = ApacheKafka().run_tool("kafka.tools.StorageTool", ["format", "-t", CLUSTER, "-c", config, *args])
    assert theirs.returncode == 0, theirs.stderr[-2000:]
    kafka_records = _scram_records((tmp_path / "data" / SNAPSHOT).read_bytes())
    (tmp_path / "data").rename(tmp_path / "kafka-data")
    ours = _format(config, *args)
    assert ours.exit_code == 0, ours.output
    kavka_records = _scram_records((tmp_path / "data" / SNAPSHOT).read_bytes())
    assert [(r.name, r.mechanism, r.iterations) for r in kavka_records] == [("alice", 1, 8192), ("bob", 2, 4096)]
    assert kavka_records == kafka_records


@pytest.mark.parametrize(
    "argument,message",
    [
        ("SCRAM-SHA-256", "Failed to find equals sign in SCRAM argument 'SCRAM-SHA-256'"),
        ("SCRAM-SHA-1=[name=a,password=b]", "The add-scram mechanism SCRAM-SHA-1 is not supported."),
        ("SCRAM-SHA-256=name=a", "Expected configuration string to start with ["),
        ("SCRAM-SHA-256=[password=b]", "You must supply 'name' to add-scram"),
        ("SCRAM-SHA-256=[name=a]", "You must supply one of 'password' or 'saltedpassword' to add-scram"),
        ("SCRAM-SHA-256=[name=a,password=b,iterations=100]", "The 'iterations' value must be >= 4096"),
        ("SCRAM-SHA-256=[name=a,password=b,colour=red]", "Unknown SCRAM configurations: colour"),
    ],
)
def test_bad_add_scram_is_refused_with_kafkas_message(tmp_path, argument, message):
    result = _format(_config(tmp_path, 9092, 9093), "--add-scram", argument)
    assert result.exit_code == 1
    assert message in result.output
    assert not (tmp_path / "data").exists()


def test_a_formatted_user_logs_in(tmp_path):
    port, controller_port = free_port(), free_port()
    config = _config(tmp_path, port, controller_port)
    assert _format(config, "--add-scram", SCRAM[0]).exit_code == 0
    # the node's own login (inter-broker, unused by a single node but required as in Kafka) is alice's
    jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="alice-secret";'
    broker = BrokerProcess(
        tmp_path / "data",
        port=port,
        config=config,
        overrides={
            "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "sasl.enabled.mechanisms": "SCRAM-SHA-256",
            "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-256",
            "sasl.jaas.config": jaas,
        },
    )
    broker.start()
    try:
        s = w.connect(f"{broker.host}:{port}")
        assert w.handshake(s, "SCRAM-SHA-256")[0] == 0
        first = w.scram_first("alice")
        server_first = w.authenticate(s, first)
        assert server_first.error_code == 0 and b",i=8192" in server_first.auth_bytes
        final = w.authenticate(s, w.scram_final("SCRAM-SHA-256", "alice-secret", first, server_first.auth_bytes), 3)
        assert final.error_code == 0
    finally:
        broker.stop()
