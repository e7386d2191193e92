"""Signed OAUTHBEARER tokens checked against a JSON Web Key Set, as Kafka's
``OAuthBearerValidatorCallbackHandler`` checks them with ``sasl.oauthbearer.jwks.endpoint.url`` (here
a ``file:`` URL: the broker reads the set from disk; the caller passes its text).

A token is a JWS compact serialization ``base64url(header).base64url(claims).base64url(signature)``.
Accepted: RS256, RS384 and RS512 (RSASSA-PKCS1-v1_5, RFC 7518 §3.3) by the RSA key of the set whose
``kid`` the header names (or the only RSA key when the header names none). The check is done with
Python integers: ``signature^e mod n`` must be the EMSA-PKCS1-v1_5 encoding of the digest. Then the
claims, with Kafka's settings: ``exp`` required and in the future, ``iat`` / ``nbf`` not in the future,
each with ``sasl.oauthbearer.clock.skew.seconds`` (30) of slack; ``sasl.oauthbearer.expected.audience``
(a list: the ``aud`` claim must hold one of them) and ``sasl.oauthbearer.expected.issuer`` when set;
the principal from ``sasl.oauthbearer.sub.claim.name`` (``sub``).

Anything wrong raises :class:`TokenInvalid` with the reason (logged by the broker; the client only
learns ``{"status":"invalid_token"}``, as from Kafka).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["TokenInvalid", "JwksSettings", "load_jwks", "validate_signed"]

# DER prefixes of the DigestInfo for each hash (RFC 8017 §9.2, note 1)
_DIGEST_INFO = {
    "RS256": ("sha256", bytes.fromhex("3031300d060960864801650304020105000420")),
    "RS384": ("sha384", bytes.fromhex("3041300d060960864801650304020205000430")),
    "RS512": ("sha512", bytes.fromhex("3051300d060960864801650304020305000440")),
}


class TokenInvalid(Exception):
    """A token that does not pass; the message is the reason."""


@dataclass(frozen=True)
class RsaKey:
    kid: str | None
    n: int
    e: int


@dataclass(frozen=True)
class JwksSettings:
    keys: tuple[RsaKey, ...]
    expected_audience: tuple[str, ...] = ()
    expected_issuer: str | None = None
    sub_claim: str = "sub"
    clock_skew_s: int = 30
    extra: dict[str, Any] = field(default_factory=dict)


def _b64url(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as e:
        raise TokenInvalid(f"Malformed JWT provided: {e}") from None


def _int(part: str) -> int:
    return int.from_bytes(_b64url(part), "big")


def load_jwks(text: str) -> tuple[RsaKey, ...]:
    """The RSA keys of a JWKS document (other key types are skipped). ValueError if it is no JWKS."""
    try:
        document = json.loads(text)
        keys = document["keys"]
    except (ValueError, KeyError, TypeError) as e:
        raise ValueError(f"not a JSON Web Key Set: {e}") from None
    out = []
    for key in keys:
        if isinstance(key, dict) and key.get("kty") == "RSA" and "n" in key and "e" in key:
            out.append(RsaKey(key.get("kid"), _int(key["n"]), _int(key["e"])))
    return tuple(out)


def _verify_rsa(key: RsaKey, algorithm: str, signed: bytes, signature: bytes) -> bool:
    name, prefix = _DIGEST_INFO[algorithm]
    size = (key.n.bit_length() + 7) // 8
    if len(signature) != size:
        return False
    s = int.from_bytes(signature, "big")
    if s >= key.n:
        return False
    em = pow(s, key.e, key.n).to_bytes(size, "big")
    t = prefix + hashlib.new(name, signed).digest()
    expected = b"\x00\x01" + b"\xff" * (size - len(t) - 3) + b"\x00" + t
    return em == expected


def _number(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenInvalid(f"The {name} claim must be a number")
    return float(value)


def validate_signed(token: str, settings: JwksSettings, now_ms: int) -> tuple[str, int, Sequence[str]]:
    """``(principal, expiry in ms, scopes)`` of a valid token; TokenInvalid otherwise."""
    parts = token.split(".")
    if len(parts) != 3 or not parts[2]:
        raise TokenInvalid("Malformed JWT provided; expected three sections (header, payload, and signature)")
    try:
        header = json.loads(_b64url(parts[0]))
        claims = json.loads(_b64url(parts[1]))
    except ValueError as e:
        raise TokenInvalid(f"Malformed JWT provided: {e}") from None
    if not isinstance(header, dict) or not isinstance(claims, dict):
        raise TokenInvalid("Malformed JWT provided: header and payload must be JSON objects")
    algorithm = header.get("alg")
    if algorithm not in _DIGEST_INFO:
        raise TokenInvalid(f"Unsupported or missing signature algorithm: {algorithm}")
    kid = header.get("kid")
    candidates = [k for k in settings.keys if kid is None or k.kid == kid]
    if not candidates:
        raise TokenInvalid(f"No key with kid {kid} in the JWKS")
    signed = f"{parts[0]}.{parts[1]}".encode()
    signature = _b64url(parts[2])
    if not any(_verify_rsa(k, algorithm, signed, signature) for k in candidates):
        raise TokenInvalid("Invalid JWT signature")
    now = now_ms / 1000
    skew = settings.clock_skew_s
    exp = _number(claims, "exp")
    if exp is None:
        raise TokenInvalid("The exp claim is required")
    if now - skew >= exp:
        raise TokenInvalid(f"The JWT is no longer valid - the evaluation time {now:.0f} is on or after {exp:.0f}")
    for name in ("iat", "nbf"):
        value = _number(claims, name)
        if value is not None and value > now + skew:
            raise TokenInvalid(f"The JWT {name} claim {value:.0f} is in the future (now {now:.0f})")
    if settings.expected_audience:
        aud = claims.get("aud")
        held = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        if not set(held) & set(settings.expected_audience):
            raise TokenInvalid(f"Audience {held} is not one of the expected {list(settings.expected_audience)}")
    if settings.expected_issuer is not None and claims.get("iss") != settings.expected_issuer:
        raise TokenInvalid(f"Issuer {claims.get('iss')!r} is not the expected {settings.expected_issuer!r}")
    principal = claims.get(settings.sub_claim)
    if not isinstance(principal, str) or not principal.strip():
        raise TokenInvalid(f"The {settings.sub_claim} claim is required")
    scope = claims.get("scope")
    scopes = scope.split(" ") if isinstance(scope, str) else scope if isinstance(scope, list) else []
    return principal, int(exp * 1000), scopes
