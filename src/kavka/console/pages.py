"""The console's HTML pages: server-rendered shells that the page scripts fill from the JSON API.

Each page is plain HTML with its landmarks, headings, labelled forms and empty tables (with
captions) in place, so it reads sensibly with a screen reader and before its data arrives; the
script of the page (``static/<page>.js``) fetches and streams the data and writes it with
``textContent`` only. Errors land in the page's ``#messages`` region (``role="alert"``).
"""

from __future__ import annotations

import html
import importlib.resources

from aiohttp import web

from kavka import __version__
from kavka.console.app import CONSOLE_KEY

__all__ = ["add_routes", "error_page", "render"]

NAV = [
    ("/", "overview", "Overview"),
    ("/cluster", "cluster", "Cluster"),
    ("/topics", "topics", "Topics"),
    ("/messages", "messages", "Messages"),
    ("/groups", "groups", "Consumer groups"),
    ("/explorer", "explorer", "Partition explorer"),
    ("/simulator", "simulator", "Live simulator"),
]

STATIC = importlib.resources.files("kavka.console") / "static"


def render(
    title: str,
    active: str,
    body: str,
    *,
    script: str | None = None,
    data: dict | None = None,
    banner: str | None = None,
) -> str:
    """The page: header and navigation, ``<h1>title</h1>``, the messages region, ``body``, then the
    page's script. ``banner``: an error already in the messages region when the page arrives."""
    current = ' aria-current="page"'
    nav = "\n".join(
        f'<li><a href="{href}"{current if key == active else ""}>{label}</a></li>' for href, key, label in NAV
    )
    attrs = "".join(f' data-{k}="{html.escape(str(v), quote=True)}"' for k, v in (data or {}).items())
    scripts = '<script src="/static/console.js"></script>'
    alert = f'<p class="error"><span>{html.escape(banner)}</span></p>' if banner else ""
    if script:
        scripts += f'\n<script src="/static/{script}.js"></script>'
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · Kavka console</title>
<link rel="stylesheet" href="/static/console.css">
<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
</head>
<body data-page="{active}"{attrs}>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/"><span aria-hidden="true">▦</span> Kavka</a>
  <nav aria-label="Console sections"><ul>{nav}</ul></nav>
  <span class="live" id="live-state" role="status" aria-live="polite"></span>
</header>
<main id="main" tabindex="-1">
<h1>{html.escape(title)}</h1>
<div id="messages" class="messages" role="alert" aria-live="assertive">{alert}</div>
{body}
</main>
<footer class="foot">Kavka {__version__} · <a href="/metrics">/metrics</a></footer>
{scripts}
</body>
</html>
"""


def error_page(status: int, message: str) -> str:
    body = f'<p class="error-page">{html.escape(message)}</p><p><a href="/">Back to the overview</a></p>'
    return render(f"Error {status}", "", body)


# --- page bodies ---------------------------------------------------------------------------------

OVERVIEW = """
<section aria-labelledby="h-cluster">
<h2 id="h-cluster">Cluster</h2>
<dl class="facts whole" id="cluster">
  <div><dt>Cluster id</dt><dd data-k="cluster_id">…</dd></div>
  <div><dt>Node id</dt><dd data-k="node_id">…</dd></div>
  <div><dt>Roles</dt><dd data-k="roles">…</dd></div>
  <div><dt>Mode</dt><dd data-k="mode">…</dd></div>
  <div><dt>Version</dt><dd data-k="version">…</dd></div>
  <div><dt>Uptime</dt><dd data-k="uptime">…</dd></div>
  <div><dt>Listeners</dt><dd data-k="listeners">…</dd></div>
  <div><dt>Console acts as</dt><dd data-k="principal" title="console.client.config's login: the console's actions are authorized as this principal">…</dd></div>
  <div><dt>Topics / partitions</dt><dd data-k="counts">…</dd></div>
