"""Cross-validation over a knowledge base: held-out scores for fitting the calibration.

Each intent's examples are split into ``folds`` groups round-robin (deterministic); each fold is
scored by a matcher trained on the other folds. Out-of-scope messages are spread over the folds
the same way. The result is what the bot would have scored on messages it never saw.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from bot_intents.calibration import HeldOut
from bot_intents.matcher import Matcher, MatcherConfig, MatchScores

__all__ = ["cross_validate", "held_out_from_scores"]


def held_out_from_scores(scores: Sequence[MatchScores], truth: Sequence[int]) -> HeldOut:
    """Collect calibration features; ``truth[i]`` is a class index or -1 for out of scope."""
    features = np.array([s.features(0) for s in scores], dtype=np.float64).reshape(-1, 4)
    truth_array = np.asarray(truth, dtype=np.int64)
    best = np.array([int(s.order[0]) for s in scores], dtype=np.int64)
    second = np.array([int(s.order[1]) if s.order.size > 1 else -2 for s in scores], dtype=np.int64)
    return HeldOut(
        features=features,
        correct=(best == truth_array) & (truth_array >= 0),
        second_correct=(second == truth_array) & (truth_array >= 0),
        in_scope=truth_array >= 0,
        margin=features[:, 1].copy(),
    )


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[int],
    n_classes: int,
    out_of_scope: Sequence[str],
    *,
    folds: int = 5,
    config: MatcherConfig | None = None,
) -> HeldOut:
    """Score every example (and out-of-scope message) with a model that did not see it."""
    label_array = np.asarray(labels, dtype=np.int64)
    fold_of = np.zeros(label_array.size, dtype=np.int64)
    for label in range(n_classes):
        members = np.flatnonzero(label_array == label)
        fold_of[members] = np.arange(members.size) % folds
    scores: list[MatchScores] = []
    truth: list[int] = []
    for fold in range(folds):
        train = np.flatnonzero(fold_of != fold)
        test = np.flatnonzero(fold_of == fold)
        matcher = Matcher(
            [texts[int(i)] for i in train], label_array[train].tolist(), n_classes, config
        )
        for i in test:
            scores.append(matcher.score(texts[int(i)]))
            truth.append(int(label_array[i]))
        for text in out_of_scope[fold::folds]:
            scores.append(matcher.score(text))
            truth.append(-1)
    return held_out_from_scores(scores, truth)
