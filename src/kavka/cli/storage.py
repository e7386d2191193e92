"""``kavka storage``: Kafka's ``kafka-storage.sh`` (random-uuid, format, info) for Kavka's data dirs.

``format`` loads the config with KRaft's rules (``metadata.kraft_config``, Kafka's messages) and writes
``meta.properties`` (version 1: cluster.id, node.id, directory.id) into every log dir and the metadata
log dir, refusing a dir that is already formatted unless ``--ignore-formatted``. On a controller it also
writes the bootstrap snapshot ``__cluster_metadata-0/00000000000000000000-0000000000.checkpoint`` into
the metadata log dir (``raft.bootstrap_snapshot``: the finalized features, and with ``--standalone`` or
``--initial-controllers`` the first voter set), as Kafka 4.4's StorageTool does. The dynamic-quorum
flags follow Kafka's rules: ``--standalone`` only on a controller, none of them with static
``controller.quorum.voters``, and a controller without static voters needs one of the three.

Dirs are formatted in the order Kafka's tool prints them (a Java ``HashMap`` of the paths), so the
output lines match. ``kavka serve`` without a config still formats an empty dir itself.
"""

from __future__ import annotations

import os
import sys
import time
from typing import NoReturn

import click

__all__ = ["FormatRefused", "format_dirs", "java_hash_order", "storage"]

# Kafka's name for each metadata.version level Kavka may finalize (MetadataVersion's release names).
_RELEASE_NAMES = {25: "4.0-IV3"}


def _config(path: str):  # -> BrokerConfig, imported lazily (keeps `kavka --help` fast)
    from kavka.metadata.config import BrokerConfig, ConfigError

    try:
        with open(path, encoding="utf-8") as f:
            return BrokerConfig.from_text(f.read(), kraft=True)
    except OSError as e:
        raise click.ClickException(f"cannot read {path}: {e.strerror}") from None
    except ConfigError as e:
        raise click.ClickException(f"{path}: {e}") from None


def _dirs(cfg) -> list[str]:
    return list(dict.fromkeys(os.path.abspath(d) for d in [*cfg.log_dirs, cfg.metadata_log_dir]))


def _java_string_hash(text: str) -> int:
    h = 0
    data = text.encode("utf-16-be")
    for i in range(0, len(data), 2):
        h = (31 * h + int.from_bytes(data[i : i + 2], "big")) & 0xFFFFFFFF
    return h


def java_hash_order(paths: list[str], *, copied: bool = False) -> list[str]:
    """``paths`` in the order a Java ``HashMap<String, ...>`` filled from them iterates: by bucket
    (``(h ^ h >>> 16) & (capacity - 1)``), ties in the order of the map they came from. A map filled by
    ``put`` starts at capacity 16 and doubles past 3/4 full; a ``copied`` one (``new HashMap<>(map)``,
    Java 17) is sized for its entries, so its buckets are fewer. Kafka's StorageTool formats (and prints)
    the dirs in the order of a map filled by put, and names the first of a copied map as formatted."""

    def capacity_for(threshold: int) -> int:
        capacity = 1
        while capacity < threshold:
            capacity *= 2
        return capacity

    def bucket(path: str, capacity: int) -> int:
        h = _java_string_hash(path)
        return (h ^ (h >> 16)) & (capacity - 1)

    filled = 16
    while len(paths) > filled * 3 // 4:
        filled *= 2
    order = sorted(sorted(paths), key=lambda p: bucket(p, filled))
    if copied:
        small = capacity_for(int(len(paths) / 0.75 + 1.0))
        order = sorted(order, key=lambda p: bucket(p, small))
    return order


class FormatRefused(Exception):
    """A format Kafka's tool refuses; ``str(e)`` is its message (printed alone on stderr, exit code 1)."""


def _fail(message: str) -> NoReturn:
    raise FormatRefused(message)


