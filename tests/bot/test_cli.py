"""Command-line contracts (run as a subprocess, like other tools do)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """Run ``python -m bot_intents ARGS``."""
    return subprocess.run(
        [sys.executable, "-m", "bot_intents", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_classify_writes_one_json_object_per_line() -> None:
    """classify reads lines from stdin and writes JSON lines with the contract keys."""
    result = run("classify", stdin="how do i reset my pasword\n今天天气怎么样\n")
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 2
    for line in lines:
        assert {"text", "intent", "confidence", "handoff", "locale"} <= set(line)
    assert lines[0]["intent"] == "account.password_reset"
    assert lines[0]["text"] == "how do i reset my pasword"
    assert lines[1]["intent"] is None and lines[1]["locale"] == "zh"


def test_check_accepts_default_kb() -> None:
    """check on the shipped KB succeeds and reports a current calibration."""
    kb = Path(__file__).resolve().parents[2] / "bot_intents" / "kb"
    result = run("check", str(kb))
    assert result.returncode == 0, result.stderr
    assert "27 intents" in result.stdout and "current" in result.stdout
    assert "languages en, es, ko, ru, tr, vi, zh" in result.stdout


@pytest.mark.parametrize(
    ("body", "intent", "key"),
    [
        ('[[intent]]\nid = "x.y"\ntitle = { en = "T", zh = "T" }\nanswer = { en = "A" }\n'
         'examples = { en = ["e"], zh = ["e"] }\n', "x.y", "answer.zh"),
        ('[[intent]]\nid = "x.y"\ncolour = 1\n', "x.y", "colour"),
    ],
)  # fmt: skip
def test_check_bad_file_exits_nonzero(tmp_path: Path, body: str, intent: str, key: str) -> None:
    """check on an invalid file exits 1 and names the file, the intent and the key."""
    path = tmp_path / "bad.toml"
    path.write_text(body, encoding="utf-8")
    result = run("check", str(path))
    assert result.returncode == 1
    assert str(path) in result.stderr and intent in result.stderr and key in result.stderr


def test_tune_writes_calibration_for_custom_kb(tmp_path: Path) -> None:
    """tune on a custom KB writes a [calibration] table that check then reports as current."""
    from tests.bot.test_loader import GOOD

    kb = tmp_path / "kb.toml"
    kb.write_text(GOOD * 1, encoding="utf-8")
    out = tmp_path / "thresholds.toml"
    result = run("tune", "--kb", str(kb), "--output", str(out), "--folds", "2")
    assert result.returncode == 0, result.stderr
    assert "[calibration]" in out.read_text(encoding="utf-8")
    checked = run("check", str(kb), str(out))
    assert checked.returncode == 0 and "current" in checked.stdout


def test_tune_notes_carry_the_cross_validated_estimate(tmp_path: Path) -> None:
    """tune writes the nested cross-validated estimate beside the figures it was fitted on."""
    import tomllib

    from tests.bot.test_loader import GOOD

    kb = tmp_path / "kb.toml"
    kb.write_text(GOOD, encoding="utf-8")
    out = tmp_path / "thresholds.toml"
    result = run("tune", "--kb", str(kb), "--output", str(out), "--folds", "2")
    assert result.returncode == 0, result.stderr
    notes = tomllib.loads(out.read_text(encoding="utf-8"))["calibration"]["notes"]
    assert notes["cv_folds"] == 2.0
    for key in ("cv_estimate_in_scope_accuracy", "cv_estimate_oos_recall", "oos_recall"):
        assert 0.0 <= notes[key] <= 1.0, key


def test_eval_heldout_prints_a_row_per_language() -> None:
    """eval heldout prints the per-language table; --json gives the figures of each language."""
    result = run("eval", "heldout", "--json")
    assert result.returncode == 0, result.stderr
    table = json.loads(result.stdout)
    assert sorted(table) == ["en", "es", "ko", "ru", "tr", "vi", "zh"]
    for row in table.values():
        assert {"in_scope_accuracy", "oos_handoff", "langid_switch", "p99_ms"} <= set(row)


def test_eval_clinc150_without_data_fails_clearly(tmp_path: Path) -> None:
    """eval clinc150 on a missing file exits 2 and says the data is not in the repository."""
    result = run("eval", "clinc150", str(tmp_path / "absent.json"))
    assert result.returncode == 2
    assert "not found" in result.stderr and "does not ship it" in result.stderr


def test_eval_clinc150_reports_tuned_and_cross_validated_figures(tmp_path: Path) -> None:
    """On a small CLINC-format file, eval reports the val-tuned and the cross-validated figures."""
    words = {
        "balance": ["balance", "money", "account", "left", "how much"],
        "weather": ["weather", "rain", "sunny", "forecast", "cold"],
        "music": ["play", "song", "music", "album", "artist"],
    }

    def rows(offset: int, count: int) -> list[list[str]]:
        return [
            [f"{ws[(i + offset) % 5]} {ws[(i + offset + 2) % 5]} please {i}", label]
            for label, ws in words.items()
            for i in range(count)
        ]

    oos = [[f"random thing number {i} about cooking", "oos"] for i in range(12)]
    data = {"train": rows(0, 20), "val": rows(1, 6), "oos_train": oos[:6], "oos_val": oos[6:]}
    path = tmp_path / "clinc.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    result = run("eval", "clinc150", str(path), "--json", "--folds", "3")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["report_split"] == "cv" and report["cv_folds"] == 3
    for key in ("val_in_scope_accuracy", "val_oos_recall", "cv_tuned_oos_recall",
                "cv_estimate_in_scope_accuracy", "cv_estimate_oos_recall",
                "val_check_in_scope_accuracy", "val_check_oos_recall"):  # fmt: skip
        assert 0.0 <= report[key] <= 1.0, key
    assert report["oos_recall"] == report["cv_estimate_oos_recall"]
