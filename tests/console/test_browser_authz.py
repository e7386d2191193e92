"""In a real browser, on a console whose principal (``User:console``) may not create topics (Kafka's
StandardAuthorizer, no ACL): creating a topic from the Topics page shows Kafka's refusal and who the
console acts as, and the Overview names that principal."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from kavka.testing.embedded import EmbeddedBroker
from tests.console.browserlib import NEEDS_CHROMIUM, open_page, shot
from tests.console.consolelib import secured_overrides

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def console_url(tmp_path_factory):
    """The ``page`` fixture's console: one on a broker with the authorizer (overrides browserlib's)."""
    tmp = tmp_path_factory.mktemp("kavka-browser-authz")
    with EmbeddedBroker(str(tmp / "data"), secured_overrides(tmp), console=True) as broker:
        assert broker.console_url, "the embedded broker started no console"
        yield broker.console_url


@pytest.fixture
def page(browser, console_url, artifacts, request):
    """browserlib's ``page``, except that the refused request itself is expected: Chromium logs the 403
    of the create's fetch as a console error."""
    refused = "Failed to load resource: the server responded with a status of 403 (Forbidden)"
    yield from open_page(browser, console_url, artifacts, request, expected=(refused,))


def test_a_refused_create_shows_kafkas_error(page, artifacts):
    page.goto("/")
    expect(page.locator('[data-k="principal"]')).to_have_text("User:console from 127.0.0.1")
    shot(page, artifacts, "authz-01-overview-principal")

    page.goto("/topics")
    expect(page.get_by_role("heading", name="Topics", level=1)).to_be_visible()
    page.get_by_label("Name", exact=True).fill("refused-orders")
    page.get_by_label("Partitions").fill("2")
    page.get_by_role("button", name="Create topic").click()
    expect(page.get_by_role("alert")).to_contain_text(
        re.compile(r"TOPIC_AUTHORIZATION_FAILED: Authorization failed\. The console acts as User:console")
    )
    expect(page.get_by_role("link", name="refused-orders", exact=True)).to_have_count(0)
    shot(page, artifacts, "authz-02-create-refused")
