"""SASL on a connection of a ``SASL_PLAINTEXT`` / ``SASL_SSL`` listener: the per-connection state of
Kafka's ``SaslServerAuthenticator``, in front of the dispatcher.

States and what each accepts (anything else fails the authentication)::

    HANDSHAKE_OR_VERSIONS   ApiVersions (answered by the dispatcher) or SaslHandshake
    HANDSHAKE               SaslHandshake
    AUTHENTICATE            SaslAuthenticate requests (after SaslHandshake v1), or raw tokens
                            (after SaslHandshake v0: each frame is the token, each answer the token
                            back with its 4-byte size and no Kafka header)
    COMPLETE                every request goes to the dispatcher; a SaslHandshake starts a
                            re-authentication (KIP-368) when the session has a lifetime
    FAILED                  nothing more is read

A failure (an unknown mechanism, bad credentials, a request out of order, bytes that are no Kafka
request, a frame above ``sasl.server.max.receive.size``) is logged once (a warning) with the client's
address, and its answer (when there is one) is sent after ``connection.failed.authentication.delay.ms``
(KIP-306); then the connection is closed. Other connections are unaffected.

On success the connection's principal becomes ``User:<name>``. The session lifetime (SaslAuthenticate
v1+) is ``connections.max.reauth.ms`` for the mechanism, or the time left on an expiring credential
(OAUTHBEARER), whichever is less; 0 means none. A connection past its session's end is closed on its
next request, unless that request is the SaslHandshake of a re-authentication, which must keep the
mechanism and the principal.

:class:`SaslSettings` resolves one listener's settings with Kafka's per-listener prefixes
(``listener.name.<listener>.sasl.enabled.mechanisms``, ``listener.name.<listener>.<mechanism>.sasl.jaas.config``,
``listener.name.<listener>.<mechanism>.connections.max.reauth.ms``), falling back to the unprefixed names.
"""

from __future__ import annotations

import asyncio
import logging
import struct
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from kavka.broker.dispatch import CloseConnection, ConnectionInfo, Dispatcher
from kavka.broker.registry import lookup
from kavka.protocol.api import (
    ApiKey,
    ErrorCode,
    ProtocolDecodeError,
    decode_request,
    encode_response,
    parse_request_header,
)
from kavka.security.jaas import JaasError, parse_jaas_config
from kavka.security.javaorder import hashmap_order
from kavka.security.jwks import JwksSettings, load_jwks
from kavka.security.mechanism import SaslAuthenticationError, SaslError, SaslMechanism, generic_failure
from kavka.security.oauthbearer import OAuthBearerServer, OAuthSettings
from kavka.security.sasl_plain import PlainServer, users_from_jaas_options
from kavka.security.scram import MECHANISMS as SCRAM_MECHANISMS
from kavka.security.scram import ScramCredential, ScramServer

log = logging.getLogger(__name__)

__all__ = ["SaslSettings", "SaslAuthenticator", "SASL_PROTOCOLS", "sasl_config_problem"]

SASL_PROTOCOLS = ("SASL_PLAINTEXT", "SASL_SSL")
_SIZE = struct.Struct(">i")
_SASL_AUTHENTICATE_MAX = 2
_SASL_HANDSHAKE_MAX = 1
_MIN_REAUTH_INTERVAL_S = 1.0  # Kafka's KafkaChannel.MIN_REAUTH_INTERVAL_ONE_SECOND_NANOS


