"""Hardening against a real server: lossless reconnects, grace periods, slow readers, abuse
limits, access control and secret masking."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import socket
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
import websockets
from mnemonic import Mnemonic

from chatd.client import AgentClient, CustomerClient
from chatd.store.base import ConversationFilter
from tests.support.harness import Harness
from tests.support.server import add_agent, start_server
from tests.support.sync import barrier

# -- delivery across random disconnects ---------------------------------------------------------


def assert_each_event_once_in_order(arrivals: list[tuple[str, int]], who: str = "") -> None:
    """On one connection, every conversation's events arrive once each, in seq order."""
    last: dict[str, int] = {}
    for conversation_id, seq in arrivals:
        assert seq > last.get(conversation_id, 0), f"{who}: seq {seq} after {last[conversation_id]}"
        last[conversation_id] = seq


class ResilientCustomer:
    """A customer that reconnects with its resume token and retries unacknowledged sends
    (same cid), like the widget does."""

    def __init__(self, harness: Harness) -> None:
        self.harness = harness
        self.connections: list[CustomerClient] = []
        self.client: CustomerClient | None = None
        self.token: str | None = None
        self.seen: dict[int, dict[str, Any]] = {}
        self.unacked: dict[str, str] = {}
        self.acked: list[str] = []

    async def connect(self) -> None:
        last = max(self.seen, default=0)
        self.client = await CustomerClient.connect(
            self.harness.ws_url, resume_token=self.token, last_seq=last if self.token else None
        )
        self.connections.append(self.client)
        self.token = self.client.resume_token
        for cid, text in list(self.unacked.items()):
            await self.client.say(text, cid=cid)

    def absorb(self) -> None:
        assert self.client is not None
        for seq, frame in self.client.events.items():
            assert self.seen.get(seq, frame) == frame
            self.seen[seq] = frame
        for ack in self.client.drain("ack"):
            if ack["ref"] in self.unacked:
                del self.unacked[ack["ref"]]
                self.acked.append(ack["ref"])


