"""Evaluation on public intent datasets (CLINC150, BANKING77) and latency measurement.

The data is never bundled: these functions take a path to the dataset files. They build a bot
from the training split exactly as :func:`bot_intents.load_bot` would from TOML, so the figures
describe the shipped code path, including ``Bot.reply`` latency.
"""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from bot_intents.bot import Bot, training_data
from bot_intents.calibration import (
    HeldOut,
    OperatingPoint,
    confidences,
    fit_calibration,
    operating_point,
    subset,
)
from bot_intents.matcher import Matcher, MatcherConfig
from bot_intents.model import Calibration, Intent, KnowledgeBase
from bot_intents.tuning import calibrate_by_cross_validation, held_out_from_scores

__all__ = ["evaluate_banking77", "evaluate_clinc150", "latency_ms", "synthetic_kb"]


def synthetic_kb(pairs: Sequence[tuple[str, str]]) -> KnowledgeBase:
    """A KB with one English-only intent per label (title and answer are the label)."""
    grouped: dict[str, list[str]] = {}
    for text, label in pairs:
        grouped.setdefault(label, []).append(text)
    intents = tuple(
        Intent(
            id=label,
            title={"en": label},
            examples={"en": tuple(texts)},
            answer={"en": label},
        )
        for label, texts in sorted(grouped.items())
    )
    return KnowledgeBase(intents=intents)


def latency_ms(function: Callable[[str], object], texts: Sequence[str]) -> tuple[float, float]:
    """p50 and p99 wall time in milliseconds of ``function`` over ``texts`` (one thread)."""
    for text in texts[:50]:
        function(text)  # warm caches so the first calls do not dominate p99
    timings = []
    for text in texts:
        start = time.perf_counter()
        function(text)
        timings.append((time.perf_counter() - start) * 1000.0)
    return float(np.percentile(timings, 50)), float(np.percentile(timings, 99))


