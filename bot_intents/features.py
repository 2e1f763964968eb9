"""Sparse TF-IDF features (words, word bigrams, character n-grams) over normalised text.

Character n-grams are 3-5 letters inside word boundaries (typos, inflections in Russian,
Spanish and Turkish), 2-4 syllables in Hangul words (Korean particles and endings stay attached
to the word, so Korean words count only through these n-grams), and ideograph trigrams in
Chinese runs.

No scipy: a fitted :class:`Vectorizer` stores the examples as a feature-major (CSC-like) matrix of
numpy arrays, so scoring a message is one gather over the message's posting lists and one
``numpy.bincount``. That keeps a 15,000-example knowledge base well under a millisecond.
"""

from __future__ import annotations

import functools
import itertools
import math
import operator
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from bot_intents.normalize import is_cjk, is_hangul, normalize_text, tokenize

__all__ = ["FeatureConfig", "TextFeatures", "Vectorizer", "extract"]


@dataclass(frozen=True, slots=True)
class FeatureConfig:
    """Which feature blocks to use and how much each weighs in the cosine."""

    word_weight: float = 1.0
    bigram_weight: float = 0.5
    char_weight: float = 1.0
    char_min: int = 3
    char_max: int = 5


@dataclass(frozen=True, slots=True)
class TextFeatures:
    """One message's normalised text, tokens and raw feature counts per block."""

    normalized: str
    tokens: tuple[str, ...]
    blocks: tuple[Counter[str], Counter[str], Counter[str]]


#: Words whose character n-grams :meth:`Vectorizer._char_keys` remembers. Full of made-up
#: words (every n-gram unseen, so kept as a string) that is about 11 MB; real words' known
#: n-grams are ids shared with the vocabulary.
_WORD_CACHE_SIZE = 8192

#: No character below this one is Hangul or a CJK ideograph (see normalize.is_hangul).
_FIRST_HANGUL = "\u1100"


def _hangul_word(token: str) -> bool:
    """Whether ``token`` starts with a Hangul letter (below U+1100 none is: no test needed)."""
    return token[0] >= _FIRST_HANGUL and is_hangul(token[0])


def _word_features(tokens: Sequence[str]) -> tuple[list[str], list[str]]:
    """The word and word-bigram features of a message's tokens, in order."""
    # Korean words carry their particles and endings ("비번을", "비번이", "비번"): as whole
    # words they rarely recur, and an unseen word only dilutes the vector. They count through
    # their syllable n-grams below instead (which hold a short word whole, padded). Measured on
    # the Korean held-out set: top-1 0.926 -> 0.963, mean best probability 0.66 -> 0.74.
    words = [t for t in tokens if not _hangul_word(t)]
    bigrams = [
        f"{a} {b}"
        for a, b in itertools.pairwise(tokens)
        if not (_hangul_word(a) or _hangul_word(b))
    ]
    return words, bigrams


def _char_grams(raw: str, config: FeatureConfig) -> list[str]:
    """The character n-gram features of one word of normalised text, in order."""
    first = raw[0]
    if first >= _FIRST_HANGUL and is_cjk(first):
        # Chinese runs: unigrams/bigrams already cover them; add trigrams for phrases.
        run = "".join(c for c in raw if is_cjk(c))
        return [run[i : i + 3] for i in range(len(run) - 2)]
    padded = f" {raw} "
    low, high = config.char_min, config.char_max
    if first >= _FIRST_HANGUL and is_hangul(first):
        # A Hangul syllable is a whole consonant-vowel(-consonant) block, so two of them
        # already make a morpheme ("비밀", "번호"): 2-4-grams, not 3-5.
        low, high = 2, 4
    size = len(padded)
    return [padded[i : i + n] for n in range(low, high + 1) for i in range(size - n + 1)]


def extract(text: str, config: FeatureConfig) -> TextFeatures:
    """Normalise ``text`` and count its word, bigram and character n-gram features."""
    normalized = normalize_text(text)
    tokens = tokenize(normalized)
    words, bigrams = _word_features(tokens)
    # Each Counter is built from one list: Counter.update costs microseconds a call, and the
    # features of a message used to take some twenty of them (issue 19).
    grams: list[str] = []
    if config.char_weight > 0:
        for raw in normalized.split():
            grams += _char_grams(raw, config)
    blocks = (Counter(words), Counter(bigrams), Counter(grams))
    return TextFeatures(normalized, tuple(tokens), blocks)


