"""``kavka storage`` (kafka-storage.sh): random-uuid, format and info, with Kafka's messages and exit
codes. Checked against Kafka 4.4's own StorageTool: the same config formatted by both prints the same
lines and writes the same bootstrap snapshot (the KRaft control batch byte for byte, after normalising
ids, times and CRCs), Kafka's tool reads the dirs Kavka formats, and both refuse the same flag misuse
with the same words. A broker started on formatted dirs keeps the cluster id it was given."""

from __future__ import annotations

import re
import shutil
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from confluent_kafka.admin import AdminClient

from kavka.cli.main import main
from kavka.cli.storage import java_hash_order
from kavka.metadata.ids import uuid_from_str
from kavka.protocol.records import iter_batches
from kavka.raft.bootstrap_snapshot import InitialVoter, read_bootstrap_voters
from kavka.storage.checkpoints import verify_meta_properties
from kavka.testing.process import BrokerProcess

CLUSTER = "abcdefghijklmnopqrstuv"
SNAPSHOT = "__cluster_metadata-0/00000000000000000000-0000000000.checkpoint"
STORAGE_TOOL = "kafka.tools.StorageTool"


def storage(*args: str):
    return CliRunner().invoke(main, ["storage", *args], catch_exceptions=False, prog_name="kavka")


def properties(tmp_path: Path, node_id: int = 3, roles: str = "broker,controller", **extra: str):
    """A KRaft server.properties with two log dirs (the first holds the metadata log)."""
    dirs = [tmp_path / "a", tmp_path / "b"]
    props = {
        "process.roles": roles,
        "node.id": str(node_id),
        "log.dirs": f"{dirs[0]},{dirs[1]}",
        "listeners": "PLAINTEXT://127.0.0.1:9092,CONTROLLER://127.0.0.1:9093"
        if "controller" in roles
        else "PLAINTEXT://127.0.0.1:9092",
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.bootstrap.servers": "127.0.0.1:9093",
        **extra,
    }
    if roles == "controller":
        props["listeners"] = "CONTROLLER://127.0.0.1:9093"
    if "controller.quorum.voters" in extra:  # static voters: no bootstrap servers
        del props["controller.quorum.bootstrap.servers"]
    path = tmp_path / "server.properties"
    path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
    return str(path), dirs


def test_random_uuid_is_a_cluster_id():
    a, b = storage("random-uuid").output.strip(), storage("random-uuid").output.strip()
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_-]{21}", a) and a != b


def test_format_info_and_refusing_formatted_dirs(tmp_path):
    config, (a, b) = properties(tmp_path)
    r = storage("info", "-c", config)
    assert r.exit_code == 1
    assert r.output == f"Found problems:\n  {a} does not exist\n  {b} does not exist\n\n"

    r = storage("format", "-t", CLUSTER, "-c", config, "--standalone")
    assert r.exit_code == 0, r.output
    lines = r.output.splitlines()
    assert lines[0].startswith(
        "Bootstrap metadata: BootstrapMetadata(records=[ApiMessageAndVersion(FeatureLevelRecord("
    )
    assert sorted(lines[1:]) == [
        f"Formatting data directory {b} with metadata.version 4.0-IV3.",
        f"Formatting dynamic metadata voter directory {a} with metadata.version 4.0-IV3.",
    ]
    for d in (a, b):
        text = (d / "meta.properties").read_text()
        assert f"cluster.id={CLUSTER}\n" in text and "node.id=3\n" in text and "version=1\n" in text
    assert (a / SNAPSHOT).is_file() and not (b / "__cluster_metadata-0").exists()

    r = storage("format", "-t", CLUSTER, "-c", config, "--standalone")
    assert r.exit_code == 1
    assert "Log directory" in r.output and "is already formatted. Use --ignore-formatted" in r.output
    r = storage("format", "-t", CLUSTER, "-c", config, "--standalone", "--ignore-formatted")
    assert r.exit_code == 0 and r.output.endswith("\nAll of the log directories are already formatted.\n")

    r = storage("info", "-c", config)
    assert r.exit_code == 0, r.output
    assert r.output.startswith(
        f"Found log directories:\n  {a}\n  {b}\n\nFound metadata: {{cluster.id={CLUSTER}, directory.id="
    )
    assert r.output.endswith(", node.id=3, version=1}\n\n")


