"""Webhooks against a real HTTP receiver (aiohttp on a free port): types, body, signature,
at-least-once through failures, and kill -9 of chatd with deliveries pending."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from chatd.client import CustomerClient
from chatd.store.accounts import AuditFilter
from tests.support.harness import Harness
from tests.support.server import free_port, start_server

SECRET = "receiver-secret-0123456789"
SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


@dataclass
class Call:
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Receiver:
    """A webhook receiver: records every call; answers ``status`` (after ``delay_s``)."""

    port: int = field(default_factory=free_port)
    status: int = 200
    delay_s: float = 0.0
    #: Fail this many calls first (with 500), then answer ``status``.
    fail_first: int = 0
    calls: list[Call] = field(default_factory=list)
    accepted: list[Call] = field(default_factory=list)
    received_at: dict[str, float] = field(default_factory=dict)
    runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        call = Call(dict(request.headers), await request.read())
        self.calls.append(call)
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        if self.fail_first > 0:
            self.fail_first -= 1
            return web.Response(status=500, text="busy")
        if not 200 <= self.status < 300:
            return web.Response(status=self.status)
        self.accepted.append(call)
        self.received_at.setdefault(call.headers["Chatd-Delivery"], time.time())
        return web.Response(status=self.status)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/hook", self.handle)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()
            self.runner = None

    def of_type(self, type_: str) -> list[dict[str, Any]]:
        return [c.json for c in self.accepted if c.json["type"] == type_]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start()
    try:
        yield r
    finally:
        await r.stop()


@pytest.fixture
def settings(receiver: Receiver) -> dict[str, Any]:
    return {"webhooks": [{"url": receiver.url, "secret": SECRET, "max_retry_interval_s": 0.5}]}


async def until(condition: Callable[[], bool], within: float = 15.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


async def _drained(chatd: Harness, within: float = 5.0) -> None:
    """Wait until nothing is left in the outbox (an accepted call is forgotten just after)."""
    deadline = time.monotonic() + within
    while await chatd.service.store.outbox.count():
        assert time.monotonic() < deadline, "deliveries still queued"
        await asyncio.sleep(0.05)


def _verified(call: Call, secret: str = SECRET) -> bool:
    t, v1 = (part.split("=", 1)[1] for part in call.headers["Chatd-Signature"].split(","))
    expected = hmac.new(secret.encode(), f"{t}.".encode() + call.body, hashlib.sha256)
    return hmac.compare_digest(expected.hexdigest(), v1) and abs(time.time() - int(t)) < 60


async def test_a_chat_is_told_as_signed_typed_events(chatd: Harness, receiver: Receiver) -> None:
    """Creation, messages (secrets masked), handoff, assignment, close and CSAT each arrive as a
    signed call with the contract's headers and body."""
    customer = await chatd.customer()
    await customer.wait_for("message", author="bot")
    await customer.say(f"my seed is {SEED}", cid="m1")
    said_seq = (await customer.wait_for("ack"))["seq"]
    agent = await chatd.agent(await chatd.add_agent("Grace"))
    await customer.action("request_human")
    await agent.wait_for("chat_assigned")
    await agent.action("close", conversation_id=customer.conversation_id)
    await customer.wait_for("closed")
    await customer.action("csat", score=5)
    want = (
        "conversation.created",
        "conversation.handoff",
        "conversation.assigned",
        "conversation.closed",
        "csat.submitted",
    )
    await until(lambda: all(receiver.of_type(t) for t in want))
    for call in receiver.accepted:
        body = call.json
        assert call.headers["Content-Type"] == "application/json"
        assert call.headers["Chatd-Event"] == body["type"]
        assert call.headers["Chatd-Delivery"] == body["id"]
        assert _verified(call)
        assert not _verified(call, "another-secret-0123456789")
        assert body["data"]["conversation_id"] == customer.conversation_id
        assert isinstance(body["created_at"], float) and isinstance(body["data"]["seq"], int)
    assert len({c.json["id"] for c in receiver.accepted}) == len(receiver.accepted)
    said = [m for m in receiver.of_type("message.created") if m["data"]["author"] == "customer"]
    assert said[0]["data"]["text"] == "my seed is [redacted:seed_phrase]"
    assert said[0]["data"]["seq"] == said_seq
    assert receiver.of_type("conversation.assigned")[0]["data"]["agent_name"] == "Grace"
    assert receiver.of_type("csat.submitted")[0]["data"]["score"] == 5
    for client in (customer, agent):
        await client.close()


