"""The whole support flow against a real server: bot, queue, routing, agents, tickets, CSAT."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from chatd.client import AgentClient, CustomerClient
from tests.support.harness import Harness
from tests.support.sync import assert_nothing_more


async def ask_for_person(customer: CustomerClient) -> None:
    await customer.action("request_human")
    await customer.wait_for("queued")


async def test_faq_answered_in_english(chatd: Harness) -> None:
    """An English FAQ question gets the matching bot answer with quick replies."""
    customer = await chatd.customer(locale="en")
    greeting = await customer.wait_for("message", author="bot")
    assert greeting["seq"] == 1 and greeting["text"]
    await customer.say("I forgot my password and can't log in, how do I reset it?")
    reply = await customer.wait_for("message", author="bot")
    assert reply["data"]["intent"] == "account.password_reset"
    assert reply["data"]["confidence"] > 0.5
    assert "password" in reply["text"].lower()
    await customer.close()


async def test_faq_answered_in_chinese(chatd: Harness) -> None:
    """A Chinese question is answered in Chinese, whatever locale the widget said."""
    customer = await chatd.customer(locale="en")
    await customer.wait_for("message", author="bot")
    await customer.say("充值的USDT一直没到账怎么办")
    reply = await customer.wait_for("message", author="bot")
    assert reply["data"]["intent"] == "deposit.missing"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in reply["text"])
    await customer.close()


async def test_greeting_in_customer_language(chatd: Harness) -> None:
    """A zh-CN widget is greeted in Chinese."""
    customer = await chatd.customer(locale="zh-CN")
    greeting = await customer.wait_for("message", author="bot")
    assert customer.welcome["locale"] == "zh"
    assert any("\u4e00" <= ch <= "\u9fff" for ch in greeting["text"])
    await customer.close()


async def test_two_misses_hand_off(chatd: Harness) -> None:
    """Two replies without a confident intent in a row put the chat in the queue; one does not."""
    customer = await chatd.customer()
    greeting = await customer.wait_for("message", author="bot")
    await customer.say("qwrtz blorp fnagh zzyx")
    first = await customer.wait_for(
        "message", author="bot", where=lambda f: f["seq"] > greeting["seq"]
    )
    assert first["data"]["intent"] is None and not first["data"]["ambiguous"]
    # The bot's reply is written before the hand-off would be: after a barrier, a queued event
    # caused by this first miss has arrived or never will.
    await assert_nothing_more(customer, "queued")
    await customer.say("vrrmp kksh trallalero glomp")
    second = await customer.wait_for(
        "message", author="bot", where=lambda f: f["seq"] > first["seq"]
    )
    assert second["data"]["intent"] is None
    queued = await customer.wait_for("queued")
    assert queued["seq"] > second["seq"]
    assert queued["data"]["priority"] == "normal"
    await customer.close()


async def test_request_human_offers_ticket_when_nobody_is_online(chatd: Harness) -> None:
    """Asking for a person with no agent online queues the chat and offers a ticket."""
    customer = await chatd.customer()
    await customer.say("I want to talk to a real person please")
    await customer.wait_for("queued")
    offer = await customer.wait_for("ticket_offered")
    assert offer["data"]["reason"] == "no_agents"
    status = await customer.wait_for("queue")
    assert status["position"] == 1 and status["agents_online"] == 0
    assert status["estimated_wait_s"] is None
    await customer.close()


async def test_positions_move_up_as_chats_are_assigned(chatd: Harness) -> None:
    """Three waiting customers see 1, 2, 3; each moves up when the first is assigned."""
    token = await chatd.add_agent("Alice", capacity=1)
    agent = await chatd.agent(token, status="away")
    customers = []
    for _ in range(3):
        c = await chatd.customer()
        await ask_for_person(c)
        customers.append(c)
    for expected, c in enumerate(customers, start=1):
        status = await c.wait_for("queue", where=lambda f, e=expected: f["position"] == e)
        assert status["agents_online"] == 0
    await agent.action("set_status", status="online")
    assigned = await agent.wait_for("chat_assigned")
    assert assigned["conversation"]["conversation_id"] == customers[0].conversation_id
    await customers[0].wait_for("assigned")
    await customers[1].wait_for("queue", where=lambda f: f["position"] == 1)
    await customers[2].wait_for("queue", where=lambda f: f["position"] == 2)
    for c in [*customers, agent]:
        await c.close()


async def test_urgent_goes_ahead(chatd: Harness) -> None:
    """A hacked-account customer enters the urgent class, ahead of earlier normal ones."""
    normal = await chatd.customer()
    await ask_for_person(normal)
    urgent = await chatd.customer()
    await urgent.say("someone hacked my account and withdrew all my BTC!!")
    queued = await urgent.wait_for("queued")
    assert queued["data"]["priority"] == "urgent"
    await urgent.wait_for("queue", where=lambda f: f["position"] == 1)
    await normal.wait_for("queue", where=lambda f: f["position"] == 2)
    token = await chatd.add_agent("Bob", capacity=1, skills=("security",))
    agent = await chatd.agent(token)
    assigned = await agent.wait_for("chat_assigned")
    assert assigned["conversation"]["conversation_id"] == urgent.conversation_id
    assert assigned["conversation"]["priority"] == "urgent"
    for c in (normal, urgent, agent):
        await c.close()


async def test_two_agents_capacity_one_get_one_each(chatd: Harness) -> None:
    """With two agents of capacity 1, two chats go one to each, never both to one."""
    a = await chatd.agent(await chatd.add_agent("A", capacity=1))
    b = await chatd.agent(await chatd.add_agent("B", capacity=1))
    c1, c2 = await chatd.customer(), await chatd.customer()
    await ask_for_person(c1)
    await ask_for_person(c2)
    got_a = await a.wait_for("chat_assigned")
    got_b = await b.wait_for("chat_assigned")
    ids = {got_a["conversation"]["conversation_id"], got_b["conversation"]["conversation_id"]}
    assert ids == {c1.conversation_id, c2.conversation_id}
    for c in (a, b, c1, c2):
        await c.close()


async def test_language_routing(chatd: Harness) -> None:
    """A Chinese-speaking customer goes to the Chinese-speaking agent."""
    en = await chatd.agent(await chatd.add_agent("English", languages=("en",)))
    zh = await chatd.agent(await chatd.add_agent("Chinese", languages=("zh",)))
    customer = await chatd.customer(locale="zh-CN")
    await customer.say("我要人工客服")
    await customer.wait_for("queued")
    assigned = await zh.wait_for("chat_assigned")
    assert assigned["conversation"]["locale"] == "zh"
    reason = next(e for e in assigned["events"] if e["type"] == "assigned")["data"]["reason"]
    assert "language=zh" in reason
    await assert_nothing_more(en, "chat_assigned")
    for c in (en, zh, customer):
        await c.close()


async def test_agent_sees_bot_history_and_messages_flow(chatd: Harness) -> None:
    """The agent receives the bot part of the chat; then messages flow both ways in order."""
    agent = await chatd.agent(await chatd.add_agent("Carol"))
    customer = await chatd.customer()
    await customer.say("my withdrawal has been pending for 3 hours")
    await customer.wait_for("message", author="bot")
    await ask_for_person(customer)
    assigned = await agent.wait_for("chat_assigned")
    history = assigned["events"]
    texts = [e.get("text") for e in history if e["type"] == "message"]
    assert "my withdrawal has been pending for 3 hours" in texts
    assert any(e["author"] == "bot" and e["data"].get("intent") for e in history)
    joined = await customer.wait_for("assigned")
    assert joined["data"]["agent_name"] == "Carol"
    assert "agent_id" not in joined["data"] and "reason" not in joined["data"]
    conv = customer.conversation_id
    for i in range(5):
        await customer.say(f"customer {i}")
        await agent.reply(conv, f"agent {i}")
    for i in range(5):
        await customer.wait_for("message", author="agent", text=f"agent {i}")
        await agent.wait_for("message", author="customer", text=f"customer {i}")
    seqs = sorted(customer.events)
    assert seqs == sorted(set(seqs))
    for c in (agent, customer):
        await c.close()


async def test_typing_notes_and_tags(chatd: Harness) -> None:
    """Typing is relayed; notes and tags reach the agent but never the customer."""
    agent = await chatd.agent(await chatd.add_agent("Dan"))
    customer = await chatd.customer()
    await ask_for_person(customer)
    await agent.wait_for("chat_assigned")
    conv = customer.conversation_id
    await agent.send({"type": "typing", "conversation_id": conv, "active": True})
    typing = await customer.wait_for("typing")
    assert typing["active"] is True and typing["author_name"] == "Dan"
    await customer.send({"type": "typing", "active": True})
    await agent.wait_for("typing", conversation_id=conv)
    await agent.action("note", conversation_id=conv, text="VIP, handle with care")
    note = await agent.wait_for("note")
    assert note["internal"] is True
    await agent.action("tag", conversation_id=conv, tags=["withdrawal", "VIP"])
    tags = await agent.wait_for("tags")
    assert tags["data"]["tags"] == ["vip", "withdrawal"]
    await agent.reply(conv, "marker")
    await customer.wait_for("message", text="marker")
    assert not [e for e in customer.events.values() if e["type"] in ("note", "tags")]
    for c in (agent, customer):
        await c.close()


async def test_transfer_to_agent_and_back_to_queue(chatd: Harness) -> None:
    """Transfer hands the chat to another agent; transfer to the queue keeps the original place."""
    first = await chatd.agent(await chatd.add_agent("First", capacity=1))
    customer = await chatd.customer()
    await ask_for_person(customer)
    await first.wait_for("chat_assigned")
    second = await chatd.agent(await chatd.add_agent("Second", capacity=1))
    second_id = second.welcome["agent"]["agent_id"]
    conv = customer.conversation_id
    await first.action("transfer", conversation_id=conv, to_agent_id=second_id)
    await first.wait_for("unassigned", conversation_id=conv, reason="transferred")
    got = await second.wait_for("chat_assigned")
    assert got["conversation"]["conversation_id"] == conv
    moved = await customer.wait_for("transferred")
    assert moved["data"]["agent_name"] == "Second"
    # A later customer waits; the transferred chat goes back ahead of them.
    await first.action("set_status", status="away")
    await second.action("set_status", status="away")
    await first.wait_for("status")
    await second.wait_for("status")
    later = await chatd.customer()
    await ask_for_person(later)
    await second.action("transfer", conversation_id=conv, to_agent_id=None)
    await customer.wait_for("requeued")
    await customer.wait_for("queue", where=lambda f: f["position"] == 1)
    await later.wait_for("queue", where=lambda f: f["position"] == 2)
    for c in (first, second, customer, later):
        await c.close()


async def test_close_and_csat(chatd: Harness) -> None:
    """The agent closes; the customer rates; the rating is stored once."""
    agent = await chatd.agent(await chatd.add_agent("Eve"))
    customer = await chatd.customer()
    await ask_for_person(customer)
    await agent.wait_for("chat_assigned")
    conv = customer.conversation_id
    await agent.action("close", conversation_id=conv)
    closed = await customer.wait_for("closed")
    assert closed["data"]["by"] == "agent"
    # Rating the moment "closed" arrives must work (the state changed before the event).
    await customer.action("csat", score=5, comment="quick and kind")
    await agent.wait_for("closed")
    await agent.wait_for("unassigned", reason="closed")
    csat = await customer.wait_for("csat")
    assert csat["data"] == {"score": 5, "comment": "quick and kind"}
    await customer.action("csat", score=1)
    error = await customer.wait_for("error")
    assert error["code"] == "invalid_state"
    record = await chatd.service.store.get_conversation(conv)
    assert record is not None and record.csat_score == 5 and record.status == "closed"
    for c in (agent, customer):
        await c.close()


async def test_closed_chat_refuses_new_messages_and_acks_retries(chatd: Harness) -> None:
    """After the close a new message is refused (invalid_state) and the agent can no longer
    write (forbidden), while a resend of an acknowledged message (its ack lost on a flaky
    network) is acknowledged again as a duplicate, not refused."""
    agent = await chatd.agent(await chatd.add_agent("Vic"))
    customer = await chatd.customer()
    await ask_for_person(customer)
    await agent.wait_for("chat_assigned")
    conv = customer.conversation_id
    sent = await customer.say("my withdrawal is stuck")
    first = await customer.wait_for("ack", ref=sent)
    await agent.action("close", conversation_id=conv)
    await customer.wait_for("closed")
    late = await customer.say("hello?")
    assert (await customer.wait_for("error", ref=late))["code"] == "invalid_state"
    await customer.say("my withdrawal is stuck", cid=sent)
    again = await customer.wait_for("ack", ref=sent)
    assert again["seq"] == first["seq"] and again.get("duplicate") is True
    reply = await agent.reply(conv, "one more thing")
    assert (await agent.wait_for("error", ref=reply))["code"] == "forbidden"
    texts = [e.text for e in await chatd.service.store.events(conv) if e.kind == "message"]
    assert "hello?" not in texts and "one more thing" not in texts
    assert texts.count("my withdrawal is stuck") == 1
    for c in (agent, customer):
        await c.close()


async def test_transcript_api_and_roles(chatd: Harness) -> None:
    """Operators read every event of a transcript; agent tokens are refused on operator routes."""
    op_token = await chatd.add_agent("Olivia", role="operator")
    agent_token = await chatd.add_agent("Frank")
    agent = await chatd.agent(agent_token)
    customer = await chatd.customer()
    await customer.say("how do I enable 2FA? I lost my phone")
    await customer.wait_for("message", author="bot")
    await ask_for_person(customer)
    await agent.wait_for("chat_assigned")
    conv = customer.conversation_id
    await agent.reply(conv, "Hi, I can help")
    await customer.wait_for("message", author="agent")
    await agent.action("note", conversation_id=conv, text="internal only")
    await agent.wait_for("note")
    async with aiohttp.ClientSession() as http:
        url = f"{chatd.url}/api/conversations/{conv}"
        async with http.get(url, headers={"Authorization": f"Bearer {agent_token}"}) as r:
            assert r.status == 403
            assert (await r.json())["error"]["code"] == "forbidden"
        async with http.get(url) as r:
            assert r.status == 401
        async with http.get(url, headers={"Authorization": f"Bearer {op_token}"}) as r:
            assert r.status == 200
            body = await r.json()
        kinds = [e["type"] for e in body["events"]]
        for kind in ("message", "queued", "assigned", "note"):
            assert kind in kinds
        bot = [e for e in body["events"] if e["author"] == "bot" and e["data"].get("intent")]
        assert bot and "confidence" in bot[0]["data"]
        assigned = next(e for e in body["events"] if e["type"] == "assigned")
        assert assigned["data"]["reason"] and "waited_s" in assigned["data"]
        headers = {"Authorization": f"Bearer {op_token}"}
        async with http.get(f"{chatd.url}/api/conversations?status=assigned", headers=headers) as r:
            listed = (await r.json())["conversations"]
            assert [c["conversation_id"] for c in listed] == [conv]
        async with http.get(f"{chatd.url}/api/export?format=csv", headers=headers) as r:
            assert r.status == 200
            text = await r.text()
            assert text.splitlines()[0].startswith("\ufeffconversation_id,seq,time,kind")
            assert "internal only" in text
        async with http.get(f"{chatd.url}/api/export?format=jsonl", headers=headers) as r:
            lines = (await r.text()).splitlines()
            assert len(lines) == len(body["events"])
        async with http.get(f"{chatd.url}/api/agents", headers=headers) as r:
            agents = {a["name"]: a for a in (await r.json())["agents"]}
            assert agents["Frank"]["status"] == "online" and agents["Frank"]["active"] == 1
        async with http.get(f"{chatd.url}/api/stats", headers=headers) as r:
            stats = await r.json()
            assert stats["conversations"] == 1 and stats["handed_off"] == 1
    for c in (agent, customer):
        await c.close()


async def test_ticket_when_offline_answered_and_seen_after_resume(chatd: Harness) -> None:
    """No agent online -> ticket; an agent answers it; the customer sees it on coming back."""
    customer = await chatd.customer()
    await ask_for_person(customer)
    await customer.wait_for("ticket_offered")
    await customer.action("create_ticket", contact="me@example.com", text="deposit missing")
    created = await customer.wait_for("ticket_created")
    ticket_id = created["data"]["ticket_id"]
    token, last_seq = customer.resume_token, customer.last_seq
    await customer.close()

    agent_token = await chatd.add_agent("Grace")
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {agent_token}"}
        async with http.get(f"{chatd.url}/api/tickets?status=open", headers=headers) as r:
            tickets = (await r.json())["tickets"]
            assert [t["ticket_id"] for t in tickets] == [ticket_id]
        async with http.post(
            f"{chatd.url}/api/tickets/{ticket_id}/reply",
            json={"text": "We found your deposit; it is credited now."},
            headers=headers,
        ) as r:
            assert r.status == 200
            assert (await r.json())["ticket"]["status"] == "answered"

    back = await chatd.customer(resume_token=token, last_seq=last_seq)
    assert back.welcome["resumed"] is True and back.welcome["status"] == "ticket"
    reply = await back.wait_for("ticket_reply")
    assert reply["text"] == "We found your deposit; it is credited now."
    assert min(back.events) > last_seq
    await back.close()


async def test_resume_gets_exactly_what_was_missed(chatd: Harness) -> None:
    """Reconnecting with last_seq replays only the later events, in order, once."""
    agent = await chatd.agent(await chatd.add_agent("Heidi"))
    customer = await chatd.customer()
    await ask_for_person(customer)
    await agent.wait_for("chat_assigned")
    await customer.wait_for("assigned")
    conv, token, seen = customer.conversation_id, customer.resume_token, customer.last_seq
    customer.abort()
    for i in range(3):
        await agent.reply(conv, f"while you were away {i}")
        await agent.wait_for("ack")
    back = await chatd.customer(resume_token=token, last_seq=seen)
    for i in range(3):
        await back.wait_for("message", text=f"while you were away {i}")
    assert sorted(back.events) == list(range(seen + 1, seen + 4))
    await assert_nothing_more(back, "message")
    for c in (agent, back):
        await c.close()


async def test_retried_send_is_stored_once(chatd: Harness) -> None:
    """The same cid sent twice is stored once; the second ack says duplicate."""
    customer = await chatd.customer()
    await customer.say("hello there", cid="fixed-cid")
    first = await customer.wait_for("ack", ref="fixed-cid")
    await customer.say("hello there", cid="fixed-cid")
    second = await customer.wait_for("ack", ref="fixed-cid")
    assert second["seq"] == first["seq"] and second.get("duplicate") is True
    events = await chatd.service.store.events(customer.conversation_id)
    assert sum(1 for e in events if e.cid == "fixed-cid") == 1
    await customer.close()


async def test_retried_send_uses_up_no_seq(chatd: Harness) -> None:
    """A retry is acknowledged with the first seq and the next message gets the very next one:
    the agent sees the customer's events without a gap."""
    agent = await chatd.agent(await chatd.add_agent("Quinn"))
    customer = await chatd.customer()
    await ask_for_person(customer)
    await agent.wait_for("chat_assigned")
    await customer.wait_for("assigned")
    first = await customer.wait_for("ack", ref=await customer.say("first", cid="c-first"))
    for _ in range(3):
        await customer.say("first", cid="c-first")
        again = await customer.wait_for("ack", ref="c-first")
        assert again["seq"] == first["seq"] and again.get("duplicate") is True
    second = await customer.wait_for("ack", ref=await customer.say("second"))
    assert second["seq"] == first["seq"] + 1
    seen = await agent.wait_for("message", text="second")
    assert seen["seq"] == second["seq"]
    stored = [e.seq for e in await chatd.service.store.events(customer.conversation_id)]
    assert stored == list(range(1, len(stored) + 1))
    for c in (agent, customer):
        await c.close()