def test_a_bad_cluster_id_is_refused(tmp_path):
    config, _ = properties(tmp_path)
    r = storage("format", "-t", "not-a-uuid", "-c", config, "--standalone")
    assert r.exit_code == 1
    assert "Cluster ID string not-a-uuid does not appear to be a valid UUID" in r.output


def test_a_config_that_breaks_kraft_rules_is_refused(tmp_path):
    config, _ = properties(tmp_path, roles="broker", **{"controller.quorum.voters": "3@127.0.0.1:9093"})
    r = storage("format", "-t", CLUSTER, "-c", config)
    assert r.exit_code == 1
    assert "the node id 3 must not be included in the set of voters" in r.output


def test_initial_controllers_give_the_voter_set_and_the_directory_id(tmp_path):
    config, (a, _) = properties(tmp_path, node_id=2, roles="controller")
    voters = "1@127.0.0.1:9093:vKk7iCxlToKIPmKQrkB4zQ,2@[::1]:9095:MvDxzVmcRsaTz33bUuRU6A"
    r = storage("format", "-t", CLUSTER, "-c", config, "--initial-controllers", voters)
    assert r.exit_code == 0, r.output
    assert f"Formatting dynamic metadata voter directory {a} with metadata.version 4.0-IV3." in r.output
    assert "directory.id=MvDxzVmcRsaTz33bUuRU6A\n" in (a / "meta.properties").read_text()
    assert read_bootstrap_voters((a / SNAPSHOT).read_bytes()) == (
        1,
        [
            InitialVoter(1, uuid_from_str("vKk7iCxlToKIPmKQrkB4zQ"), "CONTROLLER", "127.0.0.1", 9093),
            InitialVoter(2, uuid_from_str("MvDxzVmcRsaTz33bUuRU6A"), "CONTROLLER", "::1", 9095),
        ],
    )


def test_java_hash_order_is_kafkas_print_order():
    # orders Kafka 4.4's StorageTool printed for these log.dirs
    assert java_hash_order(["/tmp/cc/k1/a", "/tmp/cc/k1/b"]) == ["/tmp/cc/k1/b", "/tmp/cc/k1/a"]
    assert java_hash_order(["/tmp/cc/z/a", "/tmp/cc/z/b", "/tmp/cc/z/z"]) == [
        "/tmp/cc/z/z",
        "/tmp/cc/z/b",
        "/tmp/cc/z/a",
    ]


def test_verify_meta_properties_messages():
    props = {"cluster.id": CLUSTER, "node.id": "3", "version": "1"}
    assert verify_meta_properties(props, "/d/meta.properties", node_id=3, cluster_id=CLUSTER) is None
    assert verify_meta_properties(props, "/d/meta.properties", node_id=3, cluster_id=None) is None
    assert verify_meta_properties(props, "/d/meta.properties", node_id=3, cluster_id="x" * 22) == (
        f"Invalid cluster.id in: /d/meta.properties. Expected {'x' * 22}, but read {CLUSTER}"
    )
    assert verify_meta_properties(props, "/d/meta.properties", node_id=4, cluster_id=CLUSTER) == (
        "Stored node id 3 doesn't match previous node id 4 in /d/meta.properties. If you moved your data, make "
        "sure your configured node id matches. If you intend to create a new node, you should remove all data in "
        "your data directories."
    )


# --- against Kafka's own StorageTool -----------------------------------------------------------------


def _normalised(data: bytes) -> list[tuple[bool, bytes]]:
    """Each batch of a snapshot file as (is control, bytes) with the base offset, CRC, both batch
    timestamps, the snapshot header's timestamp and every voter's directory id zeroed."""
    out = []
    for pos, header, records in iter_batches(data):
        raw = bytearray(data[pos : pos + 12 + header.batch_length])
        stamps = {header.base_timestamp, header.max_timestamp} | {r.timestamp for r in records}
        if pos == 0:  # the SnapshotHeaderRecord: int16 version, int64 last contained log timestamp
            stamps.add(struct.unpack_from(">q", records[0].value, 2)[0])
        raw[0:8] = bytes(8)
        raw[17:21] = bytes(4)
        for ts in stamps:
            raw = bytearray(raw.replace(struct.pack(">q", ts), bytes(8)))
        out.append((bool(header.attributes & 0x20), bytes(raw)))
    return out


