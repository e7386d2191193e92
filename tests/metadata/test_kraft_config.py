"""KRaft's configuration rules (kavka.metadata.kraft_config): each bad node config is refused with
Kafka 4.4's message, checked here against Kavka and, in one parametrised test, against Kafka's own
StorageTool (which loads KafkaConfig the way the broker does); ``kavka serve`` refuses it in one line,
and without process.roles still runs as the single combined node it always was."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from kavka.metadata.config import BrokerConfig, ConfigError
from kavka.metadata.kraft_config import Voter, parse_voters

COMBINED = {
    "process.roles": "broker,controller",
    "node.id": "1",
    "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093",
    "controller.listener.names": "CONTROLLER",
    "controller.quorum.voters": "1@localhost:9093",
}
BROKER = {
    "process.roles": "broker",
    "node.id": "2",
    "listeners": "PLAINTEXT://:9092",
    "controller.listener.names": "CONTROLLER",
    "controller.quorum.voters": "1@localhost:9093",
}
CONTROLLER = {**COMBINED, "process.roles": "controller", "listeners": "CONTROLLER://:9093"}


def without(props: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in props.items() if k not in names}


# (id, properties, Kafka 4.4's message: the first line of StorageTool's error, without the exception class
# and Scala's "requirement failed: ")
CASES = [
    ("no-roles", without(COMBINED, "process.roles"), 'Missing required configuration "process.roles" which has no default value.'),
    ("unknown-role", {**COMBINED, "process.roles": "broker,foo"}, "Invalid value foo for configuration process.roles: String must be one of: broker, controller"),
    ("empty-roles", {**COMBINED, "process.roles": ""}, "Configuration 'process.roles' must not be empty. Valid values include: [broker, controller]"),
    ("no-node-id", without(COMBINED, "node.id"), 'Missing required configuration "node.id" which has no default value.'),
    ("negative-node-id", {**CONTROLLER, "node.id": "-1"}, "Invalid value -1 for configuration node.id: Value must be at least 0"),
    ("no-controller-listener-names", without(COMBINED, "controller.listener.names"), 'Missing required configuration "controller.listener.names" which has no default value.'),
    ("broker-id-differs", {**COMBINED, "broker.id": "2"}, "`node.id` and `broker.id` must be set to the same value. `broker.id` is deprecated, please use `node.id` instead."),
    ("no-quorum", without(COMBINED, "controller.quorum.voters"), "If using process.roles, either controller.quorum.bootstrap.servers must contain the set of bootstrap controllers or controller.quorum.voters must contain a parseable set of controllers."),
    ("bad-voters", {**COMBINED, "controller.quorum.voters": "localhost:9093"}, "Invalid configuration value for controller.quorum.voters. Each entry should be in the form `{id}@{host}:{port}`."),
    ("controller-not-a-voter", {**COMBINED, "node.id": "2"}, "If process.roles contains the 'controller' role, the node id 2 must be included in the set of voters controller.quorum.voters=Set(1)"),
    ("broker-is-a-voter", {**BROKER, "node.id": "1"}, "If process.roles contains just the 'broker' role, the node id 1 must not be included in the set of voters controller.quorum.voters=Set(1)"),
    ("controller-listener-not-bound", {**COMBINED, "listeners": "PLAINTEXT://:9092"}, "controller.listener.names must contain at least one value appearing in the 'listeners' configuration when running the KRaft controller role"),
    ("broker-binds-controller-listener", {**BROKER, "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"}, "controller.listener.names must not contain a value appearing in the 'listeners' configuration when running KRaft with just the broker role"),
    ("controller-binds-a-broker-listener", {**CONTROLLER, "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093"}, "The listeners config must only contain KRaft controller listeners from controller.listener.names when process.roles=controller"),
    ("only-controller-listeners", {**COMBINED, "listeners": "CONTROLLER://:9093"}, "There must be at least one broker advertised listener. Perhaps all listeners appear in controller.listener.names?"),
    ("inter-broker-listener-unmapped", {**COMBINED, "inter.broker.listener.name": "INTERNAL"}, "Listener with name INTERNAL defined in inter.broker.listener.name not found in listener.security.protocol.map."),
    ("inter-broker-listener-not-advertised", {**COMBINED, "inter.broker.listener.name": "CONTROLLER"}, "inter.broker.listener.name must be a listener name defined in advertised.listeners. The valid options based on currently configured listeners are PLAINTEXT"),
    ("listener-unmapped", {**COMBINED, "listeners": "PLAINTEXT://:9092,CONTROLLER://:9093,INTERNAL://:9094"}, "Error creating broker listeners from '[PLAINTEXT://:9092, CONTROLLER://:9093, INTERNAL://:9094]': No security protocol defined for listener INTERNAL"),
    ("explicit-map-without-controller", {**COMBINED, "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT"}, "Error creating broker listeners from '[PLAINTEXT://:9092, CONTROLLER://:9093]': No security protocol defined for listener CONTROLLER"),
    ("broker-controller-listener-unmapped", {**BROKER, "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT"}, "Controller listener with name CONTROLLER defined in controller.listener.names not found in listener.security.protocol.map  (an explicit security mapping for each controller listener is required if listener.security.protocol.map is non-empty, or if there are security protocols other than PLAINTEXT in use)"),
    ("advertised-everywhere", {**COMBINED, "advertised.listeners": "PLAINTEXT://0.0.0.0:9092"}, "advertised.listeners cannot use the nonroutable meta-address 0.0.0.0. Use a routable IP address."),
]  # fmt: skip

GOOD = [
    ("combined", COMBINED),
    ("broker", BROKER),
    ("controller", CONTROLLER),
    ("bootstrap-servers", {**without(COMBINED, "controller.quorum.voters"), "controller.quorum.bootstrap.servers": "localhost:9093"}),
    # Kafka 4.4 takes a controller listener in advertised.listeners (it advertises it to controllers only)
    ("advertised-controller", {**COMBINED, "advertised.listeners": "PLAINTEXT://localhost:9092,CONTROLLER://localhost:9093"}),
]  # fmt: skip


@pytest.mark.parametrize("props,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_kavka_refuses_with_kafkas_message(props, message):
    with pytest.raises(ConfigError) as e:
        BrokerConfig.from_properties(props, kraft=True)
    assert str(e.value) == message


@pytest.mark.parametrize("props", [c[1] for c in GOOD], ids=[c[0] for c in GOOD])
def test_good_configs_pass(props):
    cfg = BrokerConfig.from_properties(props, kraft=True)
    assert cfg.node_id == int(props["node.id"])


def test_without_kraft_checks_a_node_needs_no_quorum():
    """`kavka serve`'s own defaults (no controller listener, no voters) are a single local node."""
    cfg = BrokerConfig.for_serve({})
    assert cfg.process_roles == ["broker", "controller"] and cfg.node_id == 1


