"""The held-out test set: kept out of the KB, and the per-language floors measured on it."""

from __future__ import annotations

from typing import Any

import pytest

from bot_intents import Bot
from bot_intents.heldout import evaluate_heldout, load_heldout
from bot_intents.loader import default_kb_paths, load_knowledge_base
from bot_intents.normalize import normalize_text

LANGUAGES = ("en", "es", "ko", "ru", "tr", "vi", "zh")

#: The aims of issue 19, per language: a regression below them fails.
IN_SCOPE_FLOOR = 0.85
OOS_HANDOFF_FLOOR = 0.80


@pytest.fixture(scope="module")
def results(bot: Bot) -> dict[str, dict[str, Any]]:
    """Held-out figures of the shipped bot, per language."""
    return evaluate_heldout(bot, load_heldout())


def test_heldout_texts_are_not_training_examples() -> None:
    """No held-out message equals a KB example or out-of-scope sample after normalisation."""
    kb = load_knowledge_base(default_kb_paths())
    seen = {normalize_text(e) for i in kb.intents for v in i.examples.values() for e in v}
    seen |= {normalize_text(t) for v in kb.out_of_scope.values() for t in v}
    leaked = [
        (locale, text)
        for locale, held in load_heldout().items()
        for text in [t for t, _ in held.in_scope] + list(held.out_of_scope) + list(held.chat)
        if normalize_text(text) in seen
    ]
    assert not leaked


def test_heldout_covers_every_intent_in_every_language() -> None:
    """Each language has >= 2 questions per intent, >= 25 out-of-scope and >= 20 chat lines."""
    kb = load_knowledge_base(default_kb_paths())
    sets = load_heldout()
    assert tuple(sorted(sets)) == LANGUAGES
    for locale, held in sets.items():
        per_intent = {intent.id: 0 for intent in kb.intents}
        for _, intent in held.in_scope:
            per_intent[intent] += 1  # KeyError: an intent the KB does not have
        assert min(per_intent.values()) >= 2, locale
        assert len(held.out_of_scope) >= 25 and len(held.chat) >= 20, locale


@pytest.mark.parametrize("locale", LANGUAGES)
def test_in_scope_accuracy_floor(results: dict[str, dict[str, Any]], locale: str) -> None:
    """In each language the bot answers >= 85% of held-out questions with the right intent."""
    row = results[locale]
    assert row["in_scope_accuracy"] >= IN_SCOPE_FLOOR, row["misses"]


@pytest.mark.parametrize("locale", LANGUAGES)
def test_out_of_scope_handoff_floor(results: dict[str, dict[str, Any]], locale: str) -> None:
    """In each language >= 80% of held-out off-topic messages get no confident answer."""
    row = results[locale]
    assert row["oos_handoff"] >= OOS_HANDOFF_FLOOR, row["misses"]


@pytest.mark.parametrize("locale", LANGUAGES)
def test_replies_and_language_id_in_each_language(
    results: dict[str, dict[str, Any]], locale: str
) -> None:
    """Replies come in the message's language; a clear question beats another language's hint."""
    row = results[locale]
    assert row["reply_locale"] >= 0.95
    assert row["langid_switch"] >= 0.95
    assert row["langid_keep"] >= 0.9
