"""Keys and keyword-triggered values: extended keys, WIF keys, "private key: ...", API secrets."""

from __future__ import annotations

import re

from ._spans import (
    B58,
    HAS_DIGIT,
    HAS_LETTER,
    Facts,
    Masks,
    claim,
    trigger_values,
    unmasked_matches,
)

__all__ = ["detect_key_shapes", "detect_triggered_values"]

_XPRV_RE = re.compile(rf"(?<![0-9A-Za-z\]])[xyztuvXYZUV]prv[{B58}]{{20,}}")
_WIF_RE = re.compile(
    rf"(?<![0-9A-Za-z\]])(?:5[HJK][{B58}]{{49}}|[KL][{B58}]{{51}})(?![0-9A-Za-z\[])"
)
# Why the triggers below are linear: every quantifier that meets a separator is possessive
# (``*+``, ``++``, ``?+``), so a failed attempt never re-splits a run of separators. The old
# ``(?:\s*(?:is|=|:)\s*)*`` could split " = = = ..." in 3^n ways: "api secret" + " = " * 17
# + "!" took 27 s. Now an attempt scans its keyword, the separators after it and at most the
# value once, and attempts start only at a keyword.
#: "is", "=", "：", "是" ... possibly repeated ("secret = : abc"); at least one, as before.
_SEPS = r"(?:(?:\s*+(?:is|was|are|=|:|：|是|为|為))++\s*+)?+"
#: "private key for binance: ..." (the word after "for" stops at a separator).
_FOR = r"(?:\s++(?:for|of|on|to)\s++[^\s:：=是为為]++)?+"

_KEY_TRIGGER_RE = re.compile(
    r"(?:private[\s_-]*+key|priv[\s_-]*+key|privkey|私钥|私鑰)"
    rf"{_FOR}{_SEPS}[\"'“「]?+"
    r"(?P<value>[A-Za-z0-9+/=]{32,}+)",
    re.IGNORECASE,
)
_SECRET_TRIGGER_RE = re.compile(
    r"(?<![A-Za-z])(?:(?:api|apikey)[\s_-]*+)?(?:secret(?:[\s_-]*+key)?|密钥|秘钥|密鑰)"
    rf"{_FOR}{_SEPS}[\"'“「]?+"
    r"(?P<value>[A-Za-z0-9+/=_\-]{16,}+)",
    re.IGNORECASE,
)


def detect_key_shapes(text: str, masks: Masks, found: set[str]) -> None:
    """Mask extended private keys (xprv...) and WIF keys, which no other string resembles."""
    for m in unmasked_matches(_XPRV_RE, text, masks):
        claim(masks, found, m.start(), m.end(), "extended_private_key")
    if len(text) >= 51:
        for m in unmasked_matches(_WIF_RE, text, masks):
            claim(masks, found, m.start(), m.end(), "wif_key")


def detect_triggered_values(text: str, masks: Masks, found: set[str], facts: Facts) -> None:
    """Mask the value after "private key" / "私钥" and after "API secret" / "密钥"."""
    if any(k in facts.folded for k in ("key", "私钥", "私鑰", "priv")):
        for _, start, end in trigger_values(_KEY_TRIGGER_RE, text, masks):
            if end - start >= 32:
                claim(masks, found, start, end, "private_key")
    if not any(k in facts.folded for k in ("secret", "密钥", "秘钥", "密鑰")):
        return
    for _, start, end in trigger_values(_SECRET_TRIGGER_RE, text, masks):
        value = text[start:end]
        # Real secrets mix letters and digits; "secret key is incorrectly-configured" does not.
        if len(value) >= 16 and HAS_DIGIT.search(value) and HAS_LETTER.search(value):
            claim(masks, found, start, end, "api_secret")
