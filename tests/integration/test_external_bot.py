"""The exchange's own bot ([bot] webhook_url, issue 17): asked first with the masked message,
its answer shown as the bot's (chips, hand-off), the built-in bot on timeout, error or "not
mine". A real aiohttp receiver on a free port plays the exchange."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from tests.support.harness import Harness

SECRET = "exchange-shared-secret"
SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


@dataclass
class Exchange:
    """What the receiver answers next, and what it was asked."""

    answer: Any = None
    status: int = 200
    delay_s: float = 0.0
    asked: list[dict[str, Any]] = field(default_factory=list)
    signatures_ok: list[bool] = field(default_factory=list)
    url: str = ""


@pytest.fixture
async def exchange() -> AsyncIterator[Exchange]:
    state = Exchange()

    async def handle(request: web.Request) -> web.Response:
        raw = await request.read()
        t, _, v1 = request.headers["Chatd-Signature"].partition(",")
        expected = hmac.new(
            SECRET.encode(), t.removeprefix("t=").encode() + b"." + raw, hashlib.sha256
        ).hexdigest()
        state.signatures_ok.append(hmac.compare_digest(v1.removeprefix("v1="), expected))
        state.asked.append(json.loads(raw))
        await asyncio.sleep(state.delay_s)
        return web.json_response(state.answer, status=state.status)

    app = web.Application()
    app.router.add_post("/bot", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/bot"
    yield state
    await runner.cleanup()


@pytest.fixture
def settings(exchange: Exchange) -> dict[str, dict[str, Any]]:
    return {
        "bot": {"webhook_url": exchange.url, "webhook_secret": SECRET, "webhook_timeout_s": 0.5}
    }


async def test_the_exchange_answers_with_chips_from_its_own_data(
    chatd: Harness, exchange: Exchange
) -> None:
    exchange.answer = {
        "reply": "Your withdrawal W-1042 was sent at 09:14; TxID 9f3a…",
        "handoff": False,
        "quick_replies": ["Thanks", "It has not arrived"],
    }
    customer = await chatd.customer(locale="en")
    await customer.wait_for("message", author="bot")  # the greeting
    await customer.say("where is my withdrawal?")
    bot = await customer.wait_for("message", author="bot", where=lambda f: "W-1042" in f["text"])
    assert [s["title"] for s in bot["data"]["suggestions"]] == ["Thanks", "It has not arrived"]
    asked = exchange.asked[-1]
    assert asked["conversation_id"] == customer.conversation_id
    assert asked["text"] == "where is my withdrawal?"
    assert asked["locale"] == "en" and asked["user_id"] is None
    assert asked["intent_guess"]["intent"] == "withdrawal.pending"
    assert exchange.signatures_ok == [True]


async def test_secrets_are_masked_before_the_exchange_sees_them(
    chatd: Harness, exchange: Exchange
) -> None:
    exchange.answer = {"reply": "Noted.", "handoff": False}
    customer = await chatd.customer()
    await customer.say(f"my seed phrase is {SEED}")
    await customer.wait_for("message", author="bot", where=lambda f: f["text"] == "Noted.")
    assert "abandon" not in exchange.asked[-1]["text"]
    assert "[redacted:seed_phrase]" in exchange.asked[-1]["text"]


async def test_the_exchange_hands_the_chat_to_a_person(chatd: Harness, exchange: Exchange) -> None:
    exchange.answer = {"reply": "A colleague will look at this account.", "handoff": True}
    agent = await chatd.agent(await chatd.add_agent("Ann"))
    customer = await chatd.customer()
    await customer.say("my account is frozen")
    await customer.wait_for("message", author="bot", where=lambda f: "colleague" in f["text"])
    await customer.wait_for("assigned")
    got = await agent.wait_for("chat_assigned")
    assert got["conversation"]["handoff_reason"] == "external"


@pytest.mark.parametrize(
    ("answer", "status", "delay_s"),
    [
        ({"reply": "too late", "handoff": False}, 200, 2.0),  # past webhook_timeout_s
        ({"error": "boom"}, 500, 0.0),
        ({"reply": 42}, 200, 0.0),  # not the contract's shape
        ({"reply": None, "handoff": False}, 200, 0.0),  # "not mine"
        ([1, 2], 200, 0.0),
    ],
)
async def test_the_built_in_bot_answers_when_the_exchange_does_not(
    chatd: Harness, exchange: Exchange, answer: Any, status: int, delay_s: float
) -> None:
    exchange.answer, exchange.status, exchange.delay_s = answer, status, delay_s
    customer = await chatd.customer(locale="en")
    await customer.wait_for("message", author="bot")
    await customer.say("how do I reset my password?")
    reply = await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 1)
    assert reply["data"]["intent"] == "account.password_reset"
    assert reply["data"].get("source") != "webhook"
    assert len(exchange.asked) == 1