def test_serve_checks_a_cluster_node_and_leaves_a_single_node_alone(tmp_path):
    from kavka.cli.serve import load_config

    single = tmp_path / "single.properties"
    single.write_text("process.roles=broker,controller\nnode.id=1\nlisteners=PLAINTEXT://127.0.0.1:9092\n")
    assert load_config(str(single), []).node_id == 1  # as kavka serve always ran it
    assert load_config(None, []).node_id == 1
    with pytest.raises(ConfigError, match='Missing required configuration "controller.listener.names"'):
        load_config(str(single), ["process.roles=broker"])
    with pytest.raises(ConfigError, match="the node id 1 must be included in the set of voters"):
        load_config(str(single), ["controller.quorum.voters=2@localhost:9093", "controller.listener.names=CONTROLLER"])


def test_parse_voters():
    assert parse_voters(["1@localhost:9093", "2@[::1]:9094"]) == [Voter(1, "localhost", 9093), Voter(2, "::1", 9094)]
    assert str(Voter(2, "::1", 9094)) == "2@[::1]:9094"
    with pytest.raises(ConfigError):
        parse_voters(["1@localhost"])


def _kafka_message(stderr: str) -> str:
    first = next(line for line in stderr.splitlines() if line.startswith("Exception in thread"))
    message = re.sub(r'^Exception in thread "main" [\w.$]+: ', "", first)
    return message.removeprefix("requirement failed: ")


@pytest.mark.parametrize("props,message", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_kafka_gives_the_same_message(props, message, apache_kafka, tmp_path):
    config = tmp_path / "server.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in {**props, "log.dirs": str(tmp_path / "data")}.items()))
    done = apache_kafka.run_tool(
        "kafka.tools.StorageTool", ["format", "-t", "abcdefghijklmnopqrstuv", "-c", str(config)]
    )
    assert done.returncode == 1, done.stdout
    assert _kafka_message(done.stderr) == message


def test_serve_refuses_a_bad_cluster_config_in_one_line(tmp_path):
    config = tmp_path / "server.properties"
    config.write_text("".join(f"{k}={v}\n" for k, v in {**COMBINED, "node.id": "2"}.items()))
    done = subprocess.run(
        [sys.executable, "-m", "kavka", "serve", "--no-console", "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr == (
        "kavka: If process.roles contains the 'controller' role, the node id 2 must be included in the set of "
        "voters controller.quorum.voters=Set(1)\n"
    )
