"""The ``kavka`` command. Subcommands import their heavy dependencies lazily, so ``kavka serve``
starts fast (no confluent-kafka, rich or aiohttp on its path)."""

from __future__ import annotations

import click

from kavka import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="kavka")
def main() -> None:
    """Kavka: Apache Kafka, rebuilt in Python."""


@main.command()
@click.option("--config", "config_file", type=click.Path(dir_okay=False), default=None,
              help="A Kafka server.properties file.")
@click.option("--override", "overrides", multiple=True, metavar="KEY=VALUE",
              help="Set one config, as Kafka's start script does (repeatable).")
@click.option("--no-console", is_flag=True, help="Do not serve the web console.")
@click.option("--log-level", default="WARNING", show_default=True,
              type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False))
def serve(config_file, overrides, no_console, log_level):
    """Run a broker (KRaft combined mode): 127.0.0.1:9092, data in ./kavka-data by default."""
    from kavka.cli.serve import run

    raise SystemExit(run(config_file, list(overrides), console=not no_console, log_level=log_level))
