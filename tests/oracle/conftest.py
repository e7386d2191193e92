"""The ``oracle`` fixture (Apache Kafka and Kavka side by side) for every differential test here."""

from tests.oracle.oraclefixtures import oracle  # noqa: F401 - a fixture, found by pytest through this conftest
