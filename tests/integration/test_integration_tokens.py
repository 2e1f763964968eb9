"""Integration tokens (issue 17): `chatd tokens create NAME --scope ...` for the exchange's own
systems: post a message into a chat, read the API their scopes allow, nothing else."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.cli import CHATD, chatd_env
from tests.support.harness import Harness

SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


def _tokens(data: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CHATD), "tokens", *args, "--data-dir", str(data)],
        env=chatd_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def _created(data: Path, name: str, scope: str) -> str:
    out = _tokens(data, "create", name, "--scope", scope)
    assert out.returncode == 0, out.stderr
    return next(
        line.removeprefix("token: ") for line in out.stdout.splitlines() if "token: " in line
    )


async def _call(
    chatd: Harness, method: str, path: str, token: str, body: Any = None
) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {token}"}
        async with http.request(method, chatd.url + path, headers=headers, json=body) as r:
            return r.status, await r.json(content_type=None)


def test_tokens_post_into_chats_and_read_only_their_scopes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    asyncio.run(_prepare(data))  # a store to create tokens in
    poster = _created(data, "crm", "messages:write")
    reader = _created(data, "bi", "conversations:read,tickets:read")
    assert _tokens(data, "create", "crm", "--scope", "messages:write").returncode == 1
    assert _tokens(data, "create", "x", "--scope", "everything").returncode == 2
    listed = _tokens(data, "list")
    assert "crm" in listed.stdout and "messages:write" in listed.stdout
    assert poster not in listed.stdout  # the token itself is never shown again
    asyncio.run(_use(data, poster, reader))
    assert _tokens(data, "revoke", "crm").returncode == 0
    asyncio.run(_revoked(data, poster))


async def _prepare(data: Path) -> None:
    chatd = Harness(data, {})
    await chatd.start()
    await chatd.stop()


async def _use(data: Path, poster: str, reader: str) -> None:
    chatd = Harness(data, {})
    await chatd.start()
    try:
        agent = await chatd.agent(await chatd.add_agent("Ann"))
        customer = await chatd.customer()
        await customer.action("request_human")
        await customer.wait_for("assigned")
        conv = customer.conversation_id
        path = f"/api/conversations/{conv}/messages"
        body = {"text": "Your withdrawal W-1042 was processed.", "cid": "w-1042"}
        status, answer = await _call(chatd, "POST", path, poster, body)
        assert status == 201, answer
        got = await customer.wait_for(
            "message", author="system", where=lambda f: "W-1042" in f["text"]
        )
        assert got["author_name"] == "token:crm" and got["seq"] == answer["event"]["seq"]
        await agent.wait_for("message", author="system", where=lambda f: "W-1042" in f["text"])
        # A retry is stored once.
        again_status, again = await _call(chatd, "POST", path, poster, body)
        assert (again_status, again["event"]["seq"]) == (200, answer["event"]["seq"])
        # Secrets in a template are masked like a customer's.
        status, masked = await _call(chatd, "POST", path, poster, {"text": f"seed: {SEED}"})
        assert status == 201 and "abandon" not in masked["event"]["text"]
        # Refusals.
        assert (await _call(chatd, "POST", "/api/conversations/nope/messages", poster, body))[
            0
        ] == 404
        assert (await _call(chatd, "POST", path, poster, {"text": " "}))[0] == 400
        assert (await _call(chatd, "POST", path, reader, body))[0] == 403  # no messages:write
        assert (await _call(chatd, "GET", "/api/conversations", poster))[0] == 403
        assert (await _call(chatd, "GET", "/api/me", poster))[0] == 403  # staff routes: no
        status, found = await _call(chatd, "GET", "/api/conversations", reader)
        assert status == 200 and [c["conversation_id"] for c in found["conversations"]] == [conv]
        assert (await _call(chatd, "GET", f"/api/conversations/{conv}", reader))[0] == 200
        assert (await _call(chatd, "GET", "/api/tickets", reader))[0] == 200
        assert (await _call(chatd, "GET", "/api/stats", reader))[0] == 403  # no stats:read
        await agent.action("close", conversation_id=conv)
        await customer.wait_for("closed")
        assert (await _call(chatd, "POST", path, poster, {"text": "late"}))[0] == 409
        op = await chatd.add_agent("Olivia", role="operator")
        status, audit = await _call(chatd, "GET", "/api/audit?actor=token:crm", op)
        assert [e["action"] for e in audit["entries"]] == ["message.posted", "message.posted"]
        status, audit = await _call(chatd, "GET", "/api/audit?action=transcript.read", op)
        assert [e["actor"] for e in audit["entries"]] == ["token:bi"]
    finally:
        await chatd.stop()


async def _revoked(data: Path, poster: str) -> None:
    chatd = Harness(data, {})
    await chatd.start()
    try:
        status, _ = await _call(
            chatd, "POST", "/api/conversations/x/messages", poster, {"text": "hi"}
        )
        assert status == 401
    finally:
        await chatd.stop()
