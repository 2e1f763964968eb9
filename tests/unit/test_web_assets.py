"""The web assets chatd ships: size budget of the embeddable widget, and no HTML sinks for
user content."""

from __future__ import annotations

import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web_widget"


def test_widget_with_its_css_fits_40_kb() -> None:
    """widget.js (its CSS is inlined) stays within the 40 KB budget host pages pay for."""
    size = (WEB / "widget.js").stat().st_size + sum(
        p.stat().st_size for p in WEB.glob("widget*.css")
    )
    assert size <= 40 * 1024, f"{size} bytes"


def test_no_inner_html_in_user_facing_scripts() -> None:
    """No script assigns innerHTML/outerHTML or uses insertAdjacentHTML/document.write: user
    content is always rendered as text."""
    sink = re.compile(r"\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write")
    for script in WEB.glob("*.js"):
        assert not sink.search(script.read_text()), script.name
