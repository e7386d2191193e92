"""``kavka serve``: read the config, start the server, run until SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import shutil
import signal
import sys
from typing import TYPE_CHECKING

from kavka import __version__
from kavka.metadata.config import BrokerConfig, ConfigError, parse_properties
from kavka.metadata.replicationconfigdefs import RACK_AWARE_SELECTOR

if TYPE_CHECKING:
    from kavka.server.app import ListenError


DEFAULT_HOST = "127.0.0.1"  # the default listener's host, and the one `kavka serve --port` binds


def load_config(config_file: str | None, overrides: list[str]) -> BrokerConfig:
    """Defaults for `kavka serve`, then the file, then each --override. Raises ConfigError. A config
    that describes a node of a KRaft cluster (`_names_a_cluster`) must pass KRaft's rules; otherwise it
    is the single combined node of the defaults, as `kavka serve` always ran."""
    props: dict[str, str] = {}
    if config_file is not None:
        try:
            with open(config_file, encoding="utf-8") as f:
                props.update(parse_properties(f.read()))
        except OSError as e:
            raise ConfigError(f"cannot read {config_file}: {e.strerror}") from None
    for item in overrides:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--override needs KEY=VALUE, got {item!r}")
        props[key.strip()] = value
    kraft = _names_a_cluster(props)
    defaults = BrokerConfig.serve_defaults()
    if kraft:  # a cluster node names itself: Kafka requires node.id
        del defaults["node.id"]
    config = BrokerConfig.from_properties({**defaults, **props}, kraft=kraft)
    selector = config["replica.selector.class"]
    if selector and selector != RACK_AWARE_SELECTOR:
        # Kafka loads the class and fails to start without it; Kavka has Kafka's rack-aware one only
        raise ConfigError(
            f"replica.selector.class {selector} cannot be loaded: Kavka provides {RACK_AWARE_SELECTOR} only",
            "replica.selector.class",
        )
    if config["controller.quorum.bootstrap.servers"] and not config["controller.quorum.voters"]:
        raise ConfigError(
            "controller.quorum.bootstrap.servers (a dynamic quorum, KIP-853) is not supported yet: "
            "name the voters in controller.quorum.voters (id@host:port,...)",
            "controller.quorum.bootstrap.servers",
        )
    return config


_QUORUM_KEYS = ("controller.quorum.voters", "controller.quorum.bootstrap.servers", "controller.listener.names")


def _names_a_cluster(props: dict[str, str]) -> bool:
    """A node of a KRaft cluster: process.roles other than the single node's broker,controller, or any
    quorum setting. A Kafka single-node config (process.roles=broker,controller, no quorum) and no
    process.roles at all are the local single node."""
    roles = [r.strip() for r in props.get("process.roles", "broker,controller").split(",") if r.strip()]
    return sorted(roles) != ["broker", "controller"] or any(props.get(k, "").strip() for k in _QUORUM_KEYS)


def run(config_file: str | None, overrides: list[str], *, console: bool, log_level: str) -> int:
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = load_config(config_file, overrides)
    except ConfigError as e:
        print(f"kavka: {e}", file=sys.stderr)
        return 2
    for key in config.unknown_keys:
        if key in config.listener_props:
            continue  # listener.name.<listener>.<config>: read by that listener
        print(f"kavka: warning: unknown config {key} ignored", file=sys.stderr)
    for key in config.inert_keys:
        print(f"kavka: warning: {key} is accepted but has no effect in Kavka", file=sys.stderr)
    if console:
        from kavka.console.listener import ConsoleConfigError, check_console_config  # no aiohttp import

        try:
            console = check_console_config(config) is not None
        except ConsoleConfigError as e:
            print(f"kavka: {e}", file=sys.stderr)
            return 2
    from kavka.server.sasl import sasl_config_problem

    problem = sasl_config_problem(config)
    if problem is not None:
        print(f"kavka: {problem}", file=sys.stderr)
        return 2
    _raise_open_files_limit()
    return asyncio.run(_serve(config, console=console))


def _raise_open_files_limit() -> None:
    """Raise the soft open-files limit to the hard one, as the JVM does for Kafka at start-up (HotSpot's
    MaxFDLimit, on by default on Linux): a broker holds a descriptor per client and per open segment
    file, and a default soft limit of 1024 is far below what 10,000 partitions want. The storage's
    handle pool (kavka.storage.handles) sizes itself from the limit in force afterwards."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if hard == resource.RLIM_INFINITY:
            hard = 1 << 20
        if soft != resource.RLIM_INFINITY and soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, OSError, ValueError) as e:  # not POSIX, or refused: run with the limit as it is
        logging.getLogger(__name__).info("open-files limit left as it is: %s", e)


