"""Turn raw match scores into a calibrated confidence and choose thresholds from data.

The confidence is a logistic regression on the match features of the best intent, fitted on
held-out predictions: label 1 when the best intent is right, 0 when it is wrong or the message
is out of scope. It therefore estimates "probability this answer is right". The no-match
threshold and the ambiguity margin are then chosen on the same held-out predictions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from bot_intents.model import Calibration

__all__ = [
    "HeldOut",
    "OperatingPoint",
    "choose_ambiguity_margin",
    "choose_threshold",
    "confidence",
    "confidences",
    "fit_calibration",
    "fit_logistic",
    "operating_point",
    "subset",
]

#: Utility of outcomes used to choose the ambiguity margin: answering right is worth 1, asking
#: "did you mean X or Y?" when the truth is among them 0.6 (one extra click), asking without the
#: truth -0.2 (a wasted question), and answering wrong -1 (a confidently wrong bot is worst).
_UTILITY_RIGHT, _UTILITY_ASK_HIT, _UTILITY_ASK_MISS, _UTILITY_WRONG = 1.0, 0.6, -0.2, -1.0


@dataclass(frozen=True, slots=True)
class HeldOut:
    """Held-out predictions: features of the best intent and what the truth was.

    ``features`` is ``(n, k)``; ``correct`` is true when the best intent was right;
    ``second_correct`` when the runner-up was; ``in_scope`` false for out-of-scope messages;
    ``margin`` is ``p_best - p_second``; ``fold`` the cross-validation fold each row was held
    out in (empty when the rows come from one split).
    """

    features: np.ndarray
    correct: np.ndarray
    second_correct: np.ndarray
    in_scope: np.ndarray
    margin: np.ndarray
    fold: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def subset(held: HeldOut, mask: np.ndarray) -> HeldOut:
    """The rows of ``held`` selected by a boolean ``mask``."""
    return HeldOut(
        held.features[mask],
        held.correct[mask],
        held.second_correct[mask],
        held.in_scope[mask],
        held.margin[mask],
        held.fold[mask] if held.fold.size else held.fold,
    )


def confidences(calibration: Calibration, features: np.ndarray) -> np.ndarray:
    """Calibrated confidence of many feature rows at once."""
    z = features @ np.asarray(calibration.coef) + calibration.intercept
    return np.asarray(_sigmoid(z))


@dataclass(frozen=True, slots=True)
class OperatingPoint:
    """Quality at one threshold: in-scope accuracy, out-of-scope recall and precision."""

    threshold: float
    in_scope_accuracy: float
    oos_recall: float
    oos_precision: float


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Numerically safe logistic function."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40.0, 40.0)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-3) -> tuple[np.ndarray, float]:
    """Fit ``sigmoid(x @ w + b)`` to 0/1 labels by Newton's method with a small L2 penalty."""
    n, k = x.shape
    design = np.hstack([x, np.ones((n, 1))])
    theta = np.zeros(k + 1)
    penalty = np.full(k + 1, l2 * n)
    penalty[-1] = 0.0
    for _ in range(50):
        p = _sigmoid(design @ theta)
        gradient = design.T @ (p - y) + penalty * theta
        hessian = (design * (p * (1 - p))[:, None]).T @ design + np.diag(penalty + 1e-9)
        step = np.linalg.solve(hessian, gradient)
        theta -= step
        if float(np.abs(step).max()) < 1e-8:
            break
    return theta[:k], float(theta[k])


def confidence(calibration: Calibration, features: Sequence[float] | np.ndarray) -> float:
    """Calibrated confidence in [0, 1] for one feature vector.

    Plain floats, no numpy: a bot reply computes four of these, and ``np.dot`` on a tuple and
    a 4-vector cost more than the arithmetic by far (issue 19).
    """
    dot = 0.0
    for coef, value in zip(calibration.coef, features, strict=False):
        dot += coef * float(value)
    z = calibration.intercept + dot
    return 1.0 / (1.0 + math.exp(-max(-40.0, min(40.0, z))))


