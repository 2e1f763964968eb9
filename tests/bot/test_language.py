"""Language identification: the detector learnt from the KB, with the conversation's hint."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot_intents import Bot
from bot_intents.language import LanguageDetector

SHIPPED_LANGUAGES = ("en", "es", "ko", "ru", "tr", "vi", "zh")


def test_bot_speaks_seven_languages(bot: Bot) -> None:
    """The shipped KB speaks en, zh, ru, es, ko, tr and vi, English first."""
    assert bot.languages[0] == "en"
    assert set(bot.languages) == set(SHIPPED_LANGUAGES)


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("i forgot my password and can't log in", "en"),
        ("提币一直没到账", "zh"),
        ("USDT提现失败", "zh"),
        ("вывод usdt trc20 не пришел", "ru"),
        ("no me llegó el retiro de usdt", "es"),
        ("no me llego el retiro", "es"),
        ("OTP 재설정 어떻게 해요", "ko"),
        ("şifremi unuttum hesaba giremiyorum", "tr"),
        ("sifremi unuttum hesaba giremiyorum", "tr"),
        ("rút tiền usdt chưa về ví", "vi"),
        ("rut tien usdt chua ve vi", "vi"),
    ],
)
def test_detects_language_of_support_messages(bot: Bot, text: str, language: str) -> None:
    """Messages in each language, with or without diacritics and tickers, are identified."""
    assert bot.detect_language(text) == language


@pytest.mark.parametrize("text", ["ok", "USDT", "2FA?", "ok thanks", "TRC20", "kyc", "👍", ""])
@pytest.mark.parametrize("hint", ["tr", "ru", "zh", "vi"])
def test_neutral_short_message_keeps_the_hint(bot: Bot, text: str, hint: str) -> None:
    """ "ok", tickers and emoji say nothing about the language: the conversation's stays."""
    assert bot.detect_language(text, hint=hint) == hint


@pytest.mark.parametrize(
    ("text", "hint", "language"),
    [
        ("şifremi unuttum ne yapmalıyım", "en", "tr"),
        ("забыл пароль", "en", "ru"),
        ("пароль", "en", "ru"),
        ("비밀번호", "en", "ko"),
        ("i forgot my password", "tr", "en"),
        ("gracias", "en", "en"),
        ("şifre", "en", "en"),
    ],
)
def test_hint_changes_only_on_clear_evidence(bot: Bot, text: str, hint: str, language: str) -> None:
    """A clear message in another language switches; one word only if in another script."""
    assert bot.detect_language(text, hint=hint) == language


def test_hint_accepts_browser_locales_and_ignores_unknown(bot: Bot) -> None:
    """A hint like "tr-TR" or "zh_CN" is understood; an unknown hint is ignored."""
    assert bot.detect_language("ok", hint="tr-TR") == "tr"
    assert bot.detect_language("USDT", hint="zh_CN") == "zh"
    assert bot.detect_language("ok", hint="fr") == "en"
    assert bot.detect_language("забыл пароль", hint="xx") == "ru"


def test_detector_learns_a_new_language_from_samples() -> None:
    """The detector is trained on whatever locales it is given, with no code for them."""
    detector = LanguageDetector(
        {
            "en": ["i forgot my password", "where is my withdrawal", "thank you very much"],
            "de": ["ich habe mein passwort vergessen", "wo ist meine auszahlung", "vielen dank"],
        }
    )
    assert detector.languages == ("de", "en")
    assert detector.detect("passwort vergessen was tun") == "de"
    assert detector.detect("my withdrawal is missing") == "en"


def test_fallback_must_have_samples() -> None:
    """Building a detector whose fallback language has no samples is an error."""
    with pytest.raises(ValueError, match="fallback"):
        LanguageDetector({"de": ["hallo"]})


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300), st.sampled_from([None, "en", "tr", "ko", "xx", "", "zh-TW"]))
def test_detect_language_never_raises(bot: Bot, text: str, hint: str | None) -> None:
    """Any text and hint gives one of the KB's languages."""
    assert bot.detect_language(text, hint=hint) in bot.languages


@pytest.mark.parametrize(
    "text",
    [
        "مرحبا، أين السحب الخاص بي؟",  # Arabic
        "出金がまだ届きません",  # Japanese: kanji with kana
        "こんにちは",
        "สวัสดีครับ ถอนเงินยังไม่เข้า",  # Thai
        "שלום, איפה המשיכה שלי",  # Hebrew
    ],
)
def test_a_language_the_bot_does_not_speak_is_not_guessed(bot: Bot, text: str) -> None:
    """Text mostly in scripts none of the bot's languages use keeps the conversation's
    language (or English): an Arabic or Japanese customer was answered in Chinese."""
    assert bot.detect_language(text, hint="en") == "en"
    assert bot.detect_language(text, hint="ru") == "ru"
    assert bot.detect_language(text) == "en"


def test_chinese_with_a_few_foreign_letters_is_still_chinese(bot: Bot) -> None:
    assert bot.detect_language("我的USDT提现还没到账 TRC20", hint="en") == "zh"
    assert bot.detect_language("提現還沒到帳", hint="en") == "zh"
