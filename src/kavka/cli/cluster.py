"""``kavka cluster``: a local KRaft cluster in one command (``up``), and a look at any cluster's quorum
and brokers (``status``).

``kavka cluster up`` lays a cluster out under one directory (``--dir``; by default a fresh
``kavka-cluster-<n>`` under the current one, n the first free number)::

    <dir>/node-<id>/server.properties     process.roles, node.id, listeners, controller.quorum.voters, ...
    <dir>/node-<id>/data/                 log.dirs (formatted as `kavka storage format` does)
    <dir>/node-<id>/kavka.log             the node's stdout and stderr
    <dir>/node-<id>/kavka.pid             the running node's process id (gone once it exits)
    <dir>/cluster.json                    the nodes: ids, roles, addresses, config, log, command line

Node ids and ports (``--base-port`` P, node k counting from 0 in id order):

- ``--nodes N``: N combined nodes (broker and controller), ids 1..N;
- ``--controllers C --brokers B``: controllers 1..C, brokers C+1..C+B;
- a broker listens on ``PLAINTEXT://127.0.0.1:P+k``, a controller on ``CONTROLLER://127.0.0.1:P+100+k``,
  and the web console of each node on ``http://127.0.0.1:P+200+k``;
- every controller is a static voter (``controller.quorum.voters``); the internal topics get
  min(3, brokers) replicas.

It formats every node with one cluster id (a dir formatted already keeps its data: ``up`` on the same
``--dir`` restarts that cluster), starts one ``kavka serve --config`` process per node, waits until every
broker lists every broker in Metadata (``--timeout``; else one line naming the nodes that did not come
up and the tail of their log), prints the bootstrap servers and each node's addresses, and stays in the
foreground. SIGINT (Ctrl-C), SIGTERM or SIGHUP stops every node (SIGTERM, then SIGKILL after
``--grace`` seconds) and exits 0; a node gets SIGTERM too if ``cluster up`` itself is killed.

``kavka cluster status`` prints what ``kafka-metadata-quorum describe --status`` and ``--replication``
print (DescribeQuorum, in Kafka's layout), then the brokers (DescribeCluster).

Control from any node's console (:mod:`kavka.console.control`): each node runs with
``KAVKA_CLUSTER_DIR`` naming the cluster's directory, so its console can read ``cluster.json`` and the
pid files and signal a node itself (stop, kill, pause, resume). A restart is the supervisor's job, since
the nodes are its children: a console writes ``node-<id>/restart.request`` and ``cluster up`` (which
looks every 0.2 s) stops that node if it runs (SIGTERM, SIGCONT in case it is paused, SIGKILL after
``--grace``), starts it again with the same command line and removes the request.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from kavka.metadata.config import BrokerConfig

__all__ = ["cluster", "NodeSpec", "plan_nodes", "node_properties"]

HOST = "127.0.0.1"
CONTROLLER_OFFSET, CONSOLE_OFFSET = 100, 200
CLUSTER_DIR_ENV = "KAVKA_CLUSTER_DIR"  # set on every node `cluster up` starts: its cluster's directory
CLUSTER_FILE, PID_FILE, RESTART_REQUEST = "cluster.json", "kavka.pid", "restart.request"


@dataclass(frozen=True)
class NodeSpec:
    """One node of a local cluster: its id, roles and ports (None where it has no such listener)."""

    node_id: int
    roles: tuple[str, ...]
    broker_port: int | None
    controller_port: int | None
    console_port: int | None

    @property
    def is_broker(self) -> bool:
        return "broker" in self.roles

    @property
    def is_controller(self) -> bool:
        return "controller" in self.roles


def plan_nodes(
    nodes: int | None, controllers: int | None, brokers: int | None, base_port: int, console: bool
) -> list[NodeSpec]:
    """The nodes of ``--nodes N`` (combined) or ``--controllers C --brokers B`` (separate roles)."""
    if nodes is not None:
        layout = [("broker", "controller")] * nodes
    else:
        layout = [("controller",)] * (controllers or 0) + [("broker",)] * (brokers or 0)
    specs = []
    for k, roles in enumerate(layout):
        specs.append(
            NodeSpec(
                node_id=k + 1,
                roles=roles,
                broker_port=base_port + k if "broker" in roles else None,
                controller_port=base_port + CONTROLLER_OFFSET + k if "controller" in roles else None,
                console_port=base_port + CONSOLE_OFFSET + k if console else None,
            )
        )
    return specs


def node_properties(spec: NodeSpec, specs: list[NodeSpec], data_dir: Path) -> dict[str, str]:
    """The server.properties of one node of the cluster ``specs``."""
    voters = ",".join(f"{s.node_id}@{HOST}:{s.controller_port}" for s in specs if s.is_controller)
    listeners = []
    if spec.broker_port is not None:
        listeners.append(f"PLAINTEXT://{HOST}:{spec.broker_port}")
    if spec.controller_port is not None:
        listeners.append(f"CONTROLLER://{HOST}:{spec.controller_port}")
    props = {
        "process.roles": ",".join(spec.roles),
        "node.id": str(spec.node_id),
        "listeners": ",".join(listeners),
        "controller.listener.names": "CONTROLLER",
        "controller.quorum.voters": voters,
        "log.dirs": str(data_dir),
        **BrokerConfig.cluster_defaults(sum(1 for s in specs if s.is_broker)),
    }
    if spec.is_broker:
        props["inter.broker.listener.name"] = "PLAINTEXT"
    if spec.console_port is not None:
        props["console.listener"] = f"http://{HOST}:{spec.console_port}"
    return props


# --- raw requests ---------------------------------------------------------------------------------


def request(host: str, port: int, api_key: int, version: int, body: dict[str, Any], timeout: float) -> Any:
    """Send one request on a fresh connection (the nodes' own peer client) and return the response as
    kio's entity. Raises OSError when the node cannot be reached or does not answer within ``timeout``,
    ValueError when the answer does not parse."""
    from kavka.server.peer_client import PeerClient, PeerError, PeerProtocolError

    async def once() -> Any:
        client = PeerClient(host, port, client_id="kavka-cluster")
        try:
            return await client.request(api_key, version, body, timeout=timeout)
        finally:
            await client.close()

    try:
        return asyncio.run(once())
    except PeerProtocolError as e:
        raise ValueError(f"cannot read the answer: {e}") from None
    except PeerError as e:
        raise OSError(str(e)) from None


def metadata_broker_ids(host: str, port: int, timeout: float) -> set[int]:
    """The broker ids a node lists in Metadata (v12, no topics)."""
    answer = request(host, port, 3, 12, {"topics": [], "allow_auto_topic_creation": False}, timeout)
    return {int(b.node_id) for b in answer.brokers}


# --- up -------------------------------------------------------------------------------------------


def _fresh_dir() -> Path:
    n = 1
    while Path(f"kavka-cluster-{n}").exists():
        n += 1
    return Path(f"kavka-cluster-{n}")


def _port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((HOST, port))
        except OSError:
            return True
    return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        return f"    (no log: {e.strerror})"
    return "\n".join("    " + line for line in text.splitlines()[-lines:]) or "    (empty log)"


class _Node:
    def __init__(self, spec: NodeSpec, home: Path) -> None:
        self.spec = spec
        self.home = home
        self.config = home / "server.properties"
        self.data = home / "data"
        self.log = home / "kavka.log"
        self.pid_file = home / PID_FILE
        self.restart_request = home / RESTART_REQUEST
        self.popen: subprocess.Popen[bytes] | None = None
        self.reported_exit = False
        self.console = console_url(spec)

    @property
    def name(self) -> str:
        return f"node {self.spec.node_id} ({','.join(self.spec.roles)})"

    def command(self) -> list[str]:
        cmd = [sys.executable, "-m", "kavka", "serve", "--config", str(self.config)]
        if self.console is None:
            cmd.append("--no-console")
        return cmd

    def start(self) -> None:
        env = dict(os.environ)
        env[CLUSTER_DIR_ENV] = str(self.home.parent)
        self.restart_request.unlink(missing_ok=True)
        with open(self.log, "ab") as log:
            # its own session: the terminal's Ctrl-C reaches `cluster up` only, which stops every node in order
            self.popen = subprocess.Popen(
                self.command(),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self.home,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        self.reported_exit = False
        _write_atomically(self.pid_file, f"{self.popen.pid}\n")

    def exit_code(self) -> int | None:
        code = None if self.popen is None else self.popen.poll()
        if code is not None:
            self.pid_file.unlink(missing_ok=True)
        return code

    def describe(self) -> dict[str, Any]:
        """This node's entry in cluster.json."""
        spec = self.spec
        return {
            "node_id": spec.node_id,
            "roles": list(spec.roles),
            "home": str(self.home),
            "config": str(self.config),
            "log": str(self.log),
            "pid_file": str(self.pid_file),
            "broker": f"{HOST}:{spec.broker_port}" if spec.broker_port is not None else None,
            "controller": f"{HOST}:{spec.controller_port}" if spec.controller_port is not None else None,
            "console": self.console,
            "command": self.command(),
        }


def console_url(spec: NodeSpec) -> str | None:
    return f"http://{HOST}:{spec.console_port}" if spec.console_port is not None else None


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def write_cluster_file(home: Path, cluster_id: str, nodes: list[_Node]) -> Path:
    """``<home>/cluster.json``: what a node's console needs to find and control the others."""
    path = home / CLUSTER_FILE
    doc = {"cluster_id": cluster_id, "supervisor_pid": os.getpid(), "nodes": [n.describe() for n in nodes]}
    _write_atomically(path, json.dumps(doc, indent=2) + "\n")
    return path


def _restart(node: _Node, grace: float) -> None:
    """Stop ``node`` if it runs (SIGTERM, SIGCONT so a paused node can act on it, SIGKILL after
    ``grace``) and start it again."""
    popen = node.popen
    if popen is not None and popen.poll() is None:
        popen.send_signal(signal.SIGTERM)
        popen.send_signal(signal.SIGCONT)
        try:
            popen.wait(grace)
        except subprocess.TimeoutExpired:
            click.echo(f"{node.name} did not stop within {grace:g} s: killed", err=True)
            popen.kill()
            popen.wait()
    click.echo(f"{node.name} restarting (requested from a console)")
    node.start()


def _die_with_parent() -> None:
    """In the child before exec: SIGTERM it when `cluster up` dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so no node outlives the command that owns it. Elsewhere a no-op."""
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass


def _write_configs(nodes: list[_Node], specs: list[NodeSpec]) -> str:
    """Write each node's server.properties and format its data dir; return the cluster id (the one
    already on disk when the dir holds this cluster, else a new one)."""
    from kavka.cli.storage import FormatRefused, format_dirs
    from kavka.metadata.config import BrokerConfig, ConfigError
    from kavka.metadata.ids import new_cluster_id
    from kavka.storage.checkpoints import CheckpointError, read_meta_properties
    from kavka.storage.fs import OsFileSystem

    fs = OsFileSystem()
    cluster_id = None
    for node in nodes:
        try:
            props = read_meta_properties(fs, str(node.data)) if node.data.is_dir() else None
        except CheckpointError as e:
            raise click.ClickException(str(e)) from None
        if props is not None:
            if cluster_id is not None and props["cluster.id"] != cluster_id:
                raise click.ClickException(
                    f"{node.data} belongs to cluster {props['cluster.id']}, the other nodes to {cluster_id}"
                )
            cluster_id = props["cluster.id"]
    cluster_id = cluster_id or new_cluster_id()
    for node in nodes:
        node.home.mkdir(parents=True, exist_ok=True)
        props = node_properties(node.spec, specs, node.data.resolve())
        node.config.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        try:
            cfg = BrokerConfig.from_properties(props, kraft=True)
            format_dirs(cfg, cluster_id, ignore_formatted=True, echo=lambda *a, **k: None)
        except (ConfigError, FormatRefused) as e:
            raise click.ClickException(f"{node.name}: {e}") from None
    return cluster_id


def _stop_all(nodes: list[_Node], grace: float) -> None:
    """SIGTERM every running node (a controlled shutdown), then SIGKILL what is left after ``grace``."""
    running = [n for n in nodes if n.popen is not None and n.popen.poll() is None]
    for n in running:
        assert n.popen is not None
        n.popen.send_signal(signal.SIGTERM)  # a node paused from a console is killed after the grace
    deadline = time.monotonic() + grace
    for n in running:
        assert n.popen is not None
        try:
            n.popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            click.echo(f"{n.name} did not stop within {grace:g} s: killed", err=True)
            n.popen.kill()
            n.popen.wait()
    for n in nodes:
        n.pid_file.unlink(missing_ok=True)


def _wait_ready(nodes: list[_Node], stop: threading.Event, timeout: float) -> None:
    """Until every broker lists every broker in Metadata; ClickException naming the nodes that did not
    come up (an exit, or not listed in time) with the tail of their log."""
    brokers = [n for n in nodes if n.spec.is_broker]
    want = {n.spec.node_id for n in brokers}
    deadline = time.monotonic() + timeout
    seen: dict[int, set[int]] = {}
    while not stop.is_set():
        for n in nodes:
            code = n.exit_code()
            if code is not None:
                raise click.ClickException(f"{n.name} exited with code {code}; the end of {n.log}:\n{_tail(n.log)}")
        for n in brokers:
            assert n.spec.broker_port is not None
            try:
                seen[n.spec.node_id] = metadata_broker_ids(HOST, n.spec.broker_port, 2.0)
            except (OSError, ValueError):
                seen.pop(n.spec.node_id, None)
        if all(want <= seen.get(i, set()) for i in want):
            return
        if time.monotonic() > deadline:
            late = [n for n in brokers if not want <= seen.get(n.spec.node_id, set())]
            listed = {i for ids in seen.values() for i in ids}
            late += [n for n in brokers if n.spec.node_id not in listed and n not in late]
            parts = []
            for n in late:
                ids = seen.get(n.spec.node_id)
                state = "not answering" if ids is None else f"lists brokers {sorted(ids)} of {sorted(want)}"
                parts.append(
                    f"{n.name} did not come up within {timeout:g} s ({state}); the end of {n.log}:\n{_tail(n.log)}"
                )
            raise click.ClickException("\n".join(parts))
        stop.wait(0.25)


@click.group(short_help="Run a local cluster, or show its quorum.")
def cluster() -> None:
    """Run a local KRaft cluster, one process per node, and look at a cluster's quorum."""


@cluster.command(short_help="Start a local cluster and run it.")
@click.option("--nodes", type=click.IntRange(1, 99), default=None, help="Combined nodes (broker and controller).")
@click.option("--controllers", type=click.IntRange(1, 99), default=None, help="Controller-only nodes.")
@click.option("--brokers", type=click.IntRange(1, 99), default=None, help="Broker-only nodes.")
@click.option(
    "--dir",
    "base_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the nodes keep their config, data and log (default: a new kavka-cluster-<n> here).",
)
@click.option("--base-port", type=click.IntRange(1, 65535 - CONSOLE_OFFSET - 99), default=19092, show_default=True)
@click.option("--no-console", is_flag=True, help="Do not serve a web console on each node.")
@click.option("--timeout", type=float, default=60.0, show_default=True, help="Seconds to wait for every broker.")
@click.option(
    "--grace", type=float, default=15.0, show_default=True, help="Seconds a node gets to stop before SIGKILL."
)
def up(
    nodes: int | None,
    controllers: int | None,
    brokers: int | None,
    base_dir: Path | None,
    base_port: int,
    no_console: bool,
    timeout: float,
    grace: float,
) -> None:
    """Start a local cluster (default: 3 combined nodes) and run it until Ctrl-C.

    \b
    Examples:
      kavka cluster up
      kavka cluster up --nodes 1 --dir ./dev-cluster
      kavka cluster up --controllers 3 --brokers 3
    """
    if nodes is not None and (controllers is not None or brokers is not None):
        raise click.UsageError("--nodes (combined) or --controllers and --brokers (separate roles), not both")
    if nodes is None and (controllers is None) != (brokers is None):
        raise click.UsageError("--controllers and --brokers go together (or --nodes for combined nodes)")
    if nodes is None and controllers is None:
        nodes = 3
    console = not no_console
    specs = plan_nodes(nodes, controllers, brokers, base_port, console)
    for spec in specs:
        for kind, port in (
            ("broker", spec.broker_port),
            ("controller", spec.controller_port),
            ("console", spec.console_port),
        ):
            if port is not None and _port_in_use(port):
                raise click.ClickException(
                    f"{HOST}:{port} (node {spec.node_id}'s {kind} listener) is in use: choose another --base-port"
                )
    home = (base_dir or _fresh_dir()).resolve()
    cluster_nodes = [_Node(s, home / f"node-{s.node_id}") for s in specs]
    cluster_id = _write_configs(cluster_nodes, specs)
    write_cluster_file(home, cluster_id, cluster_nodes)

    stop = threading.Event()
    # SIGHUP too: a closed terminal stops the cluster instead of orphaning its nodes
    stop_signals = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in stop_signals}
    try:
        t0 = time.monotonic()
        for n in cluster_nodes:
            n.start()
        try:
            _wait_ready(cluster_nodes, stop, timeout)
        except click.ClickException:
            _stop_all(cluster_nodes, grace)
            raise
        if not stop.is_set():
            _print_ready(cluster_nodes, cluster_id, home, time.monotonic() - t0)
        while not stop.is_set():
            for n in cluster_nodes:
                code = n.exit_code()
                if code is not None and not n.reported_exit:
                    n.reported_exit = True
                    click.echo(f"{n.name} exited with code {code} (log: {n.log})", err=True)
                if n.restart_request.exists():
                    _restart(n, grace)
            stop.wait(0.2)
        click.echo("Stopping the cluster")
        _stop_all(cluster_nodes, grace)
        click.echo(f"Stopped {len(cluster_nodes)} node{'s' if len(cluster_nodes) > 1 else ''}; data kept in {home}")
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _print_ready(nodes: list[_Node], cluster_id: str, home: Path, seconds: float) -> None:
    brokers = [n for n in nodes if n.spec.is_broker]
    click.echo(
        f"Kavka cluster {cluster_id}: {len(nodes)} node{'s' if len(nodes) > 1 else ''} up in {seconds:.1f} s, data in {home}"
    )
    click.echo("bootstrap servers: " + ",".join(f"{HOST}:{n.spec.broker_port}" for n in brokers))
    for n in nodes:
        parts = [f"node {n.spec.node_id} ({','.join(n.spec.roles)})"]
        if n.spec.broker_port is not None:
            parts.append(f"broker {HOST}:{n.spec.broker_port}")
        if n.spec.controller_port is not None:
            parts.append(f"controller {HOST}:{n.spec.controller_port}")
        if n.spec.console_port is not None:
            parts.append(f"console http://{HOST}:{n.spec.console_port}")
        parts.append(f"log {n.log}")
        click.echo("  " + ", ".join(parts))
    click.echo("Press Ctrl-C to stop the cluster.", nl=True)
    sys.stdout.flush()