class ResilientAgent:
    """An agent console that reconnects within the grace period and keeps its chat."""

    def __init__(self, harness: Harness, token: str) -> None:
        self.harness, self.token = harness, token
        self.client: AgentClient | None = None
        self.connections: list[AgentClient] = []
        self.seen: dict[int, dict[str, Any]] = {}
        self.unacked: dict[str, str] = {}
        self.acked: list[str] = []
        self.conversation_id = ""

    async def connect(self) -> None:
        self.client = await AgentClient.connect(self.harness.ws_url, self.token)
        self.connections.append(self.client)
        if self.conversation_id:
            frame = await self.client.wait_for("chat_assigned")
            for event in frame["events"]:
                self.seen.setdefault(event["seq"], event)
            for cid, text in list(self.unacked.items()):
                await self.client.reply(self.conversation_id, text, cid=cid)

    def absorb(self) -> None:
        assert self.client is not None
        for frame in self.client.drain("chat_assigned"):
            for event in frame["events"]:
                self.seen.setdefault(event["seq"], event)
        for seq, frame in self.client.events.items():
            self.seen.setdefault(seq, frame)
        for ack in self.client.drain("ack"):
            if ack["ref"] in self.unacked:
                del self.unacked[ack["ref"]]
                self.acked.append(ack["ref"])


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
async def test_random_disconnects_lose_nothing(chatd: Harness, seed: int) -> None:
    """Under random drops of both sides, every acknowledged message reaches the other side
    exactly once and in order; a retried cid is stored once."""
    rng = random.Random(seed)
    agent = ResilientAgent(chatd, await chatd.add_agent(f"agent{seed}", capacity=1))
    await agent.connect()
    customer = ResilientCustomer(chatd)
    await customer.connect()
    assert customer.client is not None and agent.client is not None
    await customer.client.action("request_human")
    first = await agent.client.wait_for("chat_assigned")
    agent.conversation_id = first["conversation"]["conversation_id"]
    for event in first["events"]:
        agent.seen[event["seq"]] = event
    sent_by_customer: list[str] = []
    sent_by_agent: list[str] = []
    for step in range(150):
        side = rng.random()
        if side < 0.45:
            cid = f"c{step}"
            customer.unacked[cid] = f"customer says {step}"
            sent_by_customer.append(cid)
            await customer.client.say(customer.unacked[cid], cid=cid)
        elif side < 0.9:
            cid = f"a{step}"
            agent.unacked[cid] = f"agent says {step}"
            sent_by_agent.append(cid)
            await agent.client.reply(agent.conversation_id, agent.unacked[cid], cid=cid)
        elif side < 0.95:
            customer.absorb()
            customer.client.abort()
            await asyncio.sleep(rng.random() * 0.02)
            await customer.connect()
        else:
            agent.absorb()
            agent.client.abort()
            await asyncio.sleep(rng.random() * 0.02)
            await agent.connect()
        if rng.random() < 0.3:
            await asyncio.sleep(0.005)
            customer.absorb()
            agent.absorb()
    # Settle: wait until everything sent is acknowledged, then compare both views.
    for _ in range(200):
        customer.absorb()
        agent.absorb()
        if not customer.unacked and not agent.unacked:
            break
        await asyncio.sleep(0.02)
    assert not customer.unacked and not agent.unacked
    # A final resume of both sides fetches whatever was in flight during a drop.
    customer.client.abort()
    await customer.connect()
    agent.client.abort()
    await agent.connect()
    assert customer.client is not None and agent.client is not None
    await barrier(customer.client, agent.client)  # the resumes and their retries are answered
    customer.absorb()
    agent.absorb()

    def texts(view: dict[int, dict[str, Any]], author: str) -> list[str]:
        return [
            view[s]["text"]
            for s in sorted(view)
            if view[s]["type"] == "message" and view[s]["author"] == author
        ]

    assert texts(agent.seen, "customer") == [f"customer says {c[1:]}" for c in sent_by_customer]
    assert texts(customer.seen, "agent") == [f"agent says {c[1:]}" for c in sent_by_agent]
    # Exactly once and in order on every connection: no duplicate or out-of-order delivery.
    for connection in [*customer.connections, *agent.connections]:
        assert_each_event_once_in_order(connection.arrivals, type(connection).__name__)
    stored = await chatd.service.store.events(agent.conversation_id)
    cids = [e.cid for e in stored if e.cid]
    assert len(cids) == len(set(cids))
    for c in (customer.client, agent.client):
        await c.close()


# -- agent grace period -------------------------------------------------------------------------


async def test_agent_drop_keeps_chats_for_grace_then_requeues_at_place(chatd: Harness) -> None:
    """An agent who drops keeps the chat during the grace period; after it the chat returns
    to the queue ahead of later customers, and the customer is told."""
    token = await chatd.add_agent("Gina", capacity=1)
    agent = await chatd.agent(token)
    customer = await chatd.customer()
    await customer.action("request_human")
    await agent.wait_for("chat_assigned")
    await customer.wait_for("assigned")
    later = await chatd.customer()
    await later.action("request_human")
    await later.wait_for("queued")
    # Drop and come back within the grace period (1 s in tests): the chat is still ours.
    agent.abort()
    await asyncio.sleep(0.3)
    agent = await chatd.agent(token)
    back = await agent.wait_for("chat_assigned")
    assert back["conversation"]["conversation_id"] == customer.conversation_id
    # Drop for longer than the grace period.
    agent.abort()
    requeued = await customer.wait_for("requeued", timeout=5)
    assert requeued["data"]["reason"] == "agent_disconnected"
    await customer.wait_for("queue", where=lambda f: f["position"] == 1)
    await later.wait_for("queue", where=lambda f: f["position"] == 2)
    for c in (customer, later):
        await c.close()