class SaslSettings:
    """One listener's SASL settings. ``scram_lookup(mechanism, user)`` reads the SCRAM credentials of
    the current metadata image."""

    def __init__(
        self,
        config: Any,
        listener: str,
        scram_lookup: Callable[[str, str], ScramCredential | None],
    ) -> None:
        self.listener = listener
        self._config = config
        self._raw: dict[str, str] = dict(getattr(config, "listener_props", {}) or {})
        prefix = f"listener.name.{listener.lower()}."
        self._prefix = prefix
        mechanisms = self._raw.get(prefix + "sasl.enabled.mechanisms")
        if mechanisms is None:
            value = config["sasl.enabled.mechanisms"]
            mechanisms = ",".join(value) if isinstance(value, list) else (value or "")
        # in the order Kafka lists them: the keys of a Java HashMap
        self.enabled = hashmap_order(list(dict.fromkeys(m.strip() for m in mechanisms.split(",") if m.strip())))
        self.failed_delay_ms: int = config["connection.failed.authentication.delay.ms"]
        self.max_receive: int = config.get("sasl.server.max.receive.size", 524288) or 524288
        self._scram_lookup = scram_lookup
        self.plain_users: dict[str, str] = {}
        for mechanism in self.enabled:
            if mechanism not in ("PLAIN", "OAUTHBEARER", *SCRAM_MECHANISMS):
                raise ValueError(
                    f"SASL mechanism {mechanism} of listener {listener} is not supported by Kavka "
                    f"(PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 and OAUTHBEARER are)"
                )
            # Kafka needs a login module for every enabled mechanism (it has no JAAS file here)
            if self.jaas_config(mechanism) is None:
                raise ValueError(
                    f"Could not find a 'KafkaServer' or '{listener.lower()}.KafkaServer' entry in the JAAS "
                    f"configuration. System property 'java.security.auth.login.config' is not set"
                )
        try:
            if "PLAIN" in self.enabled:
                jaas = self.jaas_config("PLAIN") or ""
                self.plain_users = users_from_jaas_options(parse_jaas_config(jaas).options)
            self.oauth: OAuthSettings | None = None
            if "OAUTHBEARER" in self.enabled:
                get = self.value_for("OAUTHBEARER")
                self.oauth = replace(OAuthSettings.from_config(get), jwks=_jwks_settings(get))
        except JaasError as e:
            raise ValueError(f"listener {listener}: {e}") from None

    def value_for(self, mechanism: str) -> Callable[[str], Any]:
        """A getter of a setting for ``mechanism`` on this listener, most specific name first."""

        def get(name: str) -> Any:
            for key in (f"{self._prefix}{mechanism.lower()}.{name}", f"{self._prefix}{name}"):
                if key in self._raw:
                    return self._raw[key]
            return self._config.get(name)

        return get

    def jaas_config(self, mechanism: str) -> str | None:
        value = self.value_for(mechanism)("sasl.jaas.config")
        return None if value is None else str(value)

    def reauth_ms(self, mechanism: str) -> int:
        value = self.value_for(mechanism)("connections.max.reauth.ms")
        return int(value or 0)

    def new_mechanism(self, name: str) -> SaslMechanism:
        if name == "PLAIN":
            return PlainServer(self.plain_users)
        if name in SCRAM_MECHANISMS:
            return ScramServer(name, lambda user: self._scram_lookup(name, user))
        if name == "OAUTHBEARER" and self.oauth is not None:
            return OAuthBearerServer(self.oauth)
        raise ValueError(f"SASL mechanism {name} is not supported")


_VALIDATORS = (
    "org.apache.kafka.common.security.oauthbearer.OAuthBearerValidatorCallbackHandler",
    "org.apache.kafka.common.security.oauthbearer.secured.OAuthBearerValidatorCallbackHandler",
)