def operating_point(
    conf: np.ndarray, correct: np.ndarray, in_scope: np.ndarray, threshold: float
) -> OperatingPoint:
    """Measure in-scope accuracy, OOS recall and OOS precision at ``threshold``."""
    answered = conf >= threshold
    handed_off = ~answered
    in_acc = float(np.mean(correct[in_scope] & answered[in_scope])) if in_scope.any() else 0.0
    oos = ~in_scope
    recall = float(np.mean(handed_off[oos])) if oos.any() else 0.0
    precision = float(np.mean(oos[handed_off])) if handed_off.any() else 0.0
    return OperatingPoint(threshold, in_acc, recall, precision)


def choose_threshold(
    conf: np.ndarray, correct: np.ndarray, in_scope: np.ndarray, target_oos_recall: float
) -> OperatingPoint:
    """Highest in-scope accuracy among thresholds reaching ``target_oos_recall``.

    Candidates are the midpoints between sorted distinct confidences. When no threshold reaches
    the target (or there are no out-of-scope samples), the best balanced accuracy wins.
    """
    values = np.unique(conf)
    candidates = np.concatenate([[0.0], (values[:-1] + values[1:]) / 2, [1.0]])
    points = [operating_point(conf, correct, in_scope, float(t)) for t in candidates]
    feasible = [p for p in points if p.oos_recall >= target_oos_recall]
    if feasible and (~in_scope).any():
        return max(feasible, key=lambda p: (p.in_scope_accuracy, -p.threshold))
    return max(points, key=lambda p: (p.in_scope_accuracy + p.oos_recall, -p.threshold))


def choose_ambiguity_margin(held_out: HeldOut, conf: np.ndarray, threshold: float) -> float:
    """Margin ``p_best - p_second`` below which the bot asks "did you mean X or Y?".

    Chosen to maximise the outcome utility over answered in-scope messages (see the
    ``_UTILITY_*`` constants); 0 disables asking when asking never pays off.
    """
    answered = (conf >= threshold) & held_out.in_scope
    best_margin, best_utility = 0.0, -math.inf
    for margin in np.round(np.arange(0.0, 0.51, 0.02), 2):
        ask = answered & (held_out.margin < margin)
        answer = answered & ~ask
        hit = held_out.correct | held_out.second_correct
        utility = (
            _UTILITY_RIGHT * np.sum(answer & held_out.correct)
            + _UTILITY_WRONG * np.sum(answer & ~held_out.correct)
            + _UTILITY_ASK_HIT * np.sum(ask & hit)
            + _UTILITY_ASK_MISS * np.sum(ask & ~hit)
        )
        if utility > best_utility + 1e-9:
            best_margin, best_utility = float(margin), float(utility)
    return best_margin


def fit_calibration(
    held_out: HeldOut, *, target_oos_recall: float, fingerprint: str = ""
) -> Calibration:
    """Fit the confidence model, then the threshold and ambiguity margin, on held-out data."""
    coef, intercept = fit_logistic(held_out.features, held_out.correct.astype(np.float64))
    z = held_out.features @ coef + intercept
    conf = _sigmoid(z)
    point = choose_threshold(conf, held_out.correct, held_out.in_scope, target_oos_recall)
    margin = choose_ambiguity_margin(held_out, conf, point.threshold)
    return Calibration(
        coef=tuple(float(c) for c in coef),
        intercept=intercept,
        threshold=point.threshold,
        ambiguity_margin=margin,
        fingerprint=fingerprint,
        notes={
            "in_scope_accuracy": point.in_scope_accuracy,
            "oos_recall": point.oos_recall,
            "oos_precision": point.oos_precision,
            "target_oos_recall": target_oos_recall,
            "samples": float(held_out.correct.size),
        },
    )
