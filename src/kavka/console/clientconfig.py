"""How the console's own Kafka clients (the live simulator's producers and consumers) connect to the
broker that serves it, and as whom.

- ``console.client.listener``: the name of the listener to connect to (default: the first one the
  broker bound that is not a controller listener).
- ``console.client.config``: a Kafka client properties file, as a tool's ``--command-config``:
  ``security.protocol``, ``sasl.mechanism``, ``sasl.jaas.config``, ``ssl.*``. The clients then
  authenticate as the principal it names, so ACLs and quotas apply to the console as to any client.

`client_settings` reads both once, when the simulator starts; a file that cannot be read or used is a
`ConsoleClientError` with the reason, shown by the console's API.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kavka.metadata.clientprops import ClientPropertiesError, librdkafka_properties
from kavka.metadata.properties import PropertiesError, parse_properties

__all__ = ["ConsoleClientError", "client_settings"]


class ConsoleClientError(ValueError):
    """``console.client.*`` cannot be used: the message says which setting and why."""


def client_settings(config: Any, bound: Sequence[tuple[str, str, int]]) -> tuple[str, dict[str, str]]:
    """(bootstrap ``host:port``, librdkafka properties) for the console's clients, from the broker's
    ``config`` and its ``bound`` listeners ``(name, host, port)``."""
    wanted = config.get("console.client.listener") or None
    listeners = [b for b in bound if wanted is None or b[0].upper() == wanted.upper()]
    if not listeners:
        names = ", ".join(b[0] for b in bound)
        raise ConsoleClientError(f"console.client.listener {wanted!r} is not a listener of this broker ({names})")
    _, host, port = listeners[0]
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    path = config.get("console.client.config") or None
    if path is None:
        return f"{host}:{port}", {}
    try:
        with open(path, encoding="utf-8") as f:
            props = parse_properties(f.read())
        return f"{host}:{port}", librdkafka_properties(props)
    except OSError as e:
        raise ConsoleClientError(f"console.client.config {path}: {e.strerror}") from None
    except (PropertiesError, ClientPropertiesError) as e:
        raise ConsoleClientError(f"console.client.config {path}: {e}") from None