</dl>
</section>
<section aria-labelledby="h-health">
<h2 id="h-health">Health</h2>
<ul class="cards" id="health">
  <li><span class="label">UnderReplicatedPartitions</span><span class="value" data-k="UnderReplicatedPartitions">…</span></li>
  <li><span class="label">OfflinePartitionsCount</span><span class="value" data-k="OfflinePartitionsCount">…</span></li>
  <li><span class="label">ActiveControllerCount</span><span class="value" data-k="ActiveControllerCount">…</span></li>
  <li><span class="label">BytesInPerSec</span><span class="value" data-k="BytesInPerSec">…</span></li>
  <li><span class="label">BytesOutPerSec</span><span class="value" data-k="BytesOutPerSec">…</span></li>
  <li><span class="label">MessagesInPerSec</span><span class="value" data-k="MessagesInPerSec">…</span></li>
  <li><span class="label">Connections</span><span class="value" data-k="connections">…</span></li>
</ul>
<figure class="chart">
  <canvas id="throughput" width="900" height="180" role="img" aria-label="Bytes in and out per second, last two minutes"></canvas>
  <figcaption><span class="swatch a"></span>BytesInPerSec <span class="swatch b"></span>BytesOutPerSec (last two minutes)</figcaption>
</figure>
</section>
<div class="two">
<section aria-labelledby="h-req">
<h2 id="h-req">Requests per API</h2>
<table id="requests"><caption class="sr">Requests served per Kafka API since start</caption>
<thead><tr><th scope="col">API</th><th scope="col" class="num">Requests</th><th scope="col" class="num">Per second</th><th scope="col" class="num">Mean latency</th></tr></thead>
<tbody></tbody></table>
<p class="hint">Latency: mean time from a request's arrival to its response, per API.</p>
</section>
<section aria-labelledby="h-dirs">
<h2 id="h-dirs">Log directories</h2>
<table id="logdirs"><caption class="sr">Log directories and disk use</caption>
<thead><tr><th scope="col">Directory</th><th scope="col" class="num">Partitions</th><th scope="col" class="num">Log bytes</th><th scope="col" class="num">Disk free</th></tr></thead>
<tbody></tbody></table>
</section>
</div>
"""

CLUSTER = """
<section aria-labelledby="h-nodes">
<h2 id="h-nodes">Nodes</h2>
<p id="c-summary" class="hint" role="status" aria-live="polite"></p>
<table id="c-nodes"><caption class="sr">Nodes of the cluster: roles, broker state, process, controller</caption>
<thead><tr><th scope="col" class="num">Node</th><th scope="col">Roles</th><th scope="col">Broker state</th><th scope="col" class="num">Epoch</th>
<th scope="col">Address</th><th scope="col">Rack</th><th scope="col">Process</th><th scope="col">Controller</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody><tr><td colspan="9">Loading…</td></tr></tbody></table>
<p id="c-control" class="hint"></p>
</section>
<section aria-labelledby="h-chealth">
<h2 id="h-chealth">Replication health</h2>
<ul class="cards" id="c-health">
  <li><span class="label">UnderReplicatedPartitions</span><span class="value" data-k="UnderReplicatedPartitions">…</span></li>
  <li><span class="label">UnderMinIsrPartitionCount</span><span class="value" data-k="UnderMinIsrPartitionCount">…</span></li>
  <li><span class="label">OfflinePartitionsCount</span><span class="value" data-k="OfflinePartitionsCount">…</span></li>
  <li><span class="label">LeaderCount</span><span class="value" data-k="LeaderCount">…</span></li>
  <li><span class="label">FencedBrokerCount</span><span class="value" data-k="FencedBrokerCount">…</span></li>
  <li><span class="label">IsrShrinks / IsrExpands</span><span class="value" data-k="isr">…</span></li>
</ul>
<p class="hint">Counts of this node (ReplicaManager) and of the committed image (KafkaController).</p>
</section>
<section aria-labelledby="h-panel" class="replication">
<h2 id="h-panel">Replication of one partition</h2>
<form id="c-pick" class="form inline">
  <p><label for="c-partition">Partition</label><select id="c-partition"></select></p>
