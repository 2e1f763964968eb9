"""Knowledge-base loading and validation: every error names file, intent and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot_intents import KnowledgeBaseError, load_knowledge_base
from bot_intents.loader import default_kb_paths

DEFAULT_IDS = {
    "account.signup", "account.password_reset", "account.2fa_reset", "account.locked",
    "security.compromised", "security.phishing", "kyc.verify", "kyc.status", "deposit.missing",
    "deposit.how", "withdrawal.pending", "withdrawal.fees_limits", "trading.fees",
    "trading.order_types", "trading.order_failed", "margin.leverage", "staking.earn", "api.keys",
    "assets.supported", "blockchain.confirmations", "account.close", "tax.documents",
    "support.hours", "support.human", "greeting", "thanks", "goodbye",
}  # fmt: skip

GOOD = """
[[intent]]
id = "a.one"
suggestions = ["a.two"]
title = { en = "One", zh = "一" }
answer = { en = "Answer one", zh = "答案一" }
examples = { en = ["first thing"], zh = ["第一件事"] }

[[intent]]
id = "a.two"
handoff = "immediate"
priority = "urgent"
skills = ["security"]
title = { en = "Two", zh = "二" }
answer = { en = "Answer two", zh = "答案二" }
examples = { en = ["second thing"], zh = ["第二件事"] }
"""


def write(tmp_path: Path, text: str, name: str = "kb.toml") -> Path:
    """Write a KB file and return its path."""
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_kb_has_exactly_the_contract_ids() -> None:
    """The shipped KB has exactly the intent ids of the public contract."""
    kb = load_knowledge_base(default_kb_paths())
    assert {intent.id for intent in kb.intents} == DEFAULT_IDS


def test_default_kb_has_fifteen_examples_per_locale() -> None:
    """Every shipped intent has at least 15 distinct examples in each of en and zh."""
    kb = load_knowledge_base(default_kb_paths())
    for intent in kb.intents:
        for locale in ("en", "zh"):
            assert len(set(intent.examples[locale])) >= 15, (intent.id, locale)


def test_default_kb_security_policy() -> None:
    """security.compromised is urgent+immediate, support.human is immediate."""
    by_id = load_knowledge_base(default_kb_paths()).by_id()
    assert by_id["security.compromised"].priority == "urgent"
    assert by_id["security.compromised"].handoff == "immediate"
    assert by_id["support.human"].handoff == "immediate"


def test_default_kb_answers_never_ask_for_secrets() -> None:
    """No answer asks the customer to send a password, code, key or seed phrase."""
    kb = load_knowledge_base(default_kb_paths())
    for intent in kb.intents:
        text = intent.answer["en"].lower()
        for phrase in ("send us your password", "tell us your 2fa", "your seed phrase to"):
            assert phrase not in text, intent.id


def test_default_kb_calibration_is_current() -> None:
    """The shipped thresholds were tuned on the shipped examples (re-run `tune` if this fails)."""
    from bot_intents.loader import fingerprint

    kb = load_knowledge_base(default_kb_paths())
    assert kb.calibration is not None
    assert kb.calibration.fingerprint == fingerprint(kb.intents)


def test_good_file_loads(tmp_path: Path) -> None:
    """A valid file loads with its fields and defaults."""
    kb = load_knowledge_base([write(tmp_path, GOOD)])
    one, two = kb.intents
    assert one.handoff == "never" and one.priority == "normal" and one.suggestions == ("a.two",)
    assert two.skills == ("security",) and two.priority == "urgent"


def test_directory_expands_to_toml_files(tmp_path: Path) -> None:
    """A directory argument loads every *.toml file in it."""
    write(tmp_path, GOOD)
    assert len(load_knowledge_base([tmp_path]).intents) == 2


@pytest.mark.parametrize(
    ("mutation", "intent", "key"),
    [
        (lambda t: t.replace('id = "a.two"', 'id = "a.one"'), "a.one", "id"),
        (lambda t: t.replace('handoff = "immediate"', 'handof = "immediate"'), "a.two", "handof"),
        (lambda t: t.replace('en = ["second thing"], ', "en = [], "), "a.two", "examples.en"),
        (lambda t: t.replace('en = "Answer two", ', ""), "a.two", "answer.en"),
        (lambda t: t.replace('suggestions = ["a.two"]', 'suggestions = ["a.nope"]'), "a.one",
         "suggestions"),
        (lambda t: t.replace('priority = "urgent"', 'priority = "high"'), "a.two", "priority"),
        (lambda t: t.replace('handoff = "immediate"', 'handoff = "later"'), "a.two", "handoff"),
        (lambda t: t.replace('title = { en = "Two", zh = "二" }\n', ""), "a.two", "title"),
        (lambda t: t.replace('zh = ["第一件事"]', 'zh = [""]'), "a.one", "examples.zh"),
    ],
    ids=["duplicate", "unknown-key", "empty-examples", "missing-answer", "bad-suggestion",
         "bad-priority", "bad-handoff", "missing-title", "blank-example"],
)  # fmt: skip
def test_errors_name_file_intent_and_key(tmp_path: Path, mutation, intent: str, key: str) -> None:
    """Each validation error carries and prints the file, the intent and the key."""
    path = write(tmp_path, mutation(GOOD))
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base([path])
    error = info.value
    assert (error.file, error.intent, error.key) == (str(path), intent, key)
    assert str(path) in str(error) and intent in str(error) and key in str(error)


def test_duplicate_across_files_names_second_file(tmp_path: Path) -> None:
    """A duplicate id in a second file is reported against that file."""
    first = write(tmp_path, GOOD, "a.toml")
    second = write(tmp_path, GOOD, "b.toml")
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base([first, second])
    assert info.value.file == str(second) and info.value.key == "id"


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    """A syntax error is reported with the file name."""
    path = write(tmp_path, "[[intent]\nid=")
    with pytest.raises(KnowledgeBaseError, match="invalid TOML") as info:
        load_knowledge_base([path])
    assert info.value.file == str(path)


def test_unknown_top_level_key(tmp_path: Path) -> None:
    """Top-level keys other than intent/calibration/out_of_scope are rejected."""
    path = write(tmp_path, GOOD + "\n[intents_typo]\nx = 1\n")
    with pytest.raises(KnowledgeBaseError) as info:
        load_knowledge_base([path])
    assert info.value.key == "intents_typo"


def test_missing_file(tmp_path: Path) -> None:
    """A missing file is a KnowledgeBaseError, not an OSError."""
    with pytest.raises(KnowledgeBaseError):
        load_knowledge_base([tmp_path / "absent.toml"])
