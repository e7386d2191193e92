"""The console's pages in a real browser (issue 18, "the first hour"): what a newcomer sees first.

- the overview's cards read whole (no cluster id, role or address broken mid-word) at 1280 and 900 px;
- a topic that does not exist answers 404 with a banner and nothing that acts on a topic;
- the partition explorer gives the keys on screen distinct colours, stable while they stay;
- a group's protocol type and assignor read the same on the group page, the groups list and the CLI;
- the overview shows numbers and its chart at once, before the event stream's first tick.

Each item saves a screenshot ``pages-*.png`` in ``test-artifacts/console-browser/``.
"""

from __future__ import annotations

import re
import shlex
import uuid

import pytest
from click.testing import CliRunner
from playwright.sync_api import Page, expect

from kavka.cli.main import main as kavka_cli
from kavka.testing.process import wait_until
from tests.console.browserlib import NEEDS_CHROMIUM, TIMEOUT_MS, live, open_page, shot
from tests.console.consolelib import http

pytestmark = NEEDS_CHROMIUM


@pytest.fixture(scope="module")
def bootstrap(console_url) -> str:
    [listener] = http("GET", console_url + "/api/overview").json()["listeners"]
    return f"{listener['host']}:{listener['port']}"


def _topic(console_url: str, partitions: int = 1) -> str:
    name = f"pages-{uuid.uuid4().hex[:8]}"
    r = http("POST", console_url + "/api/topics", {"name": name, "partitions": partitions})
    assert r.status == 201, r.text
    return name


def _produce(console_url: str, topic: str, keys: list[str | None], partition: int | None = None) -> None:
    for key in keys:
        body = {"key": key, "value": f"v-{key}", "partition": partition}
        r = http("POST", f"{console_url}/api/topics/{topic}/messages", body)
        assert r.status == 201, r.text


def _hold_event_stream(page: Page) -> None:
    """Hold every /api/events request unanswered: the page gets no tick, as in its first second."""
    page.route("**/api/events*", lambda route: None)


# --- 1. overview cards ---------------------------------------------------------------------------

# Each value of the cluster facts and the health cards: how many lines it takes against the lines
# it has (a listener a line), and whether its text runs past the right edge of its card.
_CARD_PROBLEMS = """() => {
  const out = [];
  for (const e of document.querySelectorAll("#cluster dd, #health .label, #health .value")) {
    const text = e.textContent;
    const range = document.createRange();
    range.selectNodeContents(e);
    const rects = [...range.getClientRects()].filter((r) => r.width > 0);
    const lines = new Set(rects.map((r) => Math.round(r.top))).size;
    const card = e.parentElement.getBoundingClientRect();
    const right = Math.max(...rects.map((r) => r.right));
    if (lines > text.split("\\n").length) out.push(`${JSON.stringify(text)} wraps onto ${lines} lines`);
    if (right > card.right + 0.5) out.push(`${JSON.stringify(text)} runs ${Math.round(right - card.right)}px past its card`);
  }
  return out;
}"""


@pytest.mark.parametrize("width", [1280, 900])
def test_overview_cards_read_whole(page, artifacts, width):
    page.set_viewport_size({"width": width, "height": 900})
    page.goto("/")
    cluster = page.get_by_role("region", name="Cluster")
    expect(cluster.locator('[data-k="cluster_id"]')).to_have_text(re.compile(r"^[\w-]{22}$"))
    expect(cluster.locator('[data-k="listeners"]')).to_have_text(re.compile(r"PLAINTEXT 127\.0\.0\.1:\d+"))
    expect(cluster.locator('[data-k="mode"]')).to_have_text(re.compile(r"\(controller \d+\)"))
    expect(page.get_by_role("region", name="Health").locator('[data-k="connections"]')).to_have_text(re.compile(r"\d"))
    shot(page, artifacts, f"pages-overview-cards-{width}")
    assert page.evaluate(_CARD_PROBLEMS) == []


# --- 2. a topic that does not exist --------------------------------------------------------------


@pytest.fixture
def page_404(browser, console_url, artifacts, request):
    """As the ``page`` fixture, for a page that answers 404: Chromium logs the document's own status as
    a console error, which the ``page`` fixture would count as the page's failure."""
    document_404 = "Failed to load resource: the server responded with a status of 404 (Not Found)"
    yield from open_page(browser, console_url, artifacts, request, expected=(document_404,))