# -- slow readers -------------------------------------------------------------------------------


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_client_that_stops_reading_is_cut_off_with_bounded_memory(tmp_path: Path) -> None:
    """A customer who never reads is disconnected instead of being buffered for (4008, or cut
    when even the close frame cannot get through); server memory stays bounded meanwhile and
    everyone else is still served. The slow_consumer log line names the slow customer, not
    the agent whose message overflowed their outbox."""
    server = start_server(
        tmp_path,
        config_text=(
            "[limits]\noutbox_frames = 64\nmessages_per_s = 1000.0\nmessage_burst = 1000\n"
            "ip_messages_per_s = 1000000.0\nip_message_burst = 1000000\n"
        ),
    )
    try:
        token = add_agent(tmp_path, "Hank")
        conversation_id = asyncio.run(
            _flood_a_silent_customer(server.ws_url, server.proc.pid, token, server.log)
        )
        lines = [json.loads(line) for line in server.log().splitlines() if "slow_consumer" in line]
        assert lines, "no slow_consumer line"
        for line in lines:
            assert line["role"] == "customer" and line["conversation_id"] == conversation_id
            assert "agent_id" not in line, line
    finally:
        server.stop()


async def _flood_a_silent_customer(
    ws_url: str, pid: int, token: str, server_log: Callable[[], str]
) -> str:
    # A tiny receive buffer so the kernel cannot absorb megabytes on the silent side.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", int(ws_url.rsplit(":", 1)[1])))
    silent = await websockets.connect(
        ws_url + "/ws/customer",
        sock=sock,
        subprotocols=["chatd.v1"],  # type: ignore[list-item]
        max_queue=1,
    )
    await silent.send(json.dumps({"type": "hello"}))
    await silent.send(json.dumps({"type": "request_human", "cid": "h"}))
    agent = await AgentClient.connect(ws_url, token)
    assigned = await agent.wait_for("chat_assigned")
    conv = assigned["conversation"]["conversation_id"]
    baseline = peak = _rss_kb(pid)
    payload = "x" * 3000
    for i in range(6000):
        await agent.reply(conv, f"{i} {payload}")
        if i % 200 == 0:
            agent.drain()
            peak = max(peak, _rss_kb(pid))
    # The server may still be working through the agent's messages (the kernel's socket buffer
    # takes the first megabytes): keep measuring until it has cut the silent reader off.
    deadline = time.monotonic() + 90
    while "slow_consumer" not in server_log():
        assert time.monotonic() < deadline, "the silent reader was never cut off"
        agent.drain()
        peak = max(peak, _rss_kb(pid))
        await asyncio.sleep(0.2)
    grown_mb = (peak - baseline) / 1024
    # The deterministic signal is the slow_consumer cut above; the memory bound is relative to
    # what was sent: an unbounded outbox would hold all of it (6,000 x 3 KB = 18 MB) for the
    # one silent reader, a bounded one 64 frames (0.2 MB). Half of the flood leaves room for
    # allocator and page-cache noise on a busy machine, not for buffering the flood.
    sent_mb = 6000 * len(payload) / 2**20
    assert grown_mb < sent_mb / 2, f"server grew {grown_mb:.1f} MB of {sent_mb:.1f} MB sent"
    probe = await CustomerClient.connect(ws_url)
    await probe.say("still serving others?")
    assert (await probe.wait_for("ack"))["seq"] > 0
    silent.transport.abort()
    for c in (agent, probe):
        await c.close()
    return str(conv)


# -- abuse limits -------------------------------------------------------------------------------


