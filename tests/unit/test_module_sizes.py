"""No source module of chatd or bot_intents grows past 700 lines (issue 15): a module that long
owns more than one thing and is split long before that."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("chatd", "bot_intents")
MAX_LINES = 700
#: Modules allowed over the limit for now (none: keep it that way).
KNOWN_EXCEPTIONS: set[str] = set()


def _line_counts() -> dict[str, int]:
    return {
        path.relative_to(ROOT).as_posix(): len(path.read_text(encoding="utf-8").splitlines())
        for package in PACKAGES
        for path in sorted((ROOT / package).rglob("*.py"))
    }


def test_no_module_is_over_700_lines() -> None:
    """Every .py file under chatd/ and bot_intents/ has at most 700 lines; offenders are named."""
    offenders = {
        name: lines
        for name, lines in _line_counts().items()
        if lines > MAX_LINES and name not in KNOWN_EXCEPTIONS
    }
    for name, lines in sorted(offenders.items()):
        print(f"{name}: {lines} lines (limit {MAX_LINES})")
    assert offenders == {}, f"modules over {MAX_LINES} lines: {sorted(offenders)}"


def test_the_count_sees_the_packages() -> None:
    """The check reads real files: it finds the store modules and counts their lines."""
    counts = _line_counts()
    assert "chatd/store/sqlite.py" in counts
    assert "bot_intents/__init__.py" in counts
    assert all(lines > 0 for name, lines in counts.items() if name.endswith("sqlite.py"))
