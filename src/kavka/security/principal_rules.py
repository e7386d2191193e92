"""``ssl.principal.mapping.rules``: from a client certificate's distinguished name to a principal name,
as Kafka's SslPrincipalMapper does.

Syntax (Kafka's): a comma-separated list of rules, tried in order; the first that applies names the
principal, and a DN no rule applies to fails the authentication (``No rules apply to <dn>, rules
[...]``).

- ``DEFAULT`` applies to every DN and gives it unchanged (``CN=alice,O=Acme``);
- ``RULE:pattern/replacement/`` applies when ``pattern`` (a regular expression) matches the *whole*
  DN, and gives the DN with every match of ``pattern`` replaced by ``replacement``, where ``$1``..
  name groups; a trailing ``L`` or ``U`` (``RULE:.../.../L``) lower- or upper-cases the result. A ``/``
  inside a pattern or replacement is written ``\\/``.

The DN is the certificate subject in RFC 2253 form, most specific part first, as Java's
``X500Principal.getName()`` writes it (:func:`rfc2253`): ``CN=client,OU=Eng,O=Acme,C=US``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["InvalidRule", "NoMatchingRule", "PrincipalMapper", "rfc2253"]

# Kafka's grammar: group 1 DEFAULT; groups 2/4 pattern/replacement (backslash escapes kept); group 6 L/U.
_RULE = r"(DEFAULT)|RULE:((\\.|[^\\/])*)/((\\.|[^\\/])*)/([LU]?).*?|(.*?)"
_SPLITTER = re.compile(r"\s*(" + _RULE + r")\s*(,\s*|$)")
_PARSER = re.compile(_RULE)
_BACKREF = re.compile(r"\$(\d+)")


class InvalidRule(ValueError):
    """A rule that does not parse (the broker refuses to start, as Kafka does)."""


class NoMatchingRule(ValueError):
    """No rule applies to the DN: the TLS authentication fails."""


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str] | None  # None: DEFAULT
    replacement: str = ""
    lower: bool = False
    upper: bool = False
    text: str = "DEFAULT"

    def apply(self, dn: str) -> str | None:
        if self.pattern is None:
            return dn
        m = self.pattern.fullmatch(dn)
        if m is None:
            return None
        groups = self.pattern.groups
        result = self.pattern.sub(lambda mm: _expand(self.replacement, mm, groups), dn)
        if self.lower:
            return result.lower()
        if self.upper:
            return result.upper()
        return result


def _expand(replacement: str, m: re.Match[str], groups: int) -> str:
    """Java's Matcher replacement: ``$n`` is group n (a number above the group count is cut to the
    longest valid prefix, the rest literal, as Kafka's escapeLiteralBackReferences arranges),
    ``\\x`` is a literal x."""
    out: list[str] = []
    i = 0
    n = len(replacement)
    while i < n:
        c = replacement[i]
        if c == "\\" and i + 1 < n:
            out.append(replacement[i + 1])
            i += 2
            continue
        if c == "$" and groups:
            bm = _BACKREF.match(replacement, i)
            if bm is not None:
                digits = bm.group(1)
                k = len(digits)
                while k > 1 and int(digits[:k]) > groups:
                    k -= 1
                index = int(digits[:k])
                if index <= groups:
                    out.append(m.group(index) or "")
                    out.append(digits[k:])
                    i = bm.end()
                    continue
        out.append(c)
        i += 1
    return "".join(out)


class PrincipalMapper:
    """The parsed rules. ``PrincipalMapper("DEFAULT").name("CN=a,O=b") == "CN=a,O=b"``."""

    def __init__(self, rules: str | None = "DEFAULT") -> None:
        text = (rules if rules is not None else "DEFAULT").strip()
        self.rules: list[_Rule] = []
        for m in _SPLITTER.finditer(text):
            part = m.group(1)
            if part:  # empty rules are ignored, as in Kafka
                self.rules.append(self._parse(part))

    @staticmethod
    def _parse(rule: str) -> _Rule:
        m = _PARSER.match(rule)
        if m is None:
            raise InvalidRule(f"Invalid rule: {rule}")
        if m.end() != len(rule):
            raise InvalidRule(f"Invalid rule: `{rule}`, unmatched substring: `{rule[m.end() :]}`")
        if m.group(1) is not None:
            return _Rule(None)
        if m.group(2) is None:
            raise InvalidRule(f"Invalid rule: {rule}")
        try:
            pattern = re.compile(m.group(2))
        except re.error as e:
            raise InvalidRule(f"Invalid rule: {rule}: {e}") from None
        return _Rule(pattern, m.group(4), m.group(6) == "L", m.group(6) == "U", rule)

    def name(self, dn: str) -> str:
        """The principal name for ``dn``; raises :class:`NoMatchingRule`."""
        for rule in self.rules:
            result = rule.apply(dn)
            if result is not None:
                return result
        shown = ", ".join(r.text for r in self.rules)
        raise NoMatchingRule(f"No rules apply to {dn}, rules [{shown}]")


# Java's X500Principal RFC 2253 keywords; any other attribute is written as its dotted OID with the
# value as #hex of its DER encoding.
_KEYWORDS = {
    "2.5.4.3": "CN",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.9": "STREET",
    "0.9.2342.19200300.100.1.25": "DC",
    "0.9.2342.19200300.100.1.1": "UID",
}
_SPECIAL = set(',+"\\<>;')


def _escape(value: str) -> str:
    out = []
    for i, ch in enumerate(value):
        if ch in _SPECIAL or (ch == "#" and i == 0) or (ch == " " and (i == 0 or i == len(value) - 1)):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def rfc2253(rdns: list[list[tuple[str, str | bytes]]]) -> str:
    """A DN in Java's RFC 2253 form from its RDNs in certificate order (least specific first), each a
    list of ``(dotted OID, value)``; a ``bytes`` value is the attribute's DER encoding (written #hex)."""
    parts = []
    for rdn in reversed(rdns):
        attrs = []
        for oid, value in rdn:
            keyword = _KEYWORDS.get(oid)
            if keyword is not None and isinstance(value, str):
                attrs.append(f"{keyword}={_escape(value)}")
            elif isinstance(value, bytes):
                attrs.append(f"{oid}=#{value.hex()}")
            else:
                attrs.append(f"{oid}={_escape(value)}")
        parts.append("+".join(attrs))
    return ",".join(parts)
