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
from bot_intents.calibration import HeldOut, fit_calibration, operating_point
from bot_intents.matcher import Matcher, MatcherConfig
from bot_intents.model import Calibration, Intent, KnowledgeBase
from bot_intents.tuning import held_out_from_scores

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


def _subset(held: HeldOut, mask: np.ndarray) -> HeldOut:
    """Rows of ``held`` selected by ``mask``."""
    return HeldOut(
        held.features[mask],
        held.correct[mask],
        held.second_correct[mask],
        held.in_scope[mask],
        held.margin[mask],
    )


def _conf(calibration: Calibration, features: np.ndarray) -> np.ndarray:
    """Vectorised calibrated confidence."""
    z = features @ np.asarray(calibration.coef) + calibration.intercept
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def evaluate_clinc150(
    path: str | Path, *, target_oos_recall: float = 0.75, config: MatcherConfig | None = None
) -> dict[str, Any]:
    """Train on ``train``, tune on ``val``+``oos_val``, report on ``test``+``oos_test`` if present.

    Also reports a split-half check of the tuning (``holdout_*``): calibration fitted on even
    val rows, measured on odd rows, which shows how much tuning on the reported split flatters.
    """
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    start = time.perf_counter()
    kb = synthetic_kb([(t, label) for t, label in data["train"]])
    texts, labels = training_data(kb)
    matcher = Matcher(texts, labels, len(kb.intents), config)
    build_s = time.perf_counter() - start
    index = {intent.id: i for i, intent in enumerate(kb.intents)}

    def held_out(split: Sequence[Sequence[str]], oos: Sequence[Sequence[str]]) -> HeldOut:
        rows = [(t, index[label]) for t, label in split] + [(t, -1) for t, _ in oos]
        return held_out_from_scores([matcher.score(t) for t, _ in rows], [y for _, y in rows])

    val = held_out(data["val"], data["oos_val"])
    calibration = fit_calibration(val, target_oos_recall=target_oos_recall)
    if "test" in data:
        report_split, report_rows = "test", list(data["test"]) + list(data.get("oos_test", []))
        report = held_out(data["test"], data.get("oos_test", []))
    else:
        report_split, report_rows = "val", list(data["val"]) + list(data["oos_val"])
        report = val
    point = operating_point(
        _conf(calibration, report.features), report.correct, report.in_scope, calibration.threshold
    )
    even = np.arange(val.correct.size) % 2 == 0
    half_cal = fit_calibration(_subset(val, even), target_oos_recall=target_oos_recall)
    odd = _subset(val, ~even)
    half = operating_point(
        _conf(half_cal, odd.features), odd.correct, odd.in_scope, half_cal.threshold
    )
    bot = Bot(kb, calibration=calibration, matcher=matcher)
    p50, p99 = latency_ms(bot.reply, [t for t, _ in report_rows])
    return {
        "report_split": report_split,
        "in_scope_accuracy": round(point.in_scope_accuracy, 4),
        "oos_recall": round(point.oos_recall, 4),
        "oos_precision": round(point.oos_precision, 4),
        "p50_ms": round(p50, 4),
        "p99_ms": round(p99, 4),
        "build_s": round(build_s, 3),
        "examples": len(texts),
        "threshold": round(calibration.threshold, 4),
        "target_oos_recall": target_oos_recall,
        "raw_accuracy": round(float(np.mean(report.correct[report.in_scope])), 4),
        "holdout_in_scope_accuracy": round(half.in_scope_accuracy, 4),
        "holdout_oos_recall": round(half.oos_recall, 4),
    }


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
