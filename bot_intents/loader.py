"""Load and validate knowledge-base TOML files.

A KB file may hold any of four top-level keys::

    [[intent]]                      # one table per intent (see docs/bot.md for every key)
    [calibration]                   # written by `python -m bot_intents tune`
    [out_of_scope]                  # en = [...], zh = [...]: messages the bot must not answer
    [texts]                         # the bot's own sentences per locale (welcome, no_match, ...)

The KB's languages are the locales its intents give examples in; ``en`` is required (it is the
fallback). Every intent must have examples, an answer and a title in every language of the KB,
so adding a locale key to the files adds a language. Every error is a
:class:`~bot_intents.errors.KnowledgeBaseError` naming the file, the intent and the key (with
the locale), so ``python -m bot_intents check`` output points straight at the line to fix.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from bot_intents.errors import KnowledgeBaseError
from bot_intents.model import (
    FALLBACK_LOCALE,
    HANDOFFS,
    PRIORITIES,
    Calibration,
    Intent,
    KnowledgeBase,
)
from bot_intents.texts import TEXT_NAMES, template_error

__all__ = ["default_kb_paths", "fingerprint", "load_knowledge_base", "shipped_texts"]

_TOP_KEYS = frozenset({"intent", "calibration", "out_of_scope", "texts"})
_INTENT_KEYS = frozenset(
    {"id", "title", "examples", "answer", "suggestions", "handoff", "priority", "skills"}
)
_CALIBRATION_KEYS = frozenset(
    {"coef", "intercept", "threshold", "ambiguity_margin", "fingerprint", "notes"}
)


def default_kb_paths() -> list[Path]:
    """Return the shipped knowledge-base files, in a stable order."""
    root = resources.files("bot_intents") / "kb"
    return sorted(Path(str(entry)) for entry in root.iterdir() if entry.name.endswith(".toml"))


def _expand(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories into their ``*.toml`` files (sorted); keep files as given."""
    out: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(sorted(path.glob("*.toml")))
        else:
            out.append(path)
    return out


def _read(path: Path) -> dict[str, Any]:
    """Parse one TOML file, turning I/O and syntax errors into KnowledgeBaseError."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise KnowledgeBaseError(f"cannot read file ({exc.strerror})", file=str(path)) from exc
    except tomllib.TOMLDecodeError as exc:
        raise KnowledgeBaseError(f"invalid TOML ({exc})", file=str(path)) from exc


def _check_locale(locale: str, *, file: str, intent: str | None, key: str) -> None:
    """A locale key is an ISO 639-1/-3 code in lower case ("en", "zh", "vi", "fil")."""
    if not (2 <= len(locale) <= 3 and locale.isascii() and locale.isalpha() and locale.islower()):
        raise KnowledgeBaseError(
            f"locale {locale!r} is not a language code of 2-3 lower-case letters "
            "(ISO 639, e.g. en, zh, ru, es, ko, tr, vi)",
            file=file,
            intent=intent,
            key=key,
        )


def _locale_strings(value: Any, *, file: str, intent: str, key: str) -> dict[str, str]:
    """Validate a ``{locale: non-empty string}`` table that has at least the fallback locale."""
    if not isinstance(value, dict):
        raise KnowledgeBaseError(
            "must be a table of locale = text", file=file, intent=intent, key=key
        )
    out: dict[str, str] = {}
    text = value.get(FALLBACK_LOCALE)
    if not isinstance(text, str) or not text.strip():
        raise KnowledgeBaseError(
            f"missing or empty text for locale {FALLBACK_LOCALE!r} (required: the fallback)",
            file=file,
            intent=intent,
            key=f"{key}.{FALLBACK_LOCALE}",
        )
    for locale, text in value.items():
        _check_locale(locale, file=file, intent=intent, key=f"{key}.{locale}")
        if not isinstance(text, str) or not text.strip():
            raise KnowledgeBaseError(
                "must be a non-empty string", file=file, intent=intent, key=f"{key}.{locale}"
            )
        out[locale] = text.strip()
    return out


def _examples(value: Any, *, file: str, intent: str) -> dict[str, tuple[str, ...]]:
    """Validate ``examples``: per locale, a non-empty list of non-empty strings."""
    if not isinstance(value, dict):
        raise KnowledgeBaseError(
            "must be a table of locale = [examples]", file=file, intent=intent, key="examples"
        )
    out: dict[str, tuple[str, ...]] = {}
    if FALLBACK_LOCALE not in value:
        raise KnowledgeBaseError(
            f"no examples for locale {FALLBACK_LOCALE!r} (required: the fallback)",
            file=file,
            intent=intent,
            key=f"examples.{FALLBACK_LOCALE}",
        )
    for locale, items in value.items():
        key = f"examples.{locale}"
        _check_locale(locale, file=file, intent=intent, key=key)
        if not isinstance(items, list) or not items:
            raise KnowledgeBaseError("empty examples", file=file, intent=intent, key=key)
        for index, item in enumerate(items):
            if not isinstance(item, str) or not item.strip():
                raise KnowledgeBaseError(
                    f"example #{index + 1} is empty or not a string",
                    file=file,
                    intent=intent,
                    key=key,
                )
        out[locale] = tuple(item.strip() for item in items)
    return out


def _string_list(value: Any, *, file: str, intent: str | None, key: str) -> tuple[str, ...]:
    """Validate a list of non-empty strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise KnowledgeBaseError("must be a list of strings", file=file, intent=intent, key=key)
    return tuple(value)