class TestLimits:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {
            "limits": {
                "messages_per_s": 1.0,
                "message_burst": 3,
                "connections_per_ip": 6,
                "new_conversations_per_ip": 4,
                "max_message_chars": 200,
                "max_events_per_conversation": 12,
                "violations_before_close": 5,
            }
        }

    async def test_message_rate_is_limited_per_connection(self, chatd: Harness) -> None:
        """Past the burst, messages get rate_limited with retry_after_s; the fifth refusal
        (violations_before_close), not a later one, closes the connection with 4029."""
        customer = await chatd.customer()
        for i in range(3):
            await customer.wait_for("ack", ref=await customer.say(f"hello {i}"))
        for i in range(4):
            cid = await customer.say(f"too fast {i}")
            error = await customer.wait_for("error", ref=cid)
            assert error["code"] == "rate_limited" and error["retry_after_s"] > 0
        await barrier(customer)  # a ping costs no token: the socket is still open after four
        assert not customer.closed.done()
        await customer.say("the fifth")
        code, _reason = await asyncio.wait_for(customer.closed, 5)
        assert code == 4029

    async def test_connections_per_ip(self, chatd: Harness) -> None:
        """The seventh simultaneous connection from one address is refused with 429."""
        open_clients = [await CustomerClient.open(chatd.ws_url) for _ in range(6)]
        with pytest.raises(websockets.InvalidStatus) as refused:
            await CustomerClient.open(chatd.ws_url)
        assert refused.value.response.status_code == 429
        for c in open_clients:
            await c.close()

    async def test_new_conversations_per_ip_window(self, chatd: Harness) -> None:
        """Past the per-IP window, a new chat is refused with rate_limited; resuming still works."""
        clients = []
        for _ in range(4):
            c = await chatd.customer()
            clients.append(c)
            await c.close()
        extra = await CustomerClient.open(chatd.ws_url)
        await extra.send({"type": "hello"})
        error = await extra.wait_for("error")
        assert error["code"] == "rate_limited"
        await extra.close()
        back = await chatd.customer(resume_token=clients[0].resume_token)
        assert back.welcome["resumed"] is True
        await back.close()

    async def test_message_length_and_conversation_size(self, chatd: Harness) -> None:
        """Too long a message is refused (too_long); a full conversation says limit_reached."""
        customer = await chatd.customer()
        await customer.say("x" * 201)
        assert (await customer.wait_for("error"))["code"] == "too_long"
        store = chatd.service.store
        conv = customer.conversation_id
        from chatd.store.base import NewEvent

        for i in range(12):
            await store.append_event(
                conv, NewEvent(kind="message", ts=0, author="bot", text=str(i))
            )
        chatd.service.log.open[conv] = await store.get_conversation(conv)  # type: ignore[assignment]
        await customer.say("still there?")
        assert (await customer.wait_for("error"))["code"] == "limit_reached"
        await customer.close()


# -- access control -----------------------------------------------------------------------------


async def test_customer_cannot_read_another_conversation(chatd: Harness) -> None:
    """A token is bound to its conversation: tampering with the id or the expiry fails."""
    a = await chatd.customer()
    b = await chatd.customer()
    conv_a, expiry, mac = a.resume_token.split(".")
    for forged in (
        f"{b.conversation_id}.{expiry}.{mac}",
        f"{conv_a}.{int(expiry) + 1000}.{mac}",
        f"{conv_a}.{expiry}.{mac[:-2]}AA",
        "garbage",
    ):
        client = await CustomerClient.open(chatd.ws_url)
        await client.send({"type": "hello", "resume_token": forged, "last_seq": 0})
        assert (await client.wait_for("error"))["code"] == "bad_token"
        assert not client.events
        await client.close()
    for c in (a, b):
        await c.close()


class TestExpiredToken:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"security": {"resume_token_ttl_s": 1.0}}

    async def test_resume_token_expires(self, chatd: Harness) -> None:
        """A resume token stops working after its lifetime."""
        customer = await chatd.customer()
        await customer.close()
        await asyncio.sleep(2.1)
        client = await CustomerClient.open(chatd.ws_url)
        await client.send({"type": "hello", "resume_token": customer.resume_token})
        assert (await client.wait_for("error"))["code"] == "bad_token"
        await client.close()


def _user_hash(user_id: str) -> str:
    return hmac.new(b"identity-test-key", user_id.encode(), hashlib.sha256).hexdigest()