def evaluate_clinc150(
    path: str | Path,
    *,
    target_oos_recall: float = 0.75,
    folds: int = 5,
    config: MatcherConfig | None = None,
) -> dict[str, Any]:
    """Compare the threshold tuned on ``val`` with the one chosen by cross-validation.

    * ``val_*``: train on ``train``, calibrate on ``val`` + ``oos_val``, measured on that same
      split (what this tool reported before; it flatters the threshold);
      ``holdout_*``: the same calibrated on even val rows, measured on odd rows;
    * ``cv_*``: ``folds``-fold cross-validation over ``train`` + ``val`` and ``oos_train`` +
      ``oos_val``; the calibration is fitted on all held-out scores pooled (``cv_tuned_*``
      are its figures on those rows) and ``cv_estimate_*`` is the nested estimate (each fold
      judged by a calibration fitted on the other folds): the figure to expect on a test split.
    * ``val_check_*``: the same cross-validated choice made on ``train`` + ``oos_train`` only,
      then measured on ``val`` + ``oos_val``, which it never saw (scored by the matcher
      trained on ``train``): the method's out-of-sample figure, beside ``val_*`` which is the
      val-tuned threshold measured on its own tuning split.
    * When the file has ``test`` + ``oos_test``, ``test_*`` measure there the bot trained on
      ``train`` + ``val`` with the cross-validated calibration, and ``test_val_tuned_*`` the
      val-tuned one. ``in_scope_accuracy``/``oos_recall``/``oos_precision`` repeat the test
      figures when there is a test split, else the cross-validated estimate
      (``report_split`` says which).
    """
    file = Path(path)
    if not file.is_file():
        raise FileNotFoundError(
            f"CLINC150 data not found at {file} (a data_full.json-format file with train, val, "
            "oos_train and oos_val; this repository does not ship it)"
        )
    data = json.loads(file.read_text(encoding="utf-8"))
    missing = [k for k in ("train", "val", "oos_train", "oos_val") if k not in data]
    if missing:
        raise ValueError(f"{file}: missing split(s) {', '.join(missing)}")
    start = time.perf_counter()
    kb = synthetic_kb([(t, label) for t, label in data["train"]])
    texts, labels = training_data(kb)
    matcher = Matcher(texts, labels, len(kb.intents), config)
    build_s = time.perf_counter() - start
    index = {intent.id: i for i, intent in enumerate(kb.intents)}

    def held_out(
        scorer: Matcher, split: Sequence[Sequence[str]], oos: Sequence[Sequence[str]]
    ) -> HeldOut:
        rows = [(t, index[label]) for t, label in split] + [(t, -1) for t, _ in oos]
        return held_out_from_scores([scorer.score(t) for t, _ in rows], [y for _, y in rows])

    def measured(calibration: Calibration, held: HeldOut) -> OperatingPoint:
        conf = confidences(calibration, held.features)
        return operating_point(conf, held.correct, held.in_scope, calibration.threshold)

    val = held_out(matcher, data["val"], data["oos_val"])
    val_cal = fit_calibration(val, target_oos_recall=target_oos_recall)
    val_point = measured(val_cal, val)
    even = np.arange(val.correct.size) % 2 == 0
    half_cal = fit_calibration(subset(val, even), target_oos_recall=target_oos_recall)
    half = measured(half_cal, subset(val, ~even))

    pooled = list(data["train"]) + list(data["val"])
    pooled_oos = [t for t, _ in list(data["oos_train"]) + list(data["oos_val"])]
    cv = calibrate_by_cross_validation(
        [t for t, _ in pooled],
        [index[label] for _, label in pooled],
        len(kb.intents),
        pooled_oos,
        target_oos_recall=target_oos_recall,
        folds=folds,
        config=config,
    )
    check = calibrate_by_cross_validation(
        [t for t, _ in data["train"]],
        [index[label] for _, label in data["train"]],
        len(kb.intents),
        [t for t, _ in data["oos_train"]],
        target_oos_recall=target_oos_recall,
        folds=folds,
        config=config,
    )
    check_point = measured(check.calibration, val)
    result: dict[str, Any] = {
        "report_split": "cv",
        "in_scope_accuracy": round(cv.estimate.in_scope_accuracy, 4),
        "oos_recall": round(cv.estimate.oos_recall, 4),
        "oos_precision": round(cv.estimate.oos_precision, 4),
    }
    bot = Bot(kb, calibration=cv.calibration, matcher=matcher)
    latency_texts = [t for t, _ in data["val"]] + [t for t, _ in data["oos_val"]]
    if "test" in data:
        full_kb = synthetic_kb([(t, label) for t, label in pooled])
        full_texts, full_labels = training_data(full_kb)
        full = Matcher(full_texts, full_labels, len(full_kb.intents), config)
        test = held_out(full, data["test"], data.get("oos_test", []))
        test_point = measured(cv.calibration, test)
        old_point = measured(val_cal, held_out(matcher, data["test"], data.get("oos_test", [])))
        result.update(
            report_split="test",
            in_scope_accuracy=round(test_point.in_scope_accuracy, 4),
            oos_recall=round(test_point.oos_recall, 4),
            oos_precision=round(test_point.oos_precision, 4),
            test_val_tuned_in_scope_accuracy=round(old_point.in_scope_accuracy, 4),
            test_val_tuned_oos_recall=round(old_point.oos_recall, 4),
        )
        bot = Bot(full_kb, calibration=cv.calibration, matcher=full)
        latency_texts = [t for t, _ in data["test"]] + [t for t, _ in data.get("oos_test", [])]
    p50, p99 = latency_ms(bot.reply, latency_texts)
    result.update(
        {
            "p50_ms": round(p50, 4),
            "p99_ms": round(p99, 4),
            "build_s": round(build_s, 3),
            "examples": len(texts),
            "target_oos_recall": target_oos_recall,
            "raw_accuracy": round(float(np.mean(val.correct[val.in_scope])), 4),
            "val_threshold": round(val_cal.threshold, 4),
            "val_in_scope_accuracy": round(val_point.in_scope_accuracy, 4),
            "val_oos_recall": round(val_point.oos_recall, 4),
            "holdout_in_scope_accuracy": round(half.in_scope_accuracy, 4),
            "holdout_oos_recall": round(half.oos_recall, 4),
            "val_check_threshold": round(check.calibration.threshold, 4),
            "val_check_in_scope_accuracy": round(check_point.in_scope_accuracy, 4),
            "val_check_oos_recall": round(check_point.oos_recall, 4),
            "cv_folds": folds,
            "cv_threshold": round(cv.calibration.threshold, 4),
            "cv_tuned_in_scope_accuracy": round(cv.tuned.in_scope_accuracy, 4),
            "cv_tuned_oos_recall": round(cv.tuned.oos_recall, 4),
            "cv_estimate_in_scope_accuracy": round(cv.estimate.in_scope_accuracy, 4),
            "cv_estimate_oos_recall": round(cv.estimate.oos_recall, 4),
        }
    )
    return result


def _read_banking(path: Path) -> list[tuple[str, str]]:
    """Rows of a BANKING77 CSV (``text,category``)."""
    with path.open(encoding="utf-8", newline="") as handle:
        return [(row["text"], row["category"]) for row in csv.DictReader(handle)]


def evaluate_banking77(
    directory: str | Path, *, config: MatcherConfig | None = None
) -> dict[str, Any]:
    """Train on ``train.csv``, report top-1 accuracy on ``test.csv`` (no out-of-scope class)."""
    root = Path(directory)
    train = _read_banking(root / "train.csv")
    test = _read_banking(root / "test.csv")
    start = time.perf_counter()
    kb = synthetic_kb(train)
    texts, labels = training_data(kb)
    matcher = Matcher(texts, labels, len(kb.intents), config)
    build_s = time.perf_counter() - start
    index = {intent.id: i for i, intent in enumerate(kb.intents)}
    correct = [int(matcher.score(t).order[0]) == index[label] for t, label in test]
    # BANKING77 has no out-of-scope data to tune on: answer everything (threshold 0).
    calibration = Calibration(
        coef=(0.0, 0.0, 0.0, 0.0), intercept=0.0, threshold=0.0, ambiguity_margin=0.0
    )
    bot = Bot(kb, calibration=calibration, matcher=matcher)
    p50, p99 = latency_ms(bot.reply, [t for t, _ in test])
    return {
        "accuracy": round(float(np.mean(correct)), 4),
        "p50_ms": round(p50, 4),
        "p99_ms": round(p99, 4),
        "build_s": round(build_s, 3),
        "examples": len(texts),
    }