</form>
<div id="c-boxes" class="replicas"></div>
<p id="c-status" class="status-line" role="status" aria-live="polite"></p>
</section>
<section aria-labelledby="h-cparts">
<h2 id="h-cparts">Partitions</h2>
<p><label><input type="checkbox" id="c-internal"> Show internal topics</label></p>
<table id="c-partitions"><caption class="sr">Every partition: leader, replicas, ISR and offsets</caption>
<thead><tr><th scope="col">Topic</th><th scope="col" class="num">Partition</th><th scope="col" class="num">Leader</th><th scope="col" class="num">Epoch</th>
<th scope="col">Replicas</th><th scope="col">ISR</th><th scope="col" class="num">Log end</th><th scope="col" class="num">High watermark</th><th scope="col">Replica lag</th></tr></thead>
<tbody></tbody></table>
<p class="hint">Offsets are the leader's, read from its node's console; a replica's lag is the leader's log end offset minus its own.</p>
</section>
"""

TOPICS = """
<section aria-labelledby="h-list">
<h2 id="h-list">All topics</h2>
<p><label><input type="checkbox" id="show-internal"> Show internal topics</label></p>
<table id="topics"><caption class="sr">Topics</caption>
<thead><tr><th scope="col">Name</th><th scope="col" class="num">Partitions</th><th scope="col" class="num">Replication</th>
<th scope="col" class="num">Size</th><th scope="col" class="num">Records</th><th scope="col">Cleanup policy</th></tr></thead>
<tbody><tr><td colspan="6">Loading…</td></tr></tbody></table>
</section>
<section aria-labelledby="h-create">
<h2 id="h-create">Create a topic</h2>
<form id="create" class="form">
  <p><label for="c-name">Name</label><input id="c-name" name="name" required pattern="[a-zA-Z0-9._\\-]+" maxlength="249" autocomplete="off"></p>
  <p><label for="c-parts">Partitions</label><input id="c-parts" name="partitions" type="number" min="1" value="3"></p>
  <p><label for="c-rf">Replication factor</label><input id="c-rf" name="replication_factor" type="number" min="1" value="1"></p>
  <p><label for="c-configs">Configs <span class="hint">(one name=value a line, e.g. cleanup.policy=compact)</span></label>
  <textarea id="c-configs" name="configs" rows="3"></textarea></p>
  <p><button type="submit">Create topic</button></p>
</form>
</section>
"""

TOPIC = """
<p class="links"><a id="to-messages" href="#">Browse messages</a> · <a id="to-explorer" href="#">Partition explorer</a></p>
<section aria-labelledby="h-parts">
<h2 id="h-parts">Partitions</h2>
<table id="partitions"><caption class="sr">Partitions of the topic</caption>
<thead><tr><th scope="col" class="num">Partition</th><th scope="col" class="num">Leader</th><th scope="col">Replicas</th><th scope="col">ISR</th>
<th scope="col" class="num">Log start</th><th scope="col" class="num">High watermark</th><th scope="col" class="num">Log end</th>
<th scope="col" class="num">LSO</th><th scope="col" class="num">Segments</th><th scope="col" class="num">Size</th></tr></thead>
<tbody></tbody></table>
</section>
<section aria-labelledby="h-configs">
<h2 id="h-configs">Configs</h2>
<form id="set-config" class="form inline">
  <p><label for="cfg-name">Config</label><input id="cfg-name" list="config-names" required autocomplete="off"></p>
  <datalist id="config-names"></datalist>
  <p><label for="cfg-value">Value</label><input id="cfg-value" required autocomplete="off"></p>
  <p><button type="submit">Set</button></p>
</form>
<p><label><input type="checkbox" id="only-overrides"> Only this topic's overrides</label></p>
<table id="configs"><caption class="sr">Topic configs with their values and sources</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Source</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody></tbody></table>
</section>
<section aria-labelledby="h-delete" class="danger">
<h2 id="h-delete">Delete this topic</h2>
<form id="delete" class="form inline">
  <p><label for="del-confirm">Type the topic name to confirm</label><input id="del-confirm" autocomplete="off"></p>
  <p><button type="submit" id="del-button" class="danger" disabled>Delete topic</button></p>