async def test_identity_verification(chatd: Harness) -> None:
    """Verified customers are flagged and their earlier chats shown to agents; a wrong hash
    leaves the chat unverified, and unverified chats never reveal other conversations."""
    earlier = await chatd.customer(user_id="u-42", user_hash=_user_hash("u-42"))
    assert earlier.welcome["verified"] is True
    await earlier.action("close")
    await earlier.wait_for("closed")
    impostor = await chatd.customer(user_id="u-42", user_hash=_user_hash("u-43"))
    assert impostor.welcome["verified"] is False
    assert (await impostor.wait_for("error"))["code"] == "identity_invalid"
    now = await chatd.customer(user_id="u-42", user_hash=_user_hash("u-42").upper())
    assert now.welcome["verified"] is True
    agent = await chatd.agent(await chatd.add_agent("Iris", capacity=2))
    await now.action("request_human")
    got = await agent.wait_for("chat_assigned")
    assert got["conversation"]["verified"] is True and got["conversation"]["user_id"] == "u-42"
    assert [e["conversation_id"] for e in got["earlier"]] == [earlier.conversation_id]
    await impostor.action("request_human")
    other = await agent.wait_for("chat_assigned")
    assert other["conversation"]["verified"] is False and other["earlier"] == []
    assert other["conversation"]["user_id"] is None
    for c in (impostor, now, agent):
        await c.close()


class TestOrigins:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"server": {"allowed_origins": ["https://shop.example.com"]}}

    async def test_origin_allow_list(self, chatd: Harness) -> None:
        """A WebSocket from a foreign origin is refused (403); the allowed one and the server's
        own origin pass; a handshake without the chatd.v1 subprotocol is refused (400)."""
        with pytest.raises(websockets.InvalidStatus) as refused:
            await CustomerClient.connect(chatd.ws_url, origin="https://evil.example.net")
        assert refused.value.response.status_code == 403
        ok = await CustomerClient.connect(chatd.ws_url, origin="https://shop.example.com")
        own = await CustomerClient.connect(chatd.ws_url, origin=chatd.url)
        for c in (ok, own):
            await c.close()
        with pytest.raises(websockets.InvalidStatus) as no_proto:
            await websockets.connect(chatd.ws_url + "/ws/customer")
        assert no_proto.value.response.status_code == 400

    async def test_origin_look_alikes_are_refused(self, chatd: Harness) -> None:
        """Only an exact origin passes: one that starts or ends like an allowed origin or like
        the server's own (a prefix or suffix match) is refused with 403 at the handshake, on
        both the customer and the agent socket."""
        host = f"127.0.0.1:{chatd.port}"
        look_alikes = [
            "https://shop.example.com.evil.net",  # starts with the allowed origin
            "https://shop.example.com:8443",  # another port of the allowed host
            "https://evilshop.example.com",  # ends with the allowed origin's host
            "https://evil.shop.example.com",  # a subdomain of it
            "http://shop.example.com",  # its host under another scheme
            f"http://{host}.evil.net",  # starts with our own origin
            f"http://evil{host}",  # ends with our host
            f"http://evil.{host}",
            "null",
        ]
        token = await chatd.add_agent("Ozzie")
        for origin in look_alikes:
            with pytest.raises(websockets.InvalidStatus) as refused:
                await CustomerClient.connect(chatd.ws_url, origin=origin)
            assert refused.value.response.status_code == 403, origin
            with pytest.raises(websockets.InvalidStatus) as refused:
                await AgentClient.connect(chatd.ws_url, token, origin=origin)
            assert refused.value.response.status_code == 403, origin
        ok = await AgentClient.connect(chatd.ws_url, token, origin="https://shop.example.com")
        await ok.close()


