"""SaslAuthenticate (key 36), v0–2, as the broker answers it *outside* an authentication.

Tokens of an authentication in progress are taken by the connection's authenticator
(kavka.server.sasl). A SaslAuthenticate that reaches the handlers is out of place (a PLAINTEXT or SSL
listener, or an already authenticated connection), and Kafka answers ILLEGAL_SASL_STATE with the
message "SaslAuthenticate request received after successful authentication".
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.SASL_AUTHENTICATE, 0, 2)
def handle_sasl_authenticate(ctx, req):
    return {
        "error_code": ErrorCode.illegal_sasl_state,
        "error_message": "SaslAuthenticate request received after successful authentication",
        "auth_bytes": b"",
        "session_lifetime": 0,
    }
