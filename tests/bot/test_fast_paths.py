"""The bot's cheaper message path (issue 19) gives the same numbers as the plain computation.

Scoring a message remembers the character n-grams of each word and weighs features with
``map``; language ID remembers each word's n-gram rows; a reply's confidences are plain floats.
Each is checked here against the straightforward computation, to the last bit, on the held-out
messages, glued pairs of them in two languages, and random text in every script.
"""

from __future__ import annotations

import math
import pickle
import random
import unicodedata
from collections.abc import Iterator

import numpy as np
import pytest

from bot_intents import Bot
from bot_intents import features as features_module
from bot_intents import language as language_module
from bot_intents import normalize as normalize_module
from bot_intents.calibration import confidence
from bot_intents.features import TextFeatures, Vectorizer, extract
from bot_intents.heldout import load_heldout
from bot_intents.language import LanguageDetector, language_features
from bot_intents.normalize import MAX_INPUT_CHARS, _to_space, fold_diacritics, normalize_text

_ALPHABET = (
    "abcdefghijklmnoprstuvwyz ğıişöüç ñáéíóú ạảãàâăđêôơư абвгдежзийклмнопрстуфхцчшщыьэюя "
    "你好的提现到账充值 비밀번호를잊었어요 مرحبا 12.,!?'  "
)


def _messages() -> list[str]:
    """Held-out messages of every language, some glued in pairs, and random text."""
    sets = load_heldout().values()
    held = [t for s in sets for t, _ in s.in_scope] + [t for s in sets for t in s.out_of_scope]
    held += [t for s in sets for t in s.chat]
    rng = random.Random(19)
    glued = [f"{rng.choice(held)} {rng.choice(held)}" for _ in range(200)]
    noise = ["".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 90))) for _ in range(300)]
    return [*held, *glued, *noise, "", "   ", "!!!", "ok", "ok ok ok ok", "a" * 600]


MESSAGES = _messages()


def _reference_query(vectorizer: Vectorizer, doc: TextFeatures) -> tuple[np.ndarray, np.ndarray]:
    """The TF-IDF unit vector as first written: one dict lookup and one weight at a time."""
    out: list[tuple[int, float]] = []
    active = [
        (i, block)
        for i, block in enumerate(doc.blocks)
        if block and vectorizer.block_weights[i] > 0
    ]
    total_weight = sum(vectorizer.block_weights[i] for i, _ in active)
    for block_index, block in active:
        pairs: list[tuple[int, float]] = []
        norm_sq = 0.0
        for key, count in block.items():
            feature = vectorizer.vocab.get(f"{block_index}{key}", -1)
            idf = float(vectorizer.idf[feature]) if feature >= 0 else vectorizer.unseen_idf
            weight = idf if count == 1 else (1.0 + math.log(count)) * idf
            pairs.append((feature, weight))
            norm_sq += weight * weight
        scale = math.sqrt(vectorizer.block_weights[block_index] / total_weight / norm_sq)
        out.extend((feature, weight * scale) for feature, weight in pairs if feature >= 0)
    features = np.array([f for f, _ in out], dtype=np.int64)
    return features, np.array([w for _, w in out], dtype=np.float32)


@pytest.fixture
def fresh_bot(bot: Bot) -> Iterator[Bot]:
    """The session's bot with its word caches emptied before and after."""
    vectorizer, detector = bot._matcher.vectorizer, bot._detector
    vectorizer._words_seen.clear()
    detector._words_seen.clear()
    yield bot
    vectorizer._words_seen.clear()
    detector._words_seen.clear()


def test_scoring_features_equal_the_plain_computation(fresh_bot: Bot) -> None:
    """query_text (cold and warm cache) and query give the first-written vector, bit for bit."""
    vectorizer = fresh_bot._matcher.vectorizer
    config = fresh_bot._matcher.config.features
    for _ in range(2):  # the second pass reads every word from the cache
        for text in MESSAGES:
            doc = extract(text, config)
            want = _reference_query(vectorizer, doc)
            normalized, *got = vectorizer.query_text(text)
            assert normalized == doc.normalized
            for vectors in (got, vectorizer.query(doc)):
                assert [a.dtype for a in vectors] == [np.int64, np.float32]
                assert np.array_equal(vectors[0], want[0]), text
                assert np.array_equal(vectors[1], want[1]), text