</form>
</section>
"""

MESSAGES = """
<form id="browse" class="form inline" aria-label="Browse a partition">
  <p><label for="m-topic">Topic</label><select id="m-topic" required></select></p>
  <p><label for="m-partition">Partition</label><select id="m-partition"></select></p>
  <fieldset><legend>Start</legend>
    <label><input type="radio" name="from" value="newest" checked> Newest first</label>
    <label><input type="radio" name="from" value="oldest"> Oldest first</label>
    <label><input type="radio" name="from" value="offset"> At offset</label>
    <label><input type="radio" name="from" value="timestamp"> At time</label>
  </fieldset>
  <p><label for="m-offset">Offset</label><input id="m-offset" type="number" min="0"></p>
  <p><label for="m-time">Time</label><input id="m-time" type="datetime-local" step="1"></p>
  <p><label for="m-limit">Count</label><input id="m-limit" type="number" min="1" max="500" value="50"></p>
  <p><button type="submit">Show</button> <button type="button" id="m-tail" aria-pressed="false">Live tail</button></p>
</form>
<p id="m-range" class="hint"></p>
<table id="records" class="records"><caption class="sr">Records</caption>
<thead><tr><th scope="col" class="num">Offset</th><th scope="col">Timestamp</th><th scope="col">Key</th><th scope="col">Value</th>
<th scope="col">Headers</th><th scope="col" class="num">Size</th></tr></thead>
<tbody></tbody></table>
<p><button type="button" id="m-more" hidden>More</button></p>
<section aria-labelledby="h-produce">
<h2 id="h-produce">Produce a message</h2>
<form id="produce" class="form">
  <p><label for="p-key">Key <span class="hint">(empty: no key)</span></label><input id="p-key" autocomplete="off"></p>
  <p><label for="p-value">Value</label><textarea id="p-value" rows="4"></textarea></p>
  <p><label for="p-headers">Headers <span class="hint">(one name=value a line)</span></label><textarea id="p-headers" rows="2"></textarea></p>
  <p><label for="p-partition">Partition</label><select id="p-partition"></select></p>
  <p><button type="submit">Send</button></p>
