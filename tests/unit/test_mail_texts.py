"""The sentences of chatd's emails in twelve locales (chatd/domain/mail_texts.py)."""

from __future__ import annotations

import re

import pytest

from chatd.domain.mail_texts import _TEXTS, MAIL_LOCALES, mail_locale, mail_text

WIDGET_LOCALES = ("en", "zh-CN", "zh-TW", "ja", "ko", "ru", "es", "pt-BR", "tr", "vi", "id", "ar")


def _placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


def test_every_widget_locale_has_every_sentence_with_the_same_placeholders() -> None:
    assert set(MAIL_LOCALES) == set(WIDGET_LOCALES)
    english = _TEXTS["en"]
    for locale in MAIL_LOCALES:
        texts = _TEXTS[locale]
        assert set(texts) == set(english), locale
        for key, text in texts.items():
            assert _placeholders(text) == _placeholders(english[key]), (locale, key)
            if locale != "en" and key not in ("you", "support", "assistant"):
                assert text != english[key], (locale, key)  # translated, not copied


@pytest.mark.parametrize(
    ("tag", "locale"),
    [
        ("tr", "tr"),
        ("tr-TR", "tr"),
        ("zh", "zh-CN"),
        ("zh-Hans-CN", "zh-CN"),
        ("zh-HK", "zh-TW"),
        ("zh-TW", "zh-TW"),
        ("zh-MO", "zh-TW"),
        ("zh_Hant", "zh-TW"),
        ("pt", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_a_conversations_locale_picks_the_mails_language(tag: str | None, locale: str) -> None:
    assert mail_locale(tag) == locale


def test_placeholders_are_filled_and_values_are_not_templates() -> None:
    assert mail_text("es", "digest_many", n=3) == "3 respuestas nuevas en tu chat de soporte"
    assert mail_text("tr-TR", "ticket_subject", ticket=42) == "Ynt: #42 numaralı talebiniz"
    assert mail_text("en", "sent_file", who="{x}", name="a{b}.png") == "{x} sent a{b}.png"
