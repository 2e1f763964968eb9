"""Command line: ``python -m bot_intents {check,classify,tune,eval,bench}``.

Output formats are contracts other tools rely on: ``classify`` writes one JSON object per input
line with at least ``text``, ``intent``, ``confidence``, ``handoff`` and ``locale``; ``eval``
with ``--json`` writes one JSON object with the keys documented in docs/bot.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot_intents.bot import (
    DEFAULT_TARGET_OOS_RECALL,
    Bot,
    load_bot,
    training_data,
    tune_calibration,
)
from bot_intents.errors import KnowledgeBaseError
from bot_intents.evaluate import evaluate_banking77, evaluate_clinc150, latency_ms
from bot_intents.loader import default_kb_paths, fingerprint, load_knowledge_base
from bot_intents.model import Calibration

__all__ = ["main", "render_calibration"]


def render_calibration(calibration: Calibration) -> str:
    """TOML text of a ``[calibration]`` table (what ``tune`` writes)."""
    coef = ", ".join(repr(round(c, 6)) for c in calibration.coef)
    lines = [
        "# Written by `python -m bot_intents tune`; do not edit by hand, re-run tune instead.",
        "# Fitted by cross-validation over the intents' examples and the out_of_scope messages.",
        "[calibration]",
        f'fingerprint = "{calibration.fingerprint}"',
        f"coef = [{coef}]",
        f"intercept = {round(calibration.intercept, 6)!r}",
        f"threshold = {round(calibration.threshold, 6)!r}",
        f"ambiguity_margin = {round(calibration.ambiguity_margin, 6)!r}",
        "",
        "[calibration.notes]",
        *(f"{key} = {round(value, 4)!r}" for key, value in sorted(calibration.notes.items())),
        "",
    ]
    return "\n".join(lines)


def _cmd_check(args: argparse.Namespace) -> int:
    """Validate KB files; print a one-line summary or the error."""
    try:
        kb = load_knowledge_base(args.paths)
    except KnowledgeBaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    examples = sum(len(v) for intent in kb.intents for v in intent.examples.values())
    if kb.calibration is None:
        state = "missing (it will be fitted at load; run `tune`)"
    elif kb.calibration.fingerprint != fingerprint(kb.intents):
        state = "stale (examples changed since `tune`; it will be refitted at load)"
    else:
        state = "current"
    print(f"ok: {len(kb.intents)} intents, {examples} examples, calibration {state}")
    return 0


def _cmd_classify(args: argparse.Namespace) -> int:
    """Classify stdin lines, one JSON object per line on stdout."""
    try:
        bot = load_bot(args.kb or None)
    except KnowledgeBaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    for line in sys.stdin:
        text = line.rstrip("\r\n")
        reply = bot.reply(text, locale=args.locale)
        record = {"text": text, **reply.to_dict()}
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    """Fit the calibration by cross-validation and write it as TOML."""
    paths = args.kb or default_kb_paths()
    try:
        kb = load_knowledge_base(paths)
    except KnowledgeBaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    calibration = tune_calibration(kb, target_oos_recall=args.target_oos_recall, folds=args.folds)
    text = render_calibration(calibration)
    output = args.output
    if output is None and not args.kb:
        output = str(Path(default_kb_paths()[0]).parent / "thresholds.toml")
    if output is None or output == "-":
        sys.stdout.write(text)
    else:
        Path(output).write_text(text, encoding="utf-8")
        print(f"wrote {output}: {json.dumps(calibration.notes)}", file=sys.stderr)
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    """Run a public-dataset evaluation."""
    if args.dataset == "clinc150":
        result = evaluate_clinc150(args.path, target_oos_recall=args.target_oos_recall)
    else:
        result = evaluate_banking77(args.path)
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:28s} {value}")
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    """Reply latency on a KB, over its own examples and out-of-scope messages."""
    bot: Bot = load_bot(args.kb or None)
    texts, _ = training_data(bot.kb)
    texts += [t for locale in sorted(bot.kb.out_of_scope) for t in bot.kb.out_of_scope[locale]]
    texts = texts * max(1, args.repeat)
    p50, p99 = latency_ms(bot.reply, texts)
    print(json.dumps({"messages": len(texts), "p50_ms": round(p50, 4), "p99_ms": round(p99, 4)}))
    return 0


def _parser() -> argparse.ArgumentParser:
    """Build the argument parser."""
    parser = argparse.ArgumentParser(prog="python -m bot_intents", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    check = sub.add_parser("check", help="validate knowledge-base files")
    check.add_argument("paths", nargs="+", help="TOML files or directories")
    check.set_defaults(func=_cmd_check)

    classify = sub.add_parser("classify", help="classify stdin lines as JSON lines")
    classify.add_argument("--kb", nargs="+", help="KB files/directories (default: shipped KB)")
    classify.add_argument("--locale", default=None, help="force reply locale (default: detect)")
    classify.set_defaults(func=_cmd_classify)

    tune = sub.add_parser("tune", help="fit confidence calibration and thresholds")
    tune.add_argument("--kb", nargs="+", help="KB files/directories (default: shipped KB)")
    tune.add_argument("--output", help="file to write ('-' for stdout)")
    tune.add_argument("--target-oos-recall", type=float, default=DEFAULT_TARGET_OOS_RECALL)
    tune.add_argument("--folds", type=int, default=5)
    tune.set_defaults(func=_cmd_tune)

    evaluate = sub.add_parser("eval", help="evaluate on a public dataset")
    evaluate.add_argument("dataset", choices=["clinc150", "banking77"])
    evaluate.add_argument("path", help="clinc150: data_full.json-format file; banking77: dir")
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--target-oos-recall", type=float, default=0.75)
    evaluate.set_defaults(func=_cmd_eval)

    bench = sub.add_parser("bench", help="reply latency on a KB")
    bench.add_argument("--kb", nargs="+", help="KB files/directories (default: shipped KB)")
    bench.add_argument("--repeat", type=int, default=3)
    bench.set_defaults(func=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    args = _parser().parse_args(argv)
    return int(args.func(args))
