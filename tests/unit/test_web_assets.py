"""The web assets chatd ships: size budget of the embeddable widget (compressed, as it travels),
and no HTML sinks for user content."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chatd.web.static import accepts_gzip, compress, etag_matches

WEB = Path(__file__).resolve().parents[2] / "web_widget"


def test_widget_travels_within_16_kb_gzip_compressed() -> None:
    """widget.js (its CSS and its locales inlined, English the default) is at most 16 KB as chatd
    sends it gzip-compressed: the budget every host page pays for is what travels."""
    size = sum(len(compress(p.read_bytes())) for p in [WEB / "widget.js", *WEB.glob("widget*.css")])
    assert size <= 16 * 1024, f"{size} bytes"


def test_no_inner_html_in_user_facing_scripts() -> None:
    """No script assigns innerHTML/outerHTML or uses insertAdjacentHTML/document.write: user
    content is always rendered as text."""
    sink = re.compile(r"\.(?:innerHTML|outerHTML)\s*=|insertAdjacentHTML|document\.write")
    for script in WEB.glob("*.js"):
        assert not sink.search(script.read_text()), script.name


@pytest.mark.parametrize(
    ("header", "gzip_ok"),
    [
        ("gzip, deflate, br, zstd", True),
        ("GZIP", True),
        ("x-gzip", True),
        ("br;q=1.0, gzip;q=0.5", True),
        ("*", True),
        ("gzip;q=0", False),
        ("*, gzip;q=0", False),
        ("gzip;q=0.0, *;q=1", False),
        ("gzip;q=nan", False),
        ("gzip;q=oops", False),
        ("identity", False),
        ("", False),
        ("deflate, br", False),
    ],
)
def test_accept_encoding_admits_gzip(header: str, gzip_ok: bool) -> None:
    """Accept-Encoding is read as RFC 9110 says: q=0 refuses, an explicit gzip beats "*"."""
    assert accepts_gzip(header) is gzip_ok


@given(st.text(max_size=300))
def test_header_parsers_never_raise(header: str) -> None:
    """Any Accept-Encoding or If-None-Match text gives an answer, never an exception."""
    assert accepts_gzip(header) in (True, False)
    assert etag_matches(header, '"abc"') in (True, False)


def test_if_none_match_compares_weakly() -> None:
    """If-None-Match matches its tag in a list, as W/ (weak) too, and *; not another tag."""
    assert etag_matches('"x", "abc"', '"abc"')
    assert etag_matches('W/"abc"', '"abc"')
    assert etag_matches("*", '"abc"')
    assert not etag_matches('"abcd"', '"abc"')
    assert not etag_matches("", '"abc"')
