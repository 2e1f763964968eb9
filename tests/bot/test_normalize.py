"""Normalisation, tokenisation, stemming and language detection."""

from __future__ import annotations

import pytest

from bot_intents.normalize import MAX_INPUT_CHARS, detect_locale, normalize_text, stem, tokenize


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Hello, World!", "hello world"),
        ("ＵＳＤＴ　提现", "usdt 提现"),  # full-width Latin and ideographic space
        ("Straße", "strasse"),  # casefold, not lower
        ("don't   can’t", "dont cant"),
        ("ﬁle", "file"),  # NFKC ligature
        ("密码忘了。。。怎么办？", "密码忘了 怎么办"),
        ("tab\tand\x00control\x1b", "tab and control"),
        ("🙂🙂", ""),
        ("", ""),
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    """NFKC, casefold, width folding and punctuation/control removal."""
    assert normalize_text(raw) == expected


def test_normalize_caps_input_length() -> None:
    """Only the first MAX_INPUT_CHARS characters are considered."""
    assert len(normalize_text("a" * (MAX_INPUT_CHARS * 10))) == MAX_INPUT_CHARS


def test_normalize_survives_lone_surrogate() -> None:
    """A lone surrogate is dropped rather than raising."""
    assert normalize_text("pass\ud800word") == "password"


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("resetting", "reset"),
        ("resets", "reset"),
        ("reset", "reset"),
        ("withdrawals", "withdrawal"),
        ("fees", "fees"),
        ("status", "status"),
        ("confirmations", "confirmation"),
        ("stopped", "stop"),
        ("verified", "verifi"),
        ("verifies", "verify"),
        ("address", "address"),
        ("btc", "btc"),
    ],
)
def test_stem(word: str, expected: str) -> None:
    """The light stemmer merges common inflections and leaves short or protected words."""
    assert stem(word) == expected


def test_tokenize_splits_chinese_into_characters() -> None:
    """Chinese without spaces becomes one token per ideograph; Latin runs stay whole."""
    assert tokenize(normalize_text("USDT提现失败")) == ["usdt", "提", "现", "失", "败"]


@pytest.mark.parametrize(
    ("text", "locale"),
    [
        ("how do i reset my password", "en"),
        ("忘记密码了", "zh"),
        ("USDT提现", "zh"),
        ("我的 withdrawal 一直 pending", "zh"),
        ("I want to say 谢谢 to the team that helped me with my withdrawal yesterday", "en"),
        ("", "en"),
        ("12345", "en"),
    ],
)
def test_detect_locale(text: str, locale: str) -> None:
    """Script-based detection: ideographs mean zh unless drowned in English."""
    assert detect_locale(text) == locale
