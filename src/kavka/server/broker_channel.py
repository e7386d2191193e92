"""Requests from this broker to another broker (Kafka's inter-broker traffic: replica fetches,
WriteTxnMarkers, AddPartitionsToTxn verification).

A broker is reached on the endpoint it registered for ``inter.broker.listener.name`` (Kafka's default:
the listener named PLAINTEXT, else the first non-controller one), read from the committed metadata
image at each connect, so a broker that restarts on another port is found again.

Connections are keyed by (node id, purpose): responses come back in order on one connection, so a
request that may wait (a replica fetch parks up to ``replica.fetch.wait.max.ms``) never shares a
connection with one that must not (a transaction marker). Each purpose gets its own PeerClient.
When the inter-broker listener is SSL (or SASL_SSL), every connection is TLS (``ssl``, from
kavka.server.tls.link_context).

``await channel.request(node_id, api_key, version, body, timeout, purpose=...)`` returns the decoded
response or raises PeerError (unreachable, timed out, disconnected) or ``UnknownBroker`` (no
registration or no such listener in the image).
"""

from __future__ import annotations

import ssl as ssl_module
from collections.abc import Callable
from typing import Any

from kavka.metadata.image import MetadataImage
from kavka.server.peer_client import PeerClient, PeerError

__all__ = ["BrokerChannel", "UnknownBroker"]


class UnknownBroker(PeerError):
    """The image has no endpoint for the broker on the inter-broker listener."""


class BrokerChannel:
    # SASL login run on each new connection (kavka.server.sasl_client); set by the server
    authenticate: Any = None

    def __init__(
        self,
        image: Callable[[], MetadataImage],
        listener_name: str,
        client_id: str,
        *,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        self.ssl = ssl  # TLS when the inter-broker listener is SSL
        self._image = image
        self.listener_name = listener_name
        self.client_id = client_id
        self._clients: dict[tuple[int, str], tuple[tuple[str, int], PeerClient]] = {}

    def endpoint(self, node_id: int) -> tuple[str, int] | None:
        registration = self._image().brokers.get(node_id)
        if registration is None:
            return None
        endpoint = registration.endpoint(self.listener_name)
        return None if endpoint is None else (endpoint.host, endpoint.port)

    def client(self, node_id: int, purpose: str) -> PeerClient:
        """The connection for ``purpose`` to ``node_id``, made anew when its address changed."""
        address = self.endpoint(node_id)
        if address is None:
            raise UnknownBroker(f"broker {node_id} has no {self.listener_name} endpoint in the metadata")
        known = self._clients.get((node_id, purpose))
        if known is not None and known[0] == address:
            return known[1]
        client = PeerClient(
            address[0], address[1], client_id=self.client_id, ssl=self.ssl, authenticate=self.authenticate
        )
        self._clients[(node_id, purpose)] = (address, client)
        return client

    async def request(
        self, node_id: int, api_key: int, version: int, body: Any, timeout: float, *, purpose: str = "default"
    ) -> Any:
        return await self.client(node_id, purpose).request(api_key, version, body, timeout)

    async def close(self) -> None:
        for _, client in self._clients.values():
            await client.close()
        self._clients.clear()