async def test_security_headers(chatd: Harness, monkeypatch: pytest.MonkeyPatch) -> None:
    """Staff pages cannot be framed and carry a CSP; JSON errors never leak a traceback: a
    handler that fails answers 500 with a stable code and none of the exception's text."""
    async with aiohttp.ClientSession() as http:
        for path in ("/console", "/ops"):
            async with http.get(chatd.url + path) as r:
                assert r.headers["X-Frame-Options"] == "DENY"
                assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]
                assert r.headers["X-Content-Type-Options"] == "nosniff"

        def fail() -> None:
            raise RuntimeError("db password is hunter2 at /srv/chatd/secret.py")

        # A fault injected where a real one (a broken store, a bug) would surface.
        monkeypatch.setattr(chatd.service.assignments, "agents_live", fail)
        token = await chatd.add_agent("Tracy", role="operator")
        headers = {"Authorization": f"Bearer {token}"}
        async with http.get(f"{chatd.url}/api/agents", headers=headers) as r:
            body = await r.text()
            assert r.status == 500 and r.content_type == "application/json"
        assert json.loads(body)["error"]["code"] == "internal_error"
        for leak in ("Traceback", "RuntimeError", "hunter2", "secret.py", 'File "'):
            assert leak not in body
        async with http.get(f"{chatd.url}/no/such/page") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"


async def test_operator_routes_reject_agents_and_customers(chatd: Harness) -> None:
    """Every operator route answers 401 without a token and 403 to an agent token."""
    agent_token = await chatd.add_agent("Jack")
    routes = [
        "/api/conversations",
        "/api/conversations/x",
        "/api/export",
        "/api/stats",
    ]
    async with aiohttp.ClientSession() as http:
        for route in routes:
            async with http.get(chatd.url + route) as r:
                assert r.status == 401, route
            async with http.get(
                chatd.url + route, headers={"Authorization": f"Bearer {agent_token}"}
            ) as r:
                assert r.status == 403, route
                assert (await r.json())["error"]["code"] == "forbidden"
            async with http.get(
                chatd.url + route, headers={"Authorization": "Bearer ag_x.forged"}
            ) as r:
                assert r.status == 401, route


async def test_malformed_http_parameters_get_4xx_json(chatd: Harness) -> None:
    """Malformed parameters answer 4xx with a JSON error code, never 500."""
    token = await chatd.add_agent("Kim", role="operator")
    headers = {"Authorization": f"Bearer {token}"}
    bad = [
        ("GET", "/api/conversations?limit=abc"),
        ("GET", "/api/conversations?limit=-1"),
        ("GET", "/api/conversations?limit=99999999999999999999"),
        ("GET", "/api/conversations?status=nope"),
        ("GET", "/api/conversations?since=yesterday"),
        ("GET", "/api/conversations?q=" + "x" * 500),
        ("GET", "/api/conversations/" + "x" * 5000),
        ("GET", "/api/export?format=xml"),
        ("GET", "/api/stats?day=2026-13-45"),
        ("GET", "/api/tickets?status=maybe"),
        ("GET", "/api/tickets/abc"),
        ("GET", "/api/tickets/99999"),
        ("POST", "/api/tickets/1/reply"),
        ("GET", "/api/kb/search?locale=fr"),
        ("GET", "/api/nothing-here"),
        ("DELETE", "/api/conversations"),
        ("GET", "/static/../../etc/passwd"),
    ]
    async with aiohttp.ClientSession() as http:
        for method, path in bad:
            async with http.request(method, chatd.url + path, headers=headers) as r:
                assert 400 <= r.status < 500, (path, r.status)
                body = await r.json()
                assert body["error"]["code"] and body["error"]["message"], path
        for body in (b"not json", b"[1,2]", b'{"text": 5}', b'{"text": ""}'):
            async with http.post(
                chatd.url + "/api/tickets/1/reply", data=body, headers=headers
            ) as r:
                assert r.status == 400
                assert (await r.json())["error"]["code"] in ("bad_frame", "invalid_field")


# -- secret masking ------------------------------------------------------------------------------


