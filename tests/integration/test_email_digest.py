"""Replies by email for a customer who left (``PUT /api/conversations/{id}/followup``), against
a real SMTP server (aiosmtpd on a free port).

The staff's replies a customer did not see, because they were not connected and did not come
back within ``[email] notify_after_s``, arrive in one mail: every reply, secrets masked, no
internal notes, with a link that reopens the chat. A customer who is connected, or who comes
back in time, gets no mail; one who stops it gets none either.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from typing import Any

import aiohttp
import pytest

from chatd.client import AgentClient, CustomerClient
from tests.support.harness import Harness
from tests.support.mail import Inbox, Smtp, email_settings, until

SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"
#: Short, so a test waits seconds; long enough that a reconnect comes back in time.
NOTIFY_AFTER_S = 1.5


@pytest.fixture
def settings(smtp: Smtp) -> dict[str, dict[str, Any]]:
    return email_settings(smtp, notify_after_s=NOTIFY_AFTER_S)


async def _followup(
    chatd: Harness, customer: CustomerClient, email: str | None, *, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    """PUT (an address) or DELETE (None) the customer's address for replies."""
    url = f"{chatd.url}/api/conversations/{customer.conversation_id}/followup"
    headers = {"Authorization": f"Bearer {token or customer.resume_token}"}
    async with aiohttp.ClientSession() as http:
        if email is None:
            request = http.delete(url, headers=headers)
        else:
            request = http.put(url, json={"email": email}, headers=headers)
        async with request as response:
            return response.status, dict(await response.json())


async def _with_agent(
    chatd: Harness, name: str, locale: str = "en"
) -> tuple[CustomerClient, AgentClient]:
    customer = await chatd.customer(locale=locale)
    await customer.wait_for("message", author="bot")
    agent = await chatd.agent(await chatd.add_agent(name))
    await customer.action("request_human")
    await agent.wait_for("chat_assigned")
    await customer.wait_for("assigned")
    return customer, agent


async def _reply(agent: AgentClient, conversation_id: str, text: str) -> None:
    ref = await agent.reply(conversation_id, text)
    await agent.wait_for("ack", ref=ref)


async def _leave(customer: CustomerClient, chatd: Harness) -> None:
    """Close the customer's socket and wait until the server has seen it go."""
    await customer.close()
    await until(lambda: customer.conversation_id not in chatd.service.log.customer_connections)


async def test_replies_to_a_customer_who_left_come_in_one_digest(
    chatd: Harness, smtp: Smtp
) -> None:
    """Two replies and a note after the customer left: one mail, both replies (the seed phrase
    masked), no note, a link that reopens the chat; nothing more afterwards."""
    inbox = Inbox()
    await smtp.start(inbox)
    customer, agent = await _with_agent(chatd, "Grace")
    conversation_id = customer.conversation_id
    status, answer = await _followup(chatd, customer, "ann@example.org")
    assert status == 200 and answer == {"email": "ann@example.org", "notify_after_s": 1.5}
    told = await customer.wait_for("followup")
    assert told["email"] == "ann@example.org"
    await _leave(customer, chatd)
    await _reply(agent, conversation_id, "We found your deposit, it is credited.")
    await agent.action("note", conversation_id=conversation_id, text="VIP, be quick")
    await agent.wait_for("ack")
    await _reply(agent, conversation_id, f"And never share this: {SEED}")
    await until(lambda: len(inbox.accepted) == 1)
    [mail] = inbox.accepted
    assert mail["To"] == "ann@example.org" and mail["From"] == "support@example.com"
    assert mail["Subject"] == "2 new replies in your support chat"
    body = mail.get_content().replace("\r\n", "\n")
    assert "Grace:\nWe found your deposit, it is credited." in body
    assert "[redacted:seed_phrase]" in body and "abandon" not in body
    assert "VIP" not in body
    link = next(word for word in body.split() if word.startswith("https://chat.example.com/"))
    resume = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["chatd_resume"][0]
    back = await chatd.customer(resume_token=resume, last_seq=0)
    assert back.welcome["conversation_id"] == conversation_id
    await back.wait_for("message", author="agent")
    await asyncio.sleep(NOTIFY_AFTER_S + 1.0)  # one digest, not one mail per reply
    assert len(inbox.accepted) == 1 and await chatd.service.store.outbox.count() == 0
    for client in (back, agent):
        await client.close()


async def test_a_customer_who_is_here_or_comes_back_in_time_gets_no_mail(
    chatd: Harness, smtp: Smtp
) -> None:
    """A reply the open chat showed, or one waiting for a customer who reconnected before
    notify_after_s, is not mailed; the same customer away long enough is (so the silence
    before is not email being broken)."""
    inbox = Inbox()
    await smtp.start(inbox)
    customer, agent = await _with_agent(chatd, "Heidi")
    conversation_id = customer.conversation_id
    assert (await _followup(chatd, customer, "bob@example.org"))[0] == 200
    await customer.wait_for("followup")
    await _reply(agent, conversation_id, "Seen live.")
    await customer.wait_for("message", author="agent")
    await _leave(customer, chatd)
    await _reply(agent, conversation_id, "Seen after coming back.")
    back = await chatd.customer(resume_token=customer.resume_token, last_seq=customer.last_seq)
    await back.wait_for("message", author="agent", text="Seen after coming back.")
    await asyncio.sleep(NOTIFY_AFTER_S + 1.0)
    assert inbox.accepted == []
    await _leave(back, chatd)
    await _reply(agent, conversation_id, "Mailed: you were away.")
    await until(lambda: len(inbox.accepted) == 1)
    body = inbox.accepted[0].get_content()
    assert "Mailed: you were away." in body and "Seen" not in body
    assert inbox.accepted[0]["Subject"] == "New reply in your support chat"
    await agent.close()


