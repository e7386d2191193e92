"""``console.listener`` / ``console.auth``: parse and check them without importing the web stack.

``kavka serve`` calls :func:`check_console_config` before it starts anything, so a console that may
not start (a non-loopback listener without a password, a bad URL) stops the broker with one clear
line, and ``--no-console`` never imports aiohttp.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

__all__ = ["ConsoleConfigError", "parse_listener", "is_loopback", "check_console_config", "LOOPBACK_NAMES"]

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class ConsoleConfigError(ValueError):
    """``console.listener`` / ``console.auth`` do not allow starting the console."""


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listener(value: str | None) -> tuple[str, int] | None:
    """``http://host:port`` → (host, port); empty → None (console disabled). Raises ConsoleConfigError."""
    value = (value or "").strip()
    if not value:
        return None
    if "://" not in value:
        value = "http://" + value
    parts = urlsplit(value)
    if parts.scheme != "http":
        raise ConsoleConfigError(
            f"console.listener {value!r}: only http:// is supported (put a TLS proxy in front for https)"
        )
    try:
        port = parts.port
    except ValueError:
        raise ConsoleConfigError(f"console.listener {value!r}: bad port") from None
    host = parts.hostname if parts.hostname is not None else ""
    return host, 8080 if port is None else port


def check_console_config(config, listener: str | None = None) -> tuple[str, int, str | None] | None:
    """``(host, port, auth)`` the console would use, None when disabled; raises ConsoleConfigError."""
    where = parse_listener(config["console.listener"] if listener is None else listener)
    if where is None:
        return None
    host, port = where
    auth = config.get("console.auth") or None
    if auth is not None and ":" not in auth:
        raise ConsoleConfigError("console.auth must be user:password")
    if not is_loopback(host) and auth is None:
        raise ConsoleConfigError(
            f"the console would listen on {host or 'all interfaces'}, which is not a loopback address; "
            "set console.auth=user:password (it can delete topics), or bind console.listener to 127.0.0.1"
        )
    return host, port, auth
