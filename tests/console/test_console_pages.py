"""Every page renders with its landmarks, labelled controls and script; assets and errors are served."""

from __future__ import annotations

import re

import pytest

PAGES = {
    "/": [
        "<h1>Overview</h1>",
        'id="health"',
        "UnderReplicatedPartitions",
        "OfflinePartitionsCount",
        "ActiveControllerCount",
        "BytesInPerSec",
        "MessagesInPerSec",
        'id="requests"',
        'id="logdirs"',
    ],
    "/topics": ['id="topics"', 'id="create"', '<label for="c-name">', '<label for="c-parts">'],
    "/messages": [
        'id="browse"',
        '<label for="m-topic">',
        'id="m-tail"',
        'aria-pressed="false"',
        'id="produce"',
        '<label for="p-key">',
        '<label for="p-value">',
        '<label for="p-headers">',
    ],
    "/groups": ['id="groups"'],
    "/explorer": ['id="calc"', '<label for="k-key">', 'id="rows"', "murmur2"],
    "/simulator": [
        'id="s-producer"',
        'id="s-consumer"',
        '<label for="sp-rate">',
        '<label for="sc-group">',
        'id="s-log"',
    ],
}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_page_renders(console_env, path):
    r = console_env.get(path)
    assert r.status == 200
    assert r.headers["Content-Type"].startswith("text/html")
    html = r.text
    for needle in PAGES[path] + [
        '<main id="main"',
        '<nav aria-label="Console sections">',
        'id="messages"',
        'role="alert"',
        "/static/console.js",
        'class="skip"',
    ]:
        assert needle in html, f"{needle!r} missing from {path}"
    assert 'aria-current="page"' in html
    # every form control on the page has a label (for=id) or is wrapped in one
    for control_id in re.findall(r'<(?:input|select|textarea)[^>]*\sid="([^"]+)"', html):
        wrapped = re.search(rf'<label>\s*<input[^>]*id="{re.escape(control_id)}"', html)
        assert f'for="{control_id}"' in html or wrapped, f"control #{control_id} on {path} has no label"
    assert "Content-Security-Policy" in r.headers


def test_topic_and_group_pages_carry_their_name(console_env):
    name = console_env.create_topic()
    r = console_env.get(f"/topics/{name}")
    assert r.status == 200 and f'data-topic="{name}"' in r.text and 'id="partitions"' in r.text
    assert 'id="del-confirm"' in r.text and 'id="configs"' in r.text
    r = console_env.get("/groups/some-group")
    assert r.status == 200 and 'data-group="some-group"' in r.text and 'id="reset"' in r.text


def test_a_missing_topic_page_is_404_with_a_banner_and_nothing_to_act_on(console_env):
    r = console_env.get("/topics/no-such-topic")
    assert r.status == 404 and r.headers["Content-Type"].startswith("text/html")
    html = r.text
    assert "<h1>Topic no-such-topic</h1>" in html
    banner = re.search(r'<div id="messages"[^>]*role="alert"[^>]*>(.*?)</div>', html, re.S)
    assert banner and "Topic &#x27;no-such-topic&#x27; does not exist." in banner.group(1)
    assert '<a href="/topics">All topics</a>' in html
    # no configs form, no delete, no links into the topic, and no script that would act on it
    for absent in (
        'id="set-config"',
        'id="configs"',
        'id="delete"',
        'id="del-confirm"',
        "Delete this topic",
        'id="to-messages"',
        "/static/topic.js",
        "<form",
    ):
        assert absent not in html, f"{absent!r} on the page of a missing topic"
    r = console_env.get("/topics/%3Cb%3Ex")  # the name is escaped in the title and the banner
    assert r.status == 404 and "<b>x" not in r.text and "&lt;b&gt;x" in r.text


def test_names_are_escaped(console_env):
    r = console_env.get("/groups/%3Cscript%3Ex%3C%2Fscript%3E")
    assert r.status == 200
    assert "<script>x</script>" not in r.text and "&lt;script&gt;" in r.text


@pytest.mark.parametrize(
    "asset",
    [
        "console.js",
        "console.css",
        "overview.js",
        "topics.js",
        "topic.js",
        "messages.js",
        "groups.js",
        "group.js",
        "explorer.js",
        "simulator.js",
        "favicon.svg",
    ],
)
def test_static_assets(console_env, asset):
    r = console_env.get(f"/static/{asset}")
    assert r.status == 200 and len(r.body) > 50
    text = r.text.replace("http://www.w3.org/2000/svg", "")  # the SVG namespace is a name, not a fetch
    assert "http://" not in text and "https://" not in text  # nothing loaded from elsewhere


def test_unknown_paths(console_env):
    r = console_env.get("/no/such/page")
    assert r.status == 404 and r.headers["Content-Type"].startswith("text/html") and "Nothing at" in r.text
    r = console_env.get("/api/no-such-thing")
    assert r.status == 404 and r.json() == {"error": "Nothing at /api/no-such-thing."}
    assert console_env.get("/static/..%2Fapp.py").status == 404
