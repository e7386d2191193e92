"""Every change the console accepts needs ``Content-Type: application/json`` and, when the browser names
an origin, the console's own: ``Origin: null`` (a sandboxed or ``data:`` page) and other sites are
refused before anything happens (issue 11). Real HTTP against the console of a real broker."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from tests.console.consolelib import Response

TOPIC = "guarded"

# Every mutating endpoint of the API, with a body that would change something if it got through.
CHANGES = [
    ("POST", "/api/topics", {"name": "created-by-a-stranger", "partitions": 1}),
    ("DELETE", f"/api/topics/{TOPIC}", None),
    ("PATCH", f"/api/topics/{TOPIC}/configs", {"set": {"retention.ms": "1000"}}),
    ("POST", f"/api/topics/{TOPIC}/messages", {"value": "forged"}),
    ("POST", "/api/groups/some-group/reset", {"topic": TOPIC, "to": "latest"}),
    ("POST", "/api/simulator/producers", {"topic": TOPIC, "rate": 5}),
    ("POST", "/api/simulator/consumers", {"topic": TOPIC, "group": "g", "rate": 0}),
    ("DELETE", "/api/simulator/clients/1", None),
    ("DELETE", "/api/simulator", None),
]
_IDS = [f"{m} {p}" for m, p, _ in CHANGES]


@pytest.fixture(scope="module")
def guarded(console_env):
    console_env.create_topic(TOPIC, partitions=1)
    return console_env


def _state(env) -> tuple:
    """What any of the changes above would alter: topics, the topic's records and overrides, the
    simulator's clients."""
    topics = sorted((t["name"], t["records"]) for t in env.get("/api/topics").json()["topics"])
    detail = env.get(f"/api/topics/{TOPIC}").json()
    overrides = sorted((c["name"], c["value"]) for c in detail["configs"] if c["override"])
    sim = env.get("/api/simulator").json()
    return topics, overrides, len(sim["producers"]), len(sim["consumers"])


@pytest.mark.parametrize("method, path, body", CHANGES, ids=_IDS)
def test_origin_null_is_refused(guarded, method, path, body):
    before = _state(guarded)
    r = guarded.send(method, path, body, headers={"Origin": "null", "Content-Type": "application/json"})
    assert r.status == 403, r.text
    assert "Origin: null" in r.json()["error"]
    assert _state(guarded) == before


@pytest.mark.parametrize("method, path, body", CHANGES, ids=_IDS)
@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_changes_need_a_json_content_type(guarded, method, path, body, content_type):
    before = _state(guarded)
    data = json.dumps(body).encode() if body is not None and content_type is not None else None
    r = _bare(guarded, method, path, {} if content_type is None else {"Content-Type": content_type}, data)
    assert r.status == 415, r.text
    assert r.json() == {"error": "Send changes as JSON (Content-Type: application/json)."}
    assert _state(guarded) == before


def _bare(env, method: str, path: str, headers: dict, data: bytes | None = None) -> Response:
    """A request with exactly ``headers`` (the ``send`` helper would add the JSON content type)."""
    req = urllib.request.Request(env.url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=15) as resp:
            return Response(resp.status, dict(resp.headers), resp.read())
    except urllib.error.HTTPError as e:
        return Response(e.code, dict(e.headers), e.read())


def test_a_bodyless_post_from_a_null_origin_writes_no_record(guarded):
    """Issue 11's report: a form-less POST (no preflight needed) from a sandboxed page wrote a null
    record at offset 0."""
    hw = guarded.get(f"/api/topics/{TOPIC}").json()["partitions"][0]["high_watermark"]
    r = _bare(guarded, "POST", f"/api/topics/{TOPIC}/messages", {"Origin": "null"})
    assert r.status == 403
    r = _bare(guarded, "POST", f"/api/topics/{TOPIC}/messages", {})
    assert r.status == 415
    assert guarded.get(f"/api/topics/{TOPIC}").json()["partitions"][0]["high_watermark"] == hw


def test_the_console_own_origin_may_change(guarded):
    """The guard lets the console's own page through (same Origin, JSON), so the refusals above are
    the guard's and not the handlers'."""
    origin = guarded.url
    r = guarded.send("POST", f"/api/topics/{TOPIC}/messages", {"value": "mine"}, headers={"Origin": origin})
    assert r.status == 201, r.text
    r = guarded.send("DELETE", "/api/simulator", headers={"Origin": origin})
    assert r.status == 200, r.text
    r = guarded.send("POST", "/api/topics", {"name": "other-site"}, headers={"Origin": "http://evil.example"})
    assert r.status == 403 and "Cross-origin" in r.json()["error"]
