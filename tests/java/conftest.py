"""The ``guide`` fixture (the guide's Java programs, built once per session) for the tests here."""

from tests.java.guidejava import guide  # noqa: F401 - a fixture, found by pytest through this conftest