def _intent(table: Any, *, file: str, position: int) -> Intent:
    """Validate one ``[[intent]]`` table (suggestion targets are checked later, globally)."""
    if not isinstance(table, dict):
        raise KnowledgeBaseError(f"intent #{position} is not a table", file=file, key="intent")
    intent_id = table.get("id")
    if not isinstance(intent_id, str) or not intent_id.strip():
        raise KnowledgeBaseError(
            f"intent #{position} has no id", file=file, intent=f"#{position}", key="id"
        )
    for key in sorted(set(table) - _INTENT_KEYS):
        raise KnowledgeBaseError("unknown key", file=file, intent=intent_id, key=key)
    for required in ("title", "examples", "answer"):
        if required not in table:
            raise KnowledgeBaseError(
                "required key missing", file=file, intent=intent_id, key=required
            )
    handoff = table.get("handoff", "never")
    if handoff not in HANDOFFS:
        raise KnowledgeBaseError(
            f"must be one of {', '.join(HANDOFFS)} (got {handoff!r})",
            file=file,
            intent=intent_id,
            key="handoff",
        )
    priority = table.get("priority", "normal")
    if priority not in PRIORITIES:
        raise KnowledgeBaseError(
            f"must be one of {', '.join(PRIORITIES)} (got {priority!r})",
            file=file,
            intent=intent_id,
            key="priority",
        )
    examples = _examples(table["examples"], file=file, intent=intent_id)
    answer = _locale_strings(table["answer"], file=file, intent=intent_id, key="answer")
    title = _locale_strings(table["title"], file=file, intent=intent_id, key="title")
    for locale in examples:
        if locale not in answer:
            raise KnowledgeBaseError(
                f"examples given for locale {locale!r} but no answer",
                file=file,
                intent=intent_id,
                key=f"answer.{locale}",
            )
        if locale not in title:
            raise KnowledgeBaseError(
                f"examples given for locale {locale!r} but no title",
                file=file,
                intent=intent_id,
                key=f"title.{locale}",
            )
    return Intent(
        id=intent_id,
        title=title,
        examples=examples,
        answer=answer,
        suggestions=_string_list(
            table.get("suggestions", []), file=file, intent=intent_id, key="suggestions"
        ),
        handoff=handoff,
        priority=priority,
        skills=_string_list(table.get("skills", []), file=file, intent=intent_id, key="skills"),
        source=file,
    )


