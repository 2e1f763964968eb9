"""Customer ratings (CSAT) against a real server: only an ended chat is rated, and a comment is
masked like any message before it is stored or shown."""

from __future__ import annotations

import aiohttp
from mnemonic import Mnemonic

from chatd.client import AgentClient, CustomerClient
from tests.support.harness import Harness
from tests.support.sync import assert_nothing_more


async def assigned_chat(chatd: Harness, name: str) -> tuple[AgentClient, CustomerClient]:
    agent = await chatd.agent(await chatd.add_agent(name))
    customer = await chatd.customer()
    await customer.action("request_human")
    await agent.wait_for("chat_assigned")
    await customer.wait_for("assigned")
    return agent, customer


async def test_an_open_chat_cannot_be_rated(chatd: Harness) -> None:
    """Rating while the bot or an agent still has the chat answers invalid_state and stores
    nothing; the same customer rates once the agent has closed it."""
    with_bot = await chatd.customer()
    ref = await with_bot.action("csat", score=1, comment="too early")
    assert (await with_bot.wait_for("error", ref=ref))["code"] == "invalid_state"
    await assert_nothing_more(with_bot, "csat")
    record = await chatd.service.store.get_conversation(with_bot.conversation_id)
    assert record is not None and record.csat_score is None and record.status == "bot"

    agent, customer = await assigned_chat(chatd, "Rita")
    conv = customer.conversation_id
    ref = await customer.action("csat", score=2)
    assert (await customer.wait_for("error", ref=ref))["code"] == "invalid_state"
    await assert_nothing_more(customer, "csat", after=(agent,))
    assert not [e for e in await chatd.service.store.events(conv) if e.kind == "csat"]
    record = await chatd.service.store.get_conversation(conv)
    assert record is not None and record.csat_score is None

    await agent.action("close", conversation_id=conv)
    await customer.wait_for("closed")
    await customer.action("csat", score=4)
    assert (await customer.wait_for("csat"))["data"]["score"] == 4
    record = await chatd.service.store.get_conversation(conv)
    assert record is not None and record.csat_score == 4
    for c in (agent, customer, with_bot):
        await c.close()


async def test_a_seed_phrase_in_the_comment_is_masked(chatd: Harness) -> None:
    """A CSAT comment holding a seed phrase is stored, echoed, shown to the agent and served by
    the transcript API with the phrase masked."""
    words = Mnemonic("english").generate(strength=128)
    op_token = await chatd.add_agent("Otto", role="operator")
    agent, customer = await assigned_chat(chatd, "Sam")
    conv = customer.conversation_id
    await agent.action("close", conversation_id=conv)
    await customer.wait_for("closed")
    await customer.action("csat", score=5, comment=f"thanks! my seed was {words}")
    echoed = await customer.wait_for("csat")
    assert words not in echoed["data"]["comment"]
    assert "[redacted:seed_phrase]" in echoed["data"]["comment"]
    assert echoed["data"]["comment"].startswith("thanks!")
    record = await chatd.service.store.get_conversation(conv)
    assert record is not None and record.csat_comment is not None
    assert words not in record.csat_comment and "[redacted:seed_phrase]" in record.csat_comment
    events = await chatd.service.store.events(conv)
    assert all(words not in repr(e) for e in events)
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {op_token}"}
        async with http.get(f"{chatd.url}/api/conversations/{conv}", headers=headers) as r:
            assert r.status == 200
            body = await r.text()
    assert words not in body and "[redacted:seed_phrase]" in body
    for c in (agent, customer):
        await c.close()
