"""Screenshots of every console page with headless Chromium, for eyes (not a test; needs `chromium`).

    .venv/bin/python -m tests.console.shoot [OUT_DIR]     # from the repository root

Starts an in-process broker with the console, fills it with a little data (confluent-kafka), starts
the simulator, then drives Chromium over the DevTools protocol (aiohttp's websocket client: no
Playwright or Selenium needed), saves one PNG per page and prints the page's JavaScript errors.
Install Chromium with ``apt-get install -y chromium``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

PAGES = [
    ("/", "overview", 1100),
    ("/topics", "topics", 900),
    ("/topics/orders", "topic", 1300),
    ("/messages?topic=orders&partition=0", "messages", 1400),
    ("/groups", "groups", 500),
    ("/groups/sim", "group", 1250),
    ("/explorer?topic=orders", "explorer", 1000),
    ("/simulator", "simulator", 1450),
]


class Tab:
    def __init__(self, ws):
        self.ws, self.n, self.pending, self.events = ws, 0, {}, []

    async def read(self):
        async for msg in self.ws:
            data = json.loads(msg.data)
            fut = self.pending.pop(data.get("id"), None)
            if fut is not None:
                fut.set_result(data)
            else:
                self.events.append(data)

    async def call(self, method, **params):
        self.n += 1
        fut = asyncio.get_running_loop().create_future()
        self.pending[self.n] = fut
        await self.ws.send_str(json.dumps({"id": self.n, "method": method, "params": params}))
        res = await asyncio.wait_for(fut, 30)
        if "error" in res:
            raise RuntimeError(res["error"])
        return res["result"]

    async def js(self, expr):
        return (await self.call("Runtime.evaluate", expression=expr, awaitPromise=True, returnByValue=True))[
            "result"
        ].get("value")

    async def shot(self, path, height):
        await self.call(
            "Emulation.setDeviceMetricsOverride", width=1280, height=height, deviceScaleFactor=1, mobile=False
        )
        data = (await self.call("Page.captureScreenshot", format="png"))["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def errors(self):
        out = [
            e["params"]["exceptionDetails"].get("exception", {}).get("description", "?")
            for e in self.events
            if e.get("method") == "Runtime.exceptionThrown"
        ]
        out += [
            e["params"]["entry"]["text"]
            for e in self.events
            if e.get("method") == "Log.entryAdded" and e["params"]["entry"]["level"] == "error"
        ]
        self.events.clear()
        return out


async def shoot(base: str, out: Path, port: int = 9333) -> None:
    import aiohttp

    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        raise SystemExit("chromium is not installed (apt-get install -y chromium)")
    profile = tempfile.mkdtemp()
    proc = subprocess.Popen(
        [
            exe,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-extensions",
            "--disable-sync",
            "--no-first-run",
            "--hide-scrollbars",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            f"--remote-debugging-port={port}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                targets = json.load(urllib.request.urlopen(f"http://127.0.0.1:{port}/json"))
                break
            except OSError:
                await asyncio.sleep(0.1)
        page = next(t for t in targets if t["type"] == "page")
        async with aiohttp.ClientSession() as session:
            ws = await session.ws_connect(page["webSocketDebuggerUrl"], max_msg_size=0)
            tab = Tab(ws)
            reader = asyncio.ensure_future(tab.read())
            for domain in ("Page", "Runtime", "Log"):
                await tab.call(f"{domain}.enable")
            for path, name, height in PAGES:
                await tab.call("Page.navigate", url=base + path)
                await asyncio.sleep(3)
                await tab.shot(out / f"{name}.png", height)
                print(f"{out / (name + '.png')}: errors {tab.errors()}")
            reader.cancel()
    finally:
        proc.terminate()
        shutil.rmtree(profile, ignore_errors=True)


def main() -> None:
    from confluent_kafka import Producer

    from kavka.testing.embedded import EmbeddedBroker
    from tests.console.consolelib import ConsoleEnv, start_console_for

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "console-screenshots")
    out.mkdir(parents=True, exist_ok=True)
    with EmbeddedBroker(tempfile.mkdtemp()) as broker:
        env = ConsoleEnv(broker, start_console_for(broker))
        env.create_topic("orders", 3)
        env.create_topic("simulator-orders", 3)  # the simulator's own topic
        env.create_topic("payments", 2, {"cleanup.policy": "compact"})
        p = Producer({"bootstrap.servers": env.bootstrap, "partitioner": "murmur2_random"})
        for i in range(60):
            p.produce(
                "orders",
                key=["alice", "bob", "carol", "dave", "erin"][i % 5],
                value=json.dumps({"order": i, "amount": i * 3.5}),
                headers=[("source", b"demo")],
            )
        for i in range(10):
            p.produce("payments", key=f"p{i}", value=bytes(range(i, i + 12)))
        p.flush(10)
        sim = {"topic": "simulator-orders", "group": "sim", "rate": 3}
        env.send(
            "POST", "/api/simulator/producers", {"topic": "simulator-orders", "rate": 8, "keys": "alice,bob,carol"}
        )
        env.send("POST", "/api/simulator/consumers", sim)
        time.sleep(2)
        env.send("POST", "/api/simulator/consumers", sim)
        time.sleep(2)
        try:
            asyncio.run(shoot(env.url, out))
        finally:
            env.run(env.runner.stop())


if __name__ == "__main__":
    main()
