"""The console end to end in a real browser: Debian's headless Chromium driven by Playwright.

A user's path through the pages, with locators by role and label: create a topic from the Topics page,
produce from the Messages form and see the record (browsed, then live-tailed), then on the Live simulator
start a producer and a slow consumer, watch the group's lag rise, add a fast consumer, stop the slow one
and see the rebalance, stop the producer and watch the lag fall to zero.

Screenshots are saved as test artifacts in ``test-artifacts/console-browser/`` under pytest's rootdir
(or in ``$KAVKA_TEST_ARTIFACTS``), and their paths are printed at the end of the module. Chromium comes
from Debian's ``chromium`` package (``.ci/run`` installs it): Playwright never downloads a browser here.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.console.browserlib import NEEDS_CHROMIUM, TIMEOUT_MS, live, ok_message, shot

pytestmark = NEEDS_CHROMIUM


# --- topics and messages -------------------------------------------------------------------------


def test_create_topic_produce_and_see_the_message(page, artifacts):
    topic = "browser-orders"
    page.goto("/topics")
    expect(page.get_by_role("heading", name="Topics", level=1)).to_be_visible()
    page.get_by_label("Name", exact=True).fill(topic)
    page.get_by_label("Partitions").fill("2")
    page.get_by_label("Configs").fill("retention.ms=7200000")
    page.get_by_role("button", name="Create topic").click()
    ok_message(page, rf"Topic {topic} created with 2 partition\(s\)\.")
    row = (
        page.get_by_role("table", name="Topics")
        .get_by_role("row")
        .filter(has=page.get_by_role("link", name=topic, exact=True))
    )
    expect(row.get_by_role("cell")).to_have_text([topic, "2", "1", re.compile(r"\d"), "0", "delete"])
    shot(page, artifacts, "01-topic-created")

    # the topic's own page: two partitions, the config override
    row.get_by_role("link", name=topic).click()
    expect(page.get_by_role("heading", name=f"Topic {topic}", level=1)).to_be_visible()
    expect(page.get_by_role("table", name="Partitions of the topic").locator("tbody").get_by_role("row")).to_have_count(
        2
    )
    configs = page.get_by_role("table", name="Topic configs with their values and sources")
    retention = configs.get_by_role("row").filter(has=page.get_by_role("cell", name="retention.ms", exact=True))
    expect(retention.get_by_role("cell")).to_contain_text(["retention.ms", "7200000", "DYNAMIC_TOPIC_CONFIG"])

    # produce from the form, then browse the partition it went to
    page.get_by_role("link", name="Browse messages").click()
    expect(page.get_by_role("heading", name="Messages", level=1)).to_be_visible()
    expect(page.get_by_label("Topic")).to_have_value(topic)
    produce = page.get_by_role("region", name="Produce a message")
    produce.get_by_label("Key").fill("user-42")
    produce.get_by_label("Value", exact=True).fill('{"order": 1, "item": "book"}')
    produce.get_by_label("Headers").fill("source=browser")
    produce.get_by_label("Partition").select_option("1")
    produce.get_by_role("button", name="Send").click()
    ok_message(page, rf"Sent to {topic} partition 1 at offset 0\.")

    browse = page.locator("form#browse")  # the browse form (its controls are labelled; the form is not)
    browse.get_by_label("Partition").select_option("1")
    records = page.get_by_role("table", name="Records")
    first = records.locator("tbody").get_by_role("row").first
    expect(first.get_by_role("cell").nth(0)).to_have_text("0")
    expect(first.get_by_role("cell").nth(2)).to_contain_text("user-42")
    expect(first.get_by_role("cell").nth(3)).to_contain_text('"item": "book"')  # JSON, pretty-printed
    expect(first.get_by_role("cell").nth(3)).to_contain_text("json")
    expect(first.get_by_role("cell").nth(4)).to_have_text("source: browser")
    expect(page.get_by_text(re.compile(r"Partition 1: offsets 0 to 0 readable"))).to_be_visible()
    shot(page, artifacts, "02-message-browsed")

    # live tail: a second record shows up without browsing again
    tail = page.get_by_role("button", name="Live tail")
    tail.click()
    expect(page.get_by_role("button", name="Stop tail")).to_have_attribute("aria-pressed", "true")
    produce.get_by_label("Key").fill("user-43")
    produce.get_by_label("Value", exact=True).fill("plain text, not JSON")
    produce.get_by_label("Headers").fill("")
    produce.get_by_role("button", name="Send").click()
    ok_message(page, rf"Sent to {topic} partition 1 at offset 1\.")
    expect(first.get_by_role("cell").nth(0)).to_have_text("1")
    expect(first.get_by_role("cell").nth(3)).to_contain_text("plain text, not JSON")
    expect(records.locator("tbody").get_by_role("row")).to_have_count(2)
    shot(page, artifacts, "03-message-live-tail")
    page.get_by_role("button", name="Stop tail").click()
    expect(page.get_by_role("button", name="Live tail")).to_have_attribute("aria-pressed", "false")


# --- the live simulator --------------------------------------------------------------------------

# The group's lag as the Partitions section of the simulator shows it ("HW n · lag m" per partition),
# summed; the predicate returns {lag} once the sum is in [low, high] (an object: a lag of 0 is falsy).
_LAG_BETWEEN = """([low, high]) => {
  const metas = [...document.querySelectorAll("#s-partitions .meta")];
  const lags = metas.map((m) => (m.textContent.match(/lag ([\\d,]+)/) || [])[1]);
  if (!lags.length || lags.some((l) => l === undefined)) return false;
  const lag = lags.reduce((a, l) => a + Number(l.replace(/,/g, "")), 0);
  return lag >= low && lag <= high ? { lag } : false;
}"""


def wait_for_lag(page: Page, low: int, high: float = 1e12, timeout: float = TIMEOUT_MS) -> int:
    return page.wait_for_function(_LAG_BETWEEN, arg=[low, high], timeout=timeout, polling=100).json_value()["lag"]


def test_simulator_lag_rises_and_falls_and_a_stopped_consumer_rebalances(page, artifacts):
    group = "browser-sim"
    page.goto("/simulator")
    expect(page.get_by_role("heading", name="Live simulator", level=1)).to_be_visible()
    live(page)
    page.get_by_role("button", name="Create topic “simulator-orders” (3 partitions)").click()
    ok_message(page, r"Topic simulator-orders created\.")
    expect(page.get_by_label("Topic")).to_have_value("simulator-orders")

    # a fast producer and a slow consumer: the lag rises
    producers = page.get_by_role("region", name="Producers")
    producers.get_by_label("Records per second").fill("40")
    producers.get_by_label("Keys").fill("alice,bob,carol,dave")
    producers.get_by_role("button", name="Add producer").click()
    producer = ok_message(page, r"Producer (\d+) started\.").group(1)
    consumers = page.get_by_role("region", name="Consumers")
    consumers.get_by_label("Group").fill(group)
    consumers.get_by_label("Records per second").fill("1")
    consumers.get_by_role("button", name="Add consumer").click()
    slow = ok_message(page, rf"Consumer (\d+) started in group {group}\.").group(1)

    table = page.get_by_role("table", name="Simulated consumers")

    def consumer_row(cid: str):
        return table.get_by_role("row").filter(has=page.get_by_role("cell", name=f"consumer {cid}", exact=True))

    expect(consumer_row(slow).get_by_role("cell").nth(2)).to_have_text("[0, 1, 2]")
    first = wait_for_lag(page, 20)
    rising = wait_for_lag(page, first + 40)
    assert rising > first
    expect(
        page.get_by_role("table", name="Simulated producers")
        .get_by_role("row")
        .filter(has_text=f"producer {producer} → simulator-orders")
    ).to_be_visible()
    shot(page, artifacts, "04-simulator-lag-rising")

    # a fast consumer joins: the partitions are split between the two
    consumers.get_by_label("Records per second").fill("0")
    consumers.get_by_role("button", name="Add consumer").click()
    fast = ok_message(page, rf"Consumer (\d+) started in group {group}\.").group(1)
    log = page.get_by_role("region", name="Event log").get_by_role("listitem")
    expect(log.filter(has_text=f"consumer {fast} joined group {group} on simulator-orders")).to_have_count(1)
    expect(consumer_row(fast).get_by_role("cell").nth(2)).to_have_text(re.compile(r"\[\d(, \d)?\]"))
    expect(consumer_row(slow).get_by_role("cell").nth(2)).to_have_text(re.compile(r"\[\d(, \d)?\]"))
    shot(page, artifacts, "05-simulator-two-consumers")

    # stop the slow consumer: the fast one is assigned every partition
    page.get_by_role("button", name=f"Stop consumer {slow}").click()
    ok_message(page, rf"consumer {slow} stopped\.")
    expect(consumer_row(slow)).to_have_count(0)
    expect(consumer_row(fast).get_by_role("cell").nth(2)).to_have_text("[0, 1, 2]")
    expect(log.filter(has_text=f"consumer {slow} stopped")).to_have_count(1)
    expect(log.filter(has_text=f"consumer {fast} assigned [0, 1, 2]").first).to_be_visible()
    # ... and, reading as fast as it can, it brings the lag down while the producer still runs
    falling = wait_for_lag(page, 0, min(20, rising - 1))
    assert falling < rising
    shot(page, artifacts, "06-simulator-rebalanced")

    # stop the producer: the remaining consumer catches up and the lag falls to zero
    page.get_by_role("button", name=f"Stop producer {producer}").click()
    ok_message(page, rf"producer {producer} stopped\.")
    expect(page.get_by_role("table", name="Simulated producers")).to_contain_text("No producers running.")
    wait_for_lag(page, 0, 0)
    expect(consumer_row(fast).get_by_role("cell").nth(4)).to_have_text("0")
    shot(page, artifacts, "07-simulator-lag-zero")

    page.get_by_role("button", name="Stop everything").click()
    ok_message(page, r"Every simulated client stopped\.")
    expect(table).to_contain_text("No consumers running.")
