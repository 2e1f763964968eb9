"""The bot: load a knowledge base once, then answer messages purely and cheaply.

:class:`Bot` holds only immutable data after construction, so one instance can serve every
thread. The one exception is a memo of the features of each word seen (bounded, rebuilt on
load, see features.Vectorizer._char_keys and language.LanguageDetector._word_grams): a dict
whose reads and writes are atomic, and whose entries are pure functions of the word.
``reply`` never raises for any ``str`` and gives the same reply for the same input.
"""

from __future__ import annotations

import numpy as np
from rapidfuzz import fuzz

from bot_intents import texts
from bot_intents.calibration import confidence
from bot_intents.language import LanguageDetector
from bot_intents.loader import fingerprint, shipped_texts
from bot_intents.matcher import Matcher, MatcherConfig, MatchScores
from bot_intents.model import (
    FALLBACK_LOCALE,
    Calibration,
    Intent,
    KnowledgeBase,
    Reply,
    SearchHit,
    Suggestion,
)
from bot_intents.normalize import normalize_text
from bot_intents.tuning import calibrate_by_cross_validation

__all__ = [
    "DEFAULT_TARGET_OOS_RECALL",
    "Bot",
    "language_samples",
    "training_data",
    "training_locales",
    "tune_calibration",
]

#: Share of out-of-scope messages the tuned threshold must hand off. A bot that answers the
#: wrong question costs more than a handoff, so we favour recall over answering everything.
DEFAULT_TARGET_OOS_RECALL = 0.85

#: How many runner-up intents a reply lists.
_RUNNER_UPS = 3


def training_data(kb: KnowledgeBase) -> tuple[list[str], list[int]]:
    """All examples of every locale, with the index of their intent."""
    example_texts: list[str] = []
    labels: list[int] = []
    for index, intent in enumerate(kb.intents):
        for locale in sorted(intent.examples):
            example_texts.extend(intent.examples[locale])
            labels.extend([index] * len(intent.examples[locale]))
    return example_texts, labels


def training_locales(kb: KnowledgeBase) -> list[str]:
    """The locale of each example of :func:`training_data`, in the same order."""
    return [
        locale
        for intent in kb.intents
        for locale in sorted(intent.examples)
        for _ in intent.examples[locale]
    ]


def _out_of_scope(kb: KnowledgeBase) -> tuple[list[str], list[str]]:
    """The KB's out-of-scope messages and the locale of each."""
    pairs = [
        (text, locale) for locale in sorted(kb.out_of_scope) for text in kb.out_of_scope[locale]
    ]
    return [text for text, _ in pairs], [locale for _, locale in pairs]


def language_samples(kb: KnowledgeBase) -> dict[str, list[str]]:
    """Everything the KB says in each of its languages, to teach the language detector."""
    samples: dict[str, list[str]] = {locale: [] for locale in kb.languages}
    for intent in kb.intents:
        for locale in kb.languages:
            samples[locale].extend(intent.examples.get(locale, ()))
            samples[locale] += [intent.answer.get(locale, ""), intent.title.get(locale, "")]
    for locale, messages in kb.out_of_scope.items():
        samples.setdefault(locale, []).extend(messages)
    for by_locale in kb.texts.values():
        for locale, text in by_locale.items():
            if locale in samples:
                samples[locale].append(text)
    return samples


def tune_calibration(
    kb: KnowledgeBase,
    *,
    target_oos_recall: float = DEFAULT_TARGET_OOS_RECALL,
    folds: int = 5,
    config: MatcherConfig | None = None,
) -> Calibration:
    """Fit the calibration of ``kb`` by cross-validation over its examples and OOS messages.

    Its notes carry the nested cross-validated estimate (``cv_estimate_*``) beside the
    figures on the rows it was fitted on.
    """
    example_texts, labels = training_data(kb)
    out_of_scope, oos_locales = _out_of_scope(kb)
    return calibrate_by_cross_validation(
        example_texts,
        labels,
        len(kb.intents),
        out_of_scope,
        target_oos_recall=target_oos_recall,
        folds=folds,
        config=config,
        groups=training_locales(kb),
        oos_groups=oos_locales,
        fingerprint=fingerprint(kb.intents),
    ).calibration


