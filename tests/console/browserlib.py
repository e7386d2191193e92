"""Browser-test helpers: Debian's headless Chromium driven by Playwright, on a console served by an
in-process broker.

Fixtures (registered for every console test module by ``conftest.py``): ``browser`` (one Chromium per
module), ``console_url`` (an ``EmbeddedBroker`` with its console, one per module), ``artifacts`` (the
screenshot folder) and ``page`` (a fresh context; fails the test on any JavaScript error and saves a
screenshot when the test failed). ``shot``, ``live`` and ``ok_message`` are the steps tests share.

Screenshots are saved as test artifacts in ``test-artifacts/console-browser/`` under pytest's rootdir
(or in ``$KAVKA_TEST_ARTIFACTS``), and their paths are printed at the end of the module. Chromium comes
from Debian's ``chromium`` package (``.ci/run`` installs it): Playwright never downloads a browser here.
A module of browser tests marks itself with ``pytestmark = NEEDS_CHROMIUM``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect, sync_playwright

from kavka.testing.embedded import EmbeddedBroker

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
TIMEOUT_MS = 20_000  # for any one condition the test waits for

NEEDS_CHROMIUM = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)"
)

expect.set_options(timeout=TIMEOUT_MS)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def artifacts(pytestconfig):
    out = Path(os.environ.get("KAVKA_TEST_ARTIFACTS") or pytestconfig.rootpath / "test-artifacts") / "console-browser"
    out.mkdir(parents=True, exist_ok=True)
    saved: list[Path] = []
    yield out, saved
    if saved:  # shown even though pytest captures output (as capsys.disabled() does)
        text = "\n".join(["", "console browser screenshots:", *(f"  {p}" for p in saved)])
        capture = pytestconfig.pluginmanager.get_plugin("capturemanager")
        if capture is None:
            print(text)
        else:
            with capture.global_and_fixture_disabled():
                print(text)


@pytest.fixture(scope="module")
def console_url(tmp_path_factory):
    with EmbeddedBroker(str(tmp_path_factory.mktemp("kavka-browser")), console=True) as broker:
        assert broker.console_url, "the embedded broker started no console"
        yield broker.console_url


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


def open_page(browser, console_url, artifacts, request, expected: tuple[str, ...] = ()):
    """A fresh browser context on the console (a generator for a fixture): fails the test on any
    JavaScript error or console error the pages raise other than the ``expected`` console error texts
    (Chromium logs a refused request's status as one), and saves a screenshot of where it was when the
    test failed."""
    context = browser.new_context(base_url=console_url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    p = context.new_page()
    errors: list[str] = []
    p.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    p.on("console", lambda m: errors.append(f"console.{m.type}: {m.text}") if m.type == "error" else None)
    failed_before = request.session.testsfailed
    yield p
    if request.session.testsfailed > failed_before:
        shot(p, artifacts, f"{request.node.name}-FAILED")
    context.close()
    unexpected = [e for e in errors if e.removeprefix("console.error: ") not in expected]
    assert not unexpected, f"JavaScript errors on the console's pages: {unexpected}"


@pytest.fixture
def page(browser, console_url, artifacts, request):
    """A fresh browser context on the console; fails the test on any JavaScript error (``open_page``)."""
    yield from open_page(browser, console_url, artifacts, request)


def shot(page: Page, artifacts, name: str) -> Path:
    out, saved = artifacts
    path = out / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    saved.append(path)
    print(f"screenshot: {path}")
    return path


def live(page: Page) -> None:
    """The page's event stream is connected (the header says "live")."""
    expect(page.get_by_role("banner").get_by_role("status")).to_have_text("live")


def ok_message(page: Page, pattern: str) -> re.Match:
    """The page's confirmation (a status message) matching ``pattern``; read, then dismissed."""
    msg = page.get_by_role("status").filter(has_text=re.compile(pattern))
    expect(msg).to_be_visible()
    found = re.search(pattern, msg.inner_text())
    msg.get_by_role("button", name="Dismiss message").click()
    expect(msg).to_have_count(0)
    return found