def _parse_initial_controllers(text: str, listener: str) -> list:
    """``--initial-controllers`` as Kafka's DynamicVoters.parse reads it, with its messages."""
    from kavka.metadata.ids import uuid_from_str
    from kavka.raft.bootstrap_snapshot import InitialVoter

    voters: dict[int, InitialVoter] = {}
    for item in text.strip().split(","):
        item = item.strip()
        if not item:
            continue
        at = item.find("@")
        if at < 0:
            _fail("No @ found in dynamic voter string.")
        if at == 0:
            _fail("Invalid @ at beginning of dynamic voter string.")
        try:
            node_id = int(item[:at])
        except ValueError:
            _fail("Failed to parse node id in dynamic voter string.")
        if node_id < 0:
            _fail(f"Invalid negative node id {node_id} in dynamic voter string.")
        rest = item[at + 1 :]
        if not rest:
            _fail("No hostname found after node id.")
        if rest.startswith("["):
            end = rest.find("]")
            if end < 0:
                _fail("Hostname began with left bracket, but no right bracket was found.")
            host, rest = rest[1:end], rest[end + 1 :]
        else:
            end = rest.find(":")
            if end < 0:
                _fail("No colon following hostname could be found.")
            host, rest = rest[:end], rest[end:]
        if not rest.startswith(":"):
            _fail("Port section must start with a colon.")
        rest = rest[1:]
        end = rest.find(":")
        if end < 0:
            _fail("No colon following port could be found.")
        try:
            port = int(rest[:end])
        except ValueError:
            _fail("Failed to parse port in dynamic voter string.")
        if not 0 <= port <= 65535:
            _fail(f"Invalid port {port} in dynamic voter string.")
        try:
            directory_id = uuid_from_str(rest[end + 1 :])
        except ValueError:
            _fail("Failed to parse directory ID in dynamic voter string.")
        if node_id in voters:
            _fail(f"Node id {node_id} was specified more than once.")
        voters[node_id] = InitialVoter(node_id, directory_id, listener, host, port)
    return list(voters.values())


def _controller_endpoint(cfg) -> tuple[str, int]:
    """This controller's own address for ``--standalone``: its first controller listener (advertised if
    advertised.listeners names one); an empty host is ``localhost``, as in Kafka's tool."""
    from kavka.metadata.config import parse_listeners

    name = cfg.controller_listener_names[0]
    advertised = cfg["advertised.listeners"]
    for endpoints in (
        parse_listeners(advertised, cfg.protocol_map, "advertised.listeners") if advertised else [],
        cfg.listeners,
    ):
        for endpoint in endpoints:
            if endpoint.name == name:
                return endpoint.host or "localhost", endpoint.port
    raise click.ClickException(f"no {name} listener to stand for this controller")  # the config check prevents it


@click.group()
def storage() -> None:
    """Format and inspect data dirs (kafka-storage.sh)."""


@storage.command("random-uuid")
def random_uuid() -> None:
    """Print a new cluster id."""
    from kavka.metadata.ids import new_cluster_id

    click.echo(new_cluster_id())


