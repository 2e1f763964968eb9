"""The held-out test set (``bot_intents/heldout/<locale>.toml``) and the per-language figures.

Each file holds, for one language, realistic customer messages the bot never learns from:
``in_scope`` (the intent each must get), ``out_of_scope`` (messages it must not answer
confidently) and ``chat`` (short everyday lines, only for measuring language identification).
``python -m bot_intents eval heldout`` prints the table that BENCHMARKS.md carries.
"""

from __future__ import annotations

import time
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot_intents.bot import Bot
from bot_intents.errors import KnowledgeBaseError

__all__ = ["HeldOutSet", "default_heldout_dir", "evaluate_heldout", "load_heldout"]


@dataclass(frozen=True, slots=True)
class HeldOutSet:
    """One language's held-out messages."""

    locale: str
    in_scope: tuple[tuple[str, str], ...]
    out_of_scope: tuple[str, ...]
    chat: tuple[str, ...]
    file: str = ""


def default_heldout_dir() -> Path:
    """The directory of the shipped held-out set."""
    return Path(__file__).resolve().parent / "heldout"


def _strings(value: Any, *, file: str, key: str) -> tuple[str, ...]:
    """A list of non-empty strings, else a KnowledgeBaseError naming the file and key."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise KnowledgeBaseError("must be a list of non-empty strings", file=file, key=key)
    return tuple(value)


def load_heldout(directory: str | Path | None = None) -> dict[str, HeldOutSet]:
    """Read every ``<locale>.toml`` of ``directory`` (default: the shipped set)."""
    root = Path(directory) if directory is not None else default_heldout_dir()
    sets: dict[str, HeldOutSet] = {}
    for path in sorted(root.glob("*.toml")):
        file = str(path)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise KnowledgeBaseError(f"cannot load ({exc})", file=file) from exc
        table = data.get("in_scope", {})
        if not isinstance(table, dict):
            raise KnowledgeBaseError("must be a table of intent = [messages]", file=file)
        in_scope = tuple(
            (text, intent)
            for intent, texts in table.items()
            for text in _strings(texts, file=file, key=f"in_scope.{intent}")
        )
        sets[path.stem] = HeldOutSet(
            locale=path.stem,
            in_scope=in_scope,
            out_of_scope=_strings(data.get("out_of_scope", []), file=file, key="out_of_scope"),
            chat=_strings(data.get("chat", []), file=file, key="chat"),
            file=file,
        )
    if not sets:
        raise KnowledgeBaseError("no held-out files (<locale>.toml)", file=str(root))
    return sets


def _rate(hits: Sequence[bool]) -> float:
    """Share of true values, rounded for the table (0 for an empty list)."""
    return round(float(np.mean(hits)), 3) if hits else 0.0


def evaluate_heldout(bot: Bot, sets: Mapping[str, HeldOutSet]) -> dict[str, dict[str, Any]]:
    """Per language: in-scope accuracy, out-of-scope handoff, language ID and reply latency.

    * ``in_scope_accuracy``: the reply answers with the expected intent (not a question back);
      ``in_scope_with_question``: the same, or a did-you-mean whose two chips include it;
    * ``oos_handoff``: an out-of-scope message gets no confident answer (the no-match text or
      a did-you-mean question); ``oos_no_match``: strictly the no-match text;
    * ``reply_locale``: the reply to every message (no locale given) is in this language;
      ``langid_chat``: :meth:`Bot.detect_language` without a hint on the short ``chat`` lines;
      ``langid_keep``: the same with this language as the hint (the conversation's language:
      it should stay); ``langid_switch``: every question with another language as the hint
      (English, or Chinese for English), as when a customer writes Turkish in an
      English-locale browser: the detector should switch;
    * ``p50_ms``/``p99_ms``: :meth:`Bot.reply` wall time, language identification included.
    """
    results: dict[str, dict[str, Any]] = {}
    for locale, held in sorted(sets.items()):
        answered: list[bool] = []
        asked: list[bool] = []
        in_locale: list[bool] = []
        timings: list[float] = []
        misses: list[tuple[str, str, str | None]] = []
        for text, intent in held.in_scope:
            start = time.perf_counter()
            reply = bot.reply(text)
            timings.append((time.perf_counter() - start) * 1000.0)
            right = reply.intent == intent and not reply.ambiguous
            answered.append(right)
            chips = [s.intent for s in reply.suggestions] if reply.ambiguous else []
            asked.append(right or intent in chips)
            in_locale.append(reply.locale == locale)
            if not right:
                misses.append((text, intent, reply.intent))
        handed_off: list[bool] = []
        no_match: list[bool] = []
        for text in held.out_of_scope:
            start = time.perf_counter()
            reply = bot.reply(text)
            timings.append((time.perf_counter() - start) * 1000.0)
            handed_off.append(reply.intent is None or reply.ambiguous)
            no_match.append(reply.intent is None)
            in_locale.append(reply.locale == locale)
            if reply.intent is not None and not reply.ambiguous:
                misses.append((text, "(out of scope)", reply.intent))
        chat = [bot.detect_language(text) == locale for text in held.chat]
        keep = [bot.detect_language(text, hint=locale) == locale for text in held.chat]
        other = "zh" if locale == "en" else "en"
        questions = [text for text, _ in held.in_scope] + list(held.out_of_scope)
        switch = [bot.detect_language(text, hint=other) == locale for text in questions]
        results[locale] = {
            "in_scope": len(held.in_scope),
            "out_of_scope": len(held.out_of_scope),
            "in_scope_accuracy": _rate(answered),
            "in_scope_with_question": _rate(asked),
            "oos_handoff": _rate(handed_off),
            "oos_no_match": _rate(no_match),
            "reply_locale": _rate(in_locale),
            "langid_chat": _rate(chat),
            "langid_keep": _rate(keep),
            "langid_switch": _rate(switch),
            "p50_ms": round(float(np.percentile(timings, 50)), 3) if timings else 0.0,
            "p99_ms": round(float(np.percentile(timings, 99)), 3) if timings else 0.0,
            "misses": misses,
        }
    return results
