"""Languages end to end (issue 19 items 2 and 3): the language of every customer message decides
the bot's answer, the notices and the agent who takes the chat; a language nobody online speaks
goes to English speakers and the customer is told."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mnemonic import Mnemonic

from tests.support.harness import Harness
from tests.support.sync import assert_nothing_more


async def test_turkish_in_an_english_browser_gets_turkish_and_a_turkish_agent(
    chatd: Harness,
) -> None:
    """A customer whose browser says en but who writes Turkish is answered in Turkish, keeps
    Turkish on a short "ok", and is handed to the Turkish-speaking agent, not the English one."""
    english = await chatd.agent(await chatd.add_agent("Emma", languages=("en",)))
    turkish = await chatd.agent(await chatd.add_agent("Taner", languages=("en", "tr")))
    customer = await chatd.customer(locale="en")
    await customer.say("şifremi unuttum nasıl sıfırlarım")
    answer = await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 2)
    assert answer["data"]["intent"] == "account.password_reset"
    assert "Şifre" in answer["text"]
    await customer.say("ok")
    await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > answer["seq"] + 1)
    conv = await chatd.service.store.get_conversation(customer.conversation_id)
    assert conv is not None and conv.locale == "tr"
    await customer.action("request_human")
    assigned = await turkish.wait_for("chat_assigned")
    assert assigned["conversation"]["conversation_id"] == customer.conversation_id
    await assert_nothing_more(english, "chat_assigned")
    for c in (english, turkish, customer):
        await c.close()


async def test_nobody_speaking_the_language_goes_to_english_and_is_told(chatd: Harness) -> None:
    """With no Russian speaker online, a Russian customer is told in Russian that a colleague
    will help in English, and an English speaker (not the Korean-only one) takes the chat."""
    korean = await chatd.agent(await chatd.add_agent("Minji", languages=("ko",), capacity=3))
    english = await chatd.agent(await chatd.add_agent("Emma", languages=("en",), capacity=0))
    customer = await chatd.customer(locale="ru")
    await customer.say("мой вывод завис")
    await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 2)
    await customer.action("request_human")
    notice = await customer.wait_for(
        "message", author="system", where=lambda f: f.get("data", {}).get("notice")
    )
    assert notice["data"] == {"notice": "language_fallback", "language": "en"}
    assert "английском" in notice["text"]
    await assert_nothing_more(korean, "chat_assigned")
    for c in (korean, english, customer):
        await c.close()


async def test_masked_secret_notice_in_the_customers_language(chatd: Harness) -> None:
    """A Spanish-speaking customer who pastes a seed phrase gets the notice in Spanish."""
    customer = await chatd.customer(locale="es-MX")
    await customer.say("hola, necesito ayuda con mi retiro por favor")
    await customer.wait_for("message", author="bot", where=lambda f: f["seq"] > 2)
    phrase = Mnemonic("english").generate(128)
    await customer.say(f"mi frase semilla es {phrase}")
    notice = await customer.wait_for(
        "message", author="system", where=lambda f: f.get("data", {}).get("warning")
    )
    assert "frase semilla" in notice["text"] and "For your safety" not in notice["text"]
    await customer.close()


async def test_seed_phrase_split_over_two_messages_is_masked_in_both(chatd: Harness) -> None:
    """A 24-word phrase pasted as two messages: the continuation is masked too (issue 14)."""
    customer = await chatd.customer()
    words = Mnemonic("english").generate(256).split()
    await customer.say(" ".join(words[:18]))
    await customer.say(" ".join(words[18:]))
    await customer.wait_for("message", author="customer", where=lambda f: f["seq"] > 3)
    stored = [
        e.text or ""
        for e in await chatd.service.store.events(customer.conversation_id)
        if e.author == "customer"
    ]
    assert len(stored) == 2
    for text in stored:
        assert "[redacted:seed_phrase]" in text
        assert not any(word in text.split() for word in words)
    await customer.close()


def test_agents_add_refuses_a_language_name(tmp_path: Path) -> None:
    """`chatd agents add --languages english` is refused (exit 2, one line naming 'en'), and
    creates no account; `--languages en,TR` is stored as en,tr."""
    data = tmp_path / "data"
    base = [sys.executable, "-m", "chatd", "agents"]
    refused = subprocess.run(
        [*base, "add", "ann", "--languages", "english", "--data-dir", str(data)],
        capture_output=True,
        text=True,
    )
    assert refused.returncode == 2
    assert "did you mean 'en'" in refused.stderr
    created = subprocess.run(
        [*base, "add", "ann", "--languages", "en,TR", "--data-dir", str(data)],
        capture_output=True,
        text=True,
    )
    assert created.returncode == 0, created.stderr
    listed = subprocess.run(
        [*base, "list", "--data-dir", str(data)], capture_output=True, text=True, check=True
    )
    assert "languages=en,tr" in listed.stdout


async def test_console_kb_search_in_every_bot_language(chatd: Harness) -> None:
    """The composer's knowledge-base search takes any language the bot speaks (not only en/zh)
    and answers in it; a language the bot lacks is invalid_field."""
    agent = await chatd.agent(await chatd.add_agent("Ayşe", languages=("tr", "en")))
    cid = await agent.action("kb_search", query="şifremi unuttum", locale="tr")
    found = await agent.wait_for("kb_results", ref=cid)
    assert found["results"], found
    top = found["results"][0]
    assert top["intent"] == "account.password_reset"
    assert chatd.service.bot.title("account.password_reset", "tr") == top["title"]
    cid = await agent.action("kb_search", query="password", locale="xx")
    refused = await agent.wait_for("error", ref=cid)
    assert refused["code"] == "invalid_field" and "tr" in refused["message"]
    await agent.close()