def _reference_log_likelihoods(detector: LanguageDetector, text: str) -> np.ndarray:
    """Language evidence as first written: the n-grams of all the message's words at once."""
    words = [w for w in language_module._clean(text).split() if w not in detector.neutral_words]
    grams = language_features(" ".join(words))
    known = [i for i in map(detector._index.get, grams) if i is not None]
    scores = detector._unseen * (len(grams) - len(known))
    if known:
        scores = scores + detector._table[known].sum(axis=0, dtype=np.float64)
    return np.asarray(scores, dtype=np.float64)


def test_language_evidence_equals_the_plain_computation(fresh_bot: Bot) -> None:
    """The per-word memo changes no log-likelihood, cold or warm, by a single bit."""
    detector = fresh_bot._detector
    for _ in range(2):
        for text in MESSAGES:
            want = _reference_log_likelihoods(detector, text)
            assert np.array_equal(detector.log_likelihoods(text), want), text


def test_word_caches_stay_bounded(fresh_bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Past their size the caches start over, and answers do not change when they do."""
    monkeypatch.setattr(features_module, "_WORD_CACHE_SIZE", 50)
    monkeypatch.setattr(language_module, "_WORD_CACHE_SIZE", 50)
    vectorizer, detector = fresh_bot._matcher.vectorizer, fresh_bot._detector
    config = fresh_bot._matcher.config.features
    for text in MESSAGES[:300]:
        _, features, weights = vectorizer.query_text(text)
        want = _reference_query(vectorizer, extract(text, config))
        assert np.array_equal(features, want[0]) and np.array_equal(weights, want[1])
        assert np.array_equal(
            detector.log_likelihoods(text), _reference_log_likelihoods(detector, text)
        )
        assert len(vectorizer._words_seen) <= 50 and len(detector._words_seen) <= 50


def test_a_pickled_bot_leaves_its_caches_behind(fresh_bot: Bot) -> None:
    """The file a fitted bot is kept in holds no cache, and the loaded bot answers alike."""
    questions = ["how do i reset my password", "şifremi unuttum", "提币多久到账", "asdf"]
    before = [fresh_bot.reply(q).to_dict() for q in questions]
    assert fresh_bot._matcher.vectorizer._words_seen and fresh_bot._detector._words_seen
    loaded: Bot = pickle.loads(pickle.dumps(fresh_bot, protocol=5))
    assert not loaded._matcher.vectorizer._words_seen and not loaded._detector._words_seen
    assert [loaded.reply(q).to_dict() for q in questions] == before


def test_reply_confidences_follow_the_calibration_formula(bot: Bot) -> None:
    """Every confidence of a reply is sigmoid(intercept + coef . features), as numpy has it."""
    calibration = bot.calibration
    coef = np.asarray(calibration.coef)
    for text in MESSAGES[:400]:
        scores = bot._matcher.score(text, bot.detect_language(text))
        if scores.empty:
            continue
        for rank in range(min(4, scores.order.size)):
            z = calibration.intercept + float(np.dot(coef, scores.features(rank)))
            want = 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))
            got = confidence(calibration, scores.feature_values(rank))
            assert got == pytest.approx(want, rel=1e-12, abs=1e-15)
            assert round(got, 4) == round(want, 4), text


def _reference_normalize(text: str) -> str:
    """normalize_text as first written: one Python call per character."""
    text = text[:MAX_INPUT_CHARS]
    if not text.isascii():
        text = text.encode("utf-8", "ignore").decode("utf-8")
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold().translate(str.maketrans("", "", "'’`"))
    if text.isascii():
        chars = [c if c.isalnum() else " " for c in text]
    else:
        chars = [_to_space(c) for c in fold_diacritics(text)]
    return " ".join("".join(chars).split())


def test_matching_form_equals_the_per_character_computation() -> None:
    """The memoised translate table normalises every script as the per-character loop did."""
    rng = random.Random(7)
    texts = list(MESSAGES)
    for _ in range(3000):  # any code point, surrogates and unassigned ones included
        texts.append("".join(chr(rng.randrange(0x30000)) for _ in range(rng.randint(1, 12))))
    texts += [chr(code) for code in range(0x3000)]
    for text in texts:
        assert normalize_text(text) == _reference_normalize(text), repr(text)
    assert len(normalize_module._MATCHING_FORM) <= normalize_module._FORMS_KEPT
