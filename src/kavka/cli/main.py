"""The ``kavka`` command. Subcommands import their heavy dependencies lazily, so ``kavka serve``
starts fast (no confluent-kafka, rich or aiohttp on its path)."""

from __future__ import annotations

import importlib

import click

from kavka import __version__

# Subcommands loaded on first use: "name": ("module", "attribute"). Their modules import only click at
# the top, and confluent-kafka / rich inside the commands.
_LAZY = {
    "topics": ("kavka.cli.topics", "topics"),
    "configs": ("kavka.cli.configs", "configs"),
    "produce": ("kavka.cli.produce", "produce"),
    "consume": ("kavka.cli.consume", "consume"),
    "groups": ("kavka.cli.groups", "groups"),
    "offsets": ("kavka.cli.offsets", "offsets"),
    "delete-records": ("kavka.cli.offsets", "delete_records"),
    "bench": ("kavka.cli.bench", "bench"),
    "dump-log": ("kavka.cli.dumplog", "dump_log"),
    "completion": ("kavka.cli.completion", "completion"),
    "storage": ("kavka.cli.storage", "storage"),
    "cluster": ("kavka.cli.cluster", "cluster"),
    "demo": ("kavka.cli.demo", "demo"),
}


class _LazyGroup(click.Group):
    """A click group whose subcommands (other than those defined here) are imported when used."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(_LAZY))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in _LAZY:
            module, attr = _LAZY[cmd_name]
            command = getattr(importlib.import_module(module), attr)
        return command


@click.group(cls=_LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kavka")
def main() -> None:
    """Kavka: Apache Kafka, rebuilt in Python.

    `kavka serve` runs a broker; the other commands are Kafka's tools (kafka-topics.sh,
    kafka-configs.sh, the console producer and consumer, ...) talking to any Kafka-compatible
    cluster at --bootstrap-server (default localhost:9092).

    \b
    Examples:
      kavka serve
      kavka topics create orders --partitions 3
      echo 'k1:hello' | kavka produce orders --property parse.key=true --property key.separator=:
      kavka consume orders --from-beginning --property print.key=true
    """


@main.command(short_help="Run a broker and its web console.")
@click.option(
    "--config", "config_file", type=click.Path(dir_okay=False), default=None, help="A Kafka server.properties file."
)
@click.option(
    "--override",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Set one config, as Kafka's start script does (repeatable).",
)
@click.option(
    "--port",
    default=None,
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Port for the broker (default 9092): listeners=PLAINTEXT://127.0.0.1:PORT, before any --override.",
)
@click.option("--no-console", is_flag=True, help="Do not serve the web console.")
@click.option(
    "--console-host",
    default=None,
    metavar="HOST",
    help="Interface for the web console (default 127.0.0.1; others need console.auth).",
)
@click.option(
    "--console-port",
    default=None,
    type=click.IntRange(0, 65535),
    metavar="PORT",
    help="Port for the web console (default 8080).",
)
@click.option(
    "--log-level",
    default="WARNING",
    show_default=True,
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
)
def serve(config_file, overrides, port, no_console, console_host, console_port, log_level):
    """Run a broker (KRaft combined mode): 127.0.0.1:9092, data in ./kavka-data by default,
    with the web console on http://127.0.0.1:8080."""
    from kavka.cli.serve import DEFAULT_HOST, run

    # --port comes first so that an explicit --override listeners=... still wins
    overrides = ([f"listeners=PLAINTEXT://{DEFAULT_HOST}:{port}"] if port is not None else []) + list(overrides)
    if console_host is not None or console_port is not None:
        host = console_host or "127.0.0.1"
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        overrides.append(f"console.listener=http://{host}:{8080 if console_port is None else console_port}")
    raise SystemExit(run(config_file, overrides, console=not no_console, log_level=log_level))