def test_a_missing_topic_answers_404_with_nothing_to_act_on(page_404, artifacts):
    page = page_404
    response = page.goto("/topics/no-such-topic")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Topic no-such-topic", level=1)).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("Topic 'no-such-topic' does not exist.")
    expect(page.get_by_role("link", name="All topics")).to_be_visible()
    # nothing that acts on a topic: no config form, no delete, no links into it
    expect(page.get_by_role("heading", name="Delete this topic")).to_have_count(0)
    expect(page.get_by_role("button", name="Delete topic")).to_have_count(0)
    expect(page.get_by_role("button", name="Set")).to_have_count(0)
    expect(page.get_by_label("Config", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Browse messages")).to_have_count(0)
    expect(page.locator("main form")).to_have_count(0)
    shot(page, artifacts, "pages-missing-topic")


# --- 3. explorer colours -------------------------------------------------------------------------

# key -> the background colour of its record blocks (every block of one key must share it)
_BLOCK_COLOURS = """() => {
  const colours = {};
  for (const b of document.querySelectorAll("#rows .block")) {
    const key = b.getAttribute("aria-label").replace(/^offset \\d+, key /, "");
    const c = getComputedStyle(b).backgroundColor;
    if (key in colours && colours[key] !== c) return { error: `${key} has two colours` };
    colours[key] = c;
  }
  return colours;
}"""


def test_explorer_gives_the_keys_on_screen_distinct_colours(page, artifacts, console_url):
    topic = _topic(console_url, partitions=3)
    keys = [f"user-{i}" for i in range(12)]
    _produce(console_url, topic, keys)
    page.goto(f"/explorer?topic={topic}")
    blocks = page.get_by_role("button", name=re.compile(r"^offset \d+, key user-\d+$"))
    expect(blocks).to_have_count(12)
    before = page.evaluate(_BLOCK_COLOURS)
    assert sorted(before) == sorted(keys), before
    assert len(set(before.values())) == 12, f"keys share colours: {before}"
    legend = page.get_by_role("list", name="Key colours").get_by_role("listitem")
    expect(legend).to_have_count(12)
    shot(page, artifacts, "pages-explorer-colours")

    # a new key arrives (live): the keys already shown keep their colours, the new one gets its own
    live(page)
    _produce(console_url, topic, ["user-12", "user-3"])
    expect(blocks).to_have_count(14)
    after = page.evaluate(_BLOCK_COLOURS)
    assert {k: after[k] for k in keys} == before
    assert after["user-12"] not in before.values()


# --- 4. a group's protocol type and assignor, in the same words everywhere -----------------------


def _cli(*args: str) -> str:
    r = CliRunner().invoke(kavka_cli, list(args), catch_exceptions=False, prog_name="kavka")
    assert r.exit_code == 0, r.output
    return r.stdout


def _facts(page: Page) -> dict[str, str]:
    expect(page.locator("#g-facts dd").first).not_to_have_text("…")
    return page.evaluate(
        """() => Object.fromEntries([...document.querySelectorAll("#g-facts > div")].map(
             (d) => [d.querySelector("dt").textContent, d.querySelector("dd").textContent]))"""
    )


def test_group_protocol_wording_matches_the_cli(page, artifacts, console_url, bootstrap):
    from confluent_kafka import Consumer, TopicPartition

    topic = _topic(console_url, partitions=2)
    _produce(console_url, topic, ["a", "b", "c"], partition=0)
    active, idle = f"pages-active-{uuid.uuid4().hex[:6]}", f"pages-idle-{uuid.uuid4().hex[:6]}"
    # an Empty group that only committed (no member ever joined): no protocol type, no assignor
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": idle, "enable.auto.commit": False})
    try:
        c.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
    finally:
        c.close()
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": active,
            "auto.offset.reset": "earliest",
            "partition.assignment.strategy": "range",
            "heartbeat.interval.ms": 500,
        }
    )
    assigned: list = []
    consumer.subscribe([topic], on_assign=lambda c, ps: assigned.extend(ps))
    try:
        wait_until(lambda: (consumer.poll(0.1), bool(assigned))[1], 30, interval=0, message="an assignment")

        _hold_event_stream(page)  # what the page shows is the API's answer on load, not a tick
        page.goto(f"/groups/{active}")
        facts = _facts(page)
        assert re.fullmatch(r"\d+", facts.pop("Total lag")), facts
        assert facts == {"State": "Stable", "Protocol type": "consumer", "Assignor": "range", "Members": "1"}
        assert _lag_chart_drawn(page)
        shot(page, artifacts, "pages-group-wording")
        page.goto(f"/groups/{idle}")
        facts = _facts(page)
        assert (facts["Protocol type"], facts["Assignor"]) == ("none", "none")

        page.unroute("**/api/events*")
        page.goto("/groups")
        table = page.get_by_role("table", name="Consumer groups")
        header = table.get_by_role("columnheader")
        expect(header).to_have_text(["Group", "State", "Protocol type", "Assignor", "Members", "Topics", "Lag"])
        row = table.get_by_role("row").filter(has=page.get_by_role("link", name=active, exact=True))
        expect(row.get_by_role("cell")).to_have_text(
            [active, "Stable", "consumer", "range", "1", topic, re.compile(r"\d")]
        )
        row = table.get_by_role("row").filter(has=page.get_by_role("link", name=idle, exact=True))
        expect(row.get_by_role("cell")).to_have_text([idle, "Empty", "none", "none", "0", topic, "2"])
        shot(page, artifacts, "pages-groups-wording")

        # the CLI: the same word for the assignor, and "none" when there is none
        out = _cli(*shlex.split(f"groups describe {active} --bootstrap-server {bootstrap}"))
        assert re.match(rf"Consumer group '{active}': state Stable, assignor range, 1 member\(s\)", out)
        out = _cli(*shlex.split(f"groups describe {idle} --bootstrap-server {bootstrap}"))
        assert out.startswith(f"Consumer group '{idle}': state Empty, assignor none, 0 member(s), total lag 2")
        out = _cli(*shlex.split(f"groups describe {idle} --state --bootstrap-server {bootstrap}"))
        assert out.splitlines()[2].split()[-3:] == ["none", "Empty", "0"], out
    finally:
        consumer.close()