def _calibration(table: Any, *, file: str) -> Calibration:
    """Validate a ``[calibration]`` table."""
    if not isinstance(table, dict):
        raise KnowledgeBaseError("must be a table", file=file, key="calibration")
    for key in sorted(set(table) - _CALIBRATION_KEYS):
        raise KnowledgeBaseError("unknown key", file=file, key=f"calibration.{key}")
    try:
        coef = tuple(float(v) for v in table["coef"])
        values = {k: float(table[k]) for k in ("intercept", "threshold", "ambiguity_margin")}
        notes = {str(k): float(v) for k, v in table.get("notes", {}).items()}
    except KeyError as exc:
        raise KnowledgeBaseError(
            "required key missing", file=file, key=f"calibration.{exc.args[0]}"
        ) from exc
    except (TypeError, ValueError) as exc:
        raise KnowledgeBaseError(f"bad number ({exc})", file=file, key="calibration") from exc
    return Calibration(
        coef=coef,
        intercept=values["intercept"],
        threshold=values["threshold"],
        ambiguity_margin=values["ambiguity_margin"],
        fingerprint=str(table.get("fingerprint", "")),
        source=file,
        notes=notes,
    )


def fingerprint(intents: Sequence[Intent]) -> str:
    """Hash of every intent id and example, to tell when a stored calibration is stale."""
    digest = hashlib.sha256()
    for intent in sorted(intents, key=lambda i: i.id):
        digest.update(intent.id.encode())
        for locale in sorted(intent.examples):
            for example in intent.examples[locale]:
                digest.update(b"\0" + locale.encode() + b"\0" + example.encode())
    return digest.hexdigest()[:16]


def _texts(table: Any, *, file: str) -> dict[str, dict[str, str]]:
    """Validate a ``[texts]`` table: ``name = { locale = "text", ... }`` for known names."""
    if not isinstance(table, dict):
        raise KnowledgeBaseError("must be a table", file=file, key="texts")
    out: dict[str, dict[str, str]] = {}
    for name, by_locale in table.items():
        key = f"texts.{name}"
        if name not in TEXT_NAMES:
            raise KnowledgeBaseError(
                f"unknown text (known: {', '.join(TEXT_NAMES)})", file=file, key=key
            )
        if not isinstance(by_locale, dict):
            raise KnowledgeBaseError("must be a table of locale = text", file=file, key=key)
        for locale, text in by_locale.items():
            _check_locale(locale, file=file, intent=None, key=f"{key}.{locale}")
            if not isinstance(text, str) or not text.strip():
                raise KnowledgeBaseError(
                    "must be a non-empty string", file=file, key=f"{key}.{locale}"
                )
            problem = template_error(name, text)
            if problem is not None:
                raise KnowledgeBaseError(problem, file=file, key=f"{key}.{locale}")
            out.setdefault(name, {})[locale] = text.strip()
    return out


@lru_cache(maxsize=1)
def _shipped_texts() -> tuple[str, dict[str, dict[str, str]]]:
    """The shipped KB's texts (``kb/texts.toml``) and that file's path."""
    path = Path(str(resources.files("bot_intents") / "kb" / "texts.toml"))
    return str(path), _texts(_read(path).get("texts", {}), file=str(path))


def shipped_texts() -> dict[str, dict[str, str]]:
    """The shipped KB's texts: what a KB without its own ``[texts]`` borrows."""
    return {name: dict(by_locale) for name, by_locale in _shipped_texts()[1].items()}


def _languages(intents: Sequence[Intent]) -> tuple[str, ...]:
    """The KB's languages: the fallback first, then every other example locale, sorted."""
    spoken = {locale for intent in intents for locale in intent.examples}
    return (FALLBACK_LOCALE, *sorted(spoken - {FALLBACK_LOCALE}))


def _check_coverage(intents: Sequence[Intent], languages: tuple[str, ...]) -> None:
    """Every intent has examples, an answer and a title in every language of the KB."""
    spoken = ", ".join(languages)
    for intent in intents:
        for locale in languages:
            for key, table in (
                ("examples", intent.examples),
                ("answer", intent.answer),
                ("title", intent.title),
            ):
                if locale not in table:
                    raise KnowledgeBaseError(
                        f"missing locale {locale!r}: the KB speaks {spoken}, so every intent "
                        f"needs examples, answer and title in each",
                        file=intent.source,
                        intent=intent.id,
                        key=f"{key}.{locale}",
                    )


