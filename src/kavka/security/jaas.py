"""Kafka's JAAS configuration syntax, as ``sasl.jaas.config`` and its per-listener, per-mechanism form
``listener.name.<listener>.<mechanism>.sasl.jaas.config`` carry it::

    <LoginModule class> <flag> [<option>=<value> ...] ;

for example ``org.apache.kafka.common.security.plain.PlainLoginModule required username="admin"
password="admin-secret" user_admin="admin-secret" user_alice="alice-secret";``. The flag is one of
``required``, ``requisite``, ``sufficient``, ``optional``. A value is a double-quoted string (``\\``
escapes the next character) or a bare word. Kafka's property form holds exactly one login module; a
text with none, or with more than one, is refused with Kafka's messages.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["JaasError", "LoginModule", "parse_jaas_config"]

_FLAGS = ("required", "requisite", "sufficient", "optional")


class JaasError(ValueError):
    """A JAAS text that does not parse; the message says where."""


@dataclass(frozen=True)
class LoginModule:
    class_name: str
    flag: str
    options: dict[str, str] = field(default_factory=dict)


def _tokens(text: str) -> list[str]:
    """Words, quoted strings (returned with a leading quote so they cannot be taken for ``=`` or ``;``),
    ``=`` and ``;``."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c.isspace():
            i += 1
        elif c in "=;":
            out.append(c)
            i += 1
        elif c == '"':
            i += 1
            value = []
            while i < n and text[i] != '"':
                if text[i] == "\\" and i + 1 < n:
                    i += 1
                value.append(text[i])
                i += 1
            if i >= n:
                raise JaasError("Value not specified for key: unterminated quoted string in JAAS config")
            i += 1
            out.append('"' + "".join(value))
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in '=;"':
                i += 1
            out.append(text[start:i])
    return out


def parse_jaas_config(text: str) -> LoginModule:
    """The one login module of a ``sasl.jaas.config`` value."""
    tokens = _tokens(text)
    modules: list[LoginModule] = []
    i = 0
    while i < len(tokens):
        if i + 1 >= len(tokens):
            raise JaasError(f"Invalid JAAS config: login module control flag not specified after {tokens[i]}")
        name, flag = tokens[i], tokens[i + 1]
        if flag.lower() not in _FLAGS:
            raise JaasError(f"Invalid JAAS config: login module control flag is not available: {flag}")
        i += 2
        options: dict[str, str] = {}
        while i < len(tokens) and tokens[i] != ";":
            key = tokens[i]
            if i + 2 >= len(tokens) or tokens[i + 1] != "=":
                raise JaasError(f"Invalid JAAS config: Value not specified for key: {key}")
            value = tokens[i + 2]
            options[key] = value[1:] if value.startswith('"') else value
            i += 3
        if i >= len(tokens):
            raise JaasError("Invalid JAAS config: JAAS config entry not terminated by semi-colon")
        i += 1
        modules.append(LoginModule(name, flag.lower(), options))
    if len(modules) != 1:
        raise JaasError(f"JAAS config property contains {len(modules)} login modules, should be 1 module")
    return modules[0]
