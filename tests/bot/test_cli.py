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
