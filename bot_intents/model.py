"""The data model: knowledge-base intents, the stored calibration, and what a reply looks like.

All types are frozen dataclasses so a loaded bot can be shared between threads for reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "FALLBACK_LOCALE",
    "HANDOFFS",
    "PRIORITIES",
    "Calibration",
    "Handoff",
    "Intent",
    "KnowledgeBase",
    "Priority",
    "Reply",
    "SearchHit",
    "Suggestion",
]

Handoff = Literal["never", "after_answer", "immediate"]
Priority = Literal["normal", "urgent"]

#: The one locale every knowledge base must speak: the answer when the customer's language is
#: not one the KB speaks. Every other locale is whatever the KB files give (see docs/bot.md).
FALLBACK_LOCALE = "en"
HANDOFFS: tuple[str, ...] = ("never", "after_answer", "immediate")
PRIORITIES: tuple[str, ...] = ("normal", "urgent")


@dataclass(frozen=True, slots=True)
class Intent:
    """One thing a customer may want, with examples and an answer per locale."""

    id: str
    title: dict[str, str]
    examples: dict[str, tuple[str, ...]]
    answer: dict[str, str]
    suggestions: tuple[str, ...] = ()
    handoff: Handoff = "never"
    priority: Priority = "normal"
    skills: tuple[str, ...] = ()
    source: str = ""


@dataclass(frozen=True, slots=True)
class Calibration:
    """Maps raw match scores to a confidence in [0, 1] and holds the decision thresholds.

    ``confidence = sigmoid(intercept + coef . (p_best, p_best - p_second, centroid_sim, fuzzy))``
    Values are written by ``python -m bot_intents tune`` (or fitted at load when absent).
    """

    coef: tuple[float, ...]
    intercept: float
    threshold: float
    ambiguity_margin: float
    fingerprint: str = ""
    source: str = ""
    notes: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class KnowledgeBase:
    """Every intent loaded from one or more files, plus the calibration and out-of-scope samples.

    ``languages`` lists the locales the KB speaks (the fallback first, then sorted); every
    intent has examples, an answer and a title in each. ``texts`` holds the bot's own sentences
    (``welcome``, ``no_match``, ``did_you_mean``) per locale.
    """

    intents: tuple[Intent, ...]
    calibration: Calibration | None = None
    out_of_scope: dict[str, tuple[str, ...]] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    languages: tuple[str, ...] = (FALLBACK_LOCALE,)
    texts: dict[str, dict[str, str]] = field(default_factory=dict)

    def by_id(self) -> dict[str, Intent]:
        """Return a mapping of intent id to intent."""
        return {intent.id: intent for intent in self.intents}


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A quick-reply chip: the intent it selects and its title in the reply's locale."""

    intent: str
    title: str


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One knowledge-base search result for the agent console."""

    intent: str
    title: str
    answer: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "intent": self.intent,
            "title": self.title,
            "answer": self.answer,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class Reply:
    """The bot's answer to one message.

    ``intent`` is ``None`` when nothing matched confidently; then ``answer`` is a polite
    "please rephrase or ask for a person" text. When the best two intents are close,
    ``ambiguous`` is true, ``intent`` is the best guess, ``answer`` asks which one was meant and
    ``suggestions`` holds both.
    """

    intent: str | None
    confidence: float
    answer: str
    suggestions: list[Suggestion]
    handoff: Handoff
    priority: Priority
    skills: tuple[str, ...]
    locale: str
    runner_up: list[tuple[str, float]]
    ambiguous: bool = False

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (lists instead of tuples, suggestions as objects)."""
        return {
            "intent": self.intent,
            "confidence": self.confidence,
            "answer": self.answer,
            "suggestions": [{"intent": s.intent, "title": s.title} for s in self.suggestions],
            "handoff": self.handoff,
            "priority": self.priority,
            "skills": list(self.skills),
            "locale": self.locale,
            "runner_up": [[intent, score] for intent, score in self.runner_up],
            "ambiguous": self.ambiguous,
        }
