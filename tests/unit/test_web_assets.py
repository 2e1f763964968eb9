"""The web assets chatd ships: size budget of the embeddable widget, and no HTML sinks for
user content."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

WEB = Path(__file__).resolve().parents[2] / "web_widget"


def test_widget_with_its_css_fits_16_kb_gzipped() -> None:
    """widget.js (its CSS is inlined) stays within the 16 KB budget host pages pay for, measured
    as what travels: gzip level 9."""
    data = (WEB / "widget.js").read_bytes() + b"".join(
        p.read_bytes() for p in sorted(WEB.glob("widget*.css"))
    )
    size = len(gzip.compress(data, compresslevel=9, mtime=0))
    assert size <= 16 * 1024, f"{size} bytes gzipped"


def test_no_inner_html_in_user_facing_scripts() -> None:
    """No script assigns innerHTML/outerHTML or uses insertAdjacentHTML/document.write: user
    content is always rendered as text."""
    sink = re.compile(r"\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write")
    for script in WEB.glob("*.js"):
        assert not sink.search(script.read_text()), script.name
