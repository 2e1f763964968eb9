"""The widget's locale files (issue 19 item 4): one per shipped locale, each with every English
string of widget.js and widget-files.js, the same {placeholders}, and nothing the code never asks
for; the locale list in widget.js names exactly the files there are."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

WEB = Path(__file__).resolve().parents[2] / "web_widget"
SHIPPED = ["zh-CN", "zh-TW", "ja", "ko", "ru", "es", "pt-BR", "tr", "vi", "id", "ar"]
_PAIR = re.compile(r'(\w+): "((?:[^"\\]|\\.)*)"')
_HOLE = re.compile(r"\{(\w+)\}")


def _english(script: str, start: str, end: str) -> dict[str, set[str]]:
    """key -> its placeholders, for every string in the English block of a script."""
    text = (WEB / script).read_text()
    block = text[text.index(start) : text.index(end, text.index(start))]
    found: dict[str, set[str]] = {}
    for key, value in _PAIR.findall(block):
        found.setdefault(key, set()).update(_HOLE.findall(value))
    return found


WIDGET = _english("widget.js", "const EN = {", "\n};")
FILES = _english("widget-files.js", "const STR = Object.assign({", "}, C.fs)")


def _load(locale: str) -> dict[str, object]:
    text = (WEB / f"widget-l10n-{locale}.js").read_text()
    call = "window.__chatdL10n("
    payload = text[text.index(call) + len(call) : text.rindex(");")]
    data = json.loads(payload)
    assert isinstance(data, dict)
    return data


def _strings(tree: dict[str, object]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for key, value in tree.items():
        if isinstance(value, dict):
            for sub, holes in _strings(value).items():
                found.setdefault(sub, set()).update(holes)
        else:
            assert isinstance(value, str), key
            found.setdefault(key, set()).update(_HOLE.findall(value))
    return found


@pytest.mark.parametrize("locale", SHIPPED)
def test_each_locale_has_every_string_with_its_placeholders(locale: str) -> None:
    """No string missing or extra, and {n}/{name}/... exactly as in English, in both parts."""
    data = _load(locale)
    files = data.pop("files")
    assert data.pop("dir", "ltr") == ("rtl" if locale == "ar" else "ltr")
    assert isinstance(files, dict)
    assert _strings(data) == WIDGET
    assert _strings(files) == FILES
    empty = [k for k, v in {**data, **files}.items() if isinstance(v, str) and not v.strip()]
    assert empty in ([], ["sp"])  # only the space between two sentences may be none (CJK)


def test_the_locale_list_names_exactly_the_shipped_files() -> None:
    """widget.js negotiates among en (built in) and the locales that have a file."""
    listed = re.search(r'const LOCALES = "([^"]+)"', (WEB / "widget.js").read_text())
    assert listed is not None
    files = sorted(p.name[len("widget-l10n-") : -3] for p in WEB.glob("widget-l10n-*.js"))
    assert listed.group(1).split() == ["en", *SHIPPED]
    assert sorted(SHIPPED) == files


def _staff(locale: str) -> tuple[dict[str, str], str]:
    text = (WEB / f"ui-l10n-{locale}.js").read_text()
    start = text.index("export default ") + len("export default ")
    data = json.loads(text[start : text.index("};", start) + 1])
    rtl = re.search(r'export const dir = "(\w+)"', text)
    return data, rtl.group(1) if rtl else "ltr"


def test_staff_pages_have_the_same_texts_in_every_locale() -> None:
    """ui-l10n-<locale>.js: the same English texts in each, each translated (not left blank),
    Arabic right to left; l10n.js lists exactly these locales."""
    english = None
    for locale in SHIPPED:
        data, direction = _staff(locale)
        assert direction == ("rtl" if locale == "ar" else "ltr")
        assert all(v.strip() for v in data.values()), locale
        english = english or set(data)
        assert set(data) == english, locale
    listed = re.findall(r'"?([\w-]+)"?: "[^"]+",?', (WEB / "l10n.js").read_text().split("};")[0])
    assert listed == ["en", *SHIPPED]