class Vectorizer:
    """TF-IDF over three blocks, each L2-normalised then mixed by its weight.

    The fitted matrix is stored by feature: for feature ``f`` the rows holding it are
    ``rows[start[f]:start[f + 1]]`` with weights ``values[...]``.
    """

    def __init__(self, config: FeatureConfig, documents: Sequence[TextFeatures]) -> None:
        """Fit the vocabulary and IDF on ``documents`` and store their weighted vectors."""
        self.config = config
        self.block_weights = (config.word_weight, config.bigram_weight, config.char_weight)
        self.vocab: dict[str, int] = {}
        n_docs = len(documents)
        df: Counter[str] = Counter()
        for doc in documents:
            for block_index, block in enumerate(doc.blocks):
                df.update(f"{block_index}{key}" for key in block)
        keys = sorted(df)
        self.vocab = {key: i for i, key in enumerate(keys)}
        self.idf = np.array(
            [math.log((n_docs + 1) / (df[key] + 1)) + 1.0 for key in keys], dtype=np.float64
        )
        # Per block: feature -> id, and the IDF as a Python list. Weighting a message is a
        # Python loop over its ~100-200 features; no key concatenation and no numpy scalar
        # per feature makes it about twice as fast.
        self._lookup: list[dict[str, int]] = [{}, {}, {}]
        for key, feature in self.vocab.items():
            self._lookup[int(key[0])][key[1:]] = feature
        #: IDF given to a feature never seen in the examples (it still lowers the cosine).
        self.unseen_idf = math.log(n_docs + 1) + 1.0
        #: The IDF by feature id, and at index -1 (an unseen feature's id) the unseen IDF.
        self._idf_unseen_last = [*self.idf.tolist(), self.unseen_idf]
        #: word of normalised text -> :meth:`_char_keys` of it.
        self._words_seen: dict[str, tuple[int | str, ...]] = {}
        columns: list[list[tuple[int, float]]] = [[] for _ in keys]
        for row, doc in enumerate(documents):
            for feature, weight in self._weights(doc):
                if feature >= 0:
                    columns[feature].append((row, weight))
        lengths = np.fromiter((len(c) for c in columns), dtype=np.int64, count=len(columns))
        self.start = np.zeros(len(columns) + 1, dtype=np.int64)
        np.cumsum(lengths, out=self.start[1:])
        self.rows = np.fromiter(
            (row for column in columns for row, _ in column),
            dtype=np.int32,
            count=int(lengths.sum()),
        )
        self.values = np.fromiter(
            (w for column in columns for _, w in column), dtype=np.float32, count=int(lengths.sum())
        )
        self.n_rows = n_docs

    def __getstate__(self) -> dict[str, object]:
        """Pickle without the word cache (a fitted bot is cached on disk, see loading.py)."""
        state = self.__dict__.copy()
        state["_words_seen"] = {}
        return state

    def _unit(
        self, blocks: Sequence[tuple[int, list[int], Iterable[int]]]
    ) -> list[tuple[list[int], list[float], float]]:
        """Per block: feature ids (-1 when unseen), raw TF-IDF weights, and the unit scale.

        ``blocks`` holds each non-empty block to weigh: its index, its features' ids and
        their counts. Weighted with ``map`` and comprehensions rather than a loop: a message
        has 100-200 features and this runs on every bot reply (issue 19). The squared norm is
        summed left to right on every Python version (``sum`` compensates since 3.12), so a
        feature weighs the same to the last bit when fitting and when scoring.
        """
        total_weight = sum(self.block_weights[i] for i, _, _ in blocks)
        idf_of = self._idf_unseen_last
        out: list[tuple[list[int], list[float], float]] = []
        for block_index, features, counts in blocks:
            weights = list(map(idf_of.__getitem__, features))
            if max(counts) > 1:  # most features occur once, and then weigh their IDF
                weights = [
                    idf if count == 1 else (1.0 + math.log(count)) * idf
                    for idf, count in zip(weights, counts, strict=True)
                ]
            norm_sq = functools.reduce(operator.add, map(operator.mul, weights, weights), 0.0)
            scale = math.sqrt(self.block_weights[block_index] / total_weight / norm_sq)
            out.append((features, weights, scale))
        return out

    def _weights(self, doc: TextFeatures) -> list[tuple[int, float]]:
        """Return (feature id or -1 when unseen, weight) pairs of one document's unit vector."""
        blocks = [
            (i, list(map(self._lookup[i].get, block, itertools.repeat(-1))), block.values())
            for i, block in enumerate(doc.blocks)
            if block and self.block_weights[i] > 0
        ]
        return [
            (feature, weight * scale)
            for features, weights, scale in self._unit(blocks)
            for feature, weight in zip(features, weights, strict=True)
        ]

    @staticmethod
    def _known(
        weighted: list[tuple[list[int], list[float], float]],
    ) -> tuple[np.ndarray, np.ndarray]:
        """(feature ids, float32 weights) of the known features of :meth:`_unit`'s output."""
        features = np.array(
            list(itertools.chain.from_iterable(f for f, _, _ in weighted)), dtype=np.int64
        )
        weights = np.array(
            list(itertools.chain.from_iterable(w for _, w, _ in weighted)), dtype=np.float64
        )
        # Each weight times its block's scale: the same IEEE double product as _weights'.
        weights *= np.repeat([scale for _, _, scale in weighted], [len(f) for f, _, _ in weighted])
        known = features >= 0
        return features[known], weights[known].astype(np.float32)

    def query(self, doc: TextFeatures) -> tuple[np.ndarray, np.ndarray]:
        """Return (feature ids, weights) of ``doc``'s unit vector, known features only."""
        blocks = [
            (i, list(map(self._lookup[i].get, block, itertools.repeat(-1))), block.values())
            for i, block in enumerate(doc.blocks)
            if block and self.block_weights[i] > 0
        ]
        return self._known(self._unit(blocks))

    def _char_keys(self, raw: str) -> tuple[int | str, ...]:
        """The character n-grams of one word: the feature id of each, or the gram if unseen.

        Memoised: customers reuse the same few thousand words, and cutting each into n-grams
        and looking them up was a third of a reply's cost (issue 19). Bounded by emptying the
        cache when full, so hostile text cannot grow it.
        """
        keys = self._words_seen.get(raw)
        if keys is None:
            grams = _char_grams(raw, self.config)
            keys = tuple(map(self._lookup[2].get, grams, grams))
            if len(self._words_seen) >= _WORD_CACHE_SIZE:
                self._words_seen.clear()
            self._words_seen[raw] = keys
        return keys

    def query_text(self, text: str) -> tuple[str, np.ndarray, np.ndarray]:
        """``text``'s normalised form and :meth:`query` of :func:`extract` of it, faster.

        The same numbers to the last bit (tests/bot/test_fast_paths.py checks it): the same
        features in the same order, only the character n-grams of a word are remembered.
        """
        normalized = normalize_text(text)
        words, bigrams = _word_features(tokenize(normalized))
        blocks: list[tuple[int, list[int], Iterable[int]]] = []
        for block_index, keys in ((0, words), (1, bigrams)):
            if keys and self.block_weights[block_index] > 0:
                counts = Counter(keys)
                ids = list(map(self._lookup[block_index].get, counts, itertools.repeat(-1)))
                blocks.append((block_index, ids, counts.values()))
        if self.block_weights[2] > 0:
            grams: list[int | str] = []
            for raw in normalized.split():
                grams += self._char_keys(raw)
            if grams:
                char_counts = Counter(grams)
                # An unseen gram is its own key (two unseen grams count apart), id -1.
                ids = [key if key.__class__ is int else -1 for key in char_counts]
                blocks.append((2, ids, char_counts.values()))
        features, weights = self._known(self._unit(blocks))
        return normalized, features, weights

    def cosine(self, features: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """Cosine similarity of a query vector (from :meth:`query`) to every fitted row."""
        if features.size == 0:
            return np.zeros(self.n_rows, dtype=np.float64)
        starts = self.start[features]
        ends = self.start[features + 1]
        lengths = ends - starts
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(self.n_rows, dtype=np.float64)
        # Gather all posting lists at once: index = start of its list + offset within it.
        offsets = np.arange(total, dtype=np.int64) - np.repeat(
            np.cumsum(lengths) - lengths, lengths
        )
        gather = np.repeat(starts, lengths) + offsets
        contrib = self.values[gather] * np.repeat(weights, lengths)
        return np.bincount(self.rows[gather], weights=contrib, minlength=self.n_rows)


def fit_documents(texts: Iterable[str], config: FeatureConfig) -> list[TextFeatures]:
    """Extract features of many texts (convenience for building an index)."""
    return [extract(text, config) for text in texts]
