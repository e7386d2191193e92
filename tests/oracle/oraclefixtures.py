"""The ``oracle`` fixture for the differential tests (imported by each test module: a conftest.py here
would shadow tests/cli's `from conftest import ...`): the session's Apache Kafka and Kavka side by side.

``oracle`` is an `Oracle`: ``oracle.both(api_key, version, body)`` sends the same raw request to each
and returns both answers normalised (`oraclediff.normalise`: cluster ids, topic ids, ports, data
directories, throttle times replaced by placeholders); ``oracle.diff(...)`` returns the remaining
differences as lines (`oraclediff.differences`), which tests compare with their lists of known
differences (tests/oracle/oracleknown.py, explained in docs/compatibility.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kavka.testing.apache_kafka import ApacheKafka
from kavka.testing.process import BrokerProcess
from tests.oracle.oraclediff import differences, normalise
from tests.oracle.oraclewire import call


@dataclass
class Oracle:
    kafka: ApacheKafka
    kavka: BrokerProcess

    def _renames(self, side: str) -> dict[str, str]:
        if side == "kafka":
            return {
                f":{self.kafka.controller_port}": ":<controller-port>",
                f":{self.kafka.port}": ":<port>",
                str(self.kafka.data_dir): "<log.dirs>",
            }
        return {f":{self.kavka.port}": ":<port>", str(self.kavka.data_dir): "<log.dirs>"}

    def both(self, api_key: int, version: int, body: dict, renames: dict[str, str] | None = None):
        """The same request to Kafka and to Kavka: (kafka's answer, kavka's answer), normalised."""
        extra = renames or {}
        kafka = normalise(call(self.kafka.bootstrap, api_key, version, body), {**extra, **self._renames("kafka")})
        kavka = normalise(call(self.kavka.bootstrap, api_key, version, body), {**extra, **self._renames("kavka")})
        return kafka, kavka

    def diff(self, api_key: int, version: int, body: dict, renames: dict[str, str] | None = None) -> list[str]:
        return differences(*self.both(api_key, version, body, renames))


@pytest.fixture
def oracle(apache_kafka: ApacheKafka, broker: BrokerProcess) -> Oracle:
    if not apache_kafka.is_running():
        pytest.fail(f"Apache Kafka is not running\n{apache_kafka.log_tail()}")
    return Oracle(apache_kafka, broker)
