"""``kavka storage``: Kafka's ``kafka-storage.sh`` (random-uuid, format, info) for Kavka's data dirs.

``format`` writes ``meta.properties`` (version 1: cluster.id, node.id, directory.id) into every log dir
and the metadata log dir of a ``server.properties``, as Kafka's StorageTool does, refusing a dir that
is already formatted unless ``--ignore-formatted``. A broker started on such dirs keeps that cluster id
and refuses dirs of another cluster or node. ``kavka serve`` without a config still formats an empty
dir itself, so a single node needs no format step. Messages and exit codes are Kafka's.
"""

from __future__ import annotations

import os
import sys

import click

__all__ = ["storage"]


def _config(path: str):  # -> BrokerConfig, imported lazily (keeps `kavka --help` fast)
    from kavka.metadata.config import BrokerConfig, ConfigError

    try:
        with open(path, encoding="utf-8") as f:
            return BrokerConfig.from_text(f.read())
    except OSError as e:
        raise click.ClickException(f"cannot read {path}: {e.strerror}") from None
    except ConfigError as e:
        raise click.ClickException(f"{path}: {e}") from None


def _dirs(cfg) -> list[str]:
    seen: list[str] = []
    for d in [*cfg.log_dirs, cfg.metadata_log_dir]:
        d = os.path.abspath(d)
        if d not in seen:
            seen.append(d)
    return seen


@click.group()
def storage() -> None:
    """Format and inspect data dirs (kafka-storage.sh)."""


@storage.command("random-uuid")
def random_uuid() -> None:
    """Print a new cluster id."""
    from kavka.metadata.ids import new_cluster_id

    click.echo(new_cluster_id())


@storage.command()
@click.option("-t", "--cluster-id", required=True, help="The cluster id (kavka storage random-uuid makes one).")
@click.option("-c", "--config", "config_file", required=True, type=click.Path(dir_okay=False), help="server.properties")
@click.option("-g", "--ignore-formatted", is_flag=True, help="Skip dirs that are already formatted.")
@click.option("-s", "--standalone", is_flag=True, help="This node is the only initial controller (a quorum of one).")
def format(cluster_id: str, config_file: str, ignore_formatted: bool, standalone: bool) -> None:  # noqa: A001
    """Write meta.properties into every log dir of the config."""
    from kavka.metadata.ids import random_uuid, uuid_from_str, uuid_to_str
    from kavka.storage.checkpoints import CheckpointError, read_meta_properties, write_meta_properties
    from kavka.storage.fs import OsFileSystem

    try:
        uuid_from_str(cluster_id)
    except ValueError:
        raise click.ClickException(f"Cluster ID string {cluster_id} does not appear to be a valid UUID") from None
    cfg = _config(config_file)
    fs = OsFileSystem()
    todo = []
    for d in _dirs(cfg):
        try:
            props = read_meta_properties(fs, d) if os.path.isdir(d) else None
        except CheckpointError as e:
            raise click.ClickException(str(e)) from None
        if props is None:
            todo.append(d)
        elif not ignore_formatted:
            click.echo(
                f"Log directory {d} is already formatted. Use --ignore-formatted to ignore this directory and format the others.",
                err=True,
            )
            sys.exit(1)
    if not todo:
        click.echo("All of the log directories are already formatted.")
        return
    for d in todo:
        try:
            fs.makedirs(d)
            write_meta_properties(
                fs, d, cluster_id=cluster_id, node_id=cfg.node_id, directory_id=uuid_to_str(random_uuid())
            )
        except OSError as e:
            raise click.ClickException(f"cannot format {d}: {e.strerror}") from None
        click.echo(f"Formatting {'metadata' if d == os.path.abspath(cfg.metadata_log_dir) else 'data'} directory {d}.")


@storage.command()
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
    for d in _dirs(cfg):
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