# --- status -----------------------------------------------------------------------------------------


def _pretty_table(headers: list[str], rows: list[list[str]]) -> str:
    """Kafka's ToolsUtils.prettyPrintTable: each column padded to its widest value, a tab after each."""
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]
    return "".join(
        "".join(v.ljust(w) + "\t" for v, w in zip(row, widths, strict=True)) + "\n" for row in [headers, *rows]
    )


def _replica_text(replica: Any, endpoints: dict[int, list[str]]) -> str:
    from kavka.metadata.ids import ZERO_UUID, uuid_to_str

    directory = replica.replica_directory_id
    text = f'{{"id": {replica.replica_id}, "directoryId": '
    text += "null" if directory in (None, ZERO_UUID) else f'"{uuid_to_str(directory)}"'
    found = endpoints.get(int(replica.replica_id))
    if found:
        text += ', "endpoints": [' + ", ".join(f'"{e}"' for e in found) + "]"
    return text + "}"


def describe_quorum_text(cluster_id: str, answer: Any) -> str:
    """What ``kafka-metadata-quorum describe --status`` and then ``--replication`` print for a
    DescribeQuorum v2 answer (ClickException for an error in it)."""
    from kavka.metadata.ids import ZERO_UUID, uuid_to_str

    if answer.error_code:
        raise click.ClickException(f"DescribeQuorum failed: {answer.error_message or answer.error_code}")
    part = answer.topics[0].partitions[0]
    if part.error_code:
        raise click.ClickException(f"DescribeQuorum failed: {part.error_message or part.error_code}")
    endpoints: dict[int, list[str]] = {}
    for node in answer.nodes:
        endpoints[int(node.node_id)] = [
            f"{lst.name}://{'[' + lst.host + ']' if ':' in lst.host else lst.host}:{lst.port}" for lst in node.listeners
        ]
    voters, observers = list(part.current_voters), list(part.observers)
    leader = next((v for v in voters if v.replica_id == part.leader_id), None)
    if leader is None:
        raise click.ClickException(f"the quorum has no leader among its voters (leader id {part.leader_id})")
    laggard = min(voters, key=lambda v: int(v.log_end_offset))
    lag_time = 0
    if laggard is not leader:
        a, b = int(leader.last_caught_up_timestamp), int(laggard.last_caught_up_timestamp)
        lag_time = a - b if a >= 0 and b >= 0 else -1
    status = (
        f"ClusterId:              {cluster_id}\n"
        f"LeaderId:               {part.leader_id}\n"
        f"LeaderEpoch:            {part.leader_epoch}\n"
        f"HighWatermark:          {part.high_watermark}\n"
        f"MaxFollowerLag:         {int(leader.log_end_offset) - int(laggard.log_end_offset)}\n"
        f"MaxFollowerLagTimeMs:   {lag_time}\n"
        f"CurrentVoters:          [{', '.join(_replica_text(v, endpoints) for v in voters)}]\n"
        f"CurrentObservers:       [{', '.join(_replica_text(o, endpoints) for o in observers)}]\n"
    )
    rows = []
    ordered = (
        [(leader, "Leader")]
        + [(v, "Follower") for v in voters if v is not leader]
        + [(o, "Observer") for o in observers]
    )
    for replica, role in ordered:
        directory = replica.replica_directory_id
        rows.append(
            [
                str(replica.replica_id),
                uuid_to_str(directory if directory is not None else ZERO_UUID),
                str(replica.log_end_offset),
                str(int(leader.log_end_offset) - int(replica.log_end_offset)),
                str(replica.last_fetch_timestamp),
                str(replica.last_caught_up_timestamp),
                role,
            ]
        )
    headers = ["NodeId", "DirectoryId", "LogEndOffset", "Lag", "LastFetchTimestamp", "LastCaughtUpTimestamp", "Status"]
    return status + "\n" + _pretty_table(headers, rows)


