"""Email follow-up of ticket answers against a real SMTP server (aiosmtpd on a free port).

The answer to a ticket whose contact is an email address is mailed once, with the answer masked
and a signed link that reopens the conversation; with SMTP down the answer is still stored and
acknowledged, the mail waits in the store (across a restart) and goes out once SMTP is back,
with the same Message-ID on every attempt.
"""

from __future__ import annotations

import asyncio
import time
import urllib.parse
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from chatd.client import AgentClient, CustomerClient
from tests.support.harness import Harness
from tests.support.mail import Inbox, Smtp, email_settings, until

SEED = "abandon ability able about above absent absorb abstract absurd abuse access accident"


@pytest.fixture
def settings(smtp: Smtp) -> dict[str, dict[str, Any]]:
    return email_settings(smtp)


async def _ticket(chatd: Harness, contact: str, locale: str = "en") -> tuple[CustomerClient, int]:
    customer = await chatd.customer(locale=locale)
    await customer.action("request_human")
    await customer.wait_for("ticket_offered")
    await customer.action("create_ticket", contact=contact, text="my deposit is missing")
    created = await customer.wait_for("ticket_created")
    return customer, int(created["data"]["ticket_id"])


async def _reply(chatd: Harness, token: str, ticket_id: int, text: str) -> dict[str, Any]:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{chatd.url}/api/tickets/{ticket_id}/reply",
            json={"text": text},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            assert response.status == 200
            return dict(await response.json())


async def test_answer_is_mailed_once_with_masked_text_and_a_link_that_resumes(
    chatd: Harness, smtp: Smtp
) -> None:
    """The answer arrives once, secrets masked, with a working signed link to the chat."""
    inbox = Inbox()
    await smtp.start(inbox)
    customer, ticket_id = await _ticket(chatd, "ann@example.org")
    token = await chatd.add_agent("Grace")
    await _reply(chatd, token, ticket_id, f"Credited. Never send anyone your seed {SEED}")
    await until(lambda: len(inbox.accepted) == 1)
    [mail] = inbox.accepted
    assert mail["To"] == "ann@example.org" and mail["From"] == "support@example.com"
    assert mail["Subject"] == f"Re: your ticket #{ticket_id}"
    assert str(mail["Message-ID"]).endswith("@example.com>")
    body = mail.get_content()
    assert "Credited." in body and "[redacted:seed_phrase]" in body and "abandon" not in body
    link = next(word for word in body.split() if word.startswith("https://chat.example.com/"))
    resume = urllib.parse.parse_qs(urllib.parse.urlsplit(link).query)["chatd_resume"][0]
    back = await chatd.customer(resume_token=resume, last_seq=0)
    assert back.welcome["resumed"] is True
    assert back.welcome["conversation_id"] == customer.conversation_id
    reply = await back.wait_for("ticket_reply")
    assert reply["text"].startswith("Credited.")
    await asyncio.sleep(1.0)  # nothing else is sent: one answer, one mail
    assert len(inbox.accepted) == 1 and await chatd.service.store.outbox.count() == 0
    for client in (customer, back):
        await client.close()


async def test_agent_socket_answer_is_mailed_and_other_contacts_are_not(
    chatd: Harness, smtp: Smtp
) -> None:
    """ticket_reply on the agent socket mails too; a contact that is no address gets nothing."""
    inbox = Inbox()
    await smtp.start(inbox)
    mailed, mailed_id = await _ticket(chatd, "bob@example.org")
    phoned, phoned_id = await _ticket(chatd, "+1 555 0100")
    agent = await AgentClient.connect(chatd.ws_url, await chatd.add_agent("Heidi"))
    for ticket_id in (phoned_id, mailed_id):
        await agent.action("ticket_reply", ticket_id=ticket_id, text="Sorted, thanks.")
        await agent.wait_for("ack")
    await until(lambda: len(inbox.accepted) == 1)
    await asyncio.sleep(1.0)
    assert [m["To"] for m in inbox.accepted] == ["bob@example.org"]
    for client in (mailed, phoned, agent):
        await client.close()


async def test_the_answer_mail_is_in_the_customers_language(chatd: Harness, smtp: Smtp) -> None:
    """A Turkish customer's ticket answer: subject and chatd's own lines in Turkish."""
    inbox = Inbox()
    await smtp.start(inbox)
    customer, ticket_id = await _ticket(chatd, "ali@example.org", locale="tr")
    token = await chatd.add_agent("Ayşe")
    await _reply(chatd, token, ticket_id, "Çekiminiz işlendi.")
    await until(lambda: len(inbox.accepted) == 1)
    mail = inbox.accepted[0]
    assert mail["Subject"] == f"Ynt: #{ticket_id} numaralı talebiniz"
    body = mail.get_content()
    assert "Çekiminiz işlendi." in body and "Sohbete devam edin: https://" in body
    assert "(Bağlantı 30 gün geçerlidir.)" in body
    await customer.close()


