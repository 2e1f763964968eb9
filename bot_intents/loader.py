"""Load and validate knowledge-base TOML files.

A KB file may hold any of three top-level keys::

    [[intent]]                      # one table per intent (see docs/bot.md for every key)
    [calibration]                   # written by `python -m bot_intents tune`
    [out_of_scope]                  # en = [...], zh = [...]: messages the bot must not answer

Every error is a :class:`~bot_intents.errors.KnowledgeBaseError` naming the file, the intent and
the key, so ``python -m bot_intents check`` output points straight at the line to fix.
"""

from __future__ import annotations

import hashlib
import tomllib
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

from bot_intents.errors import KnowledgeBaseError
from bot_intents.model import HANDOFFS, LOCALES, PRIORITIES, Calibration, Intent, KnowledgeBase

__all__ = ["default_kb_paths", "fingerprint", "load_knowledge_base"]

_TOP_KEYS = frozenset({"intent", "calibration", "out_of_scope"})
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


def _locale_strings(value: Any, *, file: str, intent: str, key: str) -> dict[str, str]:
    """Validate a ``{locale: non-empty string}`` table that must cover every locale."""
    if not isinstance(value, dict):
        raise KnowledgeBaseError(
            "must be a table of locale = text", file=file, intent=intent, key=key
        )
    out: dict[str, str] = {}
    for locale in LOCALES:
        text = value.get(locale)
        if not isinstance(text, str) or not text.strip():
            raise KnowledgeBaseError(
                f"missing or empty text for locale {locale!r}",
                file=file,
                intent=intent,
                key=f"{key}.{locale}",
            )
    for locale, text in value.items():
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
    for locale in LOCALES:
        if locale not in value:
            raise KnowledgeBaseError(
                f"no examples for locale {locale!r}",
                file=file,
                intent=intent,
                key=f"examples.{locale}",
            )
    for locale, items in value.items():
        key = f"examples.{locale}"
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


def load_knowledge_base(paths: Iterable[str | Path]) -> KnowledgeBase:
    """Load, merge and validate KB files (directories expand to their ``*.toml`` files)."""
    files = _expand(paths)
    if not files:
        raise KnowledgeBaseError("no knowledge-base files given", file="<none>")
    intents: list[Intent] = []
    seen: dict[str, str] = {}
    calibration: Calibration | None = None
    out_of_scope: dict[str, list[str]] = {}
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
                out_of_scope.setdefault(locale, []).extend(
                    _string_list(items, file=file, intent=None, key=key)
                )
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
    return KnowledgeBase(
        intents=tuple(intents),
        calibration=calibration,
        out_of_scope={k: tuple(v) for k, v in out_of_scope.items()},
        files=tuple(str(f) for f in files),
    )