@cluster.command(short_help="Show the metadata quorum and the brokers.")
@click.option(
    "--bootstrap-server",
    "-b",
    default="localhost:9092",
    envvar="KAVKA_BOOTSTRAP_SERVER",
    show_default=True,
    help="A broker (or controller) of the cluster.",
)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds to wait for each answer.")
@click.option(
    "--command-config",
    type=click.Path(dir_okay=False),
    default=None,
    metavar="FILE",
    help="Client properties file (security.protocol, sasl.*, ssl.*, ...).",
)
def status(bootstrap_server: str, timeout: float, command_config: str | None = None) -> None:
    """Show the metadata quorum (kafka-metadata-quorum describe --status and --replication) and the brokers."""
    send = request
    if command_config is not None:  # a secured listener: the CLI's own client, with the file's security
        from kavka.cli.common import ClientSettings, _load_command_config
        from kavka.cli.wire import call

        settings = ClientSettings(bootstrap_server, _load_command_config(command_config), timeout)

        def send(host: str, port: int, api_key: int, version: int, body: dict[str, Any], timeout: float) -> Any:
            return call(settings, api_key, version, body)

    host, _, port_text = bootstrap_server.split(",")[0].strip().rpartition(":")
    try:
        port = int(port_text)
    except ValueError:
        raise click.UsageError(f"--bootstrap-server needs host:port, got {bootstrap_server!r}") from None
    host = host.strip("[]") or "localhost"
    try:
        described = send(host, port, 60, 0, {"include_cluster_authorized_operations": False}, timeout)
        quorum = send(
            host,
            port,
            55,
            2,
            {"topics": [{"topic_name": "__cluster_metadata", "partitions": [{"partition_index": 0}]}]},
            timeout,
        )
    except OSError as e:
        raise click.ClickException(f"cannot reach {host}:{port}: {e.strerror or e}") from None
    except ValueError as e:
        raise click.ClickException(f"{host}:{port}: {e}") from None
    if described.error_code:
        raise click.ClickException(f"DescribeCluster failed: {described.error_message or described.error_code}")
    click.echo(describe_quorum_text(described.cluster_id, quorum))
    rows = [
        [str(b.broker_id), b.host, str(b.port), b.rack or "", "yes" if b.broker_id == described.controller_id else ""]
        for b in sorted(described.brokers, key=lambda b: int(b.broker_id))
    ]
    click.echo(f"Brokers ({len(rows)}):")
    click.echo(_pretty_table(["NodeId", "Host", "Port", "Rack", "Controller"], rows), nl=False)