def _complete_texts(
    own: dict[str, dict[str, str]], own_file: str | None, languages: tuple[str, ...]
) -> dict[str, dict[str, str]]:
    """The KB's texts over the shipped ones; each language must end up with every text."""
    shipped_file, shipped = _shipped_texts()
    texts = {name: {**shipped.get(name, {}), **own.get(name, {})} for name in TEXT_NAMES}
    for name in TEXT_NAMES:
        for locale in languages:
            if locale not in texts[name]:
                raise KnowledgeBaseError(
                    f"no {name!r} text for locale {locale!r}: add it to a [texts] table "
                    f"(the shipped ones are in {shipped_file})",
                    file=own_file or shipped_file,
                    key=f"texts.{name}.{locale}",
                )
    return texts


def load_knowledge_base(paths: Iterable[str | Path]) -> KnowledgeBase:
    """Load, merge and validate KB files (directories expand to their ``*.toml`` files)."""
    files = _expand(paths)
    if not files:
        raise KnowledgeBaseError("no knowledge-base files given", file="<none>")
    intents: list[Intent] = []
    seen: dict[str, str] = {}
    calibration: Calibration | None = None
    out_of_scope: dict[str, list[str]] = {}
    oos_files: dict[str, str] = {}
    texts: dict[str, dict[str, str]] = {}
    texts_file: str | None = None
    for path in files:
        file = str(path)
        data = _read(path)
        for key in sorted(set(data) - _TOP_KEYS):
            raise KnowledgeBaseError("unknown top-level key", file=file, key=key)
        tables = data.get("intent", [])
        if not isinstance(tables, list):
            raise KnowledgeBaseError(
                "must be an array of tables [[intent]]", file=file, key="intent"
            )
        for position, table in enumerate(tables, start=1):
            intent = _intent(table, file=file, position=position)
            if intent.id in seen:
                raise KnowledgeBaseError(
                    f"duplicate id (first defined in {seen[intent.id]})",
                    file=file,
                    intent=intent.id,
                    key="id",
                )
            seen[intent.id] = file
            intents.append(intent)
        if "calibration" in data:
            if calibration is not None:
                raise KnowledgeBaseError(
                    f"second [calibration] table (first in {calibration.source})",
                    file=file,
                    key="calibration",
                )
            calibration = _calibration(data["calibration"], file=file)
        if "out_of_scope" in data:
            table = data["out_of_scope"]
            if not isinstance(table, dict):
                raise KnowledgeBaseError("must be a table", file=file, key="out_of_scope")
            for locale, items in table.items():
                key = f"out_of_scope.{locale}"
                _check_locale(locale, file=file, intent=None, key=key)
                oos_files.setdefault(locale, file)
                out_of_scope.setdefault(locale, []).extend(
                    _string_list(items, file=file, intent=None, key=key)
                )
        if "texts" in data:
            for name, by_locale in _texts(data["texts"], file=file).items():
                texts.setdefault(name, {}).update(by_locale)
            texts_file = texts_file or file
    if not intents:
        raise KnowledgeBaseError(
            "no [[intent]] tables in any file", file=", ".join(map(str, files))
        )
    for intent in intents:
        for target in intent.suggestions:
            if target not in seen:
                raise KnowledgeBaseError(
                    f"suggestion {target!r} names no intent",
                    file=intent.source,
                    intent=intent.id,
                    key="suggestions",
                )
    languages = _languages(intents)
    _check_coverage(intents, languages)
    for locale, file in oos_files.items():
        if locale not in languages:
            raise KnowledgeBaseError(
                f"out-of-scope messages for locale {locale!r}, which no intent speaks "
                f"(the KB speaks {', '.join(languages)})",
                file=file,
                key=f"out_of_scope.{locale}",
            )
    return KnowledgeBase(
        intents=tuple(intents),
        calibration=calibration,
        out_of_scope={k: tuple(v) for k, v in out_of_scope.items()},
        files=tuple(str(f) for f in files),
        languages=languages,
        texts=_complete_texts(texts, texts_file, languages),
    )
