"""Helpers for the console tests (the ``console_env`` fixture lives in conftest.py).

``ConsoleEnv`` gives ``url``, ``bootstrap``, the ``EmbeddedBroker``, and
helpers: ``get``/``send`` (real HTTP with urllib, JSON decoded), ``on_loop(fn)`` (run ``fn`` on the
broker's event loop thread and return its result), ``create_topic(name, partitions)`` through the
console API. ``secured_overrides(folder)``: a broker with the StandardAuthorizer whose console acts as
``User:console``.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass

from kavka.testing.embedded import EmbeddedBroker


@dataclass
class Response:
    status: int
    headers: dict
    body: bytes

    def json(self):
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def http(method: str, url: str, body=None, headers: dict | None = None, timeout: float = 15.0) -> Response:
    data = None
    hdrs = dict(headers or {})
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    if body is not None or method in ("POST", "PUT", "PATCH", "DELETE"):
        hdrs.setdefault("Content-Type", "application/json")  # as the console's own JS sends changes
    req = urllib.request.Request(url, data=data, method=method, headers=hdrs)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return Response(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers), e.read())


class ConsoleEnv:
    def __init__(self, broker: EmbeddedBroker, runner):
        self.broker = broker
        self.runner = runner
        self.url = runner.url
        self.bootstrap = broker.bootstrap

    def on_loop(self, fn, timeout: float = 30.0):
        async def call():
            return fn()

        return asyncio.run_coroutine_threadsafe(call(), self.broker._loop).result(timeout)

    def run(self, coro, timeout: float = 30.0):
        return asyncio.run_coroutine_threadsafe(coro, self.broker._loop).result(timeout)

    def get(self, path: str, **kw) -> Response:
        return http("GET", self.url + path, **kw)

    def send(self, method: str, path: str, body=None, **kw) -> Response:
        return http(method, self.url + path, body, **kw)

    def create_topic(self, name: str | None = None, partitions: int = 3, configs: dict | None = None) -> str:
        name = name or f"t-{uuid.uuid4().hex[:10]}"
        r = self.send("POST", "/api/topics", {"name": name, "partitions": partitions, "configs": configs or {}})
        assert r.status == 201, r.text
        return name


def start_console_for(broker: EmbeddedBroker, listener: str = "http://127.0.0.1:0", overrides=None):
    from kavka.console.app import start_console
    from kavka.metadata.config import BrokerConfig

    config = broker.config
    if overrides:
        props = dict(broker.config.originals)
        props.update(overrides)
        config = BrokerConfig.from_properties(props)
    return asyncio.run_coroutine_threadsafe(
        start_console(broker.server, config, listener=listener), broker._loop
    ).result(30)


PLAIN = "org.apache.kafka.common.security.plain.PlainLoginModule required"


def secured_overrides(folder) -> dict[str, str]:
    """Broker settings: Kafka's StandardAuthorizer, ``allow.everyone.if.no.acl.found=false``,
    ``super.users=User:admin``, a SASL_PLAINTEXT listener with PLAIN users ``admin`` and ``console``
    (password ``<user>-secret``) beside an anonymous PLAINTEXT one, and ``console.client.config`` (written
    in ``folder``) logging in as ``console`` there: the console acts as ``User:console``."""
    props = folder / "console-client.properties"
    props.write_text(
        "security.protocol=SASL_PLAINTEXT\nsasl.mechanism=PLAIN\n"
        f'sasl.jaas.config={PLAIN} username="console" password="console-secret";\n'
    )
    return {
        "listeners": "PLAINTEXT://127.0.0.1:0,SASL_PLAINTEXT://127.0.0.1:0",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "listener.name.sasl_plaintext.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.sasl_plaintext.plain.sasl.jaas.config": (
            f'{PLAIN} user_admin="admin-secret" user_console="console-secret";'
        ),
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": "User:admin",
        "console.client.config": str(props),
        "console.client.listener": "SASL_PLAINTEXT",
        "group.initial.rebalance.delay.ms": "0",
    }