async def test_bad_token_and_other_conversations(chatd: Harness) -> None:
    """A forged resume token is refused; an agent cannot write to a chat not assigned to them."""
    customer = await chatd.customer()
    forged = customer.conversation_id + ".9999999999.AAAA"
    client = await CustomerClient.open(chatd.ws_url)
    await client.send({"type": "hello", "resume_token": forged})
    error = await client.wait_for("error")
    assert error["code"] == "bad_token"
    await client.close()
    agent = await chatd.agent(await chatd.add_agent("Ivan"))
    await agent.reply(customer.conversation_id, "not mine")
    error = await agent.wait_for("error")
    assert error["code"] == "forbidden"
    for c in (agent, customer):
        await c.close()


async def test_wrong_agent_token_closes_1008(chatd: Harness) -> None:
    """A wrong agent token gets not_authenticated and the socket closes with 1008."""
    with pytest.raises(PermissionError):
        await AgentClient.connect(chatd.ws_url, "ag_nobody.secret")
    client = await AgentClient.open(chatd.ws_url)
    await client.send({"type": "hello", "token": "ag_nobody.secret", "status": "online"})
    assert (await client.wait_for("error"))["code"] == "not_authenticated"
    code, _reason = await asyncio.wait_for(client.closed, 5)
    assert code == 1008