def _list(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    items = value if isinstance(value, list | tuple) else str(value).split(",")
    return tuple(str(v).strip() for v in items if str(v).strip())


def _jwks_settings(get: Callable[[str], Any]) -> JwksSettings | None:
    """Signed-token settings when the listener's OAUTHBEARER callback handler is Kafka's validator:
    the JWKS read from ``sasl.oauthbearer.jwks.endpoint.url`` (a ``file:`` URL), the expected audience
    and issuer, the subject claim and the clock skew. ValueError for what cannot work."""
    handler = get("sasl.server.callback.handler.class")
    if handler is None or str(handler) not in _VALIDATORS:
        return None
    url = get("sasl.oauthbearer.jwks.endpoint.url")
    if not url or not str(url).startswith("file:"):
        raise ValueError(f"sasl.oauthbearer.jwks.endpoint.url must be a file: URL for {handler} in Kavka (got {url!r})")
    path = urllib.parse.unquote(urllib.parse.urlparse(str(url)).path)
    try:
        with open(path, encoding="utf-8") as f:
            keys = load_jwks(f.read())
    except OSError as e:
        raise ValueError(f"cannot read the JWKS {path}: {e.strerror}") from None
    issuer = get("sasl.oauthbearer.expected.issuer")
    return JwksSettings(
        keys=keys,
        expected_audience=_list(get("sasl.oauthbearer.expected.audience")),
        expected_issuer=None if issuer in (None, "") else str(issuer),
        sub_claim=str(get("sasl.oauthbearer.sub.claim.name") or "sub"),
        clock_skew_s=int(get("sasl.oauthbearer.clock.skew.seconds") or 30),
    )


def sasl_config_problem(config: Any) -> str | None:
    """The one-line reason a SASL listener of ``config`` cannot work (an unsupported mechanism, no or a
    bad JAAS config), or None; ``kavka serve`` checks it before it starts anything."""
    for listener in config.listeners:
        if listener.security_protocol in SASL_PROTOCOLS:
            try:
                SaslSettings(config, listener.name, lambda m, u: None)
            except ValueError as e:
                return str(e)
    if config.get("controller.quorum.voters"):  # a node of a cluster: its own logins to other nodes
        from kavka.server.sasl_client import client_settings

        links = [(config.inter_broker_listener_name, "sasl.mechanism.inter.broker.protocol")]
        links += [(name, "sasl.mechanism.controller.protocol") for name in config.controller_listener_names[:1]]
        for name, mechanism_config in links:
            try:
                client_settings(config, name, mechanism_config)
            except ValueError as e:
                return str(e)
    return None


class SaslAuthenticator:
    """The SASL state of one connection; :meth:`dispatch` takes the connection's frames."""

    def __init__(self, settings: SaslSettings, dispatcher: Dispatcher, close: Callable[[], None]) -> None:
        self._settings = settings
        self._dispatcher = dispatcher
        self._close = close
        self.state = "HANDSHAKE_OR_VERSIONS"
        self._headers = True  # SaslAuthenticate requests (handshake v1); False: raw tokens (v0)
        self._mechanism: SaslMechanism | None = None
        self._mechanism_name: str | None = None
        self._reauth_from: tuple[str, str] | None = None  # (mechanism, principal) being re-authenticated
        self.session_expiry: float | None = None  # time.monotonic() when the session ends
        self._last_reauth_start: float | None = None  # time.monotonic() of the last re-authentication

    @property
    def complete(self) -> bool:
        return self.state == "COMPLETE"

    def frame_limit(self, default: int) -> int:
        """The largest frame accepted now: ``sasl.server.max.receive.size`` until authenticated."""
        return default if self.state == "COMPLETE" else min(default, self._settings.max_receive)

    def oversized(self, info: ConnectionInfo, size: int) -> None:
        self._fail(info, f"Failing SASL authentication due to invalid receive size ({size})", None)

    def dispatch(self, info: ConnectionInfo, frame: bytearray) -> Any:
        state = self.state
        if state == "COMPLETE":
            return self._authenticated(info, frame)
        if state == "FAILED":
            raise CloseConnection("authentication failed")
        if state == "AUTHENTICATE":
            return self._authenticate(info, frame)
        try:
            header, offset = parse_request_header(frame)
        except ProtocolDecodeError:
            return self._fail(
                info, "Exception handling first SASL packet from client, GSSAPI is not supported by server", None
            )
        if header.api_key == ApiKey.API_VERSIONS and state == "HANDSHAKE_OR_VERSIONS":
            # an unsupported version is answered (v0, UNSUPPORTED_VERSION) and the client may ask again
            if lookup(header.api_key, header.api_version, self._dispatcher.listener) is not None:
                self.state = "HANDSHAKE"
            return self._dispatcher.dispatch(info, frame)
        if header.api_key != ApiKey.SASL_HANDSHAKE:
            name = _api_name(header.api_key)
            return self._fail(info, f"Unexpected Kafka request of type {name} during SASL handshake.", None)
        return self._handshake(info, header, frame, offset)

    # --- handshake ----------------------------------------------------------------------

    def _handshake(self, info: ConnectionInfo, header: Any, frame: bytearray, offset: int) -> Any:
        if header.api_version > _SASL_HANDSHAKE_MAX:
            raise CloseConnection(f"unsupported SaslHandshake version {header.api_version}")
        try:
            req = decode_request(header.api_key, header.api_version, frame, offset)
        except ProtocolDecodeError as e:
            raise CloseConnection(f"malformed SaslHandshake: {e}") from None
        mechanism = req.mechanism
        enabled = self._settings.enabled
        self._headers = header.api_version >= 1
        if mechanism not in enabled:
            body = {"error_code": ErrorCode.unsupported_sasl_mechanism, "mechanisms": enabled}
            response = _response(header, body)
            return self._fail(info, f"Unsupported SASL mechanism {mechanism}", response)
        if self._reauth_from is not None and self._reauth_from[0] != mechanism:
            # Kafka answers the handshake, then fails the first authenticate token (REAUTH_BAD_MECHANISM)
            self._mechanism = None
            self._mechanism_name = mechanism
        else:
            self._mechanism = self._settings.new_mechanism(mechanism)
            self._mechanism_name = mechanism
        self.state = "AUTHENTICATE"
        return _response(header, {"error_code": 0, "mechanisms": enabled})

    # --- authenticate -------------------------------------------------------------------

    def _authenticate(self, info: ConnectionInfo, frame: bytearray) -> Any:
        name = self._mechanism_name or ""
        reauth = self._reauth_from is not None
        if not self._headers:
            return self._raw_token(info, bytes(frame))
        try:
            header, offset = parse_request_header(frame)
        except ProtocolDecodeError as e:
            return self._fail(info, f"Invalid SASL authenticate request: {e}", None)
        if header.api_key != ApiKey.SASL_AUTHENTICATE:
            api = _api_name(header.api_key)
            return self._fail(info, f"Unexpected Kafka request of type {api} during SASL authentication.", None)
        if header.api_version > _SASL_AUTHENTICATE_MAX:
            raise CloseConnection(f"Version {header.api_version} is not supported for apiKey SASL_AUTHENTICATE")
        try:
            req = decode_request(header.api_key, header.api_version, frame, offset)
        except ProtocolDecodeError as e:
            return self._fail(info, f"Invalid SaslAuthenticate request: {e}", None)
        mechanism = self._mechanism
        if mechanism is None:
            # a re-authentication that named another mechanism: Kafka (REAUTH_BAD_MECHANISM) fails it
            # before building any answer, so the client sees the connection close, with no message
            previous = self._reauth_from[0] if self._reauth_from else ""
            message = (
                f"SASL mechanism '{name}' requested by client is not supported for re-authentication "
                f"of mechanism '{previous}'"
            )
            return self._fail(info, message, None)
        try:
            token = mechanism.evaluate(bytes(req.auth_bytes))
            lifetime = self._finish(info, mechanism) if mechanism.complete else 0
        except SaslAuthenticationError as e:
            message = str(e)
            body = {"error_code": ErrorCode.sasl_authentication_failed, "error_message": message, "auth_bytes": b""}
            return self._fail(info, message, _response(header, body))
        except SaslError as e:
            message = generic_failure(name, reauth)
            body = {"error_code": ErrorCode.sasl_authentication_failed, "error_message": message, "auth_bytes": b""}
            return self._fail(info, f"{message} ({e})", _response(header, body))
        body = {"error_code": 0, "error_message": "", "auth_bytes": token, "session_lifetime": lifetime}
        return _response(header, body)

    def _raw_token(self, info: ConnectionInfo, token: bytes) -> Any:
        mechanism = self._mechanism
        try:
            if mechanism is None:
                raise SaslAuthenticationError("SASL mechanism not supported for re-authentication")
            answer = mechanism.evaluate(token)
            if mechanism.complete:
                self._finish(info, mechanism)
        except SaslError as e:
            return self._fail(info, str(e), None)
        return [_SIZE.pack(len(answer)) + answer]

    def _finish(self, info: ConnectionInfo, mechanism: SaslMechanism) -> int:
        """Authentication done: set the principal and the session's end; returns the lifetime (ms)."""
        principal = f"User:{mechanism.authorization_id}"
        if self._reauth_from is not None and self._reauth_from[1] != principal:
            before = self._reauth_from[1].replace(":", ".", 1)
            raise SaslAuthenticationError(
                f"Cannot change principals during re-authentication from {before}: {principal.replace(':', '.', 1)}"
            )
        max_ms = self._settings.reauth_ms(mechanism.name)
        lifetime = 0
        expiry = mechanism.credential_expiry_ms
        if expiry is not None or max_ms > 0:
            left = None if expiry is None else max(0, expiry - int(time.time() * 1000))
            if left is None:
                lifetime = max_ms
            elif max_ms <= 0:
                lifetime = left
            else:
                lifetime = min(left, max_ms)
            self.session_expiry = time.monotonic() + lifetime / 1000
        else:
            self.session_expiry = None
        info.principal = principal
        self.state = "COMPLETE"
        self._reauth_from = None
        return lifetime

    # --- after authentication -----------------------------------------------------------

    def _authenticated(self, info: ConnectionInfo, frame: bytearray) -> Any:
        expiry = self.session_expiry
        if expiry is not None:
            try:
                header, offset = parse_request_header(frame)
            except ProtocolDecodeError:
                header = None
            now = time.monotonic()
            if header is not None and header.api_key == ApiKey.SASL_HANDSHAKE and self._may_reauthenticate(now):
                # KIP-368: a handshake on an authenticated connection whose session has a lifetime
                # starts a re-authentication with the same mechanism and principal.
                self._last_reauth_start = now
                self._reauth_from = (self._mechanism_name or "", info.principal)
                self.state = "HANDSHAKE"
                return self._handshake(info, header, frame, offset)
            if now > expiry:
                log.info("closing %s: its SASL session expired (re-authentication needed)", info.peer)
                raise CloseConnection("SASL session expired")
        return self._dispatcher.dispatch(info, frame)

    def _may_reauthenticate(self, now: float) -> bool:
        """Kafka's KafkaChannel: at most one re-authentication start a second (the first one after the
        login has no earlier one to be near); a handshake sooner is handled as on any authenticated
        connection (ILLEGAL_SASL_STATE) and the session goes on."""
        return self._last_reauth_start is None or now - self._last_reauth_start >= _MIN_REAUTH_INTERVAL_S

    # --- failure ------------------------------------------------------------------------

    def _fail(self, info: ConnectionInfo, message: str, response: list | None) -> asyncio.Future:
        """Log once, answer ``response`` (or nothing) after the failed-authentication delay, then close."""
        kind = "re-authentication" if self._reauth_from is not None else "authentication"  # Kafka's words
        self.state = "FAILED"
        peer = info.peer[0] if isinstance(info.peer, tuple) else info.peer
        # a warning (Kafka logs it at INFO, which is its default level; Kavka's default is WARNING)
        log.warning("Failed %s with /%s (%s)", kind, peer, message)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()

        def answer() -> None:
            if not fut.done():
                fut.set_result(response)
                # after the connection's own callback has queued the answer: the transport writes it
                # before it closes
                fut.add_done_callback(lambda _f: self._close())

        loop.call_later(max(0, self._settings.failed_delay_ms) / 1000, answer)
        return fut


def _api_name(api_key: int) -> str:
    try:
        return ApiKey(api_key).name
    except ValueError:
        return str(api_key)


def _response(header: Any, body: dict) -> list:
    data = encode_response(header.api_key, header.api_version, header.correlation_id, body)
    return [_SIZE.pack(len(data)) + data]
