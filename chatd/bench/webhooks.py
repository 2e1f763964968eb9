"""``chatd bench webhooks``: what webhooks cost and how fast they arrive.

The same paced load runs twice on fresh chatd servers (SQLite): customers waiting in the queue
send ``messages`` chat messages at ``rate`` per second, first with no webhook, then with one
``[[webhooks]]`` receiver (aiohttp, in this process, answering 204). Reported:

* ``latency_p50_ms`` / ``latency_p99_ms``: from the event's ``created_at`` (chatd's clock, the
  moment the message was taken) to the receiver reading the call, over every delivered event;
* ``server_cpu_us_per_msg`` with webhooks off and on: chatd's CPU time (user + system) from the
  first message until every message is acknowledged (and, with webhooks on, every call has
  been received), divided by the messages sent.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from aiohttp import web

from chatd.bench.procs import free_port, install_loop, start_chatd
from chatd.bench.scenarios import BenchOptions
from chatd.client import CustomerClient

__all__ = ["run_webhooks"]

#: Customers the messages are spread over (each waits in the queue: no bot answers).
_CUSTOMERS = 10
#: Messages per second, paced: a steady production-like flow, not a saturation test.
_RATE = 100.0
_SECRET = "bench-webhook-secret-0123456789"


class _Receiver:
    """Keeps each call's arrival time against the event's creation time."""

    def __init__(self) -> None:
        self.port = free_port()
        self.latencies_s: list[float] = []
        self.runner: web.AppRunner | None = None

    async def handle(self, request: web.Request) -> web.Response:
        body = json.loads(await request.read())
        if body["type"] == "message.created" and body["data"].get("author") == "customer":
            self.latencies_s.append(time.time() - body["created_at"])
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


async def _load(ws_url: str, messages: int, receiver: _Receiver | None) -> float:
    """Send the paced messages; seconds from the first send until all is acknowledged (and
    delivered). Returns the measured window; CPU is read around it by the caller."""
    customers = [await CustomerClient.connect(ws_url) for _ in range(_CUSTOMERS)]
    for customer in customers:
        await customer.action("request_human")
        await customer.wait_for("queued")
    start = time.monotonic()
    for i in range(messages):
        delay = start + i / _RATE - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await customers[i % _CUSTOMERS].say(f"bench message {i}")
    for n, customer in enumerate(customers):
        for _ in range(len(range(n, messages, _CUSTOMERS))):
            await customer.wait_for("ack", timeout=60)
    if receiver is not None:
        deadline = time.monotonic() + 60
        while len(receiver.latencies_s) < messages:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(receiver.latencies_s)}/{messages} delivered")
            await asyncio.sleep(0.01)
    elapsed = time.monotonic() - start
    for customer in customers:
        await customer.close()
    return elapsed


def _one_run(opts: BenchOptions, work_dir: Path, messages: int, hooks: bool) -> dict[str, Any]:
    receiver = _Receiver() if hooks else None
    extra = ""
    if receiver is not None:
        extra = (
            f'\n[[webhooks]]\nurl = "http://127.0.0.1:{receiver.port}/hook"\n'
            f'secret = "{_SECRET}"\nevents = ["message.created"]\n'
        )
    work_dir.mkdir(parents=True, exist_ok=True)
    server = start_chatd(work_dir, loop=opts.loop, extra_config=extra)
    try:

        async def measured() -> tuple[float, float]:
            if receiver is not None:
                await receiver.start()
            try:
                cpu_before = server.cpu_seconds()
                elapsed = await _load(server.ws_url, messages, receiver)
                return elapsed, server.cpu_seconds() - cpu_before
            finally:
                if receiver is not None:
                    await receiver.stop()

        elapsed, cpu_s = asyncio.run(measured())
    finally:
        server.stop()
    out: dict[str, Any] = {
        "elapsed_s": round(elapsed, 2),
        "server_cpu_us_per_msg": round(cpu_s / messages * 1e6, 1),
    }
    if receiver is not None:
        ordered = sorted(receiver.latencies_s)
        out["latency_p50_ms"] = round(ordered[len(ordered) // 2] * 1000, 2)
        out["latency_p99_ms"] = round(
            ordered[min(len(ordered) - 1, len(ordered) * 99 // 100)] * 1000, 2
        )
        out["delivered"] = len(ordered)
    return out


def run_webhooks(opts: BenchOptions) -> dict[str, Any]:
    """Webhooks off, then on, under the same paced load; latency and CPU per message."""
    install_loop(opts.loop)
    messages = opts.connections or (200 if opts.quick else 500)
    off = _one_run(opts, opts.work_dir / "webhooks-off", messages, hooks=False)
    on = _one_run(opts, opts.work_dir / "webhooks-on", messages, hooks=True)
    return {
        "scenario": "webhooks",
        "backend": opts.backend,
        "messages": messages,
        "rate_per_s": _RATE,
        "customers": _CUSTOMERS,
        "delivered": on["delivered"],
        "latency_p50_ms": on["latency_p50_ms"],
        "latency_p99_ms": on["latency_p99_ms"],
        "server_cpu_us_per_msg_off": off["server_cpu_us_per_msg"],
        "server_cpu_us_per_msg_on": on["server_cpu_us_per_msg"],
        "cpu_per_msg_ratio": round(
            on["server_cpu_us_per_msg"] / max(off["server_cpu_us_per_msg"], 1e-9), 2
        ),
    }