async def test_the_digest_speaks_the_customers_language(chatd: Harness, smtp: Smtp) -> None:
    """A customer whose chat is in Spanish gets the digest's own words in Spanish (the replies
    are as the agent wrote them)."""
    inbox = Inbox()
    await smtp.start(inbox)
    customer, agent = await _with_agent(chatd, "Lucía", locale="es")
    assert (await _followup(chatd, customer, "eva@example.org"))[0] == 200
    await customer.wait_for("followup")
    await _leave(customer, chatd)
    await _reply(agent, customer.conversation_id, "Tu retiro ya fue procesado.")
    await until(lambda: len(inbox.accepted) == 1)
    mail = inbox.accepted[0]
    assert mail["Subject"] == "Nueva respuesta en tu chat de soporte"
    body = mail.get_content()
    assert "Pediste que te enviáramos nuestras respuestas" in body
    assert "Lucía:" in body and "Tu retiro ya fue procesado." in body
    assert "Continúa la conversación: https://chat.example.com/?chatd_resume=" in body
    await agent.close()


async def test_smtp_down_then_up_sends_one_digest_of_every_reply(
    chatd: Harness, smtp: Smtp
) -> None:
    """With SMTP down the replies are acknowledged and the digest waits; a reply that comes
    meanwhile is in it; the same Message-ID on every attempt; it survives a restart."""
    customer, agent = await _with_agent(chatd, "Ivan")
    conversation_id = customer.conversation_id
    assert (await _followup(chatd, customer, "cy@example.org"))[0] == 200
    await customer.wait_for("followup")
    await _leave(customer, chatd)
    await _reply(agent, conversation_id, "First reply.")
    await asyncio.sleep(NOTIFY_AFTER_S + 1.0)  # due, and attempted against a closed port
    [waiting] = await chatd.service.store.outbox.failing(min_attempts=1)
    assert waiting.type == "digest" and waiting.last_error
    await _reply(agent, conversation_id, "Second reply.")
    await agent.close()
    await chatd.restart()
    inbox = Inbox(refuse=1)
    await smtp.start(inbox)
    await until(lambda: len(inbox.accepted) == 1)
    assert [m["Message-ID"] for m in inbox.refused] == [inbox.accepted[0]["Message-ID"]]
    body = inbox.accepted[0].get_content()
    assert "First reply." in body and "Second reply." in body
    await asyncio.sleep(NOTIFY_AFTER_S + 1.0)
    assert len(inbox.accepted) == 1


async def test_the_customer_stops_it_and_the_route_refuses_what_it_must(
    chatd: Harness, smtp: Smtp
) -> None:
    """DELETE stops the mails; a bad address is 400, another chat's token 403, the sixth
    change in an hour 429; the staff see the choice in the conversation."""
    inbox = Inbox()
    await smtp.start(inbox)
    customer, agent = await _with_agent(chatd, "Judy")
    other = await chatd.customer()
    conversation_id = customer.conversation_id
    assert (await _followup(chatd, customer, "not an address"))[0] == 400
    assert (await _followup(chatd, customer, "x@example.org", token=other.resume_token))[0] == 403
    assert (await _followup(chatd, customer, "di@example.org"))[0] == 200
    assert (await _followup(chatd, customer, None)) == (200, {"email": None})
    assert (await customer.wait_for("followup"))["email"] == "di@example.org"
    assert (await customer.wait_for("followup"))["email"] is None
    events = await chatd.service.store.events(conversation_id)
    audits = [e.data for e in events if e.kind == "audit"]
    assert audits == [
        {"action": "followup_email", "to": "di@example.org"},
        {"action": "followup_email", "to": None},
    ]
    await _leave(customer, chatd)
    await _reply(agent, conversation_id, "Not mailed: you said stop.")
    await asyncio.sleep(NOTIFY_AFTER_S + 1.0)
    assert inbox.accepted == [] and await chatd.service.store.outbox.count() == 0
    for _ in range(3):
        assert (await _followup(chatd, customer, "di@example.org"))[0] == 200
    status, answer = await _followup(chatd, customer, "di@example.org")
    assert status == 429 and answer["error"]["code"] == "rate_limited"
    for client in (agent, other):
        await client.close()


async def test_without_email_the_route_says_so(tmp_path: Any) -> None:
    """No SMTP server configured: 409 invalid_state, and nothing is stored."""
    harness = Harness(tmp_path / "data", {})
    await harness.start()
    try:
        customer = await harness.customer()
        status, answer = await _followup(harness, customer, "ann@example.org")
        assert status == 409 and answer["error"]["code"] == "invalid_state"
        assert await harness.service.store.followups.address(customer.conversation_id) is None
        await customer.close()
    finally:
        await harness.stop()