async def test_secrets_never_stored_shown_or_logged(chatd: Harness) -> None:
    """A pasted seed phrase and private key are masked before storage, the agent and the logs;
    the customer is warned at once and an audit event records the mask (not the secret)."""
    words = Mnemonic("english").generate(strength=128)
    key = uuid.uuid4().hex + uuid.uuid4().hex
    txid = hashlib.sha256(b"tx").hexdigest()
    agent = await chatd.agent(await chatd.add_agent("Lee"))
    with structlog.testing.capture_logs() as logs:
        customer = await chatd.customer()
        await customer.action("request_human")
        await agent.wait_for("chat_assigned")
        await customer.say(f"my wallet seed is {words} and key {key}. txid {txid}")
        own = await customer.wait_for("message", author="customer")
        warning = await customer.wait_for("message", author="system")
        seen_by_agent = await agent.wait_for("message", author="customer")
    assert words not in own["text"] and key not in own["text"]
    assert txid in own["text"]
    assert set(own["data"]["masked"]) >= {"seed_phrase", "private_key"}
    assert warning["data"]["warning"] == "secret_masked"
    assert "never ask" in warning["text"]
    assert words not in seen_by_agent["text"] and key not in seen_by_agent["text"]
    events = await chatd.service.store.events(customer.conversation_id)
    assert all(words not in (e.text or "") and key not in (e.text or "") for e in events)
    audit = [e for e in events if e.kind == "audit"]
    assert audit and audit[0].internal and audit[0].data["action"] == "secret_masked"
    # the first message is also the conversation's subject in lists: masked there too
    stored = await chatd.service.store.get_conversation(customer.conversation_id)
    assert stored is not None and stored.subject is not None
    assert stored.subject.startswith("my wallet seed is [redacted:seed_phrase] and key")
    assert words not in stored.subject and key[:12] not in stored.subject
    dumped = repr(logs)
    assert words not in dumped and key not in dumped
    assert any(entry.get("event") == "secret_masked" for entry in logs)
    for c in (agent, customer):
        await c.close()


async def test_code_given_after_staff_mention_is_masked(chatd: Harness) -> None:
    """When the agent's last message mentions a verification code, a bare 6-digit reply is
    masked as a 2FA code; the same digits without that context stay visible."""
    agent = await chatd.agent(await chatd.add_agent("Mo"))
    customer = await chatd.customer()
    await customer.say("order 884412 never arrived")
    own = await customer.wait_for("message", author="customer")
    assert "884412" in own["text"]
    await customer.action("request_human")
    await agent.wait_for("chat_assigned")
    await agent.reply(customer.conversation_id, "Which SMS code did you get?")
    await customer.wait_for("message", author="agent")
    await customer.say("493021")
    masked = await customer.wait_for("message", author="customer")
    assert "493021" not in masked["text"] and masked["data"]["masked"] == ["otp_code"]
    for c in (agent, customer):
        await c.close()


# -- races ----------------------------------------------------------------------------------------


async def test_close_racing_assignment_gives_the_slot_back(chatd: Harness) -> None:
    """A customer who closes while being assigned never leaves the agent's slot taken."""
    agent = await chatd.agent(await chatd.add_agent("Nia", capacity=1))
    agent_id = agent.welcome["agent"]["agent_id"]
    for _ in range(8):
        customer = await chatd.customer()
        await customer.action("request_human")
        await customer.action("close")
        await customer.wait_for("closed")
        await customer.close()
    await asyncio.sleep(0.2)
    assert chatd.service.assignments.dispatcher.active(agent_id) == frozenset()
    late = await chatd.customer()
    await late.action("request_human")
    got = await agent.wait_for(
        "chat_assigned",
        where=lambda f: f["conversation"]["conversation_id"] == late.conversation_id,
    )
    assert got["conversation"]["status"] == "assigned"
    stored = await chatd.service.store.list_conversations(ConversationFilter(status="closed"))
    assert all(c.agent_id is None or c.closed_at for c in stored)
    for c in (agent, late):
        await c.close()


async def test_two_tabs_hand_off_once(chatd: Harness) -> None:
    """Two tabs of one chat asking for a person at the same moment queue it once."""
    first = await chatd.customer()
    second = await chatd.customer(resume_token=first.resume_token)
    await asyncio.gather(first.say("I want to talk to a human"), second.action("request_human"))
    await first.wait_for("queued")
    await barrier(first, second)  # both frames handled: a second hand-off would be stored
    events = await chatd.service.store.events(first.conversation_id)
    assert [e.kind for e in events].count("queued") == 1
    assert not [f for f in first.inbox + second.inbox if f.get("code") == "internal_error"]
    for c in (first, second):
        await c.close()


