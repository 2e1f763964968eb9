"""The widget's locale files (issue 19 item 4): one per shipped locale, each with every English
string of widget.js and widget-files.js, the same {placeholders}, and nothing the code never asks
for; the locale list in widget.js names exactly the files there are. The staff pages' files
(ui-l10n-<locale>.js) hold every text the console and /ops scripts pass to tr(), trn() and N_(),
with the same placeholders, and the plural forms each language needs."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
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
    data = json.loads(text[start : text.index("\n};", start) + 2])  # "{kinds};" may occur inside
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
        base = {k for k in data if "|" not in k}  # plural forms ("key|few") differ by language
        english = english or base
        assert base == english, locale
    listed = re.findall(r'"?([\w-]+)"?: "[^"]+",?', (WEB / "l10n.js").read_text().split("};")[0])
    assert listed == ["en", *SHIPPED]


STAFF_SCRIPTS = [
    "common.js",
    "console.js",
    "files.js",
    "ops.js",
    "ops_audit.js",
    "ops_deliveries.js",
    "l10n.js",
]
_STR = r'"((?:[^"\\]|\\.)*)"'
_TR = re.compile(r"\b(?:tr|N_)\(\s*" + _STR)
_TRN = re.compile(r"\btrn\([^,()]*(?:\([^()]*\))?[^,()]*,\s*" + _STR + r",\s*" + _STR)
# Intl.PluralRules categories a count can fall in (besides "other"), per locale: CLDR, integers
PLURAL_FORMS = {
    "ru": {"one", "few", "many"},
    "ar": {"zero", "one", "two", "few", "many"},
    "es": {"one"},
    "pt-BR": {"one"},
}
_CATEGORIES = {"zero", "one", "two", "few", "many"}


def _unescape(text: str) -> str:
    return json.loads(f'"{text}"')


def staff_keys() -> tuple[dict[str, set[str]], set[str]]:
    """Every key the staff scripts ask for (-> its placeholders), and which of them are counts."""
    keys: dict[str, set[str]] = {}
    plural: set[str] = set()
    for name in STAFF_SCRIPTS:
        text = (WEB / name).read_text()
        for m in _TR.finditer(text):
            key = _unescape(m.group(1))
            keys[key] = set(_HOLE.findall(key))
        for m in _TRN.finditer(text):
            one, other = _unescape(m.group(1)), _unescape(m.group(2))
            assert set(_HOLE.findall(one)) <= set(_HOLE.findall(other)) | {"n"}, (one, other)
            keys[other] = set(_HOLE.findall(other))
            plural.add(other)
    return keys, plural


def test_the_key_scan_finds_the_assembled_texts() -> None:
    """The scan sees templates, counts and marked table entries (not a silently empty set)."""
    keys, plural = staff_keys()
    assert keys["New chat assigned: {name}"] == {"name"}
    assert keys["{agent} transferred the chat to {to}"] == {"agent", "to"}
    assert "{n} ratings" in plural and "{n} rating" not in keys
    assert "Read a transcript" in keys  # N_() in ops_audit.js
    assert len(keys) > 200


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_text_the_staff_scripts_use_is_translated(locale: str) -> None:
    """Each key the code uses is in the locale with exactly its placeholders; plural keys carry
    the language's Intl.PluralRules forms ("key|few"), each with the same placeholders."""
    keys, plural = staff_keys()
    data, _ = _staff(locale)
    missing = sorted(set(keys) - set(data))
    assert not missing, f"{locale} lacks {missing}"
    wrong = {k: v for k, v in data.items() if k in keys and set(_HOLE.findall(v)) != keys[k]}
    assert not wrong, f"{locale}: placeholders differ in {wrong}"
    forms = {k for k in data if "|" in k}
    for form in forms:
        base, cat = form.rsplit("|", 1)
        assert base in plural and cat in _CATEGORIES, (locale, form)
        # "تقييم واحد" (one rating) need not repeat the {n}; every other placeholder stays
        holes = set(_HOLE.findall(data[form]))
        assert holes <= keys[base] and keys[base] - {"n"} <= holes, (locale, form)
    need = {f"{k}|{c}" for k in plural for c in PLURAL_FORMS.get(locale, set())}
    assert need <= forms, f"{locale} lacks plural forms {sorted(need - forms)}"


class _PageTexts(HTMLParser):
    """The words a staff page shows: text nodes and aria-label/title/placeholder (what l10n.js
    translates), without scripts, styles and what is marked translate="no"."""

    def __init__(self) -> None:
        super().__init__()
        self.found: set[str] = set()
        self._hidden: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag in ("script", "style") or named.get("translate") == "no":
            self._hidden.append(tag)
        elif not self._hidden:
            self.found.update(
                (named.get(a) or "").strip() for a in ("aria-label", "title", "placeholder")
            )

    def handle_endtag(self, tag: str) -> None:
        if self._hidden and self._hidden[-1] == tag:
            self._hidden.pop()

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.found.add(data.strip())


def _page_texts(name: str) -> set[str]:
    parser = _PageTexts()
    parser.feed((WEB / name).read_text())
    # a brand, a symbol or a format name is the same in every language
    return {t for t in parser.found if re.search(r"[a-z]", t) and t not in ("chatd", "JSONL")}


@pytest.mark.parametrize("locale", SHIPPED)
def test_every_text_of_the_staff_pages_is_translated(locale: str) -> None:
    """console.html and ops.html: every fixed text and label is in the locale file."""
    data, _ = _staff(locale)
    for page in ("console.html", "ops.html"):
        texts = _page_texts(page)
        assert "Close chat" in texts or "Audit trail" in texts  # the parse found the page's words
        missing = sorted(t for t in texts if t not in data and t.split(" · ")[-1] not in data)
        assert not missing, f"{locale} lacks {missing} of {page}"