async def test_smtp_down_then_up_keeps_the_reply_and_the_message_id(
    chatd: Harness, smtp: Smtp
) -> None:
    """With SMTP down the reply is acknowledged; the mail is retried until accepted, each
    attempt with the same Message-ID (a refused attempt included)."""
    customer, ticket_id = await _ticket(chatd, "cy@example.org")
    token = await chatd.add_agent("Ivan")
    answered = await _reply(chatd, token, ticket_id, "It is credited now.")
    assert answered["ticket"]["status"] == "answered"
    await asyncio.sleep(2.0)  # several attempts against a closed port
    [waiting] = await chatd.service.store.outbox.failing(min_attempts=2)
    assert waiting.channel == "email" and waiting.last_error
    inbox = Inbox(refuse=1)
    await smtp.start(inbox)
    await until(lambda: len(inbox.accepted) == 1)
    assert [m["Message-ID"] for m in inbox.refused] == [inbox.accepted[0]["Message-ID"]]
    deadline = time.monotonic() + 5
    while await chatd.service.store.outbox.count():  # forgotten just after it was accepted
        assert time.monotonic() < deadline
        await asyncio.sleep(0.05)
    await customer.close()


async def test_queued_mail_survives_a_restart(chatd: Harness, smtp: Smtp, tmp_path: Path) -> None:
    """A mail queued while SMTP is down is sent after chatd restarts, once."""
    customer, ticket_id = await _ticket(chatd, "di@example.org")
    await customer.close()
    token = await chatd.add_agent("Judy")
    await _reply(chatd, token, ticket_id, "Your withdrawal went out.")
    await asyncio.sleep(0.5)
    await chatd.restart()
    assert await chatd.service.store.outbox.count() == 1
    inbox = Inbox()
    await smtp.start(inbox)
    await until(lambda: len(inbox.accepted) == 1)
    await asyncio.sleep(1.0)
    assert len(inbox.accepted) == 1
    assert "Your withdrawal went out." in inbox.accepted[0].get_content()


async def test_the_customer_gets_the_transcript_by_email_within_limits(
    chatd: Harness, smtp: Smtp
) -> None:
    """The widget's "email me the transcript": the public events, masked, with a link back;
    queued with an audit event; at most 3 per conversation an hour; only the customer."""
    inbox = Inbox()
    await smtp.start(inbox)
    customer = await chatd.customer(locale="en")
    await customer.say(f"how do I withdraw? my seed is {SEED}")
    await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 2)
    url = f"{chatd.url}/api/conversations/{customer.conversation_id}/transcript"
    mine = {"Authorization": f"Bearer {customer.resume_token}"}
    async with aiohttp.ClientSession() as http:
        r = await http.post(url, json={"email": "me@example.com"}, headers=mine)
        assert r.status == 202, await r.text()
        await until(lambda: len(inbox.accepted) == 1)
        mail = inbox.accepted[0]
        assert mail["To"] == "me@example.com"
        body = mail.get_body(("plain",)).get_content()  # type: ignore[union-attr]
        assert "how do I withdraw?" in body and "abandon ability" not in body
        assert "Assistant:" in body and "chatd_resume=" in body
        bad = await http.post(url, json={"email": "not an address"}, headers=mine)
        assert bad.status == 400
        other = await chatd.customer()
        theirs = {"Authorization": f"Bearer {other.resume_token}"}
        assert (await http.post(url, json={"email": "x@example.com"}, headers=theirs)).status == 403
        assert (await http.post(url, json={"email": "x@example.com"})).status == 401
        for _ in range(2):
            assert (
                await http.post(url, json={"email": "me@example.com"}, headers=mine)
            ).status == 202
        limited = await http.post(url, json={"email": "me@example.com"}, headers=mine)
        assert limited.status == 429 and limited.headers["Retry-After"] == "3600"
    events = await chatd.service.store.events(customer.conversation_id)
    asked = [e for e in events if e.kind == "audit" and e.data.get("action") == "transcript_email"]
    assert len(asked) == 3 and all(e.internal for e in asked)
    await other.close()
    await customer.close()


@pytest.mark.parametrize("settings", [{}])
async def test_no_transcript_by_email_without_smtp(chatd: Harness) -> None:
    customer = await chatd.customer()
    url = f"{chatd.url}/api/conversations/{customer.conversation_id}/transcript"
    async with aiohttp.ClientSession() as http:
        r = await http.post(
            url,
            json={"email": "me@example.com"},
            headers={"Authorization": f"Bearer {customer.resume_token}"},
        )
        assert r.status == 409
    await customer.close()