async def test_a_receiver_gets_only_the_types_it_asked_for(
    tmp_path: Path, receiver: Receiver
) -> None:
    """``events`` narrows a receiver to those types; the others still get everything."""
    everything = Receiver()
    await everything.start()
    harness = Harness(
        tmp_path / "data",
        {
            "webhooks": [  # type: ignore[dict-item]
                {"url": receiver.url, "secret": SECRET, "events": ["ticket.created"]},
                {"url": everything.url, "secret": SECRET},
            ]
        },
    )
    await harness.start()
    try:
        customer = await harness.customer()
        await customer.action("request_human")
        await customer.wait_for("ticket_offered")
        await customer.action("create_ticket", contact="a@example.org", text="help")
        await customer.wait_for("ticket_created")
        await until(lambda: bool(everything.of_type("ticket.created")))
        await until(lambda: bool(receiver.accepted))
        await asyncio.sleep(0.5)
        assert [c.json["type"] for c in receiver.accepted] == ["ticket.created"]
        assert {"conversation.created", "message.created", "conversation.handoff"} <= {
            c.json["type"] for c in everything.accepted
        }
        # One event, one id, whoever receives it.
        assert receiver.accepted[0].json["id"] == everything.of_type("ticket.created")[0]["id"]
        await customer.close()
    finally:
        await harness.stop()
        await everything.stop()


async def test_a_failing_receiver_gets_the_same_delivery_again_until_it_accepts(
    chatd: Harness, receiver: Receiver
) -> None:
    """Non-2xx answers and timeouts are retried with the same id and body until a 2xx."""
    receiver.fail_first = 3
    customer = await chatd.customer()
    await until(lambda: bool(receiver.accepted), within=20)
    first_id = receiver.calls[0].headers["Chatd-Delivery"]
    tries = [c for c in receiver.calls if c.headers["Chatd-Delivery"] == first_id]
    assert len(tries) >= 2 and len({c.body for c in tries}) == 1
    await until(lambda: len(receiver.accepted) == 2)  # conversation.created, message.created
    await _drained(chatd)
    async with aiohttp.ClientSession() as http, http.get(f"{chatd.url}/metrics") as r:
        metrics = await r.text()
    assert 'chatd_deliveries_total{channel="webhook",outcome="failed"} 3.0' in metrics
    assert 'chatd_deliveries_total{channel="webhook",outcome="accepted"} 2.0' in metrics
    assert 'chatd_delivery_seconds_count{channel="webhook"} 2.0' in metrics
    await customer.close()


async def test_failing_deliveries_are_listed_and_kept(chatd: Harness, receiver: Receiver) -> None:
    """A receiver that keeps failing leaves its deliveries queued, listed as failing."""
    receiver.status = 503
    customer = await chatd.customer()
    await until(lambda: len(receiver.calls) >= 6)
    failing = await chatd.service.deliveries.failing()
    assert {item.type for item in failing} == {"conversation.created", "message.created"}
    assert all(item.last_error == "HTTP 503" for item in failing)
    receiver.status = 200
    await until(lambda: len(receiver.accepted) == 2)
    await customer.close()


