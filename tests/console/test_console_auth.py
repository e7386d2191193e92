"""console.listener / console.auth: loopback by default, a password required anywhere else."""

from __future__ import annotations

import base64
import socket

import pytest

from kavka.console.app import ConsoleConfigError, is_loopback, parse_listener
from kavka.testing.embedded import EmbeddedBroker
from tests.console.consolelib import ConsoleEnv, http, start_console_for


def test_parse_listener_and_loopback():
    assert parse_listener("http://127.0.0.1:8080") == ("127.0.0.1", 8080)
    assert parse_listener("http://[::1]:9000") == ("::1", 9000)
    assert parse_listener("0.0.0.0:81") == ("0.0.0.0", 81)
    assert parse_listener("http://localhost") == ("localhost", 8080)
    assert parse_listener("") is None and parse_listener("  ") is None
    with pytest.raises(ConsoleConfigError):
        parse_listener("https://127.0.0.1:8443")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost") and is_loopback("127.8.9.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("") and not is_loopback("10.0.0.1")
    assert not is_loopback("example.com")


def test_default_config_binds_loopback():
    from kavka.metadata.config import BrokerConfig

    assert parse_listener(BrokerConfig.for_serve()["console.listener"]) == ("127.0.0.1", 8080)


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    with EmbeddedBroker(str(tmp_path_factory.mktemp("kavka-auth"))) as b:
        yield b


def test_non_loopback_without_auth_refuses_to_start(broker):
    with pytest.raises(ConsoleConfigError, match="console.auth"):
        start_console_for(broker, "http://0.0.0.0:0")


def test_empty_listener_disables_the_console(broker):
    assert start_console_for(broker, "") is None


def _basic(user_pass: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(user_pass.encode()).decode()}


def test_non_loopback_with_auth_requires_the_password(broker):
    runner = start_console_for(broker, "http://0.0.0.0:0", overrides={"console.auth": "admin:s3cret"})
    env = ConsoleEnv(broker, runner)
    try:
        assert runner.host == "0.0.0.0"
        with socket.create_connection(("127.0.0.1", runner.port), timeout=5):
            pass  # listening on every interface
        for path in ("/", "/api/topics", "/metrics", "/static/console.js"):
            r = env.get(path)
            assert r.status == 401 and r.headers["WWW-Authenticate"].startswith("Basic ")
            assert env.get(path, headers=_basic("admin:wrong")).status == 401
            assert env.get(path, headers=_basic("admin:s3cret")).status == 200
        # with a password, other host names are fine (it is meant to be reached from elsewhere)
        r = http("GET", env.url + "/api/topics", headers={**_basic("admin:s3cret"), "Host": "kafka.example:1"})
        assert r.status == 200
        r = env.send("POST", "/api/topics", {"name": "authed", "partitions": 1}, headers=_basic("admin:s3cret"))
        assert r.status == 201
        r = env.send("POST", "/api/topics", {"name": "anonymous", "partitions": 1})
        assert r.status == 401
    finally:
        env.run(runner.stop())


def test_bad_auth_value_is_refused(broker):
    with pytest.raises(ConsoleConfigError, match="user:password"):
        start_console_for(broker, "http://127.0.0.1:0", overrides={"console.auth": "no-colon"})


def test_loopback_console_answers_only_loopback_host_names(broker):
    runner = start_console_for(broker)
    env = ConsoleEnv(broker, runner)
    try:
        assert env.get("/api/topics").status == 200
        assert env.get("/api/topics", headers={"Host": f"localhost:{runner.port}"}).status == 200
        r = env.get("/api/topics", headers={"Host": f"rebind.example:{runner.port}"})
        assert r.status == 403
    finally:
        env.run(runner.stop())
