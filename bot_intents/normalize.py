"""Text normalisation and tokenisation for intent matching, in every script the KB speaks.

Everything here is pure and deterministic: the same string always gives the same tokens. The
pipeline is NFKC (which also folds full-width forms to half width), casefold, punctuation and
control characters to spaces, then diacritics folded away in Latin and Cyrillic letters
(customers type "contrasena", "sifre", "rut tien" and "еще" as often as "contraseña", "şifre",
"rút tiền" and "ещё"; Turkish dotless ı and dotted İ meet plain i), then tokens: Latin/Cyrillic/
Hangul/digit words (Latin ones through a light English stemmer), and every CJK ideograph as its
own token (Chinese is written without spaces, so characters and their bigrams carry the meaning).
Hangul is left whole: Korean words get no stemming; character n-grams (features.py) cover their
particles and endings.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "MAX_INPUT_CHARS",
    "fold_diacritics",
    "is_cjk",
    "is_hangul",
    "normalize_text",
    "stem",
    "tokenize",
]

#: Only the first this-many characters of a message are matched. Customer questions that matter
#: state themselves early; the cap bounds the work done on a pasted log or a flood of emoji.
MAX_INPUT_CHARS = 500

_CJK_RANGES = (
    (0x3400, 0x4DBF),  # CJK Unified Ideographs Extension A
    (0x4E00, 0x9FFF),  # CJK Unified Ideographs
    (0xF900, 0xFAFF),  # CJK Compatibility Ideographs
    (0x20000, 0x2FA1F),  # Extensions B..F and compatibility supplement
)

# A token is a run of letters/digits that are not CJK, or a single CJK ideograph.
_CJK_CLASS = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f"
_TOKEN_RE = re.compile(rf"[{_CJK_CLASS}]|[^\W_{_CJK_CLASS}]+")
_CJK_CHAR_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002fa1f]")


def _fold_table() -> dict[int, str]:
    """Map each accented Latin/Cyrillic letter to its base letter(s): "ệ" -> "e", "ё" -> "е".

    Built once from Unicode decompositions over Latin-1, Latin Extended-A/B, IPA, Cyrillic and
    Latin Extended Additional (Vietnamese), plus the letters that carry no decomposition.
    """
    table: dict[int, str] = {}
    for low, high in ((0x00C0, 0x024F), (0x0400, 0x04FF), (0x1E00, 0x1EFF)):
        for code in range(low, high + 1):
            decomposed = unicodedata.normalize("NFD", chr(code))
            base = "".join(c for c in decomposed if not unicodedata.combining(c))
            if base and base != chr(code):
                table[code] = base
    # No decomposition in Unicode, but natives type the plain letter for them.
    table.update({ord("ı"): "i", ord("đ"): "d", ord("Đ"): "d", ord("ø"): "o", ord("ł"): "l"})
    return table


_FOLD = _fold_table()

# Apostrophes inside words are dropped ("don't" -> "dont") so contractions stay one token.
_APOSTROPHES = str.maketrans("", "", "'’`")

# Words whose trailing "s" is not a plural; stripping it would merge unrelated words.
_KEEP_S = frozenset(
    {
        "is",
        "was",
        "has",
        "does",
        "this",
        "its",
        "us",
        "yes",
        "bus",
        "plus",
        "status",
        "bonus",
        "gas",
        "dns",
        "sms",
        "ios",
        "fees",
        "kyc",
        "less",
        "address",
        "process",
        "access",
        "success",
        "always",
        "news",
        "tos",
        "os",
    }
)


def _to_space(char: str) -> str:
    """Map punctuation, symbols and control characters to a space, drop combining marks.

    Marks are dropped, not spaced: casefolded "İ" is "i" + U+0307, which must stay one word.
    """
    category = unicodedata.category(char)
    if category[0] in "PSCZ":
        return " "
    if category[0] == "M":
        return ""
    return char


class _MatchingForms(dict[int, str]):
    """A ``str.translate`` table: each character folded (:func:`fold_diacritics`), then
    punctuation, symbols and controls as spaces and combining marks dropped (:func:`_to_space`).

    Filled as characters are met (one ``translate`` in C instead of a Python call per
    character: issue 19), ASCII up front; past :data:`_FORMS_KEPT` characters a new one is
    worked out each time instead of kept, so no input can grow the table without bound.
    """

    def __missing__(self, code: int) -> str:
        form = "".join(map(_to_space, chr(code).translate(_FOLD)))
        if len(self) < _FORMS_KEPT:
            self[code] = form
        return form


#: Distinct characters whose matching form is kept (a few hundred cover our seven languages).
_FORMS_KEPT = 8192


def fold_diacritics(text: str) -> str:
    """Fold accented Latin and Cyrillic letters to their base letters (casefolded input)."""
    return text.translate(_FOLD)


_MATCHING_FORM = _MatchingForms()
for _code in range(128):
    _MATCHING_FORM[_code] = _MATCHING_FORM.__missing__(_code)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Strip common English inflections so "resetting", "resets" and "reset" meet.

    This is a deliberately small suffix stripper, not Porter: it only needs to be consistent
    between the knowledge base and the customer's message, and predictable for tests.
    """
    if len(word) <= 3 or not word.isascii() or not word.isalpha():
        return word
    if word in _KEEP_S:
        return word
    for suffix, replacement, min_stem in (
        ("ies", "y", 2),
        ("sses", "ss", 2),
        ("ing", "", 3),
        ("ed", "", 3),
        ("ly", "", 4),
        ("s", "", 3),
    ):
        if word.endswith(suffix) and len(word) - len(suffix) >= min_stem:
            base = word[: len(word) - len(suffix)] + replacement
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                return word
            if suffix in ("ing", "ed") and len(base) >= 2 and base[-1] == base[-2]:
                # "stopped" -> "stopp" -> "stop", "getting" -> "gett" -> "get"
                if base[-1] not in "lsz":
                    base = base[:-1]
            return base
    return word


def normalize_text(text: str) -> str:
    """Return the matching form of ``text``: NFKC, casefolded, diacritics folded, punctuation
    as single spaces.

    Input longer than :data:`MAX_INPUT_CHARS` is truncated first. Surrogates and other
    unencodable code points never raise; they are dropped.
    """
    text = text[:MAX_INPUT_CHARS]
    if not text.isascii():
        # Lone surrogates would make later encoding raise; drop them up front.
        text = text.encode("utf-8", "ignore").decode("utf-8")
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold().translate(_APOSTROPHES).translate(_MATCHING_FORM)
    return " ".join(text.split())


def is_cjk(char: str) -> bool:
    """Tell whether ``char`` is a CJK unified ideograph (any extension block)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def is_hangul(char: str) -> bool:
    """Tell whether ``char`` is a precomposed Hangul syllable or a Hangul jamo."""
    code = ord(char)
    return 0xAC00 <= code <= 0xD7A3 or 0x1100 <= code <= 0x11FF or 0x3130 <= code <= 0x318F


def tokenize(normalized: str) -> list[str]:
    """Split normalised text into stemmed words and single CJK characters."""
    tokens = []
    for token in _TOKEN_RE.findall(normalized):
        if len(token) == 1 and _CJK_CHAR_RE.match(token):
            tokens.append(token)
        else:
            tokens.append(stem(token))
    return tokens
