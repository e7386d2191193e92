"""Java ``.properties`` parsing (``java.util.Properties.load``), the format of ``server.properties``.

Rules, as Java applies them:

- A *natural line* ends at ``\\n``, ``\\r`` or ``\\r\\n``. A natural line ending in an odd number of
  backslashes continues on the next one; the leading whitespace of the continuation is dropped.
- A line whose first non-whitespace character is ``#`` or ``!`` is a comment; blank lines are skipped.
  (Only at the start of a logical line: a ``#`` inside a value is part of the value.)
- The key starts at the first non-whitespace character and ends at the first unescaped ``=``, ``:``,
  space, tab or form feed. Whitespace, then at most one ``=`` or ``:``, then whitespace, separate it
  from the value; the value runs to the end of the logical line (trailing whitespace is kept).
- Escapes in keys and values: ``\\t \\n \\r \\f``, ``\\uXXXX``; a backslash before any other character
  yields that character (``\\=``, ``\\:``, ``\\ ``, ``\\\\``, ``\\#``).
- A repeated key keeps its last value.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

__all__ = ["parse_properties", "PropertiesError"]

_WS = " \t\f"
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_NEWLINE = re.compile(r"\r\n|\r|\n")


class PropertiesError(ValueError):
    """Malformed ``\\uXXXX`` escape (Java throws IllegalArgumentException)."""


def _logical_lines(text: str) -> Iterator[str]:
    lines = _NEWLINE.split(text)
    i = 0
    while i < len(lines):
        line = lines[i].lstrip(_WS)
        i += 1
        if not line or (line[0] in "#!"):
            continue
        parts = []
        while True:
            trailing = len(line) - len(line.rstrip("\\"))
            if trailing % 2 == 1 and i <= len(lines):
                parts.append(line[:-1])
                if i == len(lines):
                    break
                line = lines[i].lstrip(_WS)
                i += 1
                continue
            parts.append(line)
            break
        yield "".join(parts)


def _unescape(s: str) -> str:
    if "\\" not in s:
        return s
    out = []
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        i += 1
        if i >= n:
            break  # a lone trailing backslash is dropped, as in Java
        c = s[i]
        if c == "u":
            digits = s[i + 1 : i + 5]
            if len(digits) != 4 or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise PropertiesError("Malformed \\uxxxx encoding.")
            out.append(chr(int(digits, 16)))
            i += 5
            continue
        out.append(_SIMPLE_ESCAPES.get(c, c))
        i += 1
    return "".join(out)


def _split(line: str) -> tuple[str, str]:
    i = 0
    n = len(line)
    while i < n:
        c = line[i]
        if c == "\\":
            i += 2
            continue
        if c in "=:" or c in _WS:
            break
        i += 1
    key = line[:i]
    j = i
    while j < n and line[j] in _WS:
        j += 1
    if j < n and line[j] in "=:":
        j += 1
        while j < n and line[j] in _WS:
            j += 1
    return key, line[j:]


def parse_properties(text: str) -> dict[str, str]:
    """Parse ``.properties`` text into an ordered ``{key: value}`` dict (later keys win)."""
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split(line)
        result[_unescape(key)] = _unescape(value)
    return result