class Bot:
    """Answers customer messages from a knowledge base, in the customer's language."""

    def __init__(
        self,
        kb: KnowledgeBase,
        *,
        calibration: Calibration | None = None,
        config: MatcherConfig | None = None,
        matcher: Matcher | None = None,
    ) -> None:
        """Fit the matcher; use ``calibration``, else the KB's if current, else fit one now.

        ``matcher`` may be passed when already fitted on this KB's :func:`training_data`
        (the evaluation tool does this to score held-out data before building the bot).
        """
        self.kb = kb
        self._intents = kb.intents
        self._by_id = kb.by_id()
        self._texts = kb.texts or shipped_texts()
        if matcher is None:
            example_texts, labels = training_data(kb)
            matcher = Matcher(
                example_texts, labels, len(kb.intents), config, groups=training_locales(kb)
            )
        self._matcher = matcher
        if calibration is None:
            stored = kb.calibration
            if stored is not None and stored.fingerprint == fingerprint(kb.intents):
                calibration = stored
            else:
                calibration = tune_calibration(kb, config=config)
        self.calibration = calibration
        self._detector = LanguageDetector(language_samples(kb), fallback=FALLBACK_LOCALE)
        self._search_texts = {
            locale: [
                [
                    normalize_text(intent.title.get(locale, "")),
                    normalize_text(intent.answer.get(locale, "")),
                ]
                for intent in kb.intents
            ]
            for locale in kb.languages
        }

    @property
    def intent_ids(self) -> tuple[str, ...]:
        """Every intent id, in knowledge-base order."""
        return tuple(intent.id for intent in self._intents)

    @property
    def languages(self) -> tuple[str, ...]:
        """Locales the loaded KB speaks ("en" first, then sorted), e.g. to validate agents'."""
        return self.kb.languages

    def title(self, intent_id: str, locale: str) -> str:
        """Short title of an intent in ``locale`` (English when the KB does not speak it)."""
        intent = self._by_id[intent_id]
        return intent.title.get(self._spoken(locale) or FALLBACK_LOCALE, intent.title["en"])

    def detect_language(self, text: str, hint: str | None = None) -> str:
        """Language of ``text``, one of :attr:`languages`.

        ``hint`` is the conversation's current language (a locale such as "tr" or "zh-CN"): a
        short or ambiguous message ("ok", "USDT", "2FA?") keeps it instead of flipping; only a
        message clearly in another language of the KB changes it. Without a hint, such a
        message is English. Never raises for a ``str``.
        """
        if not isinstance(text, str):
            text = str(text)
        return self._detector.detect(text, self._spoken(hint))

    def welcome(self, locale: str | None = None) -> str:
        """Greeting shown when a chat opens, in ``locale`` (English by default)."""
        return texts.welcome(self._texts, self._spoken(locale) or FALLBACK_LOCALE)

    def _spoken(self, locale: str | None) -> str | None:
        """The KB language a locale such as "zh-CN", "pt_BR" or "TR" names, else None."""
        if locale:
            short = locale.strip().lower().replace("_", "-").split("-")[0]
            if short in self.kb.languages:
                return short
        return None

    def _reply_locale(self, text: str, locale: str | None, hint: str | None) -> str:
        """``locale`` when the KB speaks it, else the language detected in ``text``."""
        return self._spoken(locale) or self.detect_language(text, hint)

    def _suggestion(self, intent_id: str, locale: str) -> Suggestion:
        """Quick-reply chip for an intent."""
        return Suggestion(intent_id, self.title(intent_id, locale))

    def _confidence(self, scores: MatchScores, rank: int) -> float:
        """Calibrated confidence of the intent at ``rank``, rounded for stable output."""
        return round(confidence(self.calibration, scores.feature_values(rank)), 4)

    def reply(self, text: str, locale: str | None = None, *, hint: str | None = None) -> Reply:
        """Answer ``text`` in ``locale``, or when None in the language the message is written in.

        ``hint`` (the conversation's current language) is kept for short or ambiguous messages,
        see :meth:`detect_language`. ``Reply.locale`` is the language answered in, one of
        :attr:`languages`. Never raises for a ``str``; the same input gives the same reply.
        """
        if not isinstance(text, str):
            text = str(text)
        reply_locale = self._reply_locale(text, locale, hint)
        scores = self._matcher.score(text, reply_locale)
        if scores.empty:
            return self._no_match(reply_locale, 0.0, [], scores)
        best = self._intents[int(scores.order[0])]
        conf = self._confidence(scores, 0)
        runner_up = [
            (self._intents[int(scores.order[rank])].id, self._confidence(scores, rank))
            for rank in range(1, min(1 + _RUNNER_UPS, scores.order.size))
        ]
        if conf < self.calibration.threshold:
            return self._no_match(reply_locale, conf, runner_up, scores)
        margin = scores.feature_values(0)[1]
        if runner_up and margin < self.calibration.ambiguity_margin:
            second = self._by_id[runner_up[0][0]]
            return Reply(
                intent=best.id,
                confidence=conf,
                answer=texts.did_you_mean(
                    self._texts,
                    reply_locale,
                    self.title(best.id, reply_locale),
                    self.title(second.id, reply_locale),
                ),
                suggestions=[
                    self._suggestion(best.id, reply_locale),
                    self._suggestion(second.id, reply_locale),
                ],
                handoff="never",
                # A possible account takeover must not wait behind routine chats.
                priority="urgent" if "urgent" in (best.priority, second.priority) else "normal",
                skills=tuple(dict.fromkeys(best.skills + second.skills)),
                locale=reply_locale,
                runner_up=runner_up,
                ambiguous=True,
            )
        return self._answer(best, conf, runner_up, reply_locale)

    def answer(self, intent_id: str, locale: str | None = None) -> Reply:
        """The intent's own answer with confidence 1, as when a customer taps its quick reply.

        KeyError for an unknown intent id.
        """
        reply_locale = self._spoken(locale) or FALLBACK_LOCALE
        return self._answer(self._by_id[intent_id], 1.0, [], reply_locale)

    def _answer(
        self, intent: Intent, conf: float, runner_up: list[tuple[str, float]], locale: str
    ) -> Reply:
        """Reply with the intent's own answer."""
        return Reply(
            intent=intent.id,
            confidence=conf,
            answer=intent.answer.get(locale, intent.answer["en"]),
            suggestions=[self._suggestion(s, locale) for s in intent.suggestions],
            handoff=intent.handoff,
            priority=intent.priority,
            skills=intent.skills,
            locale=locale,
            runner_up=runner_up,
        )

    def _no_match(
        self, locale: str, conf: float, runner_up: list[tuple[str, float]], scores: MatchScores
    ) -> Reply:
        """The polite "rephrase or ask for a person" reply, with the likeliest topics as chips."""
        chips: list[Suggestion] = []
        if not scores.empty:
            chips = [self._suggestion(self._intents[int(scores.order[0])].id, locale)]
            chips += [self._suggestion(intent_id, locale) for intent_id, _ in runner_up[:1]]
        if "support.human" in self._by_id and all(c.intent != "support.human" for c in chips):
            chips.append(self._suggestion("support.human", locale))
        return Reply(
            intent=None,
            confidence=conf,
            answer=texts.no_match(self._texts, locale),
            suggestions=chips,
            handoff="never",
            priority="normal",
            skills=(),
            locale=locale,
            runner_up=runner_up,
        )

    def search(self, query: str, locale: str | None = None, limit: int = 5) -> list[SearchHit]:
        """Rank intents for the agent console's KB search (matching examples, title and answer).

        Titles and answers come in ``locale`` when the KB speaks it, else in the query's
        language. Score is the mean of the intent's centroid cosine and the best rapidfuzz
        ``partial_token_set_ratio`` against its title and answer.
        """
        search_locale = self._reply_locale(query, locale, None)
        normalized = normalize_text(query)
        if not normalized or limit <= 0:
            return []
        scores = self._matcher.score(query)
        fuzzy = np.array(
            [
                max(fuzz.partial_token_set_ratio(normalized, t) for t in doc) / 100.0
                for doc in self._search_texts[search_locale]
            ]
        )
        combined = 0.5 * scores.centroid + 0.5 * fuzzy
        order = np.lexsort((np.arange(combined.size), -combined))[:limit]
        return [
            SearchHit(
                intent=self._intents[int(i)].id,
                title=self.title(self._intents[int(i)].id, search_locale),
                answer=self._intents[int(i)].answer.get(search_locale, ""),
                score=round(float(combined[i]), 4),
            )
            for i in order
            if combined[i] > 0.0
        ]
