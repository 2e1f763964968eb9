"""Text normalisation, tokenisation and language detection for intent matching.

Everything here is pure and deterministic: the same string always gives the same tokens. The
pipeline is NFKC (which also folds full-width forms to half width), casefold, punctuation and
control characters to spaces, then tokens: Latin/digit words with a light English stemmer, and
every CJK character as its own token (Chinese is written without spaces, so characters and their
bigrams carry the meaning).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = [
    "MAX_INPUT_CHARS",
    "detect_locale",
    "is_cjk",
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
_LATIN_LETTER_RE = re.compile(r"[a-zA-Z]")

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
    """Map punctuation, symbols, marks and control characters to a space, keep the rest."""
    category = unicodedata.category(char)
    if category[0] in "PSCZ":
        return " "
    return char


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
    """Return the matching form of ``text``: NFKC, casefolded, punctuation as single spaces.

    Input longer than :data:`MAX_INPUT_CHARS` is truncated first. Surrogates and other
    unencodable code points never raise; they are dropped.
    """
    text = text[:MAX_INPUT_CHARS]
    if not text.isascii():
        # Lone surrogates would make later encoding raise; drop them up front.
        text = text.encode("utf-8", "ignore").decode("utf-8")
        text = unicodedata.normalize("NFKC", text)
    text = text.casefold().translate(_APOSTROPHES)
    if text.isascii():
        chars = [c if c.isalnum() else " " for c in text]
    else:
        chars = [_to_space(c) for c in text]
    return " ".join("".join(chars).split())


def is_cjk(char: str) -> bool:
    """Tell whether ``char`` is a CJK unified ideograph (any extension block)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _CJK_RANGES)


def tokenize(normalized: str) -> list[str]:
    """Split normalised text into stemmed words and single CJK characters."""
    tokens = []
    for token in _TOKEN_RE.findall(normalized):
        if len(token) == 1 and _CJK_CHAR_RE.match(token):
            tokens.append(token)
        else:
            tokens.append(stem(token))
    return tokens


def detect_locale(text: str) -> str:
    """Guess the reply language from the script: "zh" when CJK ideographs are present enough.

    Mixed messages such as "USDT提现失败" are Chinese: any ideograph outweighs a few Latin
    tokens, because a Chinese speaker writes tickers and brand names in Latin letters but an
    English speaker almost never writes ideographs. Ideographs are counted against Latin letters
    so a stray "谢谢" inside a long English paragraph still counts as English.
    """
    sample = text[:MAX_INPUT_CHARS]
    cjk = len(_CJK_CHAR_RE.findall(sample))
    if cjk == 0:
        return "en"
    latin = len(_LATIN_LETTER_RE.findall(sample))
    # One ideograph carries roughly a word; an English word is ~5 letters.
    return "zh" if cjk * 5 >= latin * 0.5 else "en"
