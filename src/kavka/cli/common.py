"""What every client subcommand of ``kavka`` shares: connection options, client construction, error
reporting and output helpers.

Rules the commands live by (as Kafka's ``kafka-*.sh`` tools):

- Every command that talks to a broker takes ``--bootstrap-server`` (default ``localhost:9092``),
  ``--command-config FILE`` (client properties, Java ``.properties`` syntax), ``--timeout`` (seconds to
  wait for the cluster and for each request) and ``--debug``.
- Failures are one readable line on stderr (``Error: ...``) and exit code 1; usage errors exit 2
  (click's convention). When nothing listens at any bootstrap address (every connection refused,
  `kavka.cli.probe`) a command fails at once instead of waiting ``--timeout``. ``--debug`` (or ``KAVKA_DEBUG=1``) shows the traceback and librdkafka's log.
- confluent-kafka and rich are imported inside functions only, so ``kavka serve`` never loads them.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import click

from kavka.cli.probe import refused_everywhere

__all__ = [
    "DEFAULT_BOOTSTRAP",
    "CliError",
    "ClientSettings",
    "client_options",
    "kafka_error_text",
    "parse_assignments",
    "parse_config_list",
    "split_csv",
    "stdout_console",
    "result",
]

DEFAULT_BOOTSTRAP = "localhost:9092"
DEFAULT_TIMEOUT = 10.0

# librdkafka error codes (negative: local) that mean "no broker could be reached".
_UNREACHABLE = {"_TRANSPORT", "_ALL_BROKERS_DOWN", "_TIMED_OUT", "_RESOLVE", "_TIMED_OUT_QUEUE"}


class CliError(click.ClickException):
    """A failure reported as ``Error: <message>`` and exit code 1 (never a traceback)."""

    exit_code = 1


def kafka_error_text(err: Any) -> str:
    """A readable sentence from a ``KafkaError`` (the broker's message when it sent one)."""
    text = err.str() if hasattr(err, "str") else str(err)
    for prefix in ("Broker: ", "Local: "):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    if text == "Required feature not supported by broker":
        text = "The broker does not support this request (its API or version is not served)"
    return text if text.endswith((".", ")")) else text + "."


def _is_unreachable(err: Any) -> bool:
    name = err.name() if hasattr(err, "name") else ""
    return name in _UNREACHABLE


@dataclass
class ClientSettings:
    """Connection settings of one command invocation, and factories for confluent-kafka clients."""

    bootstrap: str = DEFAULT_BOOTSTRAP
    properties: dict[str, str] = field(default_factory=dict)
    timeout: float = DEFAULT_TIMEOUT
    debug: bool = False
    _probed: bool = field(default=False, init=False, repr=False)

    def conf(self, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """librdkafka's configuration for a client; first (once per command, PLAINTEXT and
        SASL_PLAINTEXT) CliError at once when nothing listens at any bootstrap address, since librdkafka
        would retry until the timeout."""
        protocol = self.properties.get("security.protocol", "PLAINTEXT").strip().upper()
        # not on TLS: a broker would count and log the probe's connection as a failed handshake
        if not self._probed and protocol not in ("SSL", "SASL_SSL"):
            self._probed = True
            refused = refused_everywhere(self.bootstrap, min(1.0, self.timeout))
            if refused is not None:
                raise self.refused(refused)
        conf: dict[str, Any] = {"bootstrap.servers": self.bootstrap, "client.id": "kavka-cli"}
        conf.update(_librdkafka_properties(self.properties))
        conf.update(extra or {})
        conf["logger"] = _rdkafka_logger(self.debug)
        return conf

    def admin(self) -> Any:
        from confluent_kafka.admin import AdminClient

        return _construct(AdminClient, self.conf())

    def producer(self, extra: Mapping[str, Any] | None = None) -> Any:
        from confluent_kafka import Producer

        return _construct(Producer, self.conf(extra))

    def consumer(self, extra: Mapping[str, Any] | None = None) -> Any:
        from confluent_kafka import Consumer

        return _construct(Consumer, self.conf(extra))

    @property
    def request_timeout_ms(self) -> int:
        return max(1000, int(self.timeout * 1000))

    def metadata(self, client: Any, topic: str | None = None) -> Any:
        """Cluster metadata through ``client`` (any confluent-kafka client); CliError if unreachable."""
        from confluent_kafka import KafkaException

        try:
            if topic is None:
                return client.list_topics(timeout=self.timeout)
            return client.list_topics(topic=topic, timeout=self.timeout)
        except KafkaException as e:
            err = e.args[0]
            if _is_unreachable(err):
                raise self.unreachable() from None
            raise CliError(kafka_error_text(err)) from None

    def refused(self, address: str) -> CliError:
        """Nothing listens at ``address`` (the connection was refused, so waiting cannot help)."""
        return CliError(
            f"Cannot connect to {address}: connection refused (is `kavka serve` running? check --bootstrap-server)."
        )

    def unreachable(self) -> CliError:
        return CliError(
            f"Could not reach a broker at {self.bootstrap} within {self.timeout:g}s "
            "(check --bootstrap-server and that the broker is running)."
        )


def _construct(cls: Any, conf: dict[str, Any]) -> Any:
    from confluent_kafka import KafkaException

    try:
        return cls(conf)
    except (KafkaException, ValueError, TypeError) as e:
        err = e.args[0] if e.args else e
        raise CliError(f"Invalid client configuration: {kafka_error_text(err)}") from None


def _librdkafka_properties(props: Mapping[str, str]) -> dict[str, str]:
    """librdkafka's properties for a Kafka client properties file (``kavka.metadata.clientprops``)."""
    from kavka.metadata.clientprops import ClientPropertiesError, librdkafka_properties

    try:
        return librdkafka_properties(props)
    except ClientPropertiesError as e:
        raise CliError(str(e)) from None


def _rdkafka_logger(debug: bool) -> logging.Logger:
    logger = logging.getLogger("kavka.cli.librdkafka")
    logger.propagate = False
    if not logger.handlers:
        if debug:
            handler: logging.Handler = logging.StreamHandler(sys.stderr)
            handler.setFormatter(logging.Formatter("librdkafka %(levelname)s: %(message)s"))
        else:
            handler = logging.NullHandler()
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else logging.CRITICAL)
    return logger


def _load_command_config(path: str | None) -> dict[str, str]:
    if path is None:
        return {}
    from kavka.metadata.properties import PropertiesError, parse_properties

    try:
        with open(path, encoding="utf-8") as f:
            return parse_properties(f.read())
    except OSError as e:
        raise CliError(f"Cannot read --command-config {path}: {e.strerror}.") from None
    except PropertiesError as e:
        raise CliError(f"Malformed --command-config {path}: {e}") from None


def client_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """Add the connection options to a command and pass them as one ``client: ClientSettings`` argument.

    Also turns any exception into ``Error: ...`` and exit code 1 (the traceback only with ``--debug``).
    """

    @functools.wraps(func)
    def wrapper(
        *args: Any, bootstrap_server: str, command_config: str | None, timeout: float, debug: bool, **kwargs: Any
    ) -> Any:
        debug = debug or os.environ.get("KAVKA_DEBUG", "") not in ("", "0")
        client = ClientSettings(bootstrap_server, _load_command_config(command_config), timeout, debug)
        try:
            return func(*args, client=client, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.Abort, SystemExit):
            raise
        except KeyboardInterrupt:
            raise click.Abort() from None
        except Exception as e:  # noqa: BLE001 - the CLI's contract: one line, no traceback
            if debug:
                raise
            raise CliError(_exception_text(e, client)) from None

    options = [
        click.option(
            "--bootstrap-server",
            "-b",
            default=DEFAULT_BOOTSTRAP,
            show_default=True,
            envvar="KAVKA_BOOTSTRAP_SERVER",
            metavar="HOST:PORT[,...]",
            help="Broker(s) to connect to.",
        ),
        click.option(
            "--command-config",
            type=click.Path(dir_okay=False),
            default=None,
            metavar="FILE",
            help="Client properties file (security.protocol, sasl.*, ssl.*, ...).",
        ),
        click.option(
            "--timeout",
            type=click.FloatRange(min=0.1),
            default=DEFAULT_TIMEOUT,
            show_default=True,
            metavar="SECONDS",
            help="How long to wait for the cluster and for each request.",
        ),
        click.option("--debug", is_flag=True, help="Show tracebacks and librdkafka's log."),
    ]
    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


def _exception_text(e: Exception, client: ClientSettings) -> str:
    from concurrent.futures import TimeoutError as FutureTimeout

    from confluent_kafka import KafkaError, KafkaException

    if isinstance(e, KafkaException) and e.args and isinstance(e.args[0], KafkaError):
        if _is_unreachable(e.args[0]):
            return client.unreachable().message
        return kafka_error_text(e.args[0])
    if isinstance(e, (FutureTimeout, TimeoutError)):
        return f"Timed out after {client.timeout:g}s waiting for the broker (try a larger --timeout)."
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__


def result(future: Any, client: ClientSettings) -> Any:
    """Wait for an AdminClient future within the command's timeout (plus a little slack)."""
    return future.result(timeout=client.timeout + 5)


# -------------------------------------------------------------------------------------------- parsing


def split_csv(values: Iterable[str]) -> list[str]:
    """``("a,b", "c")`` -> ``["a", "b", "c"]`` (options may be repeated or comma-separated)."""
    return [item.strip() for value in values for item in value.split(",") if item.strip()]


def parse_config_list(values: Iterable[str], option: str = "--add-config") -> dict[str, str]:
    """Parse Kafka's ``k1=v1,k2=[a,b]`` syntax (square brackets group a list value), repeatable."""
    out: dict[str, str] = {}
    for text in values:
        for item in _split_outside_brackets(text):
            key, sep, value = item.partition("=")
            key = key.strip()
            if not sep or not key:
                raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
            value = value.strip()
            if value.startswith("[") and value.endswith("]"):
                value = value[1:-1]
            out[key] = value
    return out


def _split_outside_brackets(text: str) -> list[str]:
    items, depth, current = [], 0, []
    for ch in text:
        if ch == "[":
            depth += 1
        elif ch == "]":
            depth = max(0, depth - 1)
        if ch == "," and depth == 0:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return [i for i in (s.strip() for s in items) if i]


def parse_assignments(values: Iterable[str], option: str) -> dict[str, str]:
    """``--property k=v`` (repeatable; the value may contain ``=``) -> dict. Escapes like ``\\t`` apply."""
    out: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.BadParameter(f"expected KEY=VALUE, got {item!r}", param_hint=option)
        out[key.strip()] = unescape(value)
    return out


def unescape(s: str) -> str:
    """Interpret ``\\t``, ``\\n``, ``\\r`` and ``\\\\`` as Kafka's tools do for separators."""
    return s.encode("latin-1", "backslashreplace").decode("unicode_escape") if "\\" in s else s


# -------------------------------------------------------------------------------------------- output


def stdout_console() -> Any:
    """A rich Console on stdout; wide enough not to wrap tables when output is piped or captured."""
    from rich.console import Console

    console = Console(highlight=False, soft_wrap=False)
    if not console.is_terminal:
        console = Console(highlight=False, width=max(console.width, 200), no_color=True)
    return console


def table(*columns: str, title: str | None = None) -> Any:
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left", pad_edge=False, show_edge=False)
    for name in columns:
        t.add_column(name, overflow="fold")
    return t


def parse_time(value: str) -> int:
    """Milliseconds since the epoch from ``1700000000000`` or an ISO 8601 date-time (local time unless
    a zone is given, as ``kafka-consumer-groups --to-datetime``: ``2024-01-31T12:00:00.000``)."""
    from datetime import datetime

    text = value.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise click.BadParameter(f"{value!r} is neither milliseconds nor an ISO 8601 date-time") from None
    return int(dt.timestamp() * 1000)  # a naive datetime is local time
