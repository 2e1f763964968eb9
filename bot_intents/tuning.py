"""Cross-validation: held-out scores for fitting the calibration, and an honest estimate of it.

Each intent's examples are split into ``folds`` groups round-robin (deterministic); each fold is
scored by a matcher trained on the other folds. Out-of-scope messages are spread over the folds
the same way. The result is what the bot would have scored on messages it never saw.

The calibration (confidence model, no-match threshold, ambiguity margin) is fitted on all those
held-out scores pooled, so the threshold rests on every out-of-scope message instead of one
small validation split (on CLINC150, a threshold tuned on the 100 ``oos_val`` messages reached
its OOS-recall target there but fell 4 points short on the test split). How well that choice
generalises is estimated by nesting: each fold's rows are judged by a calibration fitted on the
other folds' rows only (:func:`calibrate_by_cross_validation`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from bot_intents.calibration import (
    HeldOut,
    OperatingPoint,
    confidences,
    fit_calibration,
    operating_point,
    subset,
)
from bot_intents.matcher import Matcher, MatcherConfig, MatchScores
from bot_intents.model import Calibration

__all__ = [
    "CrossValidated",
    "calibrate_by_cross_validation",
    "cross_validate",
    "held_out_from_scores",
    "nested_estimate",
]


@dataclass(frozen=True, slots=True)
class CrossValidated:
    """The calibration fitted on pooled held-out scores, and how it does.

    ``tuned``: its operating point on the rows it was fitted on (optimistic);
    ``estimate``: the nested cross-validated operating point (each fold judged by a calibration
    that never saw it), the figure to expect on new messages.
    """

    calibration: Calibration
    tuned: OperatingPoint
    estimate: OperatingPoint
    held_out: HeldOut


def held_out_from_scores(
    scores: Sequence[MatchScores], truth: Sequence[int], fold: Sequence[int] | None = None
) -> HeldOut:
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
        fold=np.asarray(fold if fold is not None else [], dtype=np.int64),
    )


def cross_validate(
    texts: Sequence[str],
    labels: Sequence[int],
    n_classes: int,
    out_of_scope: Sequence[str],
    *,
    folds: int = 5,
    config: MatcherConfig | None = None,
    groups: Sequence[str] | None = None,
    oos_groups: Sequence[str] | None = None,
) -> HeldOut:
    """Score every example (and out-of-scope message) with a model that did not see it.

    ``groups``/``oos_groups`` (each text's language) are passed to the matcher and used when
    scoring, as the bot does with the language it detected.
    """
    label_array = np.asarray(labels, dtype=np.int64)
    fold_of = np.zeros(label_array.size, dtype=np.int64)
    for label in range(n_classes):
        members = np.flatnonzero(label_array == label)
        fold_of[members] = np.arange(members.size) % folds
    scores: list[MatchScores] = []
    truth: list[int] = []
    fold_rows: list[int] = []
    for fold in range(folds):
        train = np.flatnonzero(fold_of != fold)
        test = np.flatnonzero(fold_of == fold)
        matcher = Matcher(
            [texts[int(i)] for i in train],
            label_array[train].tolist(),
            n_classes,
            config,
            groups=None if groups is None else [groups[int(i)] for i in train],
        )
        for i in test:
            group = None if groups is None else groups[int(i)]
            scores.append(matcher.score(texts[int(i)], group))
            truth.append(int(label_array[i]))
            fold_rows.append(fold)
        oos_fold = range(fold, len(out_of_scope), folds)
        for j in oos_fold:
            group = None if oos_groups is None else oos_groups[j]
            scores.append(matcher.score(out_of_scope[j], group))
            truth.append(-1)
            fold_rows.append(fold)
    return held_out_from_scores(scores, truth, fold_rows)


def nested_estimate(held: HeldOut, *, target_oos_recall: float) -> OperatingPoint:
    """Pooled operating point when each fold is judged by a calibration fitted on the others."""
    answered_right = np.zeros(held.correct.size, dtype=bool)
    handed_off = np.zeros(held.correct.size, dtype=bool)
    for fold in np.unique(held.fold):
        inside = held.fold == fold
        calibration = fit_calibration(subset(held, ~inside), target_oos_recall=target_oos_recall)
        test = subset(held, inside)
        answered = confidences(calibration, test.features) >= calibration.threshold
        answered_right[inside] = answered & test.correct
        handed_off[inside] = ~answered
    in_scope, oos = held.in_scope, ~held.in_scope
    return OperatingPoint(
        threshold=float("nan"),
        in_scope_accuracy=float(np.mean(answered_right[in_scope])) if in_scope.any() else 0.0,
        oos_recall=float(np.mean(handed_off[oos])) if oos.any() else 0.0,
        oos_precision=float(np.mean(oos[handed_off])) if handed_off.any() else 0.0,
    )


def calibrate_by_cross_validation(
    texts: Sequence[str],
    labels: Sequence[int],
    n_classes: int,
    out_of_scope: Sequence[str],
    *,
    target_oos_recall: float,
    folds: int = 5,
    config: MatcherConfig | None = None,
    groups: Sequence[str] | None = None,
    oos_groups: Sequence[str] | None = None,
    fingerprint: str = "",
) -> CrossValidated:
    """Cross-validate, fit the calibration on the pooled held-out scores, and estimate it.

    The same procedure tunes the shipped KB (``python -m bot_intents tune``) and CLINC150
    (``python -m bot_intents eval clinc150``).
    """
    held = cross_validate(
        texts,
        labels,
        n_classes,
        out_of_scope,
        folds=folds,
        config=config,
        groups=groups,
        oos_groups=oos_groups,
    )
    calibration = fit_calibration(
        held, target_oos_recall=target_oos_recall, fingerprint=fingerprint
    )
    tuned = operating_point(
        confidences(calibration, held.features),
        held.correct,
        held.in_scope,
        calibration.threshold,
    )
    estimate = nested_estimate(held, target_oos_recall=target_oos_recall)
    notes = {
        **calibration.notes,
        "cv_folds": float(folds),
        "cv_estimate_in_scope_accuracy": estimate.in_scope_accuracy,
        "cv_estimate_oos_recall": estimate.oos_recall,
    }
    calibration = Calibration(
        coef=calibration.coef,
        intercept=calibration.intercept,
        threshold=calibration.threshold,
        ambiguity_margin=calibration.ambiguity_margin,
        fingerprint=calibration.fingerprint,
        notes=notes,
    )
    return CrossValidated(calibration, tuned, estimate, held)
