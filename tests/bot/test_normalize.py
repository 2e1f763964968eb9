"""Normalisation, tokenisation and stemming in every script the KB speaks."""

from __future__ import annotations

import time

import pytest

from bot_intents.features import FeatureConfig, extract
from bot_intents.normalize import MAX_INPUT_CHARS, normalize_text, stem, tokenize


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
        ("ŞİFREMİ UNUTTUM", "sifremi unuttum"),  # dotted İ stays one letter, not "i" + space
        ("ışık şifre", "isik sifre"),  # dotless ı and ş meet plain letters
        ("ЕЩЁ вывод USDT TRC20", "еще вывод usdt trc20"),  # ё folds to е, Latin stays
        ("Rút tiền chưa về", "rut tien chua ve"),  # Vietnamese with and without diacritics meet
        ("Đăng nhập", "dang nhap"),
        ("¿Olvidé la contraseña?", "olvide la contrasena"),
        ("OTP 재설정 어떻게 해요?", "otp 재설정 어떻게 해요"),  # Hangul kept whole, not decomposed
    ],
)
def test_normalize_text(raw: str, expected: str) -> None:
    """NFKC, casefold, width folding, diacritic folding and punctuation/control removal."""
    assert normalize_text(raw) == expected


@pytest.mark.parametrize(
    ("plain", "accented"),
    [
        ("quen mat khau", "quên mật khẩu"),
        ("sifremi unuttum", "Şifremi unuttum"),
        ("contrasena olvide", "contraseña olvidé"),
        ("еще", "ещё"),
    ],
)
def test_typed_without_diacritics_matches_the_same_features(plain: str, accented: str) -> None:
    """A message typed without diacritics has exactly the features of the accented one."""
    config = FeatureConfig()
    assert extract(plain, config).blocks == extract(accented, config).blocks


def test_hangul_words_count_through_syllable_ngrams() -> None:
    """A Korean word with a particle shares n-grams with the bare word and adds no word feature."""
    config = FeatureConfig()
    bare, inflected = extract("비밀번호", config), extract("비밀번호를", config)
    assert not inflected.blocks[0] and not inflected.blocks[1]
    assert {"비밀", "밀번", "번호"} <= set(bare.blocks[2]) & set(inflected.blocks[2])


def test_normalize_is_linear_on_hostile_input() -> None:
    """Long runs of marks, mixed scripts and punctuation normalise fast (a safety bound only)."""
    hostile = ("i̇" * 3000) + ("ё́" * 3000) + ("!?" * 5000) + ("비밀" * 3000)
    start = time.perf_counter()
    for _ in range(20):
        normalize_text(hostile)
        extract(hostile, FeatureConfig())
    assert time.perf_counter() - start < 5.0


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
