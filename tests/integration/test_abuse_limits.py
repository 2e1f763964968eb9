"""Hardening round 2 against a real server: limits that hold across reconnects, resumes of any
length, retries that are answered with their first result, and error codes that say what
happened (issue 14, items 3 to 6)."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from chatd.client import AgentClient, CustomerClient
from chatd.store.base import NewEvent
from tests.support.harness import Harness
from tests.support.sync import barrier


async def agent_with_chat(chatd: Harness, name: str = "Ada") -> tuple[AgentClient, CustomerClient]:
    """An online agent and a customer whose chat is assigned to them."""
    agent = await chatd.agent(await chatd.add_agent(name))
    customer = await chatd.customer()
    await customer.action("request_human")
    await agent.wait_for("chat_assigned")
    await customer.wait_for("assigned")
    return agent, customer


# -- rate limits keyed by conversation and address (item 3) -------------------------------------


class TestRateLimitsOutliveSockets:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {
            "limits": {
                "messages_per_s": 0.01,
                "message_burst": 3,
                "violations_before_close": 4,
            }
        }

    async def test_reconnecting_does_not_refill_the_bucket(self, chatd: Harness) -> None:
        """The burst is per conversation: a customer who resumes on a new socket gets no new
        tokens (before, each socket had its own bucket: 4,987 messages in 20 s)."""
        customer = await chatd.customer()
        for i in range(3):
            await customer.wait_for("ack", ref=await customer.say(f"hello {i}"))
        await customer.close()
        again = await chatd.customer(resume_token=customer.resume_token, last_seq=0)
        cid = await again.say("one more")
        error = await again.wait_for("error", ref=cid)
        assert error["code"] == "rate_limited"
        assert error["retry_after_s"] > 0
        await again.close()

    async def test_parallel_sockets_share_one_bucket(self, chatd: Harness) -> None:
        """Five sockets on one conversation together get the burst of one, not five bursts."""
        first = await chatd.customer()
        sockets = [first] + [
            await chatd.customer(resume_token=first.resume_token, last_seq=0) for _ in range(4)
        ]
        cids = [await s.say(f"from socket {i}") for i, s in enumerate(sockets)]
        answers = [
            await s.wait_for(where=lambda f, c=cid: f.get("ref") == c)
            for s, cid in zip(sockets, cids, strict=True)
        ]
        assert sum(a["type"] == "ack" for a in answers) == 3
        assert sum(a.get("code") == "rate_limited" for a in answers) == 2
        for s in sockets:
            await s.close()

    async def test_violations_are_remembered_across_reconnects(self, chatd: Harness) -> None:
        """Refusals counted on one socket still count on the next: the fourth closes with 4029."""
        customer = await chatd.customer()
        for i in range(3):
            await customer.say(f"hello {i}")
        for i in range(3):
            await customer.wait_for("error", ref=await customer.say(f"too fast {i}"))
        await barrier(customer)
        assert not customer.closed.done()
        await customer.close()
        again = await chatd.customer(resume_token=customer.resume_token, last_seq=0)
        await again.say("one violation more")
        code, _reason = await asyncio.wait_for(again.closed, 5)
        assert code == 4029

    async def test_every_frame_kind_is_counted(self, chatd: Harness) -> None:
        """History reads and other actions take tokens too, not only chat messages."""
        customer = await chatd.customer()
        for _ in range(3):
            cid = await customer.action("history", conversation_id=customer.conversation_id)
            await customer.wait_for(where=lambda f, c=cid: f.get("ref") == c)
        cid = await customer.action("request_human")
        assert (await customer.wait_for("error", ref=cid))["code"] == "rate_limited"
        await customer.close()


class TestAddressBucket:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"limits": {"ip_messages_per_s": 0.01, "ip_message_burst": 4}}

    async def test_one_address_shares_a_wider_bucket(self, chatd: Harness) -> None:
        """Many conversations from one address cannot each use a full burst: the address has
        its own (wider) bucket."""
        answers = []
        for i in range(3):
            customer = await chatd.customer()
            for j in range(2):
                cid = await customer.say(f"chat {i} message {j}")
                answers.append(await customer.wait_for(where=lambda f, c=cid: f.get("ref") == c))
            await customer.close()
        assert [a["type"] for a in answers].count("ack") == 4
        assert all(a.get("code") == "rate_limited" for a in answers[4:])


class TestNewChatLimit:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"limits": {"new_conversations_per_ip": 2}}

    async def test_refusal_says_when_to_retry_and_closes(self, chatd: Harness) -> None:
        """Past the new-chat limit the hello gets rate_limited with retry_after_s, then the
        socket closes with 4029, so the widget can show why instead of waiting forever."""
        for _ in range(2):
            await (await chatd.customer()).close()
        extra = await CustomerClient.open(chatd.ws_url)
        await extra.send({"type": "hello"})
        error = await extra.wait_for("error")
        assert error["code"] == "rate_limited"
        assert 0 < error["retry_after_s"] <= 3600
        code, reason = await asyncio.wait_for(extra.closed, 5)
        assert code == 4029 and "new chats" in reason

    async def test_verified_customers_are_counted_by_user(self, chatd: Harness) -> None:
        """A logged-in customer behind a busy NAT is counted by user id, not by the address."""
        from tests.integration.test_hardening import _user_hash

        for _ in range(2):
            await (await chatd.customer()).close()
        verified = await chatd.customer(user_id="u-9", user_hash=_user_hash("u-9"))
        assert verified.welcome["verified"] is True
        await verified.close()


# -- resume of a long backlog (item 4) ----------------------------------------------------------


class TestLongResume:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"limits": {"max_events_per_conversation": 6000}}

    async def test_customer_who_missed_5000_events_gets_all_in_order(self, chatd: Harness) -> None:
        """A resume after 5,000 missed events replays every one, in order, without tripping the
        bounded outbox (512 frames; before, it closed with 4008 before the welcome)."""
        customer = await chatd.customer()
        conversation_id = customer.conversation_id
        await customer.close()
        for i in range(5000):
            await chatd.service.store.append_event(
                conversation_id,
                NewEvent(kind="message", ts=float(i), author="bot", text=f"line {i}"),
            )
        again = await CustomerClient.connect(
            chatd.ws_url, resume_token=customer.resume_token, last_seq=1
        )
        seqs: list[int] = []
        while len(seqs) < 5000:
            frame = await again.wait_for("message", timeout=20)
            seqs.append(frame["seq"])
        assert seqs == list(range(2, 5002))
        assert not again.closed.done()
        await again.close()


# -- retries answered with the first result, cids per author (item 5) ---------------------------


async def test_agent_reusing_a_customer_cid_is_not_swallowed(chatd: Harness) -> None:
    """A cid is unique per author: an agent's message with the customer's cid is stored and
    delivered as a new event (before, it was acked with the customer's seq and dropped)."""
    agent, customer = await agent_with_chat(chatd)
    ack = await customer.wait_for("ack", ref=await customer.say("hi", cid="same-cid"))
    await agent.reply(customer.conversation_id, "hello there", cid="same-cid")
    agent_ack = await agent.wait_for("ack", ref="same-cid")
    assert agent_ack["seq"] > ack["seq"] and not agent_ack.get("duplicate")
    delivered = await customer.wait_for("message", author="agent")
    assert delivered["text"] == "hello there"
    for c in (agent, customer):
        await c.close()


async def test_retried_agent_frames_are_acked_as_duplicates(chatd: Harness) -> None:
    """An agent's retried message, note and close are each acknowledged with duplicate: true
    and the first seq; nothing is stored twice and the retried close is not 'forbidden'."""
    agent, customer = await agent_with_chat(chatd)
    conv = customer.conversation_id
    for kind, fields in (
        ("message", {"text": "one answer"}),
        ("note", {"text": "checked the txid"}),
        ("close", {}),
    ):
        frame = {"type": kind, "cid": f"{kind}-1", "conversation_id": conv, **fields}
        await agent.send(frame)
        first = await agent.wait_for("ack", ref=f"{kind}-1")
        await agent.send(frame)
        again = await agent.wait_for(where=lambda f, r=f"{kind}-1": f.get("ref") == r)
        assert again["type"] == "ack" and again.get("duplicate") is True, again
        assert again["seq"] == first["seq"]
    events = await chatd.service.store.events(conv)
    assert [e.kind for e in events].count("closed") == 1
    assert [e.text for e in events].count("one answer") == 1
    for c in (agent, customer):
        await c.close()


async def test_retried_customer_frames_are_acked_as_duplicates(chatd: Harness) -> None:
    """A customer's retried ticket, close and CSAT are acked with duplicate: true and the first
    result (the same ticket id; a retried rating is not invalid_state)."""
    customer = await chatd.customer()
    ticket = {"type": "create_ticket", "cid": "t-1", "contact": "a@example.com", "text": "help"}
    await customer.send(ticket)
    first = await customer.wait_for("ack", ref="t-1")
    await customer.send(ticket)
    again = await customer.wait_for(where=lambda f: f.get("ref") == "t-1")
    assert again["type"] == "ack" and again["duplicate"] is True
    assert again["ticket_id"] == first["ticket_id"] and again["seq"] == first["seq"]
    for frame in ({"type": "close", "cid": "x-1"}, {"type": "csat", "cid": "r-1", "score": 4}):
        await customer.send(frame)
        first = await customer.wait_for("ack", ref=frame["cid"])
        await customer.send(frame)
        retry = await customer.wait_for(where=lambda f, c=frame["cid"]: f.get("ref") == c)
        assert retry["type"] == "ack" and retry["duplicate"] is True, retry
        assert retry["seq"] == first["seq"]
    other = await customer.action("csat", score=1)
    assert (await customer.wait_for("error", ref=other))["code"] == "invalid_state"
    await customer.close()


async def test_retried_ticket_reply_is_stored_once(chatd: Harness) -> None:
    """A ticket reply sent twice with one cid is stored once; the retry's ack says duplicate."""
    customer = await chatd.customer()
    await customer.send(
        {"type": "create_ticket", "cid": "t", "contact": "a@example.com", "text": "help"}
    )
    ticket_id = (await customer.wait_for("ack", ref="t"))["ticket_id"]
    operator = await chatd.agent(await chatd.add_agent("Olga", role="operator"))
    frame = {"type": "ticket_reply", "cid": "r", "ticket_id": ticket_id, "text": "done"}
    await operator.send(frame)
    first = await operator.wait_for("ack", ref="r")
    await operator.send(frame)
    again = await operator.wait_for("ack", ref="r")
    assert again["duplicate"] is True and again["seq"] == first["seq"]
    events = await chatd.service.store.events(customer.conversation_id)
    assert [e.kind for e in events].count("ticket_reply") == 1
    for c in (customer, operator):
        await c.close()


# -- error codes that say what happened (item 6) -----------------------------------------------


async def test_unknown_conversation_and_agent_are_not_found(chatd: Harness) -> None:
    """A frame for a conversation that does not exist, and a transfer to an agent id that does
    not exist, answer not_found (not forbidden / invalid_state)."""
    agent, customer = await agent_with_chat(chatd)
    cid = await agent.reply("f" * 32, "hello?")
    assert (await agent.wait_for("error", ref=cid))["code"] == "not_found"
    cid = await agent.action(
        "transfer", conversation_id=customer.conversation_id, to_agent_id="ag_nobody"
    )
    assert (await agent.wait_for("error", ref=cid))["code"] == "not_found"
    for c in (agent, customer):
        await c.close()


async def test_out_of_range_ids_and_surrogates_are_invalid_field(chatd: Harness) -> None:
    """A ticket id above int64 and a cid holding a lone surrogate answer invalid_field, and the
    connection keeps working (a lone surrogate used to kill its writer silently)."""
    operator = await chatd.agent(await chatd.add_agent("Olga", role="operator"))
    big = 2**64
    await operator.send_raw(f'{{"type":"ticket_reply","cid":"big","ticket_id":{big},"text":"x"}}')
    assert (await operator.wait_for("error", ref="big"))["code"] == "invalid_field"
    customer = await chatd.customer()
    await customer.send_raw('{"type":"message","cid":"\\ud800","text":"hello"}')
    error = await customer.wait_for("error")
    assert error["code"] == "invalid_field" and error["ref"] is None
    await customer.send_raw('{"type":"message","cid":"ok","text":"caf\\u00e9 \\ud83d\\ude00"}')
    assert (await customer.wait_for("ack", ref="ok"))["seq"] > 0
    for c in (operator, customer):
        await c.close()


async def test_hostile_http_inputs_are_4xx_not_500(chatd: Harness) -> None:
    """A 5,000-character path, a JSON body with a lone surrogate or 200 levels of nesting get a
    4xx JSON error, never a 500."""
    token = await chatd.add_agent("Olga", role="operator")
    customer = await chatd.customer()
    await customer.send({"type": "create_ticket", "cid": "t", "contact": "a@b.co", "text": "hi"})
    ticket_id = (await customer.wait_for("ack", ref="t"))["ticket_id"]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    url = f"{chatd.url}/api/tickets/{ticket_id}/reply"
    async with aiohttp.ClientSession() as http:
        for path in (f"/{'a' * 5000}", f"/static/{'a' * 5000}.js", f"/static/{'b' * 300}.css"):
            async with http.get(chatd.url + path) as r:
                assert 400 <= r.status < 500, path
                assert "code" in (await r.json())["error"]
        for body in ('{"text": "bad \\udc00 text"}', '{"text": ' + "[" * 200 + "]" * 200 + "}"):
            async with http.post(url, data=body, headers=headers) as r:
                assert r.status == 400, await r.text()
                assert (await r.json())["error"]["code"] == "invalid_field"
    await customer.close()


class TestHelloDeadline:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        return {"limits": {"hello_timeout_s": 1.0}}

    async def test_pings_and_garbage_do_not_extend_the_hello_deadline(self, chatd: Harness) -> None:
        """A socket that only pings and sends garbage is closed (4000) when the hello time is up."""
        client = await CustomerClient.open(chatd.ws_url)
        loop = asyncio.get_running_loop()
        started = loop.time()
        while not client.closed.done() and loop.time() - started < 5:
            await client.send({"type": "ping"})
            await client.send_raw("not json")
            await asyncio.sleep(0.2)
        code, _ = await asyncio.wait_for(client.closed, 1)
        assert code == 4000
        assert loop.time() - started < 3


async def test_a_frame_of_exactly_the_limit_is_accepted(chatd: Harness) -> None:
    """PROTOCOL.md: frames *larger* than max_frame_bytes close with 1009; one of exactly that
    size is read and answered (here: too_long, as its text exceeds max_message_chars)."""
    customer = await CustomerClient.connect(chatd.ws_url)
    limit = chatd.service.config.limits.max_frame_bytes
    head = '{"type":"message","cid":"big","text":"'
    frame = head + "x" * (limit - len(head) - 2) + '"}'
    assert len(frame.encode()) == limit
    await customer.send_raw(frame)
    assert (await customer.wait_for("error", ref="big"))["code"] == "too_long"
    await customer.send_raw(frame[:-2] + 'x"}')
    code, _ = await asyncio.wait_for(customer.closed, 5)
    assert code == 1009


# -- server contracts the widget and console build on ------------------------------------------


async def test_talk_to_a_person_carries_the_topic(chatd: Harness) -> None:
    """After the bot matched a topic, "talk to a person" hands it over: the queued event and
    the conversation name the intent (routing by skill, the console, /ops)."""
    customer = await chatd.customer()
    await customer.say("my withdrawal is still pending")
    answer = await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 2)
    assert answer["data"]["intent"] == "withdrawal.pending"
    await customer.say("asdf qwerty zxcv")  # a miss does not forget the topic
    await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > answer["seq"] + 1)
    await customer.action("request_human")
    queued = await customer.wait_for("queued")
    stored = await chatd.service.store.events(customer.conversation_id)
    assert [e.data.get("intent") for e in stored if e.kind == "queued"] == ["withdrawal.pending"]
    conv = await chatd.service.store.get_conversation(customer.conversation_id)
    assert conv is not None and conv.intent == "withdrawal.pending"
    assert "withdrawals" in conv.skills
    assert queued["data"]["priority"] == "normal"
    await customer.close()