@storage.command(short_help="Write meta.properties into the log dirs.")
@click.option("-t", "--cluster-id", required=True, help="The cluster id (kavka storage random-uuid makes one).")
@click.option("-c", "--config", "config_file", required=True, type=click.Path(dir_okay=False), help="server.properties")
@click.option("-g", "--ignore-formatted", is_flag=True, help="Skip dirs that are already formatted.")
@click.option(
    "-s", "--standalone", is_flag=True, help="This controller is the only initial voter (a dynamic quorum of one)."
)
@click.option(
    "-I",
    "--initial-controllers",
    default=None,
    metavar="ID@HOST:PORT:DIRID,...",
    help="The initial voters of a dynamic quorum (the same list on every node).",
)
@click.option("-N", "--no-initial-controllers", is_flag=True, help="A dynamic quorum whose voters are added later.")
@click.option(
    "-S",
    "--add-scram",
    "add_scram",
    multiple=True,
    metavar="MECHANISM=[name=USER,password=PW]",
    help="A SCRAM credential to create with the cluster, e.g. 'SCRAM-SHA-256=[name=alice,password=alice-secret]'.",
)
def format(  # noqa: A001
    cluster_id: str,
    config_file: str,
    ignore_formatted: bool,
    standalone: bool,
    initial_controllers: str | None,
    no_initial_controllers: bool,
    add_scram: tuple[str, ...],
) -> None:
    """Write meta.properties into every log dir of the config (and a controller's bootstrap snapshot)."""
    from kavka.metadata.ids import uuid_from_str

    flags = [f for f, on in (("--standalone", standalone), ("--initial-controllers", initial_controllers is not None), ("--no-initial-controllers", no_initial_controllers)) if on]  # fmt: skip
    if len(flags) > 1:
        raise click.UsageError(f"argument {flags[1]}: not allowed with argument {flags[0]}")
    try:
        uuid_from_str(cluster_id)
    except ValueError:
        raise click.ClickException(f"Cluster ID string {cluster_id} does not appear to be a valid UUID") from None
    cfg = _config(config_file)
    try:
        format_dirs(
            cfg,
            cluster_id,
            ignore_formatted=ignore_formatted,
            standalone=standalone,
            initial_controllers=initial_controllers,
            no_initial_controllers=no_initial_controllers,
            add_scram=add_scram,
        )
    except FormatRefused as e:
        click.echo(str(e), err=True)
        sys.exit(1)


def format_dirs(
    cfg,
    cluster_id: str,
    *,
    ignore_formatted: bool = False,
    standalone: bool = False,
    initial_controllers: str | None = None,
    no_initial_controllers: bool = False,
    add_scram: tuple[str, ...] = (),
    echo=click.echo,
) -> None:
    """Format the dirs of ``cfg`` (a BrokerConfig that passed KRaft's rules) for ``cluster_id``, as the
    ``format`` command does, printing its lines through ``echo``. FormatRefused with Kafka's message
    when the flags do not fit the config or a dir is formatted already (without ``ignore_formatted``)."""
    from kavka.cli.scram import parse_add_scram, record_text
    from kavka.controller.features import BOOTSTRAP_LEVELS, METADATA_VERSION
    from kavka.metadata.ids import random_uuid, uuid_to_str
    from kavka.raft.bootstrap_snapshot import BOOTSTRAP_SNAPSHOT_NAME, InitialVoter, bootstrap_snapshot
    from kavka.storage.checkpoints import CheckpointError, read_meta_properties, write_meta_properties
    from kavka.storage.fs import OsFileSystem

    try:
        scram_records = parse_add_scram(add_scram)
    except ValueError as e:
        _fail(str(e))
    flags = [standalone, initial_controllers is not None, no_initial_controllers]
    node_id = cfg.node_id
    is_controller = "controller" in cfg.process_roles
    static_voters = bool(cfg["controller.quorum.voters"])
    if standalone and not is_controller:
        _fail("You can only use --standalone on a controller.")
    if (standalone or initial_controllers is not None) and static_voters:
        _fail(
            "You cannot specify controller.quorum.voters and format the node with --initial-controllers or "
            "--standalone. If you want to use dynamic quorum, please remove controller.quorum.voters and specify "
            "controller.quorum.bootstrap.servers instead."
        )
    if is_controller and not static_voters and not any(flags):
        _fail(
            "Because controller.quorum.voters is not set on this controller, you must specify one of the "
            "following: --standalone, --initial-controllers, or --no-initial-controllers."
        )
    listener = cfg.controller_listener_names[0]
    voters: list[InitialVoter] | None = None
    if initial_controllers is not None:
        voters = _parse_initial_controllers(initial_controllers, listener)
    metadata_dir = os.path.abspath(cfg.metadata_log_dir)
    metadata_dir_id = random_uuid()
    if standalone:
        host, port = _controller_endpoint(cfg)
        voters = [InitialVoter(node_id, metadata_dir_id, listener, host, port)]
    own = next((v for v in voters or () if v.node_id == node_id), None)
    if own is not None:
        metadata_dir_id = own.directory_id

    fs = OsFileSystem()
    todo, formatted = [], []
    for d in _dirs(cfg):
        try:
            props = read_meta_properties(fs, d) if os.path.isdir(d) else None
        except CheckpointError as e:
            _fail(str(e))
        (todo if props is None else formatted).append(d)
    if formatted and not ignore_formatted:
        _fail(
            f"Log directory {java_hash_order(formatted, copied=True)[0]} is already formatted. Use --ignore-formatted to ignore "
            "this directory and format the others."
        )
    level = BOOTSTRAP_LEVELS[METADATA_VERSION]
    release = _RELEASE_NAMES[level]
    records = ", ".join(
        f"ApiMessageAndVersion(FeatureLevelRecord(name='{name}', featureLevel={BOOTSTRAP_LEVELS[name]}) at version 0)"
        for name in sorted(BOOTSTRAP_LEVELS, key=lambda n: (n != METADATA_VERSION, n))
    )
    records += "".join(f", ApiMessageAndVersion({record_text(r)} at version 0)" for r in scram_records)
    echo(
        f"Bootstrap metadata: BootstrapMetadata(records=[{records}], metadataVersionLevel={level}, "
        "source=format command)"
    )
    if not todo:
        echo("All of the log directories are already formatted.")
        return
    for d in java_hash_order(todo):
        if d != metadata_dir:
            kind = "data directory"
        elif voters is None:
            kind = "metadata directory"
        else:
            kind = "dynamic metadata voter directory" if own is not None else "dynamic metadata directory"
        echo(f"Formatting {kind} {d} with metadata.version {release}.")
        try:
            fs.makedirs(d)
            if d == metadata_dir and is_controller:
                snapshot = bootstrap_snapshot(
                    BOOTSTRAP_LEVELS,
                    kraft_version=0 if static_voters else 1,
                    voters=voters,
                    now_ms=int(time.time() * 1000),
                    records=scram_records,
                )
                fs.makedirs(f"{d}/__cluster_metadata-0")
                fs.write_atomic(f"{d}/__cluster_metadata-0/{BOOTSTRAP_SNAPSHOT_NAME}", snapshot)
            directory_id = metadata_dir_id if d == metadata_dir else random_uuid()
            write_meta_properties(fs, d, cluster_id=cluster_id, node_id=node_id, directory_id=uuid_to_str(directory_id))
        except OSError as e:
            _fail(f"Error while writing meta.properties file {d}: {e.strerror}")


