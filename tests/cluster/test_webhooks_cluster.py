"""Webhooks in cluster mode: two nodes on one PostgreSQL outbox (SKIP LOCKED claims, leases).

Each delivery goes out once while both nodes claim from the same table, and what a dead node
held is taken over by the other once its lease runs out.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from chatd.client import CustomerClient
from chatd.service.deliveries import LEASE_S
from tests.cluster.conftest import two_nodes
from tests.support.server import RunningServer, free_port

HOOK_SECRET = "cluster-hook-secret-0123456789"


@dataclass
class Receiver:
    """Records calls; while ``hold`` is set, calls hang until :meth:`release` (then 503)."""

    port: int = field(default_factory=free_port)
    hold: bool = False
    released: asyncio.Event = field(default_factory=asyncio.Event)
    accepted: list[dict[str, Any]] = field(default_factory=list)
    calls: int = 0
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls += 1
        if self.hold:
            await self.released.wait()
            return web.Response(status=503)
        self.accepted.append(body)
        return web.Response(status=204)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    def release(self) -> None:
        self.hold = False
        self.released.set()

    def texts(self) -> list[str]:
        return [m["data"]["text"] for m in self.accepted if m["type"] == "message.created"]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        r.release()
        assert r.runner is not None
        await r.runner.cleanup()


@pytest.fixture
def nodes(
    tmp_path: Path, postgres_server_url: str, redis_server_url: str, receiver: Receiver
) -> Any:
    hooks = (
        f'[[webhooks]]\nurl = "{receiver.url}"\nsecret = "{HOOK_SECRET}"\n'
        "max_retry_interval_s = 0.5\n"
    )
    with two_nodes(tmp_path, postgres_server_url, redis_server_url, hooks) as started:
        yield started


async def until(condition: Callable[[], bool], within: float) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _talk(node: RunningServer, prefix: str, count: int) -> CustomerClient:
    customer = await CustomerClient.connect(node.ws_url)
    for i in range(count):
        await customer.say(f"{prefix} {i}", cid=f"{prefix}{i}")
    acked = 0
    while acked < count:
        await customer.wait_for("ack")
        acked += 1
    return customer


async def test_two_nodes_deliver_each_event_once(
    nodes: list[RunningServer], receiver: Receiver
) -> None:
    """Both nodes claim from one outbox; every event arrives, none twice."""
    customers = await asyncio.gather(
        *(_talk(node, f"n{i}", 40) for i, node in enumerate(nodes, start=1))
    )
    want = {f"n{n} {i}" for n in (1, 2) for i in range(40)}
    await until(lambda: want <= set(receiver.texts()), within=20)
    await asyncio.sleep(1.0)
    ids = [m["id"] for m in receiver.accepted]
    assert len(ids) == len(set(ids)), "an event was delivered twice"
    for customer in customers:
        await customer.close()


async def test_a_dead_nodes_deliveries_are_taken_over(
    nodes: list[RunningServer], receiver: Receiver
) -> None:
    """Items a killed node held (in flight) are sent by the other node after the lease."""
    receiver.hold = True
    customer = await _talk(nodes[0], "held", 10)
    await until(lambda: receiver.calls >= 3, within=10)  # node 1 (at least) holds some
    nodes[0].kill()
    receiver.release()
    want = {f"held {i}" for i in range(10)}
    await until(lambda: want <= set(receiver.texts()), within=LEASE_S + 15)
    await customer.close()