async def test_queue_order_survives_restart(chatd: Harness) -> None:
    """Restarting the server mid-queue keeps every waiting chat in the same order."""
    customers = []
    for text in ("agent please", "someone stole my account, help", "human please"):
        c = await chatd.customer()
        await c.say(text)
        await c.wait_for("queued")
        customers.append(c)
    before = [e.conversation_id for e in chatd.service.assignments.dispatcher.queue.ordered()]
    assert before[0] == customers[1].conversation_id  # the urgent one
    for c in customers:
        c.abort()
    await chatd.restart()
    after = [e.conversation_id for e in chatd.service.assignments.dispatcher.queue.ordered()]
    assert after == before
    back = await chatd.customer(resume_token=customers[2].resume_token)
    status = await back.wait_for("queue")
    assert status["position"] == 3
    await back.close()


async def test_metrics_and_health(chatd: Harness) -> None:
    """/healthz answers 200 and /metrics exposes queue, conversation and bot figures."""
    customer = await chatd.customer()
    await customer.say("how do I reset my password")
    await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 1)
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{chatd.url}/healthz") as r:
            assert r.status == 200
        async with http.get(f"{chatd.url}/metrics") as r:
            text = await r.text()
    assert 'chatd_bot_replies_total{result="answered"} 1.0' in text
    assert 'chatd_conversations_open{state="bot"} 1.0' in text
    assert "# TYPE chatd_queue_wait_seconds histogram" in text
    assert "chatd_agents_online 0.0" in text
    await customer.close()


