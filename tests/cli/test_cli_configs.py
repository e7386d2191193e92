"""``kavka configs describe | alter`` for topics and brokers."""

from __future__ import annotations


def _rows(stdout: str) -> dict[str, list[str]]:
    """NAME -> the other columns, from a configs table."""
    lines = stdout.splitlines()
    return {cols[0]: cols[1:] for cols in (line.split() for line in lines[3:]) if cols}


def test_alter_then_describe_topic(kavka, create_topic):
    name = create_topic()
    r = kavka(f"configs alter --topic {name} --add-config retention.ms=3600000,cleanup.policy=[compact,delete]")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"Completed updating config for topic {name}."
    r = kavka(f"configs describe --topic {name}")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == f"Dynamic configs for topic {name} are:"
    rows = _rows(r.stdout)
    assert rows["retention.ms"][:2] == ["3600000", "DYNAMIC_TOPIC_CONFIG"]
    assert rows["cleanup.policy"][:2] == ["compact,delete", "DYNAMIC_TOPIC_CONFIG"]

    r = kavka(f"configs alter --entity-type topics --entity-name {name} --delete-config retention.ms")
    assert r.exit_code == 0, r.output
    rows = _rows(kavka(f"configs describe --topic {name}").stdout)
    assert "retention.ms" not in rows and "cleanup.policy" in rows


def test_describe_all_shows_defaults(kavka, create_topic):
    name = create_topic()
    rows = _rows(kavka(f"configs describe --topic {name} --all").stdout)
    assert rows["cleanup.policy"][:2] == ["delete", "DEFAULT_CONFIG"]
    assert "segment.bytes" in rows


def test_unknown_config_and_bad_value_are_one_line_errors(kavka, create_topic):
    name = create_topic()
    for arg in ("nope.config=1", "retention.ms=abc"):
        r = kavka(f"configs alter --topic {name} --add-config {arg}")
        assert r.exit_code == 1, r.output
        assert r.stderr.startswith("Error: ") and len(r.stderr.strip().splitlines()) == 1
        assert arg.split("=")[0] in r.stderr


def test_broker_configs(kavka, broker):
    r = kavka("configs describe --broker 1 --all")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines()[0] == "All configs for broker 1 are:"
    assert "log.retention.hours" in _rows(r.stdout) or "log.retention.ms" in _rows(r.stdout)


def test_entity_usage_errors(kavka):
    assert kavka("configs describe").exit_code == 2
    assert kavka("configs describe --topic a --broker 1").exit_code == 2
    assert kavka("configs alter --topic a").exit_code == 2  # nothing to alter
    r = kavka("configs describe --broker-defaults")
    assert r.exit_code == 1 and "--broker ID" in r.stderr
