"""SASL/OAUTHBEARER on the server (RFC 7628) with Kafka's default validator for development,
``OAuthBearerUnsecuredValidatorCallbackHandler``: the token is an *unsecured* JWS (``alg: none``, empty
signature) whose claims are trusted once they are well formed and current.

Client's first token (RFC 7628 §3.1; ``\\x01`` separates)::

    n,[a=<authzid>],\\x01auth=Bearer <token>\\x01[<key>=<value>\\x01]*\\x01

Token: ``base64url(header) "." base64url(claims) "."``. The header's ``alg`` must be ``none``; the
claims need the principal claim (``sub`` unless ``unsecuredValidatorPrincipalClaimName`` says
otherwise), ``exp`` (seconds, may be fractional) in the future and ``iat`` neither after now nor at or after ``exp``, allowing
``unsecuredValidatorAllowableClockSkewMs``; ``unsecuredValidatorRequiredScope`` lists scopes the
``scope`` claim must hold. The options come from the listener's OAuthBearerLoginModule JAAS config.

With ``jwks`` set (the listener names Kafka's ``OAuthBearerValidatorCallbackHandler``), tokens must be
signed instead, and are checked as kavka.security.jwks says.

A token that fails is answered, as Kafka answers, with the JSON challenge ``{"status":"invalid_token"}``;
the client acknowledges it with one ``\\x01`` byte and then gets SASL_AUTHENTICATION_FAILED carrying
that JSON. Success sets the principal and the credential's expiry (the session lifetime is then at
most the token's remaining life).
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kavka.security.jaas import parse_jaas_config
from kavka.security.jwks import JwksSettings, TokenInvalid, validate_signed
from kavka.security.mechanism import SaslAuthenticationError, SaslError

__all__ = ["OAuthSettings", "OAuthBearerServer", "unsecured_token"]


@dataclass(frozen=True)
class OAuthSettings:
    principal_claim: str = "sub"
    scope_claim: str = "scope"
    required_scope: tuple[str, ...] = ()
    clock_skew_ms: int = 0
    # signed tokens (Kafka's OAuthBearerValidatorCallbackHandler) instead of unsecured ones
    jwks: JwksSettings | None = None

    @classmethod
    def from_config(cls, get: Callable[[str], Any]) -> OAuthSettings:
        jaas = get("sasl.jaas.config")
        options = parse_jaas_config(str(jaas)).options if jaas else {}
        scope = options.get("unsecuredValidatorRequiredScope", "")
        return cls(
            principal_claim=options.get("unsecuredValidatorPrincipalClaimName", "sub") or "sub",
            scope_claim=options.get("unsecuredValidatorScopeClaimName", "scope") or "scope",
            required_scope=tuple(s for s in scope.split(" ") if s),
            clock_skew_ms=int(options.get("unsecuredValidatorAllowableClockSkewMs", "0") or 0),
        )


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unsecured_token(claims: dict[str, Any]) -> str:
    """An unsecured JWS carrying ``claims`` (what Kafka's unsecured login module makes), for tests."""
    return f"{_b64url(json.dumps({'alg': 'none'}).encode())}.{_b64url(json.dumps(claims).encode())}."


def _b64url_json(part: str) -> Any:
    try:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    except (binascii.Error, ValueError) as e:
        raise _Invalid(f"Invalid JWS part: {e}") from None


class _Invalid(Exception):
    pass


class OAuthBearerServer:
    name = "OAUTHBEARER"

    def __init__(self, settings: OAuthSettings, clock_ms: Callable[[], int] | None = None) -> None:
        self._settings = settings
        self._clock_ms = clock_ms or (lambda: int(time.time() * 1000))
        self._error: str | None = None
        self.complete = False
        self.authorization_id: str | None = None
        self.credential_expiry_ms: int | None = None

    def evaluate(self, token: bytes) -> bytes:
        if token == b"\x01" and self._error is not None:
            raise SaslAuthenticationError(self._error)
        self._error = None
        try:
            text = token.decode("utf-8")
        except UnicodeDecodeError:
            raise SaslError("Invalid OAUTHBEARER client first message: not UTF-8") from None
        gs2, sep, rest = text.partition("\x01")
        if not sep or not rest.endswith("\x01\x01") or not gs2.startswith(("n,", "y,")):
            raise SaslError(f"Invalid OAUTHBEARER client first message: {text!r}")
        authzid = ""
        for part in gs2.split(",")[1:]:
            if part.startswith("a="):
                authzid = part[2:]
        auth = None
        for kv in rest[:-2].split("\x01"):
            key, _, value = kv.partition("=")
            if key == "auth":
                auth = value
        if auth is None or not auth.startswith("Bearer "):
            raise SaslError("Invalid OAUTHBEARER client first message: no auth=Bearer")
        try:
            principal, expiry = self._validate(auth[len("Bearer ") :].strip())
        except _Invalid as e:
            self._error = json.dumps({"status": "invalid_token"}, separators=(",", ":"))
            self._reason = str(e)
            return self._error.encode()
        if authzid and authzid != principal:
            raise SaslAuthenticationError(
                f"Authentication failed: Client requested an authorization id ({authzid}) that is different "
                f"from the token's principal name ({principal})"
            )
        self.authorization_id = principal
        self.credential_expiry_ms = expiry
        self.complete = True
        return b""

    def _validate(self, token: str) -> tuple[str, int]:
        if self._settings.jwks is not None:
            try:
                signed_principal, expiry, _ = validate_signed(token, self._settings.jwks, self._clock_ms())
            except TokenInvalid as e:
                raise _Invalid(str(e)) from None
            return signed_principal, expiry
        parts = token.split(".")
        if len(parts) != 3:
            raise _Invalid("Unsecured JWS compact serializations must have 3 dot-separated Base64URL-encoded values")
        if parts[2]:
            raise _Invalid("Unsecured JWS compact serializations must have an empty signature")
        header, claims = _b64url_json(parts[0]), _b64url_json(parts[1])
        if not isinstance(header, dict) or not isinstance(claims, dict):
            raise _Invalid("JWS header and claims must be JSON objects")
        if header.get("alg") != "none":
            raise _Invalid("Unsecured JWS must have 'alg' of 'none'")
        s = self._settings
        principal = claims.get(s.principal_claim)
        if not isinstance(principal, str) or not principal.strip():
            raise _Invalid(f"Required claim missing: {s.principal_claim}")
        exp = claims.get("exp")
        if not isinstance(exp, int | float) or isinstance(exp, bool):
            raise _Invalid("Required claim missing: exp")
        now = self._clock_ms()
        expiry = int(exp * 1000)
        if now - s.clock_skew_ms >= expiry:
            raise _Invalid(f"The indicated time ({now} ms) is on or after the expiration time ({expiry} ms)")
        iat = claims.get("iat")
        if isinstance(iat, int | float) and not isinstance(iat, bool):
            # Kafka's checks, in its arithmetic: an iat after now (plus the skew) is refused, to the
            # fraction of a millisecond; so is an exp that is not after the iat
            if 1000 * iat > now + s.clock_skew_ms:
                raise _Invalid(
                    f"The Issued At value ({iat:f} seconds) was after the indicated time ({now} ms) plus "
                    f"allowable clock skew ({s.clock_skew_ms} ms)"
                )
            if exp <= iat:
                raise _Invalid(
                    f"The Expiration Time time ({exp:f} seconds) was not after the Issued At time ({iat:f} seconds)"
                )
        if s.required_scope:
            scope = claims.get(s.scope_claim)
            held = set(scope.split(" ") if isinstance(scope, str) else scope if isinstance(scope, list) else [])
            missing = [x for x in s.required_scope if x not in held]
            if missing:
                raise _Invalid(f"The provided scope ({sorted(held)}) is missing a required scope: {missing}")
        return principal, expiry