async def _serve(config: BrokerConfig, *, console: bool = False) -> int:
    """Start the broker (then the console), run until SIGINT/SIGTERM. A start that fails prints one line
    and removes the data directories this start created (an existing directory is left as it was). A
    console that cannot start does not stop the broker: one line says so and how to move it."""
    from kavka.server.app import KavkaServer, ListenError
    from kavka.storage.errors import LogDirError

    created = _missing_dirs([*config.log_dirs, config.metadata_log_dir])
    server = KavkaServer(config)
    failure: tuple[str, int] | None = None
    try:
        await server.start()
    except LogDirError as e:
        failure = str(e), 1
    except ConfigError as e:  # a TLS listener's key store or trust store cannot be used
        failure = str(e), 2
    except ListenError as e:
        failure = _listen_failure(config, e), 1
    except OSError as e:
        failure = f"cannot listen: {e.strerror or e}", 1
    except BaseException:
        _remove(created)
        raise
    if failure is not None:
        _remove(created)
        print(f"kavka: {failure[0]}", file=sys.stderr)
        return failure[1]
    console_runner, console_problem = None, None
    if console:
        from kavka.console.app import start_console

        try:
            console_runner = await start_console(server, config)
        except OSError as e:
            console_problem = (
                f"kavka: the console is not running: cannot listen on {config['console.listener']} "
                f"({os.strerror(e.errno) if e.errno else e}); the broker runs without it (choose another port with --console-port)"
            )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    broker = server.broker
    addresses = ", ".join(f"{host}:{port}" for _, host, port in server.bound)
    dirs = ", ".join(os.path.abspath(d) for d in config.log_dirs)
    print(
        f"Kavka {__version__} (KRaft combined mode, node.id {broker.node_id}, cluster id "
        f"{broker.cluster_id}) listening on {addresses}; data in {dirs}",
        flush=True,
    )
    if console_runner is not None:
        print(f"Kavka console on {console_runner.url}", flush=True)
    if console_problem is not None:
        print(console_problem, file=sys.stderr, flush=True)
    await stop.wait()
    print("Kavka shutting down", flush=True)
    if console_runner is not None:
        await console_runner.stop()
    stopping = asyncio.ensure_future(server.stop())
    done, _ = await asyncio.wait({stopping}, timeout=STUCK_STOP_REPORT_S)
    if not done:
        _report_stuck_stop()
    await stopping
    return 0


STUCK_STOP_REPORT_S = 15.0  # below the 20 s test helpers and supervisors commonly give a SIGTERM


def _report_stuck_stop() -> None:
    """A stop that takes too long says where it waits: one line, then every task's stack (stderr)."""
    print(f"kavka: still stopping after {STUCK_STOP_REPORT_S:g} s; waiting in:", file=sys.stderr, flush=True)
    for task in asyncio.all_tasks():
        task.print_stack(limit=8, file=sys.stderr)
    sys.stderr.flush()


def _listen_failure(config: BrokerConfig, e: ListenError) -> str:
    """One line for a listener that cannot be bound: which address, why, and how to choose another
    (``--port`` for the default single listener, else the ``listeners`` override). Clients follow:
    advertised.listeners defaults to listeners, and only an explicit one must be changed too."""
    host = f"[{e.host}]" if ":" in e.host else e.host
    line = f"cannot listen on {host or '0.0.0.0'}:{e.port} ({e.listener}): {e.strerror or e}"
    if e.errno != errno.EADDRINUSE or not 0 < e.port < 65535:
        return line
    other = e.port + 1
    listeners = config.listeners
    if len(listeners) == 1 and listeners[0].name == "PLAINTEXT" and e.host == DEFAULT_HOST:
        hint = f"kavka serve --port {other}"
    else:
        entries = ",".join(
            f"{lst.name}://{'[' + lst.host + ']' if ':' in lst.host else lst.host}:"
            f"{other if (lst.name, lst.port) == (e.listener, e.port) else lst.port}"
            for lst in listeners
        )
        hint = f"--override listeners={entries}"
        if config["advertised.listeners"]:
            hint += " (and advertised.listeners to match)"
    return f"{line}; is another broker running? Choose another port: {hint}"


def _missing_dirs(paths: list[str]) -> list[str]:
    """For each path that does not exist: its top-most ancestor that does not exist either (what a start
    would create, and so what a failed start must remove)."""
    tops: list[str] = []
    for path in paths:
        top = os.path.abspath(path)
        if os.path.lexists(top):
            continue
        while not os.path.lexists(parent := os.path.dirname(top)) and parent != top:
            top = parent
        if top not in tops:
            tops.append(top)
    return tops


def _remove(dirs: list[str]) -> None:
    for path in dirs:
        shutil.rmtree(path, ignore_errors=True)