</form>
</section>
"""

GROUPS = """
<table id="groups"><caption class="sr">Consumer groups</caption>
<thead><tr><th scope="col">Group</th><th scope="col">State</th><th scope="col">Protocol type</th><th scope="col">Assignor</th>
<th scope="col" class="num">Members</th><th scope="col">Topics</th><th scope="col" class="num">Lag</th></tr></thead>
<tbody><tr><td colspan="7">Loading…</td></tr></tbody></table>
<p class="hint">Protocol type: <code>consumer</code> for Kafka consumers; assignor: the partition assignor the group
chose (Kafka's <code>ASSIGNMENT-STRATEGY</code>); <code>none</code> when the group has none, as in <code>kavka groups describe</code>.</p>
"""

GROUP = """
<dl class="facts" id="g-facts">
  <div><dt>State</dt><dd data-k="state">…</dd></div>
  <div><dt>Protocol type</dt><dd data-k="protocol_type">…</dd></div>
  <div><dt>Assignor</dt><dd data-k="assignor">…</dd></div>
  <div><dt>Members</dt><dd data-k="members">…</dd></div>
  <div><dt>Total lag</dt><dd data-k="total_lag">…</dd></div>
</dl>
<figure class="chart">
  <canvas id="lag-chart" width="900" height="160" role="img" aria-label="Total lag of the group over time"></canvas>
  <figcaption><span class="swatch a"></span>Total lag (records), live</figcaption>
</figure>
<section aria-labelledby="h-members">
<h2 id="h-members">Members</h2>
<table id="members"><caption class="sr">Members and their assignments</caption>
<thead><tr><th scope="col">Member</th><th scope="col">Client</th><th scope="col">Host</th><th scope="col">Assignment</th></tr></thead>
<tbody></tbody></table>
</section>
<section aria-labelledby="h-offsets">
<h2 id="h-offsets">Offsets and lag</h2>
<table id="offsets"><caption class="sr">Committed offsets and lag per partition</caption>
<thead><tr><th scope="col">Topic</th><th scope="col" class="num">Partition</th><th scope="col" class="num">Committed</th>
<th scope="col" class="num">High watermark</th><th scope="col" class="num">Lag</th><th scope="col">Owner</th></tr></thead>
<tbody></tbody></table>
</section>
<section aria-labelledby="h-reset">
<h2 id="h-reset">Reset offsets</h2>
<p class="hint">Like <code>kafka-consumer-groups --reset-offsets</code>: only while the group has no members.</p>
<form id="reset" class="form inline">
  <p><label for="r-topic">Topic</label><select id="r-topic" required></select></p>
  <p><label for="r-parts">Partitions <span class="hint">(e.g. 0,2; empty: all)</span></label><input id="r-parts" autocomplete="off"></p>
  <p><label for="r-to">To</label><select id="r-to"><option value="earliest">earliest</option><option value="latest">latest</option>
     <option value="offset">offset</option><option value="timestamp">timestamp (ms)</option></select></p>
  <p><label for="r-value">Offset or timestamp</label><input id="r-value" type="number"></p>
  <p><button type="submit">Reset</button></p>
</form>
</section>
"""

EXPLORER = """
<form id="x-form" class="form inline">
  <p><label for="x-topic">Topic</label><select id="x-topic"></select></p>
  <p><label for="x-per">Recent records per partition</label><input id="x-per" type="number" min="1" max="200" value="60"></p>
</form>
<section aria-labelledby="h-calc" class="calc">
<h2 id="h-calc">Where does a key go?</h2>
<form id="calc" class="form inline">
  <p><label for="k-key">Key</label><input id="k-key" autocomplete="off" placeholder="e.g. user-42"></p>
  <p><label for="k-n">Partitions</label><input id="k-n" type="number" min="1" value="3"></p>
</form>
<p id="k-result" role="status" aria-live="polite" class="result">Type a key: Kafka's default partitioner puts it on <code>toPositive(murmur2(key)) % partitions</code>.</p>
</section>
<section aria-labelledby="h-rows">
<h2 id="h-rows">Partitions</h2>
<p class="hint">Each block is a record, coloured by its key (grey: no key). Select one to see it.</p>
<ul id="legend" class="legend" aria-label="Key colours"></ul>
<div id="rows" class="rows"></div>
</section>
<section aria-labelledby="h-detail">
<h2 id="h-detail">Selected record</h2>
<dl class="facts" id="x-detail"><div><dt>Record</dt><dd>none selected</dd></div></dl>
</section>
"""

SIMULATOR = """
<p class="note">Producers and consumers are real Kafka clients; consumers subscribe through the broker's group
coordinator, so assignments and rebalances are Kafka's own.</p>
<form id="s-topic-form" class="form inline">
  <p><label for="s-topic">Topic</label><select id="s-topic"></select></p>
  <p id="s-demo-box"></p>
  <p><button type="button" id="s-stop-all" class="danger">Stop everything</button></p>
</form>
<div class="two">
<section aria-labelledby="h-sp">
<h2 id="h-sp">Producers</h2>
<form id="s-producer" class="form inline">
  <p><label for="sp-rate">Records per second</label><input id="sp-rate" type="number" min="0.1" max="1000" step="0.1" value="5"></p>
  <p><label for="sp-keys">Keys <span class="hint">(comma separated; empty: no key)</span></label><input id="sp-keys" value="alice,bob,carol,dave" autocomplete="off"></p>
  <p><button type="submit">Add producer</button></p>
</form>
<table id="s-producers"><caption class="sr">Simulated producers</caption>
<thead><tr><th scope="col">Producer</th><th scope="col" class="num">Rate</th><th scope="col">Keys</th><th scope="col" class="num">Acked</th><th scope="col">Per partition</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody></tbody></table>
</section>
<section aria-labelledby="h-sc">
<h2 id="h-sc">Consumers</h2>
<form id="s-consumer" class="form inline">
  <p><label for="sc-group">Group</label><input id="sc-group" value="simulator" autocomplete="off"></p>
  <p><label for="sc-rate">Records per second <span class="hint">(0: as fast as possible)</span></label><input id="sc-rate" type="number" min="0" max="1000" step="0.1" value="3"></p>
  <p><button type="submit">Add consumer</button></p>
</form>
<table id="s-consumers"><caption class="sr">Simulated consumers</caption>
<thead><tr><th scope="col">Consumer</th><th scope="col">Group</th><th scope="col">Assigned</th><th scope="col">Positions</th><th scope="col" class="num">Lag</th><th scope="col" class="num">Consumed</th><th scope="col"><span class="sr">Actions</span></th></tr></thead>
<tbody></tbody></table>
</section>
</div>
<section aria-labelledby="h-sflow">
<h2 id="h-sflow">Partitions</h2>
<div id="s-partitions" class="bars"></div>
<figure class="chart">
  <canvas id="s-lag" width="900" height="140" role="img" aria-label="Lag of the simulated groups over time"></canvas>
  <figcaption><span class="swatch a"></span>Group lag (records), live</figcaption>
</figure>
</section>
<section aria-labelledby="h-slog">
<h2 id="h-slog">Event log</h2>
<p><label><input type="checkbox" id="s-hide-produce"> Hide produce events</label></p>
<ol id="s-log" class="log" aria-live="off"></ol>
</section>
"""


def _page(title, active, body, script, **data):
    async def handler(request):
        values = {
            k: (request.match_info.get(v[1:]) if isinstance(v, str) and v.startswith(":") else v)
            for k, v in data.items()
        }
        shown = title.format(**{k: v for k, v in values.items() if v is not None})
        return web.Response(text=render(shown, active, body, script=script, data=values), content_type="text/html")

    return handler


MISSING_TOPIC = '<p class="links"><a href="/topics">All topics</a></p>'


async def _topic(request):
    """A topic's page; 404 with the error in the banner, and nothing that acts on a topic (no configs
    form, no delete, no script), when there is no such topic."""
    name = request.match_info["topic"]
    if name in request.app[CONSOLE_KEY].broker.image.topics_by_name:
        return await _topic_page(request)
    text = render(f"Topic {name}", "topics", MISSING_TOPIC, banner=f"Topic {name!r} does not exist.")
    return web.Response(status=404, text=text, content_type="text/html")


_topic_page = _page("Topic {topic}", "topics", TOPIC, "topic", topic=":topic")


async def _static(request):
    name = request.match_info["name"]
    if "/" in name or name.startswith("."):
        raise web.HTTPNotFound()
    res = STATIC / name
    if not res.is_file():
        raise web.HTTPNotFound()
    kind = {"js": "text/javascript", "css": "text/css", "svg": "image/svg+xml"}.get(
        name.rsplit(".", 1)[-1], "application/octet-stream"
    )
    return web.Response(
        body=res.read_bytes(),
        content_type=kind,
        charset="utf-8" if kind != "image/svg+xml" else None,
        headers={"Cache-Control": "no-cache"},
    )


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", _page("Overview", "overview", OVERVIEW, "overview"))
    app.router.add_get("/cluster", _page("Cluster", "cluster", CLUSTER, "cluster"))
    app.router.add_get("/topics", _page("Topics", "topics", TOPICS, "topics"))
    app.router.add_get("/topics/{topic}", _topic)
    app.router.add_get("/messages", _page("Messages", "messages", MESSAGES, "messages"))
    app.router.add_get("/groups", _page("Consumer groups", "groups", GROUPS, "groups"))
    app.router.add_get("/groups/{group}", _page("Group {group}", "groups", GROUP, "group", group=":group"))
    app.router.add_get("/explorer", _page("Partition explorer", "explorer", EXPLORER, "explorer"))
    app.router.add_get("/simulator", _page("Live simulator", "simulator", SIMULATOR, "simulator"))
    app.router.add_get("/static/{name}", _static)
