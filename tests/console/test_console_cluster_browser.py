"""The Cluster page in a real browser (Debian's headless Chromium through Playwright) on a real 3-node
``kavka cluster up`` cluster: the guide's replication panel for a partition, drawn from the cluster's
state; pausing that partition's leader from another node's page, seeing the node paused and the panel
say the leader is unavailable, then resuming it and seeing the cluster healthy again.

Screenshots go to ``test-artifacts/console-browser/`` (or ``$KAVKA_TEST_ARTIFACTS``), as the other
browser tests' do.
"""

from __future__ import annotations

import os
import re
import uuid
from pathlib import Path

import pytest

from tests.console.browserlib import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS

pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason=f"{CHROMIUM} is missing (apt-get install -y chromium; .ci/run does)"
)

from confluent_kafka import Producer  # noqa: E402
from playwright.sync_api import expect, sync_playwright  # noqa: E402

from tests.cli.test_cluster_cli import ClusterUp  # noqa: E402
from tests.console.consolelib import http  # noqa: E402


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    up = ClusterUp(tmp_path_factory.mktemp("browser-cluster"), "--nodes", "3", nodes=3)
    try:
        bootstrap = up.wait_ready()
        yield up, bootstrap
    finally:
        up.close()


def test_pause_the_leader_from_the_cluster_page_and_resume_it(cluster, pytestconfig):
    up, bootstrap = cluster
    consoles = {k + 1: f"http://127.0.0.1:{up.base_port + 200 + k}" for k in range(3)}
    topic = f"guide-{uuid.uuid4().hex[:6]}"
    r = http("POST", consoles[1] + "/api/topics", {"name": topic, "partitions": 1, "replication_factor": 3})
    assert r.status == 201, r.text
    p = Producer({"bootstrap.servers": bootstrap})
    for i in range(8):
        p.produce(topic, value=b"%d" % i)
    assert p.flush(20) == 0
    leader = http("GET", consoles[1] + f"/api/cluster/partitions/{topic}/0").json()["leader"]
    viewer = leader % 3 + 1  # another node's console: a node cannot pause itself
    out = Path(os.environ.get("KAVKA_TEST_ARTIFACTS") or pytestconfig.rootpath / "test-artifacts") / "console-browser"
    out.mkdir(parents=True, exist_ok=True)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(base_url=consoles[viewer], viewport={"width": 1280, "height": 1000})
            context.set_default_timeout(TIMEOUT_MS)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
            page.goto("/cluster")
            expect(page.get_by_role("banner").get_by_role("status")).to_have_text("live")
            page.get_by_label("Partition", exact=True).select_option(f"{topic}/0")
            status = page.locator("#c-status")
            healthy = rf"Cluster healthy\. Broker {leader} is leader\. RF=3, ISR=\[[123],[123],[123]\]"
            expect(status).to_have_text(re.compile(healthy))
            box = page.get_by_role("region", name=f"Broker {leader} — LEADER")
            expect(box.get_by_role("listitem")).to_have_text(
                ["offset 4 ✓", "offset 5 ✓", "offset 6 ✓", "offset 7 ✓ (latest)"]
            )
            expect(page.get_by_role("region", name=re.compile(r"Broker \d — Follower"))).to_have_count(2)
            page.screenshot(path=str(out / "cluster-01-healthy.png"), full_page=True)

            page.get_by_role("button", name=f"Pause node {leader}").click()
            expect(page.get_by_role("status").filter(has_text=f"Node {leader}: SIGSTOP sent")).to_be_visible()
            row = page.get_by_role("table", name=re.compile("Nodes of the cluster")).get_by_role("row").nth(leader)
            expect(row.get_by_role("cell").nth(6)).to_have_text("paused")
            expect(status).to_have_text(re.compile(rf"Leader unavailable: broker {leader} is paused\."))
            expect(page.get_by_role("region", name=f"Broker {leader} — LEADER (paused)")).to_be_visible()
            page.screenshot(path=str(out / "cluster-02-leader-paused.png"), full_page=True)

            page.get_by_role("button", name=f"Resume node {leader}").click()
            expect(row.get_by_role("cell").nth(6)).to_have_text("running")
            expect(status).to_have_text(re.compile(healthy))
            page.screenshot(path=str(out / "cluster-03-resumed.png"), full_page=True)
            assert not errors, errors
        finally:
            browser.close()
