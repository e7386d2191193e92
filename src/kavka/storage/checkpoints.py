"""Small metadata files of log directories, in Kafka's formats, written atomically (tmp + fsync + rename).

Offset checkpoints (``recovery-point-offset-checkpoint``, ``log-start-offset-checkpoint``, one per log
directory; Kafka's ``OffsetCheckpointFile``)::

    0                       version
    <count>
    <topic> <partition> <offset>      count lines

``partition.metadata`` (one per partition directory; Kafka's ``PartitionMetadataFile``)::

    version: 0
    topic_id: <topic id, 16 bytes as base64url without padding (Kafka's Uuid.toString)>

``meta.properties`` (one per log directory; Java properties)::

    version=1
    cluster.id=<id>
    node.id=<int>
    directory.id=<uuid>

``leader-epoch-checkpoint`` shares the offset checkpoint framing with ``<epoch> <start offset>`` lines.
"""

from __future__ import annotations

import base64
import uuid

from kavka.storage.fs import FileSystem

__all__ = [
    "RECOVERY_POINT_CHECKPOINT",
    "LOG_START_OFFSET_CHECKPOINT",
    "PARTITION_METADATA",
    "META_PROPERTIES",
    "CheckpointError",
    "read_offset_checkpoint",
    "write_offset_checkpoint",
    "read_partition_metadata",
    "write_partition_metadata",
    "read_meta_properties",
    "write_meta_properties",
    "verify_meta_properties",
    "topic_id_to_str",
    "topic_id_from_str",
]

RECOVERY_POINT_CHECKPOINT = "recovery-point-offset-checkpoint"
LOG_START_OFFSET_CHECKPOINT = "log-start-offset-checkpoint"
HIGH_WATERMARK_CHECKPOINT = "replication-offset-checkpoint"
PARTITION_METADATA = "partition.metadata"
META_PROPERTIES = "meta.properties"


class CheckpointError(ValueError):
    """A checkpoint file that does not parse."""


def encode_offset_checkpoint(entries: dict[tuple[str, int], int]) -> bytes:
    lines = ["0", str(len(entries))]
    lines += [f"{topic} {partition} {offset}" for (topic, partition), offset in sorted(entries.items())]
    return ("\n".join(lines) + "\n").encode()