_SERIES_PIXELS = """(selector) => {
  const canvas = document.querySelector(selector);
  const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  const css = getComputedStyle(document.documentElement);
  const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.trim().slice(i, i + 2), 16));
  const series = ["--a", "--b"].map((v) => rgb(css.getPropertyValue(v)));
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (series.some((c) => Math.abs(c[0] - data[i]) + Math.abs(c[1] - data[i + 1]) + Math.abs(c[2] - data[i + 2]) < 60)) n++;
  }
  return n;
}"""


def _lag_chart_drawn(page: Page) -> bool:
    page.wait_for_function(f"() => ({_SERIES_PIXELS})('#lag-chart') > 0", timeout=TIMEOUT_MS)
    return True


# --- 5. the overview before the first tick -------------------------------------------------------


def test_overview_shows_the_last_known_state_before_the_first_tick(page, artifacts, console_url, bootstrap):
    _cli("topics", "list", "--bootstrap-server", bootstrap)  # Kafka requests, so the sampler has latencies
    wait_until(
        lambda: any(
            v is not None for v in http("GET", console_url + "/api/overview").json()["requests_avg_ms"].values()
        ),
        20,
        message="a sampled request latency",
    )
    _hold_event_stream(page)
    page.goto("/")
    health = page.get_by_role("region", name="Health")
    for k in ("UnderReplicatedPartitions", "ActiveControllerCount", "connections"):
        expect(health.locator(f'[data-k="{k}"]')).to_have_text(re.compile(r"^\d"))
    expect(health.locator('[data-k="BytesInPerSec"]')).to_have_text(re.compile(r"/s$"))
    page.wait_for_function(f"() => ({_SERIES_PIXELS})('#throughput') > 0", timeout=TIMEOUT_MS)
    requests = page.get_by_role("table", name="Requests served per Kafka API since start")
    expect(requests.get_by_role("cell").filter(has_text=re.compile(r"^[\d.]+ ms$")).first).to_be_visible()
    status = page.get_by_role("banner").get_by_role("status")
    expect(status).to_have_text(re.compile(r"^updated \d\d:\d\d:\d\d$"))
    shot(page, artifacts, "pages-overview-first-paint")