async def test_operators_list_failing_deliveries_and_retry_one(
    chatd: Harness, receiver: Receiver
) -> None:
    """GET /api/deliveries?state=failing shows what keeps failing; POST .../retry sends it now."""
    receiver.status = 503
    operator = await chatd.add_agent("Olga", role="operator")
    agent = await chatd.add_agent("Pia")
    customer = await chatd.customer()
    await until(lambda: len(receiver.calls) >= 6)  # 3 attempts each: listed as failing
    async with aiohttp.ClientSession(base_url=chatd.url) as http:
        as_operator = {"Authorization": f"Bearer {operator}"}
        async with http.get("/api/deliveries?state=failing", headers=as_operator) as r:
            assert r.status == 200
            listed = (await r.json())["deliveries"]
        assert {d["type"] for d in listed} == {"conversation.created", "message.created"}
        assert all(d["last_error"] == "HTTP 503" and d["attempts"] >= 3 for d in listed)
        assert all(d["receiver"] == receiver.url and d["channel"] == "webhook" for d in listed)
        async with http.get("/api/deliveries", headers={"Authorization": f"Bearer {agent}"}) as r:
            assert r.status == 403
        async with http.get("/api/deliveries?state=done", headers=as_operator) as r:
            assert r.status == 400
        # Make the next attempt far away, then an operator's retry brings it forward.
        receiver.status = 200
        item = listed[0]
        due = time.time() + 3600
        assert await chatd.service.store.outbox.retry_now(item["id"], now=due)
        async with http.post(f"/api/deliveries/{item['id']}/retry", headers=as_operator) as r:
            assert r.status == 200
            assert (await r.json())["delivery"]["id"] == item["id"]
        await until(lambda: any(c.json["id"] == item["delivery_id"] for c in receiver.accepted))
        async with http.post("/api/deliveries/999999/retry", headers=as_operator) as r:
            assert r.status == 404
        async with http.post("/api/deliveries/abc/retry", headers=as_operator) as r:
            assert r.status == 400
    await customer.close()


async def test_an_operator_gives_up_on_a_delivery_and_it_is_audited(
    chatd: Harness, receiver: Receiver
) -> None:
    """DELETE /api/deliveries/{id}: the item is gone, not retried again, and the audit trail
    names who dropped what; agents may not; an unknown id is 404."""
    receiver.status = 503
    operator = await chatd.add_agent("Olga", role="operator")
    agent = await chatd.add_agent("Pia")
    customer = await chatd.customer()
    await until(lambda: len(receiver.calls) >= 6)
    [first, second] = sorted(
        await chatd.service.store.outbox.failing(min_attempts=1), key=lambda d: d.id
    )
    async with aiohttp.ClientSession(base_url=chatd.url) as http:
        path = f"/api/deliveries/{first.id}"
        async with http.delete(path, headers={"Authorization": f"Bearer {agent}"}) as r:
            assert r.status == 403
        async with http.delete(path, headers={"Authorization": f"Bearer {operator}"}) as r:
            assert r.status == 200
            assert (await r.json())["dropped"]["delivery_id"] == first.delivery_id
        async with http.delete(path, headers={"Authorization": f"Bearer {operator}"}) as r:
            assert r.status == 404
    assert [d.id for d in await chatd.service.store.outbox.failing(min_attempts=1)] == [second.id]
    receiver.status = 200
    await until(lambda: any(c.json["id"] == second.delivery_id for c in receiver.accepted))
    assert not any(c.json["id"] == first.delivery_id for c in receiver.accepted)
    [entry] = await chatd.service.store.accounts.list_audit(AuditFilter(action="delivery.dropped"))
    assert entry.actor == "Olga" and entry.target == f"webhook {first.type} to {receiver.url}"
    await customer.close()


CRASH_CONFIG = """
[limits]
messages_per_s = 1000.0
message_burst = 1000
[[webhooks]]
url = "{url}"
secret = "{secret}"
max_retry_interval_s = 0.5
"""


async def test_kill_9_with_deliveries_pending_loses_none(tmp_path: Path) -> None:
    """Deliveries queued (some in flight) when chatd is killed are all sent after a restart."""
    receiver = Receiver(status=503, delay_s=0.3)
    await receiver.start()
    data = tmp_path / "data"
    config = CRASH_CONFIG.format(url=receiver.url, secret=SECRET)
    server = start_server(data, config_text=config)
    try:
        customer = await CustomerClient.connect(server.ws_url)
        for i in range(30):
            await customer.say(f"message {i}", cid=f"c{i}")
        acked = set()
        while len(acked) < 30:
            acked.add((await customer.wait_for("ack"))["ref"])
        await until(lambda: len(receiver.calls) >= 5)  # some calls are in flight now
        server.kill()
        await customer.close()
        receiver.status, receiver.delay_s = 200, 0.0
        server = start_server(data, config_text=config, port=server.port)
        texts = {f"message {i}" for i in range(30)}

        def delivered() -> set[str]:
            return {m["data"]["text"] for m in receiver.of_type("message.created")}

        # Well within the 60 s lease: the restarted node releases what its predecessor held.
        await until(lambda: texts <= delivered(), within=15)
        assert receiver.of_type("conversation.created")
    finally:
        server.kill()
        await receiver.stop()