def _zero_ids(batch: bytes, *ids: str) -> bytes:
    for text in ids:
        batch = batch.replace(uuid_from_str(text).bytes, bytes(16))
    return batch


def _format_both(apache_kafka, config: str, dirs: list[Path], *args: str):
    """Format with Kafka's tool, keep its files, wipe, format with Kavka's: (kafka, kavka) outputs and
    the metadata dir's meta.properties texts and snapshots."""
    theirs = apache_kafka.run_tool(STORAGE_TOOL, ["format", "-t", CLUSTER, "-c", config, *args])
    assert theirs.returncode == 0, theirs.stdout + theirs.stderr[-2000:]
    kafka_files = {p: p.read_bytes() for d in dirs for p in d.rglob("*") if p.is_file()}
    for d in dirs:
        shutil.rmtree(d)
    ours = storage("format", "-t", CLUSTER, "-c", config, *args)
    assert ours.exit_code == 0, ours.output
    kavka_files = {p: p.read_bytes() for d in dirs for p in d.rglob("*") if p.is_file()}
    return theirs.stdout, ours.output, kafka_files, kavka_files


def _lines(output: str) -> list[str]:
    """The Formatting lines, without the release (Kafka formats at 4.4-IV2, Kavka at 4.0-IV3)."""
    return [
        re.sub(r" with metadata.version \S+$", "", line)
        for line in output.splitlines()
        if line.startswith("Formatting")
    ]


def _dir_id(files: dict[Path, bytes], meta: Path) -> str:
    return re.search(rb"directory.id=(\S+)", files[meta]).group(1).decode()


@pytest.mark.parametrize("mode", ["standalone", "initial-controllers", "static-voters"])
def test_kafka_and_kavka_write_the_same_bootstrap_snapshot(mode, apache_kafka, tmp_path):
    if mode == "static-voters":
        config, dirs = properties(tmp_path, node_id=1, **{"controller.quorum.voters": "1@127.0.0.1:9093"})
        args: tuple[str, ...] = ()
    elif mode == "standalone":
        config, dirs = properties(tmp_path, node_id=1)
        args = ("--standalone",)
    else:
        config, dirs = properties(tmp_path, node_id=1, roles="controller")
        args = (
            "--initial-controllers",
            "1@127.0.0.1:9093:vKk7iCxlToKIPmKQrkB4zQ,2@localhost:9095:MvDxzVmcRsaTz33bUuRU6A",
        )
    kafka_out, kavka_out, kafka_files, kavka_files = _format_both(apache_kafka, config, dirs, *args)
    assert _lines(kavka_out) == _lines(kafka_out)
    assert sorted(kafka_files) == sorted(kavka_files)  # the same files, no bootstrap.checkpoint
    meta = dirs[0] / "meta.properties"
    ids = (_dir_id(kafka_files, meta), _dir_id(kavka_files, meta))
    theirs = _normalised(kafka_files[dirs[0] / SNAPSHOT])
    ours = _normalised(kavka_files[dirs[0] / SNAPSHOT])
    # header (+ KRaftVersion + Voters) and footer: the same bytes; in between one batch of feature levels
    assert [c for c, _ in theirs] == [c for c, _ in ours] == [True, False, True]
    assert _zero_ids(ours[0][1], *ids) == _zero_ids(theirs[0][1], *ids)
    assert ours[2][1] == theirs[2][1]