def _text(data: bytes, what: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise CheckpointError(f"{what} is not text: byte 0x{data[e.start]:02x} at position {e.start}") from None


def decode_offset_checkpoint(data: bytes) -> dict[tuple[str, int], int]:
    """Parse an offset checkpoint; CheckpointError (never UnicodeDecodeError) if it is not one."""
    lines = _text(data, "checkpoint").splitlines()
    if len(lines) < 2 or lines[0].strip() != "0":
        raise CheckpointError(f"unsupported checkpoint version line {lines[:1]!r}")
    try:
        count = int(lines[1])
        out = {}
        for line in lines[2 : 2 + count]:
            topic, partition, offset = line.split(" ")
            out[(topic, int(partition))] = int(offset)
    except ValueError as e:
        raise CheckpointError(f"malformed checkpoint: {e}") from None
    if len(out) != count:
        raise CheckpointError(f"checkpoint announces {count} entries, has {len(out)}")
    return out


def read_offset_checkpoint(fs: FileSystem, path: str) -> dict[tuple[str, int], int]:
    """``{(topic, partition): offset}``; empty if the file does not exist."""
    if not fs.exists(path):
        return {}
    return decode_offset_checkpoint(fs.read_bytes(path))


def write_offset_checkpoint(fs: FileSystem, path: str, entries: dict[tuple[str, int], int]) -> None:
    fs.write_atomic(path, encode_offset_checkpoint(entries))


def topic_id_to_str(topic_id: bytes | str | uuid.UUID) -> str:
    """Kafka's Uuid.toString: base64url of the 16 bytes, no padding. Strings pass through."""
    if isinstance(topic_id, str):
        return topic_id
    raw = topic_id.bytes if isinstance(topic_id, uuid.UUID) else bytes(topic_id)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def topic_id_from_str(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def read_partition_metadata(fs: FileSystem, dir_path: str) -> str | None:
    """The topic id string from ``partition.metadata``, or None if absent."""
    path = f"{dir_path}/{PARTITION_METADATA}"
    if not fs.exists(path):
        return None
    fields = {}
    for line in _text(fs.read_bytes(path), path).splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            fields[key.strip()] = value.strip()
    if fields.get("version") != "0" or "topic_id" not in fields:
        raise CheckpointError(f"malformed {path}")
    return fields["topic_id"]


def write_partition_metadata(fs: FileSystem, dir_path: str, topic_id: bytes | str | uuid.UUID) -> None:
    data = f"version: 0\ntopic_id: {topic_id_to_str(topic_id)}"
    fs.write_atomic(f"{dir_path}/{PARTITION_METADATA}", data.encode())


def read_meta_properties(fs: FileSystem, log_dir: str) -> dict[str, str] | None:
    """The properties of ``<log_dir>/meta.properties``, None if absent. CheckpointError (one line naming the
    file) if it is not text, a line is not ``key=value``, or ``version`` (0 or 1), ``node.id`` (an int, for
    version 1) or ``cluster.id`` is missing or wrong: Kafka refuses to start on such a file too."""
    path = f"{log_dir}/{META_PROPERTIES}"
    if not fs.exists(path):
        return None
    props = {}
    for number, line in enumerate(_text(fs.read_bytes(path), path).splitlines(), 1):
        line = line.strip()
        if not line or line[0] in "#!":
            continue
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise CheckpointError(f"{path}: line {number} is not key=value: {line[:40]!r}")
        props[key.strip()] = value.strip()
    version = props.get("version")
    if version not in ("0", "1"):
        raise CheckpointError(f"{path}: version must be 0 or 1, found {version!r}")
    if not props.get("cluster.id"):
        raise CheckpointError(f"{path}: no cluster.id")
    node = props.get("node.id", props.get("broker.id"))
    if node is None and version == "1":
        raise CheckpointError(f"{path}: no node.id")
    if node is not None:
        try:
            int(node)
        except ValueError:
            raise CheckpointError(f"{path}: node.id {node!r} is not an integer") from None
    return props


def write_meta_properties(
    fs: FileSystem, log_dir: str, *, cluster_id: str, node_id: int, directory_id: str | None = None
) -> dict[str, str]:
    """Write ``meta.properties`` (version 1); a new directory id is generated if none is given."""
    props = {
        "cluster.id": cluster_id,
        "directory.id": directory_id or topic_id_to_str(uuid.uuid4()),
        "node.id": str(node_id),
        "version": "1",
    }
    body = "#\n" + "".join(f"{k}={v}\n" for k, v in sorted(props.items()))
    fs.write_atomic(f"{log_dir}/{META_PROPERTIES}", body.encode())
    return props


def verify_meta_properties(props: dict[str, str], path: str, *, node_id: int, cluster_id: str | None) -> str | None:
    """Kafka's check (``MetaPropertiesEnsemble.verify``) of one dir's ``meta.properties`` (``props``, read
    from ``path``) against the node that is starting: None when it fits, else Kafka's one-line message.

    ``cluster_id`` is the id expected (configured, or read from an earlier dir); None takes any. The cluster
    id is checked first, as Kafka does::

        Invalid cluster.id in: <path>. Expected <expected>, but read <found>
        Stored node id <found> doesn't match previous node id <node.id> in <path>. If you moved your data, ...
    """
    found_cluster = props.get("cluster.id")
    if cluster_id is not None and found_cluster and found_cluster != cluster_id:
        return f"Invalid cluster.id in: {path}. Expected {cluster_id}, but read {found_cluster}"
    found_node = props.get("node.id", props.get("broker.id"))
    if found_node is not None and int(found_node) != node_id:
        return (
            f"Stored node id {int(found_node)} doesn't match previous node id {node_id} in {path}. If you moved "
            "your data, make sure your configured node id matches. If you intend to create a new node, you "
            "should remove all data in your data directories."
        )
    return None
