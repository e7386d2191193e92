"""The Live simulator in a real browser, as a newcomer following the README meets it (issue 18).

- its default topic is its own (``simulator-orders``, created by its button), so a new group starts with
  no lag even when ``orders`` holds what ``kavka bench`` wrote;
- the create button is offered only while the topic does not exist, and clicking it when the topic
  appeared meanwhile says so on the page;
- producers and consumers are numbered per kind (the first consumer is "consumer 1");
- each consumer's positions name exactly the partitions it is assigned, through rebalances.

The module runs its own broker (the ``console_url`` fixture below) so the test can fill ``orders``
with a real client and see the simulator's topic come and go.
"""

from __future__ import annotations

import re

import pytest
from confluent_kafka import Producer
from playwright.sync_api import Page, expect

from kavka.testing.embedded import EmbeddedBroker
from tests.console.browserlib import NEEDS_CHROMIUM, TIMEOUT_MS, live, ok_message, shot
from tests.console.consolelib import http

pytestmark = NEEDS_CHROMIUM

TOPIC = "simulator-orders"
CREATE = f"Create topic “{TOPIC}” (3 partitions)"
BENCH_RECORDS = 20_000


@pytest.fixture(scope="module")
def embedded(tmp_path_factory):
    with EmbeddedBroker(str(tmp_path_factory.mktemp("kavka-sim-browser")), console=True) as broker:
        assert broker.console_url, "the embedded broker started no console"
        yield broker


@pytest.fixture(scope="module")
def console_url(embedded):  # overrides browserlib's: this module needs the broker's bootstrap too
    return embedded.console_url


def _topic_exists(url: str) -> bool:
    return TOPIC in [t["name"] for t in http("GET", f"{url}/api/topics").json()["topics"]]


def _ensure_topic(url: str) -> None:
    if not _topic_exists(url):
        r = http("POST", f"{url}/api/topics", {"name": TOPIC, "partitions": 3})
        assert r.status == 201, r.text


def _open(page: Page, url: str) -> None:
    """The simulator page, with no simulated client left running by an earlier test."""
    assert http("DELETE", f"{url}/api/simulator").status == 200
    page.goto("/simulator")
    expect(page.get_by_role("heading", name="Live simulator", level=1)).to_be_visible()
    live(page)


def _stop_everything(page: Page) -> None:
    page.get_by_role("button", name="Stop everything").click()
    ok_message(page, r"Every simulated client stopped\.")
    expect(page.get_by_role("table", name="Simulated consumers")).to_contain_text("No consumers running.")


def _add_producer(page: Page, rate: str, keys: str) -> str:
    producers = page.get_by_role("region", name="Producers")
    producers.get_by_label("Records per second").fill(rate)
    producers.get_by_label("Keys").fill(keys)
    producers.get_by_role("button", name="Add producer").click()
    return ok_message(page, r"Producer (\d+) started\.").group(1)


def _add_consumer(page: Page, group: str, rate: str) -> str:
    consumers = page.get_by_role("region", name="Consumers")
    consumers.get_by_label("Group").fill(group)
    consumers.get_by_label("Records per second").fill(rate)
    consumers.get_by_role("button", name="Add consumer").click()
    return ok_message(page, rf"Consumer (\d+) started in group {group}\.").group(1)


def _consumer_row(page: Page, number: str):
    table = page.get_by_role("table", name="Simulated consumers")
    return table.get_by_role("row").filter(has=page.get_by_role("cell", name=f"consumer {number}", exact=True))


