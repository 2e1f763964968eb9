"""Roles (issue 18): the whole route × role table, and what a supervisor may do on the agent
socket that an agent may not (read any live chat, move any chat) and what neither may."""

from __future__ import annotations

from typing import Any

import aiohttp

from chatd.client import AgentClient, CustomerClient
from tests.support.harness import Harness

#: Who may call each authenticated route (everyone else: 403 forbidden). Written out here, not
#: read from the code: a route that admits a role it should not fails this table.
ROLE_TABLE: dict[tuple[str, str], set[str]] = {
    ("GET", "/api/me"): {"agent", "supervisor", "operator"},
    ("GET", "/api/queue"): {"agent", "supervisor", "operator"},
    ("GET", "/api/canned"): {"agent", "supervisor", "operator"},
    ("GET", "/api/kb/search"): {"agent", "supervisor", "operator"},
    ("GET", "/api/tickets"): {"agent", "supervisor", "operator"},
    ("GET", "/api/tickets/{ticket_id}"): {"agent", "supervisor", "operator"},
    ("POST", "/api/tickets/{ticket_id}/reply"): {"agent", "supervisor", "operator"},
    ("POST", "/api/tickets/{ticket_id}/close"): {"agent", "supervisor", "operator"},
    ("GET", "/api/agents"): {"agent", "supervisor", "operator"},
    ("GET", "/api/live"): {"supervisor", "operator"},
    ("GET", "/api/conversations"): {"operator"},
    ("GET", "/api/conversations/{conversation_id}"): {"operator"},
    ("GET", "/api/export"): {"operator"},
    ("GET", "/api/stats"): {"operator"},
    ("GET", "/api/audit"): {"operator"},
    ("POST", "/api/conversations/{conversation_id}/messages"): {"operator"},
    ("GET", "/api/deliveries"): {"operator"},
    ("POST", "/api/deliveries/{delivery}/retry"): {"operator"},
    ("DELETE", "/api/deliveries/{delivery}"): {"operator"},
}
_FILES = "/api/conversations/{conversation_id}/attachments"
#: Routes without a role check (public, or their own credentials: a session token to end, a
#: customer's resume token or the assigned agent's for files, tested in test_attachments.py).
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/metrics"),
    ("GET", "/api/openapi.json"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),
    ("POST", "/api/conversations/{conversation_id}/transcript"),
    ("PUT", "/api/conversations/{conversation_id}/followup"),
    ("DELETE", "/api/conversations/{conversation_id}/followup"),
    ("POST", _FILES),
    ("OPTIONS", _FILES),
    ("GET", _FILES + "/{attachment_id}"),
    ("OPTIONS", _FILES + "/{attachment_id}"),
    ("GET", _FILES + "/{attachment_id}/link"),
    ("OPTIONS", _FILES + "/{attachment_id}/link"),
}


def _routes(chatd: Harness) -> set[tuple[str, str]]:
    assert chatd.app is not None
    found = set()
    for route in chatd.app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter")
        if path and path.startswith(("/api", "/healthz", "/metrics")) and route.method != "HEAD":
            found.add((route.method, path))
    return found


async def test_every_route_admits_exactly_its_roles(chatd: Harness) -> None:
    assert _routes(chatd) == set(ROLE_TABLE) | PUBLIC, "a route is missing from ROLE_TABLE"
    tokens = {role: await chatd.add_agent(f"{role}-1", role=role) for role in ROLE_TABLE_ROLES}
    async with aiohttp.ClientSession() as http:
        for (method, path), allowed in sorted(ROLE_TABLE.items()):
            url = chatd.url + path.format(ticket_id=1, conversation_id="c-none", delivery=1)
            for role, token in tokens.items():
                headers = {"Authorization": f"Bearer {token}"}
                async with http.request(method, url, headers=headers, json={"text": "hi"}) as r:
                    body: Any = await r.read()
                    refused = r.status == 403 and b'"forbidden"' in body
                assert refused == (role not in allowed), (method, path, role, r.status, body)
            async with http.request(method, url) as r:
                assert r.status == 401, (method, path)


ROLE_TABLE_ROLES = ("agent", "supervisor", "operator")


async def _assigned(chatd: Harness, agent: AgentClient) -> CustomerClient:
    customer = await chatd.customer()
    await customer.say("hello")
    await customer.wait_for("message", author="bot")
    await customer.action("request_human")
    await agent.wait_for("chat_assigned")
    return customer


async def test_a_supervisor_serves_chats_like_an_agent(chatd: Harness) -> None:
    sup = await chatd.agent(await chatd.add_agent("Sue", role="supervisor"))
    assert sup.welcome["agent"]["role"] == "supervisor"
    customer = await _assigned(chatd, sup)
    await sup.reply(customer.conversation_id, "Hi, Sue here")
    assert (await customer.wait_for("message", author="agent"))["text"] == "Hi, Sue here"


async def test_a_supervisor_reads_and_moves_any_live_chat(chatd: Harness) -> None:
    ann = await chatd.agent(await chatd.add_agent("Ann", capacity=1))
    customer = await _assigned(chatd, ann)
    conv = customer.conversation_id
    await ann.reply(conv, "looking at it")
    sup = await chatd.agent(await chatd.add_agent("Sue", role="supervisor"), status="away")
    sup_token_live = await chatd.add_agent("Sam", role="supervisor")
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {sup_token_live}"}
        async with http.get(chatd.url + "/api/live", headers=headers) as r:
            live = (await r.json())["conversations"]
    assert [(c["conversation_id"], c["agent_name"]) for c in live] == [(conv, "Ann")]
    await sup.send({"type": "sync", "conversation_id": conv, "last_seq": 0})
    seen = await sup.wait_for("message", where=lambda f: f.get("text") == "looking at it")
    assert seen["conversation_id"] == conv
    # Read-only: a supervisor cannot write into someone else's chat.
    ref = await sup.reply(conv, "I am not assigned")
    refused = await sup.wait_for("error", ref=ref)
    assert refused["code"] == "forbidden"
    # ...but can move it: to another agent, here back to the queue.
    bob = await chatd.agent(await chatd.add_agent("Bob", capacity=1))
    bob_id = bob.welcome["agent"]["agent_id"]
    moved = await sup.action("transfer", conversation_id=conv, to_agent_id=bob_id)
    await sup.wait_for("ack", ref=moved)
    await ann.wait_for("unassigned", conversation_id=conv, reason="transferred")
    got = await bob.wait_for("chat_assigned")
    assert got["conversation"]["conversation_id"] == conv
    await sup.action("transfer", conversation_id=conv, to_agent_id=None)
    await customer.wait_for("requeued")


async def test_an_agent_reads_and_moves_only_its_own_chats(chatd: Harness) -> None:
    ann = await chatd.agent(await chatd.add_agent("Ann", capacity=1))
    customer = await _assigned(chatd, ann)
    conv = customer.conversation_id
    other = await chatd.agent(await chatd.add_agent("Otto"), status="away")
    await other.send({"type": "sync", "conversation_id": conv, "last_seq": 0})
    assert (await other.wait_for("error"))["code"] == "forbidden"
    cid = await other.action("transfer", conversation_id=conv, to_agent_id=None)
    assert (await other.wait_for("error", ref=cid))["code"] == "forbidden"


async def test_operators_take_no_chats(chatd: Harness) -> None:
    op = await chatd.agent(await chatd.add_agent("Olivia", role="operator"))
    await op.action("set_status", status="online")
    assert (await op.wait_for("error"))["code"] == "forbidden"
