"""Which language a customer message is written in, among the languages the KB speaks.

A multinomial naive Bayes over character 1–3-grams (inside word boundaries) and whole words,
trained at load time on the knowledge base's own text per locale: examples, answers, titles,
out-of-scope messages and the bot's texts. Each Latin or Cyrillic sample is also learnt with its
diacritics folded away, because Vietnamese, Turkish and Spanish customers often type without
them. A KB that adds a locale therefore teaches the detector that language too, with no code
change; scripts need no rules of their own (Hangul, kana, Han or Cyrillic n-grams occur only in
the samples of the languages written in them).

Measured against lingua, langid, py3langid, langdetect and pycld2 (BENCHMARKS.md, "Language
identification"): on our held-out chat messages it is the most accurate, with no dependency,
about 11 MB and 0.04 ms a message (about half that since each word's n-grams are remembered,
issue 19; up to 6 MB more).

Words that the samples of several languages share ("ok", "usdt", "kyc", "2fa") are
language-neutral and carry no evidence; a message with none left, or too little, keeps the
``hint`` (the conversation's current language) instead of flipping.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from bot_intents.normalize import MAX_INPUT_CHARS, fold_diacritics

__all__ = ["DEFAULT_SWITCH_NATS", "LanguageDetector", "language_features"]

#: Log-likelihood (nats) by which another language must beat the hint before the detector
#: leaves the hint. About three distinctive character n-grams' worth: "ok", "usdt" or "2fa"
#: alone never reach it; "şifremi unuttum" or "забыл пароль" pass it many times over.
DEFAULT_SWITCH_NATS = 4.0

#: A one-word message leaves the hint only when its script is one the hint's language hardly
#: uses (below this share of the letters in its samples): "비밀번호" or "пароль" in an English
#: conversation switches, "gracias" or "şifre" does not.
_FOREIGN_SCRIPT_SHARE = 0.05

#: A word seen in the samples of at least this many languages is language-neutral.
_NEUTRAL_LANGUAGES = 3

#: Evidence (nats) the best language needs over the runner-up when there is no hint;
#: below it the fallback language is returned.
_MIN_NATS_WITHOUT_HINT = 1.0

#: Lidstone smoothing of the n-gram counts: small, so one unseen n-gram is a strong signal
#: (a Hangul or Cyrillic trigram never seen in English text should count).
_ALPHA = 0.1

#: Only this many characters are examined: enough to tell any language, and bounded work.
_MAX_CHARS = 200
#: Words whose features :meth:`LanguageDetector._word_grams` remembers (about 6 MB when full:
#: the rows are ints shared with the index).
_WORD_CACHE_SIZE = 20_000
#: Not a letter: no word character, a digit or "_" (numbers that are not digits, such as
#: "²", were made digits by NFKC already).
_NOT_LETTERS = re.compile(r"[\W\d_]+")


def _clean(text: str) -> str:
    """Casefold, NFKC and turn everything that is not a letter into a word break."""
    text = text[: min(MAX_INPUT_CHARS, _MAX_CHARS)]
    if not text.isascii():
        text = text.encode("utf-8", "ignore").decode("utf-8")
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold()
    # One pass of a character class (linear): anything but a letter is a word break.
    return " ".join(_NOT_LETTERS.sub(" ", text).split())


@functools.lru_cache(maxsize=8192)
def _script(char: str) -> str:
    """The script of a letter, from its Unicode name: "LATIN", "CYRILLIC", "HANGUL", "CJK"."""
    return unicodedata.name(char, "UNKNOWN").split(" ", 1)[0]


def language_features(text: str) -> list[str]:
    """Character 1–3-grams of each word (with boundary spaces) and the words themselves.

    ``text`` is the output of :func:`_clean` (letters and single spaces only).
    """
    grams: list[str] = []
    for word in text.split():
        padded = f" {word} "
        grams.append(f"w{word}")
        grams.extend(word)  # the 1-grams: the padding spaces are not features
        grams.extend([padded[i : i + 2] for i in range(len(padded) - 1)])
        grams.extend([padded[i : i + 3] for i in range(len(padded) - 2)])
    return grams


class LanguageDetector:
    """Naive Bayes language identification over the languages of a knowledge base."""

    def __init__(
        self,
        samples: Mapping[str, Iterable[str]],
        *,
        fallback: str = "en",
        switch_nats: float = DEFAULT_SWITCH_NATS,
    ) -> None:
        """Learn each language from its sample texts (``{locale: texts}``)."""
        self.languages: tuple[str, ...] = tuple(sorted(samples))
        if fallback not in self.languages:
            raise ValueError(f"fallback language {fallback!r} has no samples")
        self.fallback = fallback
        self.switch_nats = switch_nats
        counts: dict[str, Counter[str]] = {}
        spoken_in: dict[str, set[str]] = {}
        for locale in self.languages:
            counter: Counter[str] = Counter()
            for sample in samples[locale]:
                cleaned = _clean(sample)
                folded = fold_diacritics(cleaned)
                for variant in {cleaned, folded}:
                    counter.update(language_features(variant))
                    for word in variant.split():
                        spoken_in.setdefault(word, set()).add(locale)
            counts[locale] = counter
        #: Words that customers of several languages write alike ("usdt", "ok", "kyc", "hello"):
        #: they say nothing about the language, so they are left out of the evidence.
        self.neutral_words = frozenset(
            word for word, locales in spoken_in.items() if len(locales) >= _NEUTRAL_LANGUAGES
        )
        self._script_share: dict[str, dict[str, float]] = {}
        for locale in self.languages:
            scripts: Counter[str] = Counter()
            for gram, count in counts[locale].items():
                if len(gram) == 1 and gram != " ":
                    scripts[_script(gram)] += count
            total_letters = sum(scripts.values()) or 1
            self._script_share[locale] = {k: v / total_letters for k, v in scripts.items()}
        #: Scripts some language of the knowledge base is written in. A message mostly in other
        #: scripts (Arabic, Thai, Japanese kana ...) is in no language the bot speaks.
        self.known_scripts = frozenset(
            script
            for shares in self._script_share.values()
            for script, share in shares.items()
            if share >= _FOREIGN_SCRIPT_SHARE
        )
        vocabulary = sorted(set().union(*counts.values()))
        self._index = {gram: i for i, gram in enumerate(vocabulary)}
        n_languages = len(self.languages)
        table = np.zeros((len(vocabulary), n_languages), dtype=np.float32)
        unseen = np.zeros(n_languages, dtype=np.float64)
        size = len(vocabulary) + 1
        for column, locale in enumerate(self.languages):
            counter = counts[locale]
            total = sum(counter.values()) + _ALPHA * size
            for gram, count in counter.items():
                table[self._index[gram], column] = math.log((count + _ALPHA) / total)
            unseen[column] = math.log(_ALPHA / total)
            # Grams this language never saw get its unseen probability.
            missing = table[:, column] == 0.0
            table[missing, column] = np.float32(unseen[column])
        self._table = table
        self._unseen = unseen
        #: word -> (rows of its features in the table, number of unseen features).
        self._words_seen: dict[str, tuple[tuple[int, ...], int]] = {}

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the word cache (a fitted bot is cached on disk, see loading.py)."""
        state = self.__dict__.copy()
        state["_words_seen"] = {}
        return state

    def _word_grams(self, word: str) -> tuple[tuple[int, ...], int]:
        """Rows of :attr:`_table` of ``word``'s features, in order, and how many are unseen.

        Memoised: customers reuse the same few thousand words, and cutting a word into
        n-grams and looking each up was most of the cost of a message (measured: issue 19).
        The cache is bounded by emptying it when full, so hostile text cannot grow it.
        """
        entry = self._words_seen.get(word)
        if entry is None:
            grams = language_features(word)
            known = tuple(i for i in map(self._index.get, grams) if i is not None)
            entry = (known, len(grams) - len(known))
            if len(self._words_seen) >= _WORD_CACHE_SIZE:
                self._words_seen.clear()
            self._words_seen[word] = entry
        return entry

    def _evidence(self, text: str) -> tuple[np.ndarray, list[str]]:
        """Log-likelihood per language of the non-neutral words of ``text``, and those words."""
        words = [w for w in _clean(text).split() if w not in self.neutral_words]
        # The features of the joined words are those of each word in turn, so the rows (and
        # their order, hence the float sum) are exactly those of language_features(" ".join()).
        known: list[int] = []
        unseen = 0
        for word in words:
            rows, missing = self._word_grams(word)
            known += rows
            unseen += missing
        scores = self._unseen * unseen
        if known:
            scores = scores + self._table.take(known, axis=0).sum(axis=0, dtype=np.float64)
        return np.asarray(scores, dtype=np.float64), words

    def _foreign_script(self, word: str, locale: str) -> bool:
        """Whether ``word`` is written in a script ``locale`` hardly uses."""
        script = Counter(_script(c) for c in word).most_common(1)[0][0]
        return self._script_share[locale].get(script, 0.0) < _FOREIGN_SCRIPT_SHARE

    def _unknown_script(self, words: Sequence[str]) -> bool:
        """Whether at least a fifth of the letters are in scripts no language here uses."""
        letters = "".join(words)
        if letters.isascii() and "LATIN" in self.known_scripts:  # the common case, at once
            return False
        unknown = sum(1 for c in letters if _script(c) not in self.known_scripts)
        return unknown * 5 >= len(letters) > 0

    def log_likelihoods(self, text: str) -> np.ndarray:
        """Log-likelihood of ``text`` under each language (order of :attr:`languages`).

        Language-neutral words (:attr:`neutral_words`) are left out; all zeros when nothing
        else is left.
        """
        return self._evidence(text)[0]

    def detect(self, text: str, hint: str | None = None) -> str:
        """The language of ``text``; ``hint`` (one of :attr:`languages`) wins on weak evidence.

        With a hint, another language must lead it by :attr:`switch_nats`, and a one-word
        message must moreover be in a script the hint's language hardly uses ("gracias" in an
        English conversation keeps English, "пароль" switches to Russian). Without a hint, a
        message with no evidence, or too little to separate two languages, is in the fallback
        language.
        """
        if hint is not None and hint not in self.languages:
            hint = None
        scores, words = self._evidence(text)
        if not words or self._unknown_script(words):
            # Nothing to go on, or a language the bot does not speak: the conversation's (or
            # the fallback) language, never a guess among the bot's ("مرحبا" is not Chinese).
            return hint or self.fallback
        order = np.argsort(-scores, kind="stable")
        best = int(order[0])
        if hint is not None:
            lead = float(scores[best] - scores[self.languages.index(hint)])
            if lead < self.switch_nats:
                return hint
            if len(words) == 1 and not self._foreign_script(words[0], hint):
                return hint
            return self.languages[best]
        if len(order) > 1 and float(scores[best] - scores[int(order[1])]) < _MIN_NATS_WITHOUT_HINT:
            return self.fallback
        return self.languages[best]

    def scores(self, texts: Sequence[str]) -> list[dict[str, float]]:
        """Per-language log-likelihoods of several texts (for inspection and tests)."""
        return [
            dict(zip(self.languages, self.log_likelihoods(t).tolist(), strict=True)) for t in texts
        ]
