"""The bot's own sentences (welcome, no match, did-you-mean): their names and how they render.

The sentences themselves are knowledge-base content, in the ``[texts]`` table of a KB file
(the shipped ones are in ``kb/texts.toml``), one string per locale, so a team adds a language
without touching code. A KB that defines no texts for a locale borrows the shipped ones; the
loader rejects a KB whose languages lack any of them.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["TEXT_NAMES", "did_you_mean", "no_match", "template_error", "welcome"]

#: Every text a KB must have in each of its languages, with the placeholders it must use.
TEXT_NAMES: dict[str, tuple[str, ...]] = {
    "welcome": (),
    "no_match": (),
    "did_you_mean": ("first", "second"),
}

Texts = Mapping[str, Mapping[str, str]]


def template_error(name: str, text: str) -> str | None:
    """Why ``text`` is not a valid ``name`` text, or None when it is.

    ``did_you_mean`` must contain ``{first}`` and ``{second}``; other texts take no placeholder
    (a literal brace is written ``{{`` or ``}}``).
    """
    fields = TEXT_NAMES[name]
    sample = {field: f"<{field}>" for field in fields}
    try:
        rendered = text.format(**sample)
    except (KeyError, IndexError, ValueError) as exc:
        return f"bad placeholder ({exc!s}); allowed: {', '.join(fields) or 'none'}"
    missing = [field for field in fields if sample[field] not in rendered]
    if missing:
        return "must contain " + " and ".join("{" + field + "}" for field in missing)
    return None


def _text(texts: Texts, name: str, locale: str) -> str:
    """The ``name`` text in ``locale``, else in English (the loader guarantees English)."""
    table = texts[name]
    return table.get(locale) or table["en"]


def welcome(texts: Texts, locale: str) -> str:
    """Greeting shown when a chat opens."""
    return _text(texts, "welcome", locale).format()


def no_match(texts: Texts, locale: str) -> str:
    """Polite "rephrase or ask for a person" text for a message nothing matched."""
    return _text(texts, "no_match", locale).format()


def did_you_mean(texts: Texts, locale: str, first: str, second: str) -> str:
    """Question asking which of two close intents the customer meant."""
    return _text(texts, "did_you_mean", locale).format(first=first, second=second)
