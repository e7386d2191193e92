"""The web console: an aiohttp application served inside the broker process.

``runner = await start_console(server, config)`` binds ``console.listener`` (default
``http://127.0.0.1:8080``; port 0 picks a free one; empty disables the console and returns None) and
serves the pages, the JSON API under ``/api/``, the live stream and ``/metrics``;
``await runner.stop()`` (or :func:`stop_console`) ends streams, stops simulated clients and closes
the listener. Everything runs on the broker's event loop and reads its state in process.

Safety, since the console can delete topics:

- a listener on a non-loopback address refuses to start unless ``console.auth`` (``user:password``)
  is set; when it is set, every path (``/metrics`` too) needs HTTP basic auth;
- an open console (loopback, no auth) only answers requests whose ``Host`` is a loopback name, so a
  web page cannot reach it through DNS rebinding;
- changes (POST/PUT/PATCH/DELETE) need ``Content-Type: application/json`` (415 otherwise, with or
  without a body) and, when the browser sends an ``Origin``, this console's own (403 for another site
  and for ``Origin: null``), so no other page -- not even a sandboxed or ``data:`` one -- can change
  anything.

aiohttp is imported here, and this module is imported only when the console starts: ``kavka serve
--no-console`` never loads it.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import logging
from urllib.parse import urlsplit

from aiohttp import web

from kavka.console.groups import GroupsView
from kavka.console.listener import (  # noqa: F401 - ConsoleConfigError, is_loopback, parse_listener re-exported
    LOOPBACK_NAMES,
    ConsoleConfigError,
    check_console_config,
    is_loopback,
    parse_listener,
)
from kavka.console.live import Sampler
from kavka.console.state import ConsoleError

__all__ = [
    "start_console",
    "stop_console",
    "build_app",
    "ConsoleRunner",
    "ConsoleConfigError",
    "parse_listener",
    "is_loopback",
    "CONSOLE_KEY",
]

log = logging.getLogger(__name__)

CONSOLE_KEY: web.AppKey = web.AppKey("kavka_console", object)
_LOOPBACK_NAMES = LOOPBACK_NAMES
_MUTATING = {"POST", "PUT", "PATCH", "DELETE"}


class Console:
    """What the handlers share: the server, its principal (``access``), groups adapter, simulator,
    sampler, metrics."""

    def __init__(self, server, *, auth: str | None, open_hosts: set[str]):
        self.server = server
        self.auth = auth
        self.open_hosts = open_hosts
        from kavka.console.access import ConsoleAccess

        # who the console acts as: its pages' actions are authorized as this principal (console/access.py)
        self.access = ConsoleAccess(server)
        self.groups = GroupsView(server, self.access)
        self.simulator = None
        self.sampler = Sampler(self)
        self._metrics = None
        from kavka.console.control import ClusterControl

        self.control = ClusterControl.discover(server.broker.node_id)  # None unless `kavka cluster up` ran us
        # Set once on shutdown; every stream ends on it. One event, not one per stream, so a stream
        # whose request was already being read when shutdown began still sees it and ends at once.
        self.closing = asyncio.Event()

    @property
    def broker(self):
        return self.server.broker

    def metrics(self):
        if self._metrics is None:
            from kavka.console.metrics import MetricsEndpoint

            self._metrics = MetricsEndpoint(self.server)
        return self._metrics

    def ensure_simulator(self):
        if self.simulator is None:
            from kavka.console.clientconfig import ConsoleClientError, client_settings
            from kavka.console.simulator import Simulator

            config = self.server.config
            controllers = {n.upper() for n in config.controller_listener_names}
            bound = [b for b in self.server.bound if b[0].upper() not in controllers]
            try:  # console.client.listener / console.client.config: where and as whom its clients connect
                bootstrap, client_conf = client_settings(config, bound)
            except ConsoleClientError as e:
                raise ConsoleError(500, str(e)) from None
            self.simulator = Simulator(bootstrap, client_conf)
        return self.simulator

    def num_partitions(self, topic: str) -> int:
        t = self.broker.image.topics_by_name.get(topic)
        return len(t.partitions) if t is not None else 0

    def sim_snapshot(self) -> dict:
        sim = self.simulator
        if sim is None:
            return {"producers": [], "consumers": [], "partitions": {}, "groups": []}
        state = sim.state()
        rm = self.broker.replica_manager
        topics = {c["topic"] for c in state["producers"] + state["consumers"]}
        partitions = {}
        for topic in sorted(topics):
            rows = {}
            for index in range(self.num_partitions(topic)):
                p = rm.get(topic, index)
                if p is not None:
                    rows[index] = {"high_watermark": p.log.high_watermark, "log_start_offset": p.log.log_start_offset}
            partitions[topic] = rows
        groups = {}
        for c in state["consumers"]:
            rows = partitions.get(c["topic"], {})
            lag = {}
            for index in c["assigned"]:
                row = rows.get(index)
                if row is not None:
                    pos = c["positions"].get(
                        index, sim.committed(c["group"], c["topic"], index, row["log_start_offset"])
                    )
                    lag[index] = max(0, row["high_watermark"] - pos)
            c["lag"] = lag
            c["total_lag"] = sum(lag.values())
            if c["running"]:
                g = groups.setdefault(
                    (c["group"], c["topic"]), {"group": c["group"], "topic": c["topic"], "members": []}
                )
                g["members"].append(c["id"])
        for (group, topic), g in groups.items():
            total = 0
            committed = {}
            for index, row in partitions.get(topic, {}).items():
                pos = sim.committed(group, topic, index, row["log_start_offset"])
                committed[index] = pos
                total += max(0, row["high_watermark"] - pos)
            g.update(committed=committed, lag=total)
        state["partitions"] = partitions
        state["groups"] = list(groups.values())
        return state


# --- middlewares ---------------------------------------------------------------------------------


def _wants_json(request: web.Request) -> bool:
    return request.path.startswith("/api/") or request.path == "/metrics"


@web.middleware
async def _guard(request: web.Request, handler):
    console: Console = request.app[CONSOLE_KEY]
    if console.auth is not None:
        if not _authorized(request.headers.get("Authorization"), console.auth):
            return web.Response(
                status=401,
                text="Authentication required.\n",
                headers={"WWW-Authenticate": 'Basic realm="Kavka console", charset="UTF-8"'},
            )
    else:
        try:
            host = urlsplit("//" + (request.host or "")).hostname or ""
        except ValueError:
            host = "?"
        if host not in console.open_hosts:
            return web.Response(
                status=403,
                text="This console answers only on loopback host names; set console.auth to serve it on other names.\n",
            )
    if request.method in _MUTATING:
        refusal = _refuse_change(request)
        if refusal is not None:
            return refusal
    return await handler(request)


def _refuse_change(request: web.Request) -> web.Response | None:
    """Why a change (POST/PUT/PATCH/DELETE) is refused, or None to let it through.

    A browser sends ``Origin: null`` from a sandboxed frame, a ``data:`` or ``file:`` page or after a
    cross-origin redirect: the page's site is unknown, so it may not change anything. A change must
    also say ``Content-Type: application/json`` (with a body or without): a browser sends that type
    cross-origin only after a CORS preflight, which this console never grants, so no page of another
    origin can submit one."""
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin.strip().lower() == "null":
            return _error(
                request,
                403,
                "Changes from a page with no origin (Origin: null, e.g. a sandboxed or data: page) are refused.",
            )
        if urlsplit(origin).netloc != request.host:
            return _error(request, 403, "Cross-origin requests may not change anything.")
    if request.content_type != "application/json":
        return _error(request, 415, "Send changes as JSON (Content-Type: application/json).")
    return None


def _authorized(header: str | None, expected: str) -> bool:
    if not header or not header.lower().startswith("basic "):
        return False
    try:
        given = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def _error(request: web.Request, status: int, message: str) -> web.Response:
    if _wants_json(request):
        return web.json_response({"error": message}, status=status)
    from kavka.console.pages import error_page

    return web.Response(status=status, text=error_page(status, message), content_type="text/html")


@web.middleware
async def _errors(request: web.Request, handler):
    try:
        return await handler(request)
    except ConsoleError as e:
        return _error(request, e.status, e.message)
    except web.HTTPException as e:
        if e.status >= 400 and e.status != 401:
            return _error(request, e.status, e.reason if e.status != 404 else f"Nothing at {request.path}.")
        raise
    except (ConnectionResetError, asyncio.CancelledError):
        raise
    except Exception as e:  # noqa: BLE001 - a message for the page, the stack for the log
        log.exception("console request %s %s failed", request.method, request.path)
        return _error(request, 500, f"Internal error: {type(e).__name__}: {e}")


@web.middleware
async def _headers(request: web.Request, handler):
    resp = await handler(request)
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Referrer-Policy", "no-referrer")
    if resp.content_type == "text/html":
        resp.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
    return resp


# --- app -----------------------------------------------------------------------------------------


def build_app(server, *, auth: str | None = None, open_hosts: set[str] | None = None) -> web.Application:
    from kavka.console import api, pages

    app = web.Application(middlewares=[_headers, _guard, _errors], client_max_size=4 * 1024 * 1024)
    console = Console(server, auth=auth, open_hosts=open_hosts or {"127.0.0.1", "::1", *_LOOPBACK_NAMES})
    app[CONSOLE_KEY] = console
    pages.add_routes(app)
    api.add_routes(app)

    async def on_startup(_app):
        console.sampler.start()

    async def on_shutdown(_app):
        await shutdown_console(console)

    app.on_startup.append(on_startup)
    app.on_shutdown.append(on_shutdown)
    return app


async def shutdown_console(console: Console) -> None:
    console.closing.set()
    await console.sampler.stop()
    sim = console.simulator
    if sim is not None:
        clients = sim.stop_all()
        loop = asyncio.get_running_loop()
        await asyncio.gather(*(loop.run_in_executor(None, c.thread.join, 10) for c in clients))


class ConsoleRunner:
    """A started console: ``url``, ``host``, ``port``; ``await stop()``."""

    def __init__(self, runner: web.AppRunner, host: str, port: int, app: web.Application):
        self._runner = runner
        self.host = host
        self.port = port
        self.app = app
        shown = host if host not in ("", "0.0.0.0", "::") else "127.0.0.1"
        self.url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{port}"

    @property
    def console(self) -> Console:
        return self.app[CONSOLE_KEY]

    async def stop(self) -> None:
        await self._runner.cleanup()


async def start_console(server, config=None, *, listener: str | None = None) -> ConsoleRunner | None:
    """Serve the console for ``server`` (started) on ``console.listener`` (or ``listener``).

    Returns None when the listener is empty (console disabled). Raises ConsoleConfigError for a bad
    listener or a non-loopback one without ``console.auth``, OSError when the port cannot be bound.
    """
    config = config if config is not None else server.config
    checked = check_console_config(config, listener)
    if checked is None:
        return None
    host, port, auth = checked
    open_hosts = {"127.0.0.1", "::1", *_LOOPBACK_NAMES}
    if host:
        open_hosts.add(host.lower())
    app = build_app(server, auth=auth, open_hosts=open_hosts)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, host or None, port, reuse_address=True)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound_port = port
    for addr in runner.addresses:
        if isinstance(addr, tuple):
            bound_port = addr[1]
            break
    result = ConsoleRunner(runner, host, bound_port, app)
    log.info("console on %s", result.url)
    return result


async def stop_console(runner: ConsoleRunner | None) -> None:
    if runner is not None:
        await runner.stop()
