"""The fitted bot kept on disk (bot_intents.loading): reused while nothing changed, rebuilt
otherwise, and never loaded from a file others could have written."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from bot_intents import load_bot, load_knowledge_base
from bot_intents.loader import default_kb_paths
from bot_intents.loading import cache_key

QUESTIONS = ("how do i reset my password", "提币多久到账", "şifremi unuttum", "asdf qwerty")


def _answers(bot: object) -> list[tuple[str | None, str]]:
    return [(r.intent, r.answer) for r in (bot.reply(q) for q in QUESTIONS)]  # type: ignore[attr-defined]


def test_second_load_comes_from_the_cache_and_answers_alike(tmp_path: Path) -> None:
    """The first load writes one private file; the second loads it (same answers) untouched."""
    first = load_bot(cache_dir=tmp_path)
    files = list(tmp_path.glob("bot-*.pickle"))
    assert len(files) == 1 and files[0].stat().st_mode & 0o077 == 0
    written = files[0].stat().st_mtime_ns
    second = load_bot(cache_dir=tmp_path)
    assert files[0].stat().st_mtime_ns == written
    assert _answers(second) == _answers(first)


def test_a_changed_kb_gets_another_key() -> None:
    """One example more in the KB changes the key, so a stale model is never loaded."""
    kb = load_knowledge_base(default_kb_paths())
    first = kb.intents[0]
    examples = {**first.examples, "en": (*first.examples["en"], "one more way to ask")}
    intents = (dataclasses.replace(first, examples=examples), *kb.intents[1:])
    changed = dataclasses.replace(kb, intents=intents)
    assert cache_key(kb, None) != cache_key(changed, None)


def test_a_file_others_may_write_is_not_loaded(tmp_path: Path) -> None:
    """A cache file that is group- or world-writable is ignored and replaced by a fresh fit."""
    load_bot(cache_dir=tmp_path)
    (path,) = tmp_path.glob("bot-*.pickle")
    path.write_bytes(b"not a pickle at all")
    path.chmod(0o666)
    bot = load_bot(cache_dir=tmp_path)
    assert bot.reply("how do i reset my password").intent == "account.password_reset"
    assert path.stat().st_mode & 0o077 == 0 and path.read_bytes() != b"not a pickle at all"