# Every consumer row of the page: {"consumer 1": {"assigned": [..], "positions": [..]}}, its positions
# cell read as "0@12, 1@–" -> [0, 1]; returned once there are `count` rows, each assigned something and
# its positions naming exactly its assigned partitions, with `known` of them at a number (not "–").
_POSITIONS_MATCH = """([count, known]) => {
  const rows = [...document.querySelectorAll("#s-consumers tbody tr")].filter((r) => r.cells.length > 3);
  if (rows.length !== count) return false;
  const out = {};
  for (const r of rows) {
    const assigned = (r.cells[2].textContent.match(/\\d+/g) || []).map(Number);
    const entries = r.cells[3].textContent === "–" ? [] : r.cells[3].textContent.split(", ");
    const positions = entries.map((e) => Number(e.split("@")[0]));
    const numbered = entries.filter((e) => /@\\d+$/.test(e)).length;
    if (!assigned.length || JSON.stringify(assigned) !== JSON.stringify(positions)) return false;
    if (known && numbered !== assigned.length) return false;
    out[r.cells[0].textContent] = { assigned, positions };
  }
  return out;
}"""


def wait_positions_match(page: Page, count: int, known: bool = True) -> dict:
    return page.wait_for_function(_POSITIONS_MATCH, arg=[count, known], timeout=TIMEOUT_MS, polling=100).json_value()


# The summed lag of the Partitions section ("HW n · lag m" per partition), once it is in [low, high].
_LAG_BETWEEN = """([low, high]) => {
  const lags = [...document.querySelectorAll("#s-partitions .meta")].map((m) => (m.textContent.match(/lag ([\\d,]+)/) || [])[1]);
  if (!lags.length || lags.some((l) => l === undefined)) return false;
  const lag = lags.reduce((a, l) => a + Number(l.replace(/,/g, "")), 0);
  return lag >= low && lag <= high ? { lag } : false;
}"""


def test_default_topic_is_the_simulators_own_so_a_new_group_starts_without_lag(page, embedded, console_url, artifacts):
    # what the README's `kavka bench produce orders` leaves behind, in miniature
    p = Producer({"bootstrap.servers": embedded.bootstrap, "linger.ms": 20})
    for i in range(BENCH_RECORDS):
        p.produce("orders", value=b"x" * 100)
        if i % 1000 == 0:
            p.poll(0)
    assert p.flush(30) == 0
    _open(page, console_url)
    topic = page.get_by_label("Topic", exact=True)
    expect(topic).not_to_have_value("orders")  # never picked just because it sorts first
    page.get_by_role("button", name=CREATE).click()
    ok_message(page, rf"Topic {TOPIC} created\.")
    expect(topic).to_have_value(TOPIC)

    # the page's defaults: a producer at 5/s and a consumer at 3/s in group "simulator"
    # (the module's first clients: numbered from 1 per kind, so the first consumer is "consumer 1")
    assert _add_producer(page, "5", "alice,bob,carol,dave") == "1"
    assert _add_consumer(page, "simulator", "3") == "1"
    expect(
        page.get_by_role("table", name="Simulated producers").get_by_role("row").filter(has_text=f"→ {TOPIC}")
    ).to_be_visible()
    expect(_consumer_row(page, "1").get_by_role("cell").nth(2)).to_have_text("[0, 1, 2]")
    expect(_consumer_row(page, "1").get_by_role("cell").nth(5)).not_to_have_text("0")  # it is reading
    lag = page.wait_for_function(_LAG_BETWEEN, arg=[0, 100], timeout=TIMEOUT_MS, polling=100).json_value()["lag"]
    assert lag <= 100  # against the 20,000 a new group on orders would start with
    # bench's topic is not in the picture
    expect(page.locator("#s-partitions")).not_to_contain_text(re.compile(r"(^|[^-])orders/"))
    shot(page, artifacts, "sim-4-own-topic-no-lag")
    _stop_everything(page)