@storage.command(short_help="Show the meta.properties of the log dirs.")
@click.option("-c", "--config", "config_file", required=True, type=click.Path(dir_okay=False), help="server.properties")
def info(config_file: str) -> None:
    """Show the meta.properties of every log dir of the config."""
    from kavka.storage.checkpoints import CheckpointError, read_meta_properties
    from kavka.storage.fs import OsFileSystem

    cfg = _config(config_file)
    fs = OsFileSystem()
    found: list[str] = []
    problems: list[str] = []
    metadata: dict[str, str] | None = None
    for d in sorted(_dirs(cfg)):
        if not os.path.isdir(d):
            problems.append(f"{d} does not exist")
            continue
        try:
            props = read_meta_properties(fs, d)
        except CheckpointError as e:
            problems.append(str(e))
            continue
        found.append(d)
        if props is None:
            problems.append(f"{d} is not formatted.")
        elif metadata is None:
            metadata = props
        elif props.get("cluster.id") != metadata.get("cluster.id"):
            problems.append(f"{d}: cluster.id {props.get('cluster.id')} differs from {metadata.get('cluster.id')}")
    if problems:
        click.echo("Found problem" + ("s" if len(problems) > 1 else "") + ":")
        click.echo("".join(f"  {p}\n" for p in problems))
    if found:
        click.echo("Found log director" + ("ies" if len(found) > 1 else "y") + ":")
        click.echo("".join(f"  {d}\n" for d in found))
    if metadata is not None:
        click.echo("Found metadata: {" + ", ".join(f"{k}={v}" for k, v in sorted(metadata.items())) + "}\n")
    sys.exit(1 if problems else 0)
