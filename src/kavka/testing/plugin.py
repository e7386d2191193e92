"""pytest plugin (entry point ``kavka``): the ``kavka_broker`` fixture.

    def test_roundtrip(kavka_broker):
        producer = confluent_kafka.Producer({"bootstrap.servers": kavka_broker.bootstrap})

One in-process broker per test module, on a free port, with a temporary data directory; stopped and
removed afterwards.

Kavka's own modules are not assertion-rewritten. pytest marks every package of a plugin's distribution
for rewriting, so without this each first import of a ``kavka`` module would run ``ast.parse``, and the
in-process broker and console import lazily from their own threads. CPython 3.11 keeps the AST
constructor's recursion depth in per-interpreter state (python/cpython#106905), so two threads parsing at
once can fail one import with "SystemError: AST constructor recursion depth mismatch": a request of the
in-process broker or console then fails. Kavka's modules have no test assertions to rewrite.
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    # `rewrite_hook` and its `_must_rewrite` set are pytest internals (stable since pytest 3); without them
    # nothing is dropped and pytest rewrites as it always did.
    hook = getattr(config.pluginmanager, "rewrite_hook", None)
    marked = getattr(hook, "_must_rewrite", None)
    if isinstance(marked, set):
        marked.discard("kavka")


@pytest.fixture(scope="module")
def kavka_broker(tmp_path_factory):
    from kavka.testing.embedded import EmbeddedBroker

    data_dir = tmp_path_factory.mktemp("kavka-data")
    with EmbeddedBroker(str(data_dir)) as broker:
        yield broker
