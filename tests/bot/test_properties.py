"""Property tests: reply() accepts any text and is deterministic."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bot_intents import Bot, Reply

TEXT = st.one_of(
    st.text(max_size=300),
    st.text(alphabet="İıŞşĞğЁёйÄäñÑ¿¡ệưđĐ재설정비번 OTPусдт", max_size=80),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.text(alphabet="提现密码充值账户 USDTabc!?。，🙂\x00\n\t", max_size=80),
    st.just("x" * 20000),
    st.just("🙂" * 3000),
)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_reply_never_raises(bot: Bot, text: str) -> None:
    """Any str gives a well-formed reply."""
    reply = bot.reply(text)
    assert isinstance(reply, Reply)
    assert 0.0 <= reply.confidence <= 1.0
    assert reply.locale in bot.languages
    assert reply.answer
    assert (reply.intent is None) or reply.intent in bot.intent_ids


@settings(max_examples=150, deadline=None)
@given(TEXT, st.sampled_from([None, "tr", "ko", "xx"]))
def test_reply_is_deterministic(bot: Bot, text: str, hint: str | None) -> None:
    """The same input (and hint) always gives the same reply."""
    assert bot.reply(text, hint=hint) == bot.reply(text, hint=hint)


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=100), st.sampled_from([None, "en", "zh", "zh-TW", "", "xx", "ko", "tr-TR"]))
def test_search_never_raises(bot: Bot, text: str, locale: str | None) -> None:
    """KB search accepts any text and locale hint."""
    hits = bot.search(text, locale=locale)
    assert len(hits) <= 5
