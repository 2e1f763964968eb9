"""Passwords announced by a keyword ("my password is ...", "密码是 ...")."""

from __future__ import annotations

import re

from ._spans import Facts, Masks, claim, trigger_values

__all__ = ["detect_passwords"]

_VALUE_STOP = r"(?:(?!(?-i:\[redacted:))\S)+"

# Linear: the quantifiers next to whitespace are possessive, so "password is" + 4,000 spaces
# is one scan, not a re-split of the spaces between ``\s*`` and ``\s*`` (the Chinese pattern's
# three ``\s*`` in a row were cubic). The "for <site>" part spans at most three words.
_PASSWORD_EN_RE = re.compile(
    r"(?<![A-Za-z])(?:(?:login|account|trading|trade|fund|funds|withdrawal|email|wallet|exchange)"
    r"\s++)?(?:password|passwd|passcode|passphrase|pass\s++word|pwd|pw|pin(?:\s*+code)?)"
    r"(?![A-Za-z])(?:\s++(?:for|of|on|at|to)\s++(?:[\w.@-]++\s++){0,2}?[\w.@-]++)?"
    r"(?:\s*+(?P<verb>is|was)(?![A-Za-z])\s*+[:：]?+|\s*+[:=：])\s*+"
    rf"(?P<value>[\"“'「][^\"”'」\n]{{1,64}}[\"”'」]|{_VALUE_STOP})",
    re.IGNORECASE,
)
# Chinese: the password is whatever printable ASCII follows "密码", with or without "是"/"：".
# Stopping at the first non-ASCII character keeps "密码错误" / "密码是多少" visible.
_PASSWORD_ZH_RE = re.compile(
    r"(?:密码|密碼|口令)\s*+(?P<sep>(?:是|为|為)?+\s*+[:：=]?+)\s*+"
    r"(?P<value>[\"“'「][^\"”'」\n]{1,64}[\"”'」]|(?:(?!\[redacted:)[!-~])++)"
)
# Words that, after "password is", start a sentence about the password rather than the password.
_PASSWORD_STOPWORDS = frozenset(
    """
    a accepted again all already also always an and because being blank blocked but case
    changed compromised correct definitely different done empty exactly expired expiring
    failed failing fine for forgot forgotten gone good hacked here how in incorrect invalid
    it just leaked locked long lost maybe missing my never new no not now of ok okay old on
    only or probably ready rejected rejecting required reset right safe same secure sensitive
    set shown showing short so still stolen strange strong that the there this to too unknown
    unsafe updated very weak weird what when where which who why working wrong yes your error
    """.split()
)


def detect_passwords(text: str, masks: Masks, found: set[str], facts: Facts) -> None:
    """Mask what follows "password is/:" (English) or "密码(是)" (Chinese)."""
    # Every keyword of _PASSWORD_EN_RE holds one of these.
    if any(k in facts.folded for k in ("pass", "pw", "pin")):
        for m, start, end in trigger_values(_PASSWORD_EN_RE, text, masks):
            value = text[start:end]
            if m.group("verb") and value[0] not in "\"“'「":
                if value.lower().rstrip(".,!?;:") in _PASSWORD_STOPWORDS:
                    continue
            if len(value.strip("\"“”'「」")) >= 3:
                claim(masks, found, start, end, "password")
    if "密" in text or "口令" in text:
        for m, start, end in trigger_values(_PASSWORD_ZH_RE, text, masks):
            value = text[start:end]
            if not m.group("sep").strip() and value.lower() in _PASSWORD_STOPWORDS:
                continue
            if len(value.strip("\"“”'「」")) >= 3:
                claim(masks, found, start, end, "password")