@pytest.mark.parametrize(
    "roles,extra,args,message",
    [
        ("broker", {}, ["--standalone"], "You can only use --standalone on a controller."),
        (
            "broker,controller",
            {"controller.quorum.voters": "1@127.0.0.1:9093"},
            ["--standalone"],
            "You cannot specify controller.quorum.voters and format the node with --initial-controllers or "
            "--standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and specify "
            "controller.quorum.bootstrap.servers instead.",
        ),
        (
            "controller",
            {},
            [],
            "Because controller.quorum.voters is not set on this controller, you must specify one of the following: "
            "--standalone, --initial-controllers, or --no-initial-controllers.",
        ),
        ("controller", {}, ["-I", "1@localhost:9093"], "No colon following port could be found."),
        (
            "controller",
            {},
            ["-I", "1@localhost:9093:vKk7iCxlToKIPmKQrkB4zQ,1@localhost:9094:MvDxzVmcRsaTz33bUuRU6A"],
            "Node id 1 was specified more than once.",
        ),
    ],
    ids=["standalone-broker", "standalone-static-voters", "controller-needs-a-flag", "voter-no-dir", "voter-twice"],
)
def test_format_refusals_match_kafka(roles, extra, args, message, apache_kafka, tmp_path):
    config, _ = properties(tmp_path, node_id=1, roles=roles, **extra)
    ours = storage("format", "-t", CLUSTER, "-c", config, *args)
    assert ours.exit_code == 1
    assert ours.output.strip() == message
    theirs = apache_kafka.run_tool(STORAGE_TOOL, ["format", "-t", CLUSTER, "-c", config, *args])
    assert theirs.returncode == 1
    first = theirs.stderr.strip().splitlines()[0]
    assert re.sub(r'^Exception in thread "main" [\w.$]+: ', "", first) == message


def test_kafkas_storage_tool_reads_what_kavka_formats(tmp_path, apache_kafka):
    config, _ = properties(tmp_path, node_id=1)
    assert storage("format", "-t", CLUSTER, "-c", config, "--standalone").exit_code == 0
    theirs = apache_kafka.run_tool(STORAGE_TOOL, ["info", "-c", config])
    ours = storage("info", "-c", config)
    assert theirs.returncode == ours.exit_code == 0, theirs.stderr[-2000:]
    assert theirs.stdout == ours.output


def test_a_broker_on_formatted_dirs_keeps_the_cluster_id(tmp_path):
    config, (a, _) = properties(tmp_path, node_id=1)
    assert storage("format", "-t", CLUSTER, "-c", config, "--standalone").exit_code == 0
    broker = BrokerProcess(a)
    broker.start()
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        assert admin.describe_cluster().result(30).cluster_id == CLUSTER
    finally:
        broker.stop()
        broker.cleanup()


def test_kafka_starts_on_dirs_kavka_formatted(tmp_path, apache_kafka):
    """A Kafka 4.4 node runs on a dir Kavka formatted with --standalone: it loads the bootstrap snapshot
    (its voter set, with Kavka's directory id, and Kavka's feature levels) and leads its quorum."""
    from kavka.testing.apache_kafka import ApacheKafka

    kafka = ApacheKafka(tmp_path / "kafka")
    kafka.base_dir.mkdir(parents=True)
    kafka.config_path.write_text("".join(f"{k}={v}\n" for k, v in kafka.properties().items()))
    assert storage("format", "-t", kafka.cluster_id, "-c", str(kafka.config_path), "--standalone").exit_code == 0
    directory_id = re.search(r"directory.id=(\S+)", (kafka.data_dir / "meta.properties").read_text()).group(1)
    kafka.start()  # a formatted dir: the fixture does not format it again
    try:
        status = CliRunner().invoke(main, ["cluster", "status", "--bootstrap-server", kafka.bootstrap])
        assert status.exit_code == 0, status.output
        assert f"ClusterId:              {kafka.cluster_id}\nLeaderId:               1\n" in status.output
        assert f'CurrentVoters:          [{{"id": 1, "directoryId": "{directory_id}", "endpoints": ' in status.output
        features = apache_kafka.run_tool(
            "org.apache.kafka.tools.FeatureCommand", ["--bootstrap-server", kafka.bootstrap, "describe"]
        )
        finalized = dict(re.findall(r"Feature: (\S+)\s.*FinalizedVersionLevel: (\S+)", features.stdout))
        assert finalized["metadata.version"] == "4.0-IV3", features.stdout
        assert (finalized["kraft.version"], finalized["group.version"], finalized["transaction.version"]) == (
            "1",
            "1",
            "2",
        )
    finally:
        kafka.stop()
        kafka.cleanup()