class TestMetricsAccess:
    """/metrics is for this machine by default; elsewhere, an allowed network or the token."""

    TOKEN = "scrape-0123456789abcdef"

    @pytest.fixture
    def settings(self) -> dict:
        # No network allowed, not even this one: only the token opens /metrics.
        return {"metrics": {"allow": [], "token": self.TOKEN}}

    async def test_only_the_token_opens_metrics(self, chatd: Harness) -> None:
        async with aiohttp.ClientSession() as http:
            async with http.get(f"{chatd.url}/metrics") as r:
                assert r.status == 403
                error = (await r.json())["error"]
                assert error["code"] == "forbidden" and "Bearer" in error["message"]
                assert "chatd_" not in await r.text()
            wrong = {"Authorization": "Bearer scrape-0123456789abcdeX"}
            async with http.get(f"{chatd.url}/metrics", headers=wrong) as r:
                assert r.status == 403
            right = {"Authorization": f"Bearer {self.TOKEN}"}
            async with http.get(f"{chatd.url}/metrics", headers=right) as r:
                assert r.status == 200
                assert "chatd_agents_online" in await r.text()
            async with http.get(f"{chatd.url}/healthz") as r:  # health stays open
                assert r.status == 200


async def test_leave_queue_returns_to_the_bot(chatd: Harness) -> None:
    """A waiting customer can leave the queue; positions of the others move up."""
    first, second = await chatd.customer(), await chatd.customer()
    for c in (first, second):
        await ask_for_person(c)
    await second.wait_for("queue", where=lambda f: f["position"] == 2)
    await first.action("leave_queue")
    left = await first.wait_for("left_queue")
    assert left["author"] == "customer"
    await second.wait_for("queue", where=lambda f: f["position"] == 1)
    await first.say("how do I deposit USDT?")
    reply = await first.wait_for("message", author="bot", where=lambda f: f["seq"] > left["seq"])
    assert reply["data"]["intent"] == "deposit.how"
    for c in (first, second):
        await c.close()


