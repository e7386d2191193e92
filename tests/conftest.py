"""Shared fixtures: a Kavka broker subprocess, topic names and topic creation through AdminClient.

- ``broker``: one `BrokerProcess` for the whole session (most tests only need *a* broker; each test
  makes its own uniquely named topics). Tests that restart, kill or reconfigure a broker start their
  own with the ``broker_factory`` fixture.
- ``bootstrap``: the shared broker's "127.0.0.1:PORT".
- ``topic_name``: a unique, legal topic name for the current test; ``new_topic_name()`` for more.
- ``apache_kafka``: Apache Kafka itself (`kavka.testing.apache_kafka.ApacheKafka`), one KRaft node for
  the session, started on first use: the oracle for the differential tests (tests/oracle). Without
  Java 17+ or Kafka's jars it skips with the reason, except under ``CI=true``, where it fails.
- ``any_broker``: parametrized with ids "kafka" and "kavka", so one scenario runs against both; it is
  a `Target` (``kind``, ``bootstrap``).
- ``create_topic(name=None, partitions=1, configs=None, replication_factor=1, bootstrap=None)``:
  create through confluent-kafka's AdminClient, wait for the result and for leaders in Metadata
  (`kavka.testing.process.create_topic`; pass ``bootstrap=`` for a private broker).

When a test fails, the tail of every broker log it used is attached to the report.

Synchronisation is by conditions with deadlines (`kavka.testing.process.wait_until`), never sleeps.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import settings

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess
from kavka.testing.process import create_topic as create_topic_via_admin
from tests.needs import require_kafka

# Property tests check behaviour, not speed: Hypothesis's per-example deadline is a timing assertion
# that fails on a loaded 2-core CI machine, so it is off for every test (speed lives in bench/).
settings.register_profile("kavka", deadline=None)
settings.load_profile("kavka")

_BROKERS_KEY = pytest.StashKey[list]()


def _track(request: pytest.FixtureRequest, broker: BrokerProcess) -> None:
    node = request.node
    node.stash.setdefault(_BROKERS_KEY, []).append(broker)


@pytest.fixture(scope="session")
def _session_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerProcess]:
    base = tmp_path_factory.mktemp("kavka-session")
    broker = BrokerProcess(base / "data", overrides={"num.partitions": "1"})
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()
        broker.cleanup()


@pytest.fixture
def broker(_session_broker: BrokerProcess, request: pytest.FixtureRequest) -> BrokerProcess:
    """The session's shared broker. Do not stop or reconfigure it: use ``broker_factory`` for that."""
    if not _session_broker.is_running():
        pytest.fail(f"shared broker is not running\n{_session_broker.diagnostics()}")
    _track(request, _session_broker)
    return _session_broker


@pytest.fixture
def bootstrap(broker: BrokerProcess) -> str:
    return broker.bootstrap


@pytest.fixture
def broker_factory(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Callable[..., BrokerProcess]]:
    """Start private brokers for one test: ``broker_factory(overrides={...}, start=True)``."""
    started: list[BrokerProcess] = []
    counter = itertools.count()

    def make(overrides: Mapping[str, object] | None = None, *, start: bool = True, **kwargs) -> BrokerProcess:
        b = BrokerProcess(tmp_path / f"broker{next(counter)}" / "data", overrides=overrides, **kwargs)
        started.append(b)
        _track(request, b)
        if start:
            b.start()
        return b

    yield make
    for b in started:
        try:
            b.stop()
        finally:
            b.cleanup()


# -- Apache Kafka beside Kavka ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def apache_kafka(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApacheKafka]:
    """One Apache Kafka node for the session. Skips with the reason when Java or the jars are missing,
    except under CI=true, where a missing oracle is a failure (CI installs both)."""
    require_kafka()
    kafka = ApacheKafka(tmp_path_factory.mktemp("apache-kafka"), overrides={"num.partitions": "1"})
    kafka.start()
    try:
        yield kafka
    finally:
        try:
            kafka.stop()
        finally:
            kafka.cleanup()


@dataclass(frozen=True)
class Target:
    """One broker under test: ``kind`` is "kafka" or "kavka"."""

    kind: str
    bootstrap: str


@pytest.fixture(params=["kafka", "kavka"])
def any_broker(request: pytest.FixtureRequest) -> Target:
    """The same scenario against Apache Kafka (id "kafka") and the shared Kavka broker (id "kavka")."""
    if request.param == "kafka":
        kafka = request.getfixturevalue("apache_kafka")
        if not kafka.is_running():
            pytest.fail(f"Apache Kafka is not running\n{kafka.log_tail()}")
        return Target("kafka", kafka.bootstrap)
    return Target("kavka", request.getfixturevalue("broker").bootstrap)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.failed:
        for b in item.stash.get(_BROKERS_KEY, []):
            report.sections.append((f"kavka broker {b.bootstrap}", b.diagnostics(80)))
    return report


# -- topics ----------------------------------------------------------------------------------------

_LEGAL = re.compile(r"[^a-zA-Z0-9._-]+")


@pytest.fixture
def new_topic_name(request: pytest.FixtureRequest) -> Callable[[str], str]:
    """``new_topic_name(suffix="")`` -> a unique topic name derived from the test's name."""
    base = _LEGAL.sub("-", request.node.name)[:80].strip("-.") or "t"

    def make(suffix: str = "") -> str:
        tail = f"-{_LEGAL.sub('-', suffix)}" if suffix else ""
        return f"{base}{tail}-{uuid.uuid4().hex[:8]}"

    return make


@pytest.fixture
def topic_name(new_topic_name: Callable[[str], str]) -> str:
    return new_topic_name("")


@pytest.fixture
def create_topic(bootstrap: str, new_topic_name: Callable[[str], str]) -> Callable[..., str]:
    """``create_topic(name=None, partitions=1, configs=None, replication_factor=1, bootstrap=None)`` -> name."""

    def make(
        name: str | None = None,
        partitions: int = 1,
        configs: Mapping[str, str] | None = None,
        replication_factor: int = 1,
        bootstrap: str | None = None,
    ) -> str:
        return create_topic_via_admin(
            bootstrap or _bootstrap,
            name or new_topic_name(""),
            partitions,
            configs,
            replication_factor,
        )

    _bootstrap = bootstrap
    return make
