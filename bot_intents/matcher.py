"""Score a message against every intent: softmax over TF-IDF, centroid cosine and rapidfuzz.

Three signals, each measured on CLINC150 (see BENCHMARKS.md):

* a linear softmax model over word, word-bigram and character n-gram TF-IDF picks *which* intent
  (it learns what separates intents that share vocabulary);
* the cosine to the intent's centroid says how much the message resembles that intent at all
  (out-of-scope messages share few n-grams with any intent);
* rapidfuzz's ``token_set_ratio`` of the normalised message against the best intent's examples
  (those of the message's language when examples carry one) catches near-verbatim questions
  with typos.

The calibration (see :mod:`bot_intents.calibration`) turns these into one confidence.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process

from bot_intents.features import FeatureConfig, Vectorizer, extract
from bot_intents.linear import train_softmax

__all__ = ["MatchScores", "Matcher", "MatcherConfig"]


@dataclass(frozen=True, slots=True)
class MatcherConfig:
    """Feature and training settings (defaults measured on CLINC150 and BANKING77)."""

    features: FeatureConfig = field(default_factory=FeatureConfig)
    epochs: int = 20
    learning_rate: float = 0.5
    l2: float = 1e-5
    #: rapidfuzz compares against at most this many examples of the best intent.
    fuzzy_examples: int = 200


@dataclass(frozen=True, slots=True)
class MatchScores:
    """Raw scores of one message: probability and centroid cosine per intent, plus fuzzy."""

    probs: np.ndarray
    centroid: np.ndarray
    order: np.ndarray
    fuzzy_best: float
    empty: bool

    def features(self, rank: int = 0) -> np.ndarray:
        """Calibration features of the intent at ``rank`` (0 = best).

        ``(p, p - p_other_best, centroid cosine, fuzzy ratio of the best)``; for the best intent
        the margin is over the second, for others it is (negative) against the best.
        """
        return np.array(self.feature_values(rank), dtype=np.float64)

    def feature_values(self, rank: int = 0) -> tuple[float, float, float, float]:
        """:meth:`features` as plain floats (what a reply computes its confidences from)."""
        index = self.order[rank]
        p = float(self.probs[index])
        other = float(self.probs[self.order[1 if rank == 0 else 0]]) if self.order.size > 1 else 0.0
        fuzzy = self.fuzzy_best if rank == 0 else 0.0
        return (p, p - other, float(self.centroid[index]), fuzzy)


class Matcher:
    """Fitted scorer over labelled example texts (labels are class indices ``0..n-1``)."""

    def __init__(
        self,
        texts: Sequence[str],
        labels: Sequence[int],
        n_classes: int,
        config: MatcherConfig | None = None,
        groups: Sequence[str] | None = None,
    ) -> None:
        """Vectorise ``texts``, fit the softmax model and the intent centroids.

        ``groups`` (the language of each text, optional) lets :meth:`score` compare the message
        with rapidfuzz only against the best intent's examples in the message's language: the
        ratio against another script is near zero anyway, and a seventh of the work.
        """
        self.config = config or MatcherConfig()
        self.n_classes = n_classes
        feature_config = self.config.features
        documents = [extract(text, feature_config) for text in texts]
        self.vectorizer = Vectorizer(feature_config, documents)
        label_array = np.asarray(labels, dtype=np.int64)
        vec = self.vectorizer
        n_features = len(vec.vocab)
        feature_of = np.repeat(np.arange(n_features), np.diff(vec.start))
        by_row = np.argsort(vec.rows, kind="stable")
        self.weights, self.bias = train_softmax(
            vec.rows[by_row],
            feature_of[by_row],
            vec.values[by_row],
            label_array,
            n_features,
            n_classes,
            epochs=self.config.epochs,
            learning_rate=self.config.learning_rate,
            l2=self.config.l2,
        )
        centroids = np.zeros((n_features, n_classes), dtype=np.float32)
        np.add.at(centroids, (feature_of, label_array[vec.rows]), vec.values)
        norms = np.linalg.norm(centroids, axis=0, keepdims=True)
        self.centroids = centroids / np.where(norms > 0, norms, 1.0)
        # Per class (and per class and group): the normalised example texts, for rapidfuzz.
        self.class_texts: list[list[str]] = [[] for _ in range(n_classes)]
        self.group_texts: dict[tuple[int, str], list[str]] = {}
        group_list = list(groups) if groups is not None else [""] * len(documents)
        for doc, label, group in zip(documents, label_array.tolist(), group_list, strict=True):
            if not doc.normalized:
                continue
            if len(self.class_texts[label]) < self.config.fuzzy_examples:
                self.class_texts[label].append(doc.normalized)
            if groups is not None:
                bucket = self.group_texts.setdefault((label, group), [])
                if len(bucket) < self.config.fuzzy_examples:
                    bucket.append(doc.normalized)

    def score(self, text: str, group: str | None = None) -> MatchScores:
        """Score ``text`` against every class. Safe across threads; the same text, the same scores.

        ``group`` (the message's language) narrows the fuzzy comparison to the best class's
        examples of that group, when it has any.
        """
        normalized, features, values = self.vectorizer.query_text(text)
        if features.size == 0:
            uniform = np.full(self.n_classes, 1.0 / self.n_classes)
            zeros = np.zeros(self.n_classes)
            return MatchScores(uniform, zeros, np.arange(self.n_classes), 0.0, True)
        # ndarray.take: the same rows as weights[features], at a third of the cost of fancy
        # indexing on a (features, classes) matrix (issue 19).
        logits = (values @ self.weights.take(features, axis=0) + self.bias).astype(np.float64)
        logits -= logits.max()
        probs = np.exp(logits)
        probs /= probs.sum()
        centroid = (values @ self.centroids.take(features, axis=0)).astype(np.float64)
        # Stable order: ties broken by class index, so replies are deterministic.
        order = (-probs).argsort(kind="stable")
        best_texts = self.class_texts[int(order[0])]
        if group is not None:
            best_texts = self.group_texts.get((int(order[0]), group)) or best_texts
        fuzzy_best = 0.0
        if best_texts:
            match = process.extractOne(normalized, best_texts, scorer=fuzz.token_set_ratio)
            fuzzy_best = float(match[1]) / 100.0 if match else 0.0
        return MatchScores(probs, centroid, order, fuzzy_best, False)