async def test_customer_close_counts_as_deflected(chatd: Harness) -> None:
    """A chat the bot handled alone and the customer closed counts as deflected."""
    customer = await chatd.customer()
    await customer.say("what are the trading fees?")
    await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 1)
    await customer.action("close")
    closed = await customer.wait_for("closed")
    assert closed["data"]["by"] == "customer"
    await customer.say("one more thing")
    assert (await customer.wait_for("error"))["code"] == "invalid_state"
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{chatd.url}/metrics") as r:
            assert 'chatd_conversations_closed_total{outcome="bot"} 1.0' in await r.text()
    await customer.close()


class TestAlwaysHandoff:
    @pytest.fixture
    def settings(self) -> dict:
        return {"bot": {"always_handoff": True}}

    async def test_every_chat_goes_to_the_queue(self, chatd: Harness) -> None:
        """With bot.always_handoff the chat enters the queue at once."""
        customer = await chatd.customer()
        queued = await customer.wait_for("queued")
        assert queued["seq"] == 2
        await customer.close()


class TestPositionAtOnce:
    @pytest.fixture
    def settings(self) -> dict[str, dict[str, Any]]:
        # Periodic updates every 30 s: a frame within seconds can only be the one sent at handoff.
        return {"queue": {"update_interval_s": 30.0}}

    async def test_a_queued_customer_learns_their_place_at_once(self, chatd: Harness) -> None:
        """The first queue frame comes with the handoff, not at the next update tick."""
        customer = await chatd.customer()
        await customer.action("request_human")
        status = await customer.wait_for("queue", timeout=3.0)
        assert status["position"] == 1
        await customer.close()
