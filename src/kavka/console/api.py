"""The console's JSON API (``/api/...``), its live streams and ``/metrics``.

Every handler answers JSON; a refusal is ``{"error": message}`` with a 4xx status (see
:class:`kavka.console.state.ConsoleError`). With an authorizer, each action is authorized as the
console's principal as Kafka authorizes the API it stands for (:mod:`kavka.console.access`): a refusal
is 403 with the Kafka error name and message, a topic the principal may not DESCRIBE is not listed and
answers 404. Handlers run on the broker's event loop and do bounded
work; anything that may block (simulated clients stopping, AdminClient calls) runs in a thread.

========  =================================================  =======================================
method    path                                               what
========  =================================================  =======================================
GET       /api/overview                                      cluster, health, rates, log dirs
GET/POST  /api/topics                                        list / create {name, partitions, ...}
GET/DEL   /api/topics/{topic}                                partitions and configs / delete
PATCH     /api/topics/{topic}/configs                        {"set": {k: v}, "delete": [k]}
GET/POST  /api/topics/{topic}/messages                       browse / produce one record
GET       /api/topics/{topic}/partitions/{p}/tail            SSE: new records as they arrive
GET       /api/topics/{topic}/explorer                       recent records of every partition
GET       /api/partitioner?key=&partitions=|topic=           murmur2(key) % partitions
GET       /api/groups, /api/groups/{group}                   consumer groups, lag
POST      /api/groups/{group}/reset                          {topic, to, value, partitions}
GET       /api/simulator                                     simulated clients and partitions
POST      /api/simulator/producers|consumers                 start one
DELETE    /api/simulator/clients/{id}, /api/simulator        stop one / all
GET       /api/cluster                                       brokers, controller, partitions, offsets
GET       /api/cluster/local                                 this node's replicas (peers read it)
GET       /api/cluster/partitions/{topic}/{p}                the replication panel of one partition
GET       /api/cluster/nodes                                 nodes and processes (`cluster up` only)
POST      /api/cluster/nodes/{id}/{action}                   stop, kill, pause, resume, restart
GET       /api/events?channels=overview,sim,topic:T,group:G  SSE ticks (see kavka.console.live)
GET       /metrics                                           Prometheus text format
========  =================================================  =======================================
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from kavka.console import browse, state
from kavka.console import cluster as cluster_mod
from kavka.console.app import CONSOLE_KEY, Console
from kavka.console.control import not_controllable
from kavka.console.live import Subscriber
from kavka.console.state import ConsoleError
from kavka.security.authorizer import AclOperation, ResourceType

__all__ = ["add_routes"]

routes = web.RouteTableDef()
_KEEPALIVE_S = 15.0


def _console(request: web.Request) -> Console:
    return request.app[CONSOLE_KEY]


async def _body(request: web.Request) -> dict:
    if not request.can_read_body:
        return {}
    try:
        data = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ConsoleError(400, "The request body is not valid JSON.") from None
    if not isinstance(data, dict):
        raise ConsoleError(400, "The request body must be a JSON object.")
    return data


def _int(value, name: str, *, default=None, minimum=None):
    if value in (None, ""):
        if default is not None or minimum is None:
            return default
        raise ConsoleError(400, f"{name} is required.")
    try:
        n = int(value)
    except (TypeError, ValueError):
        raise ConsoleError(400, f"{name} must be a whole number, not {value!r}.") from None
    if minimum is not None and n < minimum:
        raise ConsoleError(400, f"{name} must be at least {minimum}.")
    return n


# --- overview and topics -------------------------------------------------------------------------


@routes.get("/api/overview")
async def overview(request):
    console = _console(request)
    data = state.overview(console.server)
    data["rates"] = console.sampler.latest.get("rates", {})
    latest = console.sampler.latest.get("requests", {})
    data["requests_rate"] = {k: v["rate"] for k, v in latest.items()}
    data["requests_avg_ms"] = {k: v["avg_ms"] for k, v in latest.items()}
    data["history"] = list(console.sampler.history)[-120:]
    data["principal"] = console.access.describe()
    if console.access.enabled:  # the counts of what the principal may see, as its topic list
        topics = console.broker.image.topics_by_name
        visible = console.access.visible_topics(topics)
        data["topics"] = len(visible)
        data["partitions"] = sum(len(topics[n].partitions) for n in visible)
    return web.json_response(data)


@routes.get("/api/topics")
async def topics(request):
    internal = request.query.get("internal", "1") not in ("0", "false")
    console = _console(request)
    listed = state.topics_list(console.broker, include_internal=internal)
    visible = console.access.visible_topics(t["name"] for t in listed)
    return web.json_response({"topics": [t for t in listed if t["name"] in visible]})


@routes.post("/api/topics")
async def create_topic(request):
    body = await _body(request)
    configs = body.get("configs") or {}
    if not isinstance(configs, dict):
        raise ConsoleError(400, "configs must be an object of name: value.")
    console = _console(request)
    if isinstance(body.get("name"), str) and body["name"]:
        console.access.check_create_topic(body["name"])
    created = await state.create_topic(
        console.broker,
        body.get("name", ""),
        _int(body.get("partitions"), "partitions", minimum=1) if body.get("partitions") not in (None, "") else None,
        _int(body.get("replication_factor"), "replication_factor", minimum=1)
        if body.get("replication_factor") not in (None, "")
        else None,
        configs,
    )
    return web.json_response(created, status=201)


@routes.get("/api/topics/{topic}")
async def topic(request):
    console, name = _console(request), request.match_info["topic"]
    console.access.check_topic_visible(name)
    detail = state.topic_detail(console.broker, name)
    if not console.access.allowed(AclOperation.DESCRIBE_CONFIGS, ResourceType.TOPIC, name):
        detail["configs"] = []  # DescribeConfigs' check: the topic is shown, its configs are not
        detail["configs_error"] = "TOPIC_AUTHORIZATION_FAILED: Topic authorization failed (DESCRIBE_CONFIGS)."
    return web.json_response(detail)


@routes.delete("/api/topics/{topic}")
async def delete_topic(request):
    console, name = _console(request), request.match_info["topic"]
    console.access.check_delete_topic(name)
    return web.json_response(await state.delete_topic(console.broker, name))


@routes.patch("/api/topics/{topic}/configs")
async def alter_configs(request):
    body = await _body(request)
    set_, delete = body.get("set") or {}, body.get("delete") or []
    if not isinstance(set_, dict) or not isinstance(delete, list):
        raise ConsoleError(400, 'Send {"set": {name: value}, "delete": [name]}.')
    console, name = _console(request), request.match_info["topic"]
    console.access.check_topic(AclOperation.ALTER_CONFIGS, name)
    return web.json_response(await state.alter_topic_configs(console.broker, name, set_, delete))


# --- messages ------------------------------------------------------------------------------------


@routes.get("/api/topics/{topic}/messages")
async def messages(request):
    q = request.query
    ts = q.get("timestamp")
    console, name = _console(request), request.match_info["topic"]
    console.access.check_topic(AclOperation.READ, name)
    result = browse.browse(
        console.broker,
        name,
        _int(q.get("partition"), "partition", default=0),
        offset=_int(q.get("offset"), "offset"),
        timestamp=_int(ts, "timestamp") if ts else None,
        newest_first=q.get("order", "oldest") == "newest",
        limit=_int(q.get("limit"), "limit", default=50),
    )
    return web.json_response(result)


@routes.post("/api/topics/{topic}/messages")
async def produce(request):
    body = await _body(request)
    partition = body.get("partition")
    console, name = _console(request), request.match_info["topic"]
    console.access.check_topic(AclOperation.WRITE, name)
    result = browse.produce(
        console.broker,
        name,
        key=body.get("key"),
        value=body.get("value"),
        headers=body.get("headers") or [],
        partition=None if partition in (None, "", -1) else _int(partition, "partition", minimum=0),
    )
    return web.json_response(result, status=201)


async def _sse_start(request) -> web.StreamResponse:
    resp = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )
    await resp.prepare(request)
    return resp


async def _sse_send(resp, data, event: str | None = None, event_id: str | None = None) -> None:
    head = (f"event: {event}\n" if event else "") + (f"id: {event_id}\n" if event_id is not None else "")
    await resp.write(f"{head}data: {json.dumps(data, separators=(',', ':'))}\n\n".encode())


@routes.get("/api/topics/{topic}/partitions/{partition}/tail")
async def tail(request):
    """SSE: each new record of one partition, from ``from`` (default: the high watermark).

    Each record's event id is the offset after it, so a browser that reconnects (sending
    ``Last-Event-ID``) resumes where it was: no record is lost or shown twice."""
    console = _console(request)
    broker = console.broker
    name = request.match_info["topic"]
    index = _int(request.match_info["partition"], "partition", minimum=0)
    console.access.check_topic(AclOperation.READ, name)
    part = broker.replica_manager.get(name, index)
    if part is None:
        raise ConsoleError(404, f"Partition {name}-{index} does not exist.")
    resume = request.headers.get("Last-Event-ID")
    offset = _int(resume or request.query.get("from"), "from", default=part.log.high_watermark)
    resp = await _sse_start(request)
    stop = console.closing
    loop = asyncio.get_running_loop()
    rm = broker.replica_manager
    keys = [(name, index)]
    try:
        await _sse_send(resp, {"from": offset}, "start")
        while not stop.is_set():
            part = rm.get(name, index)
            if part is None:
                await _sse_send(resp, {"error": f"Partition {name}-{index} is gone."}, "error")
                break
            plog = part.log
            if offset < plog.log_start_offset:
                offset = plog.log_start_offset
            if offset < plog.high_watermark:
                records, offset = browse.read_range(plog, index, offset, plog.high_watermark, 100)
                for r in records:
                    await _sse_send(resp, r, "record", str(r["offset"] + 1))
                continue
            fut = rm.wait_for_data(keys, loop)
            stopper = asyncio.ensure_future(stop.wait())
            try:
                done, _ = await asyncio.wait({fut, stopper}, timeout=_KEEPALIVE_S, return_when=asyncio.FIRST_COMPLETED)
            finally:
                stopper.cancel()
                if not fut.done():
                    rm.forget_waiter(keys, fut)
                    fut.cancel()
            if not done:
                await resp.write(b": keepalive\n\n")
    except (ConnectionResetError, ConnectionError):
        pass
    return resp


@routes.get("/api/topics/{topic}/explorer")
async def explorer(request):
    per = _int(request.query.get("per_partition"), "per_partition", default=60)
    console, name = _console(request), request.match_info["topic"]
    console.access.check_topic(AclOperation.READ, name)
    return web.json_response(browse.explore(console.broker, name, per))


@routes.get("/api/partitioner")
async def partitioner(request):
    q = request.query
    if "key" not in q:
        raise ConsoleError(400, "Give a key.")
    n = q.get("partitions")
    if n in (None, ""):
        topic, console = q.get("topic"), _console(request)
        count = console.num_partitions(topic) if topic and console.access.visible_topics([topic]) else 0
        if not count:
            raise ConsoleError(400, "Give partitions=N or an existing topic.")
    else:
        count = _int(n, "partitions", minimum=1)
    result = browse.partition_for_key(q["key"].encode("utf-8"), count)
    result["key"] = q["key"]
    return web.json_response(result)


# --- groups --------------------------------------------------------------------------------------


@routes.get("/api/groups")
async def groups(request):
    return web.json_response({"groups": await _console(request).groups.list()})


@routes.get("/api/groups/{group}")
async def group(request):
    """The group as the coordinator describes it, with lag, and ``history`` ([{t, lag}]) for its chart."""
    console = _console(request)
    desc = await console.groups.describe(request.match_info["group"])
    desc["history"] = console.sampler.lag_history(desc["group_id"], desc["total_lag"])
    return web.json_response(desc)


@routes.post("/api/groups/{group}/reset")
async def reset_group(request):
    body = await _body(request)
    if not body.get("topic"):
        raise ConsoleError(400, "Choose the topic whose offsets to reset.")
    partitions = body.get("partitions") or None
    if partitions is not None and not isinstance(partitions, list):
        raise ConsoleError(400, "partitions must be a list of partition numbers.")
    result = await _console(request).groups.reset(
        request.match_info["group"], body["topic"], partitions, body.get("to", "earliest"), body.get("value")
    )
    return web.json_response(result)


# --- simulator -----------------------------------------------------------------------------------


@routes.get("/api/simulator")
async def simulator(request):
    """The snapshot, plus the topic the page offers: ``default_topic`` and the partitions it is created with."""
    from kavka.console.simulator import DEFAULT_PARTITIONS, DEFAULT_TOPIC

    snapshot = _console(request).sim_snapshot()
    return web.json_response({**snapshot, "default_topic": DEFAULT_TOPIC, "default_partitions": DEFAULT_PARTITIONS})


def _sim_topic(console: Console, body: dict) -> str:
    topic = body.get("topic") or ""
    if not console.num_partitions(topic) or not console.access.visible_topics([topic]):
        raise ConsoleError(404, f"Topic {topic!r} does not exist; create it first.")
    return topic


@routes.post("/api/simulator/producers")
async def sim_producer(request):
    console = _console(request)
    body = await _body(request)
    topic = _sim_topic(console, body)
    keys = body.get("keys") or []
    if isinstance(keys, str):
        keys = [k.strip() for k in keys.split(",") if k.strip()]
    try:
        created = console.ensure_simulator().add_producer(topic, body.get("rate") or 5, [str(k) for k in keys])
    except (ValueError, TypeError) as e:
        raise ConsoleError(400, str(e)) from None
    return web.json_response(created, status=201)


@routes.post("/api/simulator/consumers")
async def sim_consumer(request):
    console = _console(request)
    body = await _body(request)
    topic = _sim_topic(console, body)
    rate = body.get("rate")
    try:
        created = console.ensure_simulator().add_consumer(
            topic, str(body.get("group") or "simulator"), 0 if rate in (None, "") else rate
        )
    except (ValueError, TypeError) as e:
        raise ConsoleError(400, str(e)) from None
    return web.json_response(created, status=201)


async def _join(console: Console, clients) -> None:
    loop = asyncio.get_running_loop()
    await asyncio.gather(*(loop.run_in_executor(None, c.thread.join, 10) for c in clients))
    if console.simulator is not None:
        console.simulator.forget_stopped()


@routes.delete("/api/simulator/clients/{id}")
async def sim_stop(request):
    console = _console(request)
    cid = _int(request.match_info["id"], "id", minimum=1)
    if console.simulator is None:
        raise ConsoleError(404, f"No simulated client {cid}.")
    try:
        client = console.simulator.stop_client(cid)
    except KeyError:
        raise ConsoleError(404, f"No simulated client {cid}.") from None
    await _join(console, [client])
    return web.json_response(console.sim_snapshot())


@routes.delete("/api/simulator")
async def sim_stop_all(request):
    console = _console(request)
    if console.simulator is not None:
        clients = console.simulator.stop_all()
        running = any(c.thread.is_alive() for c in clients)
        await _join(console, clients)
        if running:  # the log says what happened, not that nothing was stopped
            console.simulator.event("stop", "all simulated clients stopped")
    return web.json_response(console.sim_snapshot())


# --- cluster -------------------------------------------------------------------------------------


@routes.get("/api/cluster")
async def cluster(request):
    console = _console(request)
    view = await cluster_mod.cluster_view(console.broker, console.control)
    return web.json_response(console.access.visible_view(view))


@routes.get("/api/cluster/local")
async def cluster_local(request):
    return web.json_response(cluster_mod.local_view(_console(request).broker))


@routes.get("/api/cluster/partitions/{topic}/{partition}")
async def replication_panel(request):
    console = _console(request)
    topic = request.match_info["topic"]
    index = _int(request.match_info["partition"], "partition", minimum=0)
    view = console.access.visible_view(await cluster_mod.cluster_view(console.broker, console.control))
    panel = cluster_mod.replication_panel(view, topic, index)
    if panel is None:
        raise ConsoleError(404, f"Partition {topic}-{index} does not exist.")
    return web.json_response(panel)


@routes.get("/api/cluster/nodes")
async def cluster_nodes(request):
    console = _console(request)
    if console.control is None:
        raise not_controllable()
    return web.json_response({"nodes": console.control.nodes()})


@routes.post("/api/cluster/nodes/{node}/{action}")
async def cluster_act(request):
    console = _console(request)
    console.access.check_cluster_alter()  # first, as Kafka authorizes before it looks at the request
    if console.control is None:
        raise not_controllable()
    node = _int(request.match_info["node"], "node", minimum=0)
    answer, own_signal = console.control.act(node, request.match_info["action"])
    if own_signal is not None:  # this very node: answer first, then act
        import os

        asyncio.get_running_loop().call_later(0.2, os.kill, os.getpid(), own_signal)
    return web.json_response(answer, status=202)


# --- live stream and metrics ---------------------------------------------------------------------


@routes.get("/api/events")
async def events(request):
    console = _console(request)
    channels = {c for c in request.query.get("channels", "overview").split(",") if c}
    if len(channels) > 8:
        raise ConsoleError(400, "At most 8 channels per stream.")
    sub = Subscriber(channels)
    if "sim" in channels and console.simulator is not None:
        sub.sim_seq = max(0, console.simulator.state()["last_event"] - 50)
    sampler = console.sampler
    resp = await _sse_start(request)
    sampler.subscribers.add(sub)
    if console.closing.is_set():
        sub.close()  # shutdown began after the sampler told its subscribers to end
    try:
        await resp.write(b"retry: 2000\n\n")
        while True:
            try:
                async with asyncio.timeout(_KEEPALIVE_S):
                    tick = await sub.queue.get()
            except TimeoutError:
                await resp.write(b": keepalive\n\n")
                continue
            if tick is None:
                break
            await _sse_send(resp, tick, "tick")
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        sampler.subscribers.discard(sub)
    return resp


@routes.get("/metrics")
async def metrics(request):
    from kavka.console.metrics import CONTENT_TYPE

    console = _console(request)
    groups = await console.groups.snapshot()
    body = console.metrics().render(groups)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE})


def add_routes(app: web.Application) -> None:
    app.add_routes(routes)
