"""``--command-config FILE`` on every ``kavka`` subcommand that talks to a broker: each one reads the
file and connects with it (the security settings reach its client, or the error names them), and Kafka's
Java client property names are translated to librdkafka's."""

from __future__ import annotations

import click
import pytest
from click.testing import CliRunner

from kavka.cli.common import CliError, _librdkafka_properties
from kavka.cli.main import main

# The arguments each subcommand needs besides the connection options; `demo` starts its own broker
# and processes and is not a client tool.
ARGS = {
    "bench consume": ["t", "--messages", "1"],
    "bench e2e": ["t"],
    "bench produce": ["t", "--num-records", "1"],
    "cluster status": [],
    "configs alter": ["--topic", "t", "--add-config", "retention.ms=1"],
    "configs describe": ["--topic", "t"],
    "consume": ["t"],
    "delete-records": ["t", "--offset", "0"],
    "groups delete": ["g"],
    "groups describe": ["g"],
    "groups list": [],
    "groups reset-offsets": ["g", "--to-earliest", "--all-topics"],
    "offsets": ["t"],
    "produce": ["t"],
    "topics alter": ["t", "--partitions", "2"],
    "topics create": ["t"],
    "topics delete": ["t"],
    "topics describe": ["t"],
    "topics list": [],
}
QUOTA_ARGS = {
    "configs alter --user": ["--user", "u", "--add-config", "producer_byte_rate=1"],
    "configs describe --user": ["--user", "u"],
}


def _broker_commands() -> list[str]:
    found = []

    def walk(cmd: click.Command, path: list[str], ctx: click.Context) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                if name != "demo":
                    walk(cmd.get_command(ctx, name), [*path, name], ctx)  # type: ignore[arg-type]
        elif "--bootstrap-server" in {o for p in cmd.params for o in p.opts}:
            found.append(" ".join(path))

    walk(main, [], click.Context(main))
    return sorted(found)


def test_every_broker_command_takes_command_config():
    commands = _broker_commands()
    assert sorted(ARGS) == commands  # a new subcommand gets an entry above
    for name in commands:
        ctx = click.Context(main)
        cmd: click.Command = main
        for part in name.split():
            cmd = cmd.get_command(ctx, part)  # type: ignore[attr-defined]
        assert "--command-config" in {o for p in cmd.params for o in p.opts}, name


@pytest.mark.parametrize("name", sorted({**ARGS, **QUOTA_ARGS}))
def test_command_config_reaches_the_client(name, bootstrap, tmp_path):
    """A file asking for TLS with a JKS trust store, which neither librdkafka nor Python can read: every
    command fails at once with the message naming the setting, so every command applied the file."""
    props = tmp_path / "client.properties"
    props.write_text("security.protocol=SSL\nssl.truststore.location=/nonexistent/truststore.jks\n")
    command = name.split(" --")[0].split()
    args = [*command, *{**ARGS, **QUOTA_ARGS}[name], "--bootstrap-server", bootstrap, "--command-config", str(props)]
    result = CliRunner().invoke(main, [*args, "--timeout", "5"], prog_name="kavka")
    assert result.exit_code == 1, (name, result.output)
    assert "trust store" in result.output or "truststore" in result.output, (name, result.output)


def test_java_property_names_for_librdkafka():
    jaas = 'org.apache.kafka.common.security.scram.ScramLoginModule required username="alice" password="s3cret";'
    assert _librdkafka_properties(
        {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": "SCRAM-SHA-256",
            "sasl.jaas.config": jaas,
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": "/ca.pem",
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": "/client.pem",
            "ssl.key.password": "kp",
            "ssl.endpoint.identification.algorithm": "",
        }
    ) == {
        "security.protocol": "SASL_SSL",
        "sasl.mechanism": "SCRAM-SHA-256",
        "sasl.username": "alice",
        "sasl.password": "s3cret",
        "ssl.ca.location": "/ca.pem",
        "ssl.certificate.location": "/client.pem",
        "ssl.key.location": "/client.pem",
        "ssl.key.password": "kp",
        "ssl.endpoint.identification.algorithm": "none",
    }
    oauth = 'org.apache.kafka.common.security.oauthbearer.OAuthBearerLoginModule required unsecuredLoginStringClaim_sub="bob";'
    assert _librdkafka_properties({"sasl.mechanism": "OAUTHBEARER", "sasl.jaas.config": oauth}) == {
        "sasl.mechanism": "OAUTHBEARER",
        "sasl.oauthbearer.config": "principal=bob",
    }
    p12 = {"ssl.keystore.type": "PKCS12", "ssl.keystore.location": "/k.p12", "ssl.keystore.password": "pw"}
    assert _librdkafka_properties(p12) == {"ssl.keystore.location": "/k.p12", "ssl.keystore.password": "pw"}
    with pytest.raises(CliError, match="ssl.keystore.type JKS"):
        _librdkafka_properties({"ssl.keystore.location": "/k.jks"})