def test_create_button_only_while_the_topic_does_not_exist(page, console_url, artifacts):
    _ensure_topic(console_url)
    _open(page, console_url)
    expect(page.get_by_role("button", name=CREATE)).to_have_count(0)
    expect(page.get_by_text(f"Topic {TOPIC} exists (3 partitions).")).to_be_visible()
    expect(page.get_by_label("Topic", exact=True)).to_have_value(TOPIC)
    shot(page, artifacts, "sim-2-topic-exists")

    # the topic goes: the button comes back; the topic comes back behind the page's back: the click says so
    assert http("DELETE", f"{console_url}/api/topics/{TOPIC}").status == 200
    _open(page, console_url)
    expect(page.get_by_role("button", name=CREATE)).to_be_visible()
    _ensure_topic(console_url)
    page.get_by_role("button", name=CREATE).click()
    ok_message(page, rf"Topic {TOPIC} already exists\.")
    expect(page.get_by_role("button", name=CREATE)).to_have_count(0)
    expect(page.get_by_text(f"Topic {TOPIC} exists (3 partitions).")).to_be_visible()
    expect(page.get_by_label("Topic", exact=True)).to_have_value(TOPIC)
    shot(page, artifacts, "sim-2-created-meanwhile")


def test_producers_and_consumers_are_numbered_per_kind(page, console_url, artifacts):
    _ensure_topic(console_url)
    _open(page, console_url)
    # interleaved, each kind still counts on by one (numbers are never reused while the console runs)
    p1 = int(_add_producer(page, "2", ""))
    c1 = int(_add_consumer(page, "numbered", "1"))
    c2 = int(_add_consumer(page, "numbered", "1"))
    p2 = int(_add_producer(page, "2", ""))
    assert (c2, p2) == (c1 + 1, p1 + 1)
    producers = page.get_by_role("table", name="Simulated producers")
    for p, c in ((p1, c1), (p2, c2)):
        expect(producers.get_by_role("cell", name=f"producer {p} → {TOPIC}", exact=True)).to_be_visible()
        expect(_consumer_row(page, str(c))).to_have_count(1)
    log = page.get_by_role("region", name="Event log").get_by_role("listitem")
    expect(log.filter(has_text=f"consumer {c1} joined group numbered on {TOPIC}")).to_have_count(1)
    expect(log.filter(has_text=f"consumer {c2} joined group numbered on {TOPIC}")).to_have_count(1)
    expect(log.filter(has_text=f"producer {p2} started on {TOPIC}")).to_have_count(1)
    # the partitions bar names its owners by the same numbers
    expect(page.locator("#s-partitions")).to_contain_text(re.compile(rf"consumer ({c1}|{c2})\b"))
    shot(page, artifacts, "sim-3-numbered-per-kind")
    page.get_by_role("button", name=f"Stop consumer {c2}").click()
    ok_message(page, rf"consumer {c2} stopped\.")
    expect(log.filter(has_text=f"consumer {c2} stopped")).to_have_count(1)
    _stop_everything(page)


def test_positions_follow_the_assignment_through_rebalances(page, console_url, artifacts):
    _ensure_topic(console_url)
    _open(page, console_url)
    _add_producer(page, "30", "")
    first = _add_consumer(page, "positions", "0")
    rows = wait_positions_match(page, 1)
    assert rows[f"consumer {first}"]["assigned"] == [0, 1, 2]

    # a second consumer joins: the first gives partitions up, and its positions forget them
    second = _add_consumer(page, "positions", "0")
    rows = wait_positions_match(page, 2)
    assert sorted(rows[f"consumer {first}"]["assigned"] + rows[f"consumer {second}"]["assigned"]) == [0, 1, 2]
    shot(page, artifacts, "sim-1-positions-split")

    # the second stops: the first takes every partition again, a position for each
    page.get_by_role("button", name=f"Stop consumer {second}").click()
    ok_message(page, rf"consumer {second} stopped\.")
    expect(_consumer_row(page, first).get_by_role("cell").nth(2)).to_have_text("[0, 1, 2]")
    expect(_consumer_row(page, first).get_by_role("cell").nth(3)).to_have_text(
        re.compile(r"^0@[\d–]+, 1@[\d–]+, 2@[\d–]+$")
    )
    rows = wait_positions_match(page, 1)
    assert rows[f"consumer {first}"]["positions"] == [0, 1, 2]
    shot(page, artifacts, "sim-1-positions-rebalanced")
    _stop_everything(page)
