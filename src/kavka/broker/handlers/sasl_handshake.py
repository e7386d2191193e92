"""SaslHandshake (key 17), v0–1, as the broker answers it *outside* an authentication.

On a SASL listener the handshake that starts (or re-starts, KIP-368) an authentication never reaches
the broker's handlers: the connection's authenticator answers it (kavka.server.sasl). What arrives
here is a handshake on a PLAINTEXT or SSL listener, or a second one on an authenticated connection
whose session has no lifetime, and Kafka answers both with ILLEGAL_SASL_STATE and no mechanisms.
"""

from kavka.broker.registry import handles
from kavka.protocol.api import ApiKey, ErrorCode


@handles(ApiKey.SASL_HANDSHAKE, 0, 1)
def handle_sasl_handshake(ctx, req):
    return {"error_code": ErrorCode.illegal_sasl_state, "mechanisms": []}