async def test_close_names_the_agent_and_tickets_can_be_closed(chatd: Harness) -> None:
    """The closed event says which agent closed the chat; POST /api/tickets/{id}/close closes a
    ticket (and again without error), 404 for an unknown one."""
    agent, customer = await agent_with_chat(chatd, "Zoe")
    await agent.action("close", conversation_id=customer.conversation_id)
    closed = await agent.wait_for("closed")
    assert closed["data"]["by"] == "agent" and closed["data"]["agent_name"] == "Zoe"
    assert closed["data"]["agent_id"] == agent.welcome["agent"]["agent_id"]
    seen = await customer.wait_for("closed")
    assert "agent_id" not in seen.get("data", {})
    ticketed = await chatd.customer()
    await ticketed.send({"type": "create_ticket", "cid": "t", "contact": "a@b.co", "text": "hi"})
    ticket_id = (await ticketed.wait_for("ack", ref="t"))["ticket_id"]
    token = await chatd.add_agent("Olga", role="operator")
    headers = {"Authorization": f"Bearer {token}"}
    async with aiohttp.ClientSession(headers=headers) as http:
        for _ in range(2):
            async with http.post(f"{chatd.url}/api/tickets/{ticket_id}/close") as r:
                assert r.status == 200
                assert (await r.json())["ticket"]["status"] == "closed"
        async with http.get(f"{chatd.url}/api/tickets?status=open") as r:
            assert ticket_id not in [t["ticket_id"] for t in (await r.json())["tickets"]]
        async with http.post(f"{chatd.url}/api/tickets/999999/close") as r:
            assert r.status == 404 and (await r.json())["error"]["code"] == "not_found"
    await ticketed.wait_for("closed")
    for c in (agent, customer, ticketed):
        await c.close()