async def test_resume_while_queued_gets_position_at_once(chatd: Harness) -> None:
    """A waiting customer who reloads is told their position immediately, unchanged or not."""
    first, second = await chatd.customer(), await chatd.customer()
    for c in (first, second):  # one after the other: the second is second in line
        await c.wait_for("ack", ref=await c.action("request_human"))
    await second.wait_for("queue", where=lambda f: f["position"] == 2)
    second.abort()
    back = await chatd.customer(resume_token=second.resume_token, last_seq=second.last_seq)
    status = await back.wait_for("queue", timeout=2)
    assert status["position"] == 2
    for c in (first, back):
        await c.close()


async def test_verified_customer_reads_earlier_conversations(chatd: Harness) -> None:
    """A verified customer sees their earlier chats and can read them; an unverified one (or
    someone else's) gets forbidden and no events."""
    first = await chatd.customer(user_id="u-7", user_hash=_user_hash("u-7"))
    await first.say("how do I reset my password")
    await first.wait_for("message", author="bot", where=lambda f: f["seq"] > 1)
    await first.say("and my 2FA too")
    await first.wait_for("message", author="bot", where=lambda f: f["seq"] > 3)
    await first.close()
    again = await chatd.customer(user_id="u-7", user_hash=_user_hash("u-7"))
    assert [e["conversation_id"] for e in again.welcome["earlier"]] == [first.conversation_id]
    # what it was about: the first message, not a later one
    assert again.welcome["earlier"][0]["subject"] == "how do I reset my password"
    await again.send({"type": "history", "cid": "h1", "conversation_id": first.conversation_id})
    history = await again.wait_for("history")
    texts = [e.get("text") for e in history["events"]]
    assert "how do I reset my password" in texts
    assert all(e["type"] != "audit" for e in history["events"])
    stranger = await chatd.customer()
    assert "earlier" not in stranger.welcome
    other = await chatd.customer(user_id="u-8", user_hash=_user_hash("u-8"))
    for c in (stranger, other):
        await c.send({"type": "history", "cid": "h2", "conversation_id": first.conversation_id})
        assert (await c.wait_for("error", ref="h2"))["code"] == "forbidden"
        assert not c.drain("history")
    for c in (again, stranger, other):
        await c.close()


async def test_removed_agent_loses_live_session(
    chatd: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After `agents remove`, the agent's open socket is refused at its next action (1008)."""
    from chatd.web import agent_ws

    monkeypatch.setattr(agent_ws, "ACCOUNT_RECHECK_S", 0.0)
    agent = await chatd.agent(await chatd.add_agent("Olga"))
    assert await chatd.service.store.remove_agent(agent.welcome["agent"]["agent_id"])
    await agent.send({"type": "ping"})
    assert (await agent.wait_for("error"))["code"] == "not_authenticated"
    code, _ = await asyncio.wait_for(agent.closed, 5)
    assert code == 1008


class TestTrustedProxy:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {
            "server": {"trusted_proxies": ["127.0.0.1"]},
            "limits": {"connections_per_ip": 2},
        }

    async def test_limits_count_forwarded_clients_behind_a_trusted_proxy(
        self, chatd: Harness
    ) -> None:
        """Behind a trusted proxy each X-Forwarded-For client has its own per-IP limit."""
        clients = []
        for ip in ("203.0.113.5", "203.0.113.5", "198.51.100.7", "198.51.100.7"):
            clients.append(
                await CustomerClient.connect(
                    chatd.ws_url, additional_headers={"X-Forwarded-For": ip}
                )
            )
        with pytest.raises(websockets.InvalidStatus) as refused:
            await CustomerClient.connect(
                chatd.ws_url, additional_headers={"X-Forwarded-For": "203.0.113.5"}
            )
        assert refused.value.response.status_code == 429
        for c in clients:
            await c.close()
