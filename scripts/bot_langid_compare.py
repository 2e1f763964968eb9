"""Compare language identifiers on short support-chat messages (BENCHMARKS.md, Bot section).

Candidates: bot_intents' own naive Bayes (trained on the KB's text), and the offline libraries
whose wheels ship their model: lingua-language-detector, py3langid, langid, langdetect, pycld2.
The libraries are NOT dependencies of chatd; install them into a throwaway virtualenv that can
also import bot_intents, e.g.::

    python3 -m venv /tmp/langid-venv
    /tmp/langid-venv/bin/pip install numpy rapidfuzz lingua-language-detector py3langid \\
        langid langdetect pycld2
    PYTHONPATH=. /tmp/langid-venv/bin/python scripts/bot_langid_compare.py [--json]

Messages: every held-out message of each language (bot_intents/heldout/*.toml: in-scope and
out-of-scope questions, plus the short ``chat`` lines), 1-10 words each. A library answer
outside our languages counts as wrong (chatd would answer in English). Each candidate runs in
its own subprocess so the RSS it adds after loading is its own (VmRSS after load and a first
call, minus VmRSS before loading); latency is per message, single thread.
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

LANGUAGES = ("en", "zh", "ru", "es", "ko", "tr", "vi")
CANDIDATES = ("bot_intents", "lingua", "py3langid", "langid", "langdetect", "pycld2")
_PACKAGES = {
    "lingua": "lingua-language-detector",
    "py3langid": "py3langid",
    "langid": "langid",
    "langdetect": "langdetect",
    "pycld2": "pycld2",
}


def _rss_kb() -> int:
    """This process's resident set size in KB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _short(code: str) -> str:
    """Our language code for a library's answer ("zh-cn" -> "zh", "ZH_HANT" -> "zh")."""
    return code.lower().replace("_", "-").split("-")[0]


def _build(name: str) -> Any:
    """Load one candidate; return a function text -> language code (ours or anything)."""
    if name == "bot_intents":
        bot_module = importlib.import_module("bot_intents.bot")
        loader = importlib.import_module("bot_intents.loader")
        language = importlib.import_module("bot_intents.language")
        kb = loader.load_knowledge_base(loader.default_kb_paths())
        detector = language.LanguageDetector(bot_module.language_samples(kb))
        return detector.detect
    if name == "lingua":
        lingua = importlib.import_module("lingua")
        names = ("ENGLISH", "CHINESE", "RUSSIAN", "SPANISH", "KOREAN", "TURKISH", "VIETNAMESE")
        wanted = [getattr(lingua.Language, n) for n in names]
        detector = lingua.LanguageDetectorBuilder.from_languages(*wanted).build()

        def lingua_detect(text: str) -> str:
            found = detector.detect_language_of(text)
            return "en" if found is None else str(found.iso_code_639_1.name).lower()

        return lingua_detect
    if name in ("py3langid", "langid"):
        module = importlib.import_module(f"{name}.langid")
        if name == "py3langid":
            identifier = module.LanguageIdentifier.from_model_file(module.MODEL_FILE)
        else:
            identifier = module.LanguageIdentifier.from_modelstring(module.model)
        identifier.set_languages(list(LANGUAGES))
        return lambda text: identifier.classify(text)[0]
    if name == "langdetect":
        langdetect = importlib.import_module("langdetect")
        langdetect.DetectorFactory.seed = 0

        def langdetect_detect(text: str) -> str:
            try:
                return str(langdetect.detect(text))
            except langdetect.LangDetectException:
                return "en"

        return langdetect_detect
    if name == "pycld2":
        cld2 = importlib.import_module("pycld2")

        def cld2_detect(text: str) -> str:
            try:
                _reliable, _bytes, details = cld2.detect(text)
            except cld2.error:
                return "en"
            code = str(details[0][1])
            return "en" if code == "un" else code

        return cld2_detect
    raise ValueError(name)


def _messages() -> dict[str, list[str]]:
    """Held-out messages per language."""
    heldout = importlib.import_module("bot_intents.heldout")
    sets = heldout.load_heldout()
    return {
        locale: [t for t, _ in held.in_scope] + list(held.out_of_scope) + list(held.chat)
        for locale, held in sets.items()
    }


def measure(name: str) -> dict[str, Any]:
    """Accuracy per language, RSS added by loading, latency p50/p99 of one candidate."""
    messages = _messages()
    before = _rss_kb()
    start = time.perf_counter()
    detect = _build(name)
    detect("warm up")
    load_s = time.perf_counter() - start
    rss_mb = (_rss_kb() - before) / 1024
    timings: list[float] = []
    accuracy: dict[str, float] = {}
    for locale, texts in sorted(messages.items()):
        right = 0
        for text in texts:
            t0 = time.perf_counter()
            found = _short(detect(text))
            timings.append((time.perf_counter() - t0) * 1000)
            right += (found if found in LANGUAGES else "en") == locale
        accuracy[locale] = round(right / len(texts), 3)
    timings.sort()
    total = sum(len(t) for t in messages.values())
    overall = sum(accuracy[loc] * len(t) for loc, t in messages.items()) / total
    return {
        "candidate": name,
        "accuracy": accuracy,
        "overall": round(overall, 3),
        "messages": total,
        "rss_mb": round(rss_mb, 1),
        "load_s": round(load_s, 2),
        "p50_ms": round(timings[len(timings) // 2], 4),
        "p99_ms": round(timings[int(len(timings) * 0.99)], 4),
    }


def main() -> int:
    """Run every installed candidate in its own subprocess; print a table (or JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--one", choices=CANDIDATES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one)))
        return 0
    rows: list[dict[str, Any]] = []
    for name in CANDIDATES:
        done = subprocess.run(
            [sys.executable, __file__, "--one", name], capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["failed"])[-1]
            rows.append({"candidate": name, "error": last})
            continue
        rows.append(json.loads(done.stdout))
    if args.json:
        print(json.dumps(rows))
        return 0
    header = "| candidate | " + " | ".join(LANGUAGES) + " | all | RSS MB | p50 ms | p99 ms |"
    print(header)
    print("|" + " --- |" * (header.count("|") - 1))
    for row in rows:
        if "error" in row:
            print(f"| {row['candidate']} | {row['error']} |")
            continue
        cells = " | ".join(f"{row['accuracy'].get(loc, 0):.3f}" for loc in LANGUAGES)
        print(
            f"| {row['candidate']} | {cells} | {row['overall']:.3f} | {row['rss_mb']} | "
            f"{row['p50_ms']} | {row['p99_ms']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
