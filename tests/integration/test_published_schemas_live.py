"""What a real server sends matches what it publishes: every WebSocket frame a customer and an
agent receive in a full chat and a ticket validates against docs/protocol.schema.json, and every
JSON answer of the HTTP API (errors included) against /api/openapi.json, served without auth."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import aiohttp
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from chatd.docs_gen import ROOT
from chatd.passwords import hash_password
from chatd.store.base import AgentRecord
from tests.support.harness import Harness

SCHEMA = json.loads((ROOT / "docs/protocol.schema.json").read_text())


def _check_frames(frames: Iterable[dict[str, Any]], side: str) -> set[str]:
    """Every frame is valid for the side; returns the types seen."""
    validator = Draft202012Validator({**SCHEMA, "anyOf": [{"$ref": f"#/$defs/server_to_{side}"}]})
    for frame in frames:
        errors = list(validator.iter_errors(frame))
        if errors:
            why = best_match(errors)
            raise AssertionError(f"{side} got {frame}: {why.message} at {list(why.path)}")
    return {f["type"] for f in frames}


async def test_every_frame_of_a_chat_and_a_ticket_matches_the_schema(chatd: Harness) -> None:
    """Bot answer, queue, assignment, messages, typing, tags, notes, close, CSAT, a ticket and
    its reply, errors and acks: all as the schema says, for the customer and for the agent."""
    agent = await chatd.agent(await chatd.add_agent("Alice"), status="away")
    customer = await chatd.customer(locale="en")
    await customer.say("how do I reset my password?")
    await customer.wait_for("message", author="bot")
    await customer.send({"type": "message", "cid": "bad"})  # no text: an error frame
    await customer.wait_for("error", ref="bad")
    await customer.action("request_human")
    await customer.wait_for("queue")
    await agent.action("set_status", status="online")
    await customer.wait_for("assigned")
    conv = customer.conversation_id
    await customer.send({"type": "typing", "active": True})
    await agent.wait_for("typing")
    await agent.send({"type": "typing", "conversation_id": conv, "active": True})
    await customer.wait_for("typing")
    await agent.reply(conv, "Hi, I can help.")
    await agent.action("note", conversation_id=conv, text="checked")
    await agent.action("tag", conversation_id=conv, tags=["password"])
    await agent.action("kb_search", query="withdrawal pending")
    await agent.wait_for("kb_results")
    await agent.send({"type": "sync", "conversation_id": conv, "last_seq": 0})
    await agent.action("close", conversation_id=conv)
    await customer.wait_for("closed")
    await customer.action("csat", score=5, comment="great")
    await customer.wait_for("csat")
    await customer.send({"type": "ping"})
    await customer.wait_for("pong")
    await agent.wait_for("unassigned")

    await agent.action("set_status", status="away")
    second = await chatd.customer()
    await second.action("request_human")
    await second.wait_for("ticket_offered")
    await second.action("create_ticket", contact="me@example.com", text="deposit missing")
    ticket_id = (await second.wait_for("ticket_created"))["data"]["ticket_id"]
    await agent.wait_for("ticket")
    await agent.action("ticket_reply", ticket_id=ticket_id, text="It is credited now.")
    await second.wait_for("ticket_reply")

    seen = _check_frames(customer.received + second.received, "customer")
    assert {"welcome", "message", "queue", "assigned", "typing", "closed", "csat"} <= seen
    assert {"error", "ack", "pong", "ticket_offered", "ticket_created", "ticket_reply"} <= seen
    seen = _check_frames(agent.received, "agent")
    assert {"welcome", "queue_overview", "chat_assigned", "message", "note", "tags"} <= seen
    assert {"typing", "status", "kb_results", "unassigned", "ticket", "ack"} <= seen
    for client in (customer, second, agent):
        await client.close()


async def test_every_json_answer_matches_the_openapi_document(chatd: Harness) -> None:
    """/api/openapi.json needs no token and is docs/openapi.json; each JSON route's answer, and
    its errors, validate against it."""
    operator = await chatd.add_agent("Olivia", role="operator")
    customer = await chatd.customer()
    await customer.action("request_human")
    await customer.wait_for("ticket_offered")
    await customer.action("create_ticket", contact="me@example.com", text="deposit missing")
    ticket_id = (await customer.wait_for("ticket_created"))["data"]["ticket_id"]
    conv = customer.conversation_id
    await customer.close()
    async with aiohttp.ClientSession() as http:
        async with http.get(chatd.url + "/api/openapi.json") as r:
            assert r.status == 200 and r.content_type == "application/json"
            doc = await r.json()
        assert doc == json.loads((ROOT / "docs/openapi.json").read_text())
        headers = {"Authorization": f"Bearer {operator}"}

        async def check(method: str, path: str, route: str, status: int, **kw: Any) -> None:
            async with http.request(method, chatd.url + path, headers=headers, **kw) as r:
                assert r.status == status, (path, r.status, await r.text())
                body = await r.json()
            answer = doc["paths"][route][method.lower()]["responses"][str(status)]
            schema = answer["content"]["application/json"]["schema"]
            Draft202012Validator({**schema, "components": doc["components"]}).validate(body)

        for route in doc["paths"]:
            if route.startswith("/api/") and "{" not in route and route != "/api/export":
                if "get" not in doc["paths"][route]:
                    continue
                await check("GET", route, route, 200)
        await check("GET", "/healthz", "/healthz", 200)
        await check("GET", f"/api/tickets/{ticket_id}", "/api/tickets/{ticket_id}", 200)
        await check(
            "GET", f"/api/conversations/{conv}", "/api/conversations/{conversation_id}", 200
        )
        reply = "/api/tickets/{ticket_id}/reply"
        await check("POST", f"/api/tickets/{ticket_id}/reply", reply, 200, json={"text": "ok"})
        await check("POST", f"/api/tickets/{ticket_id}/reply", reply, 400, json={"text": " "})
        await check("POST", "/api/tickets/999/reply", reply, 404, json={"text": "x"})
        await check("GET", "/api/stats?day=2026-13-01", "/api/stats", 400)
        headers = {}
        await check("GET", "/api/me", "/api/me", 401)
        await chatd.service.store.add_agent(AgentRecord("ag_pw", "pat", "agent", ""))
        await chatd.service.store.accounts.set_password("ag_pw", hash_password("a long password"))
        login = {"name": "pat", "password": "a long password"}
        await check("POST", "/api/login", "/api/login", 200, json=login)
        await check("POST", "/api/login", "/api/login", 401, json={**login, "password": "nope"})
        await check("POST", "/api/logout", "/api/logout", 401)
