"""Command line: ``python -m bot_intents {check,classify,tune,eval,bench}``.

Output formats are contracts other tools rely on: ``classify`` writes one JSON object per input
line with at least ``text``, ``intent``, ``confidence``, ``handoff`` and ``locale``; ``eval``
with ``--json`` writes one JSON object with the keys documented in docs/bot.md.
``eval heldout`` prints the per-language table of BENCHMARKS.md.
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
    training_data,
    tune_calibration,
)
from bot_intents.errors import KnowledgeBaseError
from bot_intents.evaluate import evaluate_banking77, evaluate_clinc150, latency_ms
from bot_intents.heldout import evaluate_heldout, load_heldout
from bot_intents.loader import default_kb_paths, fingerprint, load_knowledge_base
from bot_intents.loading import load_bot
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
    languages = ", ".join(kb.languages)
    print(
        f"ok: {len(kb.intents)} intents, {examples} examples, languages {languages}, "
        f"calibration {state}"
    )
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


def _heldout_table(results: dict[str, dict[str, object]]) -> str:
    """Markdown table of :func:`evaluate_heldout` results, one row per language."""
    columns = (
        ("in_scope", "in-scope msgs"),
        ("in_scope_accuracy", "in-scope accuracy"),
        ("in_scope_with_question", "right or asked"),
        ("out_of_scope", "OOS msgs"),
        ("oos_handoff", "OOS handoff"),
        ("oos_no_match", "OOS no-match text"),
        ("reply_locale", "reply in that language"),
        ("langid_switch", "lang ID, questions, other hint"),
        ("langid_chat", "lang ID, short chat lines"),
        ("langid_keep", "short lines keep the hint"),
        ("p50_ms", "p50 ms"),
        ("p99_ms", "p99 ms"),
    )
    lines = [
        "| language | " + " | ".join(title for _, title in columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for locale, row in results.items():
        lines.append(f"| {locale} | " + " | ".join(str(row[key]) for key, _ in columns) + " |")
    return "\n".join(lines)


def _cmd_eval(args: argparse.Namespace) -> int:
    """Run an evaluation: public datasets, or the held-out set of the shipped KB."""
    if args.dataset == "heldout":
        bot = load_bot(args.kb or None)
        results = evaluate_heldout(bot, load_heldout(args.path))
        if args.misses:
            for locale, row in results.items():
                for miss in row["misses"]:
                    print(locale, *miss, sep="\t")
        trimmed = {k: {f: v for f, v in r.items() if f != "misses"} for k, r in results.items()}
        print(json.dumps(trimmed, ensure_ascii=False) if args.json else _heldout_table(trimmed))
        return 0
    if args.path is None:
        print(f"error: eval {args.dataset} needs the dataset path", file=sys.stderr)
        return 2
    if args.dataset == "clinc150":
        try:
            result = evaluate_clinc150(
                args.path, target_oos_recall=args.target_oos_recall, folds=args.folds
            )
        except (FileNotFoundError, ValueError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
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

    evaluate = sub.add_parser("eval", help="evaluate on a public dataset or the held-out set")
    evaluate.add_argument("dataset", choices=["clinc150", "banking77", "heldout"])
    evaluate.add_argument(
        "path",
        nargs="?",
        help="clinc150: data_full.json-format file; banking77: dir; "
        "heldout: dir of <locale>.toml (default: the shipped set)",
    )
    evaluate.add_argument("--json", action="store_true", help="print one JSON object")
    evaluate.add_argument("--target-oos-recall", type=float, default=0.75)
    evaluate.add_argument("--folds", type=int, default=5, help="clinc150: CV folds")
    evaluate.add_argument("--kb", nargs="+", help="heldout: KB files/directories")
    evaluate.add_argument("--misses", action="store_true", help="heldout: list every miss")
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
