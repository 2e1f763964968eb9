"""Passwords announced by a keyword ("my password is ...", "密码是 ...")."""

from __future__ import annotations

import re

from ._spans import Facts, Masks, claim, trigger_values
from .exempt import grouped_key_at

__all__ = ["detect_passwords"]

_VALUE_STOP = r"(?:(?!(?-i:\[redacted:))\S)+"
# A quoted password never holds a placeholder: on a second pass the shorter placeholder could
# bring a closing quote within reach that the first pass did not see (the 64 is a length).
_QUOTED = r"[\"“'「](?:(?!(?-i:\[redacted:))[^\"”'」\n]){1,64}[\"”'」]"

# Linear: the quantifiers next to whitespace are possessive, so "password is" + 4,000 spaces
# is one scan, not a re-split of the spaces between ``\s*`` and ``\s*`` (the Chinese pattern's
# three ``\s*`` in a row were cubic). The "for <site>" part spans at most three words.
_PASSWORD_EN_RE = re.compile(
    r"(?<![A-Za-z])(?:(?:login|account|trading|trade|fund|funds|withdrawal|email|wallet|exchange)"
    r"\s++)?(?:password|passwd|passcode|passphrase|pass\s++word|pwd|pw|pin(?:\s*+code)?)"
    r"(?![A-Za-z])(?:\s++(?:for|of|on|at|to)\s++(?:[\w.@-]++\s++){0,2}?[\w.@-]++)?"
    r"(?:\s*+(?P<verb>is|was)(?![A-Za-z])\s*+[:：]?+|\s*+[:=：])\s*+"
    rf"(?P<value>{_QUOTED}|{_VALUE_STOP})",
    re.IGNORECASE,
)
# Chinese: the password is whatever printable ASCII follows "密码", with or without "是"/"：".
# Stopping at the first non-ASCII character keeps "密码错误" / "密码是多少" visible.
_PASSWORD_ZH_RE = re.compile(
    r"(?:密码|密碼|口令)\s*+(?P<sep>(?:是|为|為)?+\s*+[:：=]?+)\s*+"
    rf"(?P<value>{_QUOTED}|(?:(?!\[redacted:)[!-~])++)"
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


# After its first word, a passphrase ("my password is purple monkey dishwasher") runs on over
# the next words of the same sentence, up to a word that starts the rest of the sentence
# ("... thanks", "... and it fails"), a sentence mark, or the caps below.
_CLAUSE_WORDS = frozenset(
    """
    a an the and or but so because if then than as also too not no yes ok okay is isn't was
    wasn't are aren't does doesn't do don't did didn't can can't cannot could would will won't
    should must may might has have had keeps keep still just i i'm im me my mine you your it
    it's its this that they we he she please pls plz thanks thank thx ty sorry hi hello hey sir
    help why how what when where which who for to in on at of with from by via after before
    now again password passwd pwd pw pin code 2fa otp email username user login account uid id
    """.split()
)
_SENTENCE_END = ".!?;,。！？；，"
_MAX_PASSPHRASE_WORDS = 8
_PASSWORD_HINT = re.compile("pass|pw|pin")
_MAX_PASSPHRASE_CHARS = 64
# One more word, anchored where the last one ended (so O(1) per word): on the same line, whole
# (a longer token is not taken in part). Chinese: printable ASCII only, as the first word.
_NEXT_WORD_EN_RE = re.compile(r"[ \t]{1,4}+(?P<word>\S{1,40}+)(?!\S)")
_NEXT_WORD_ZH_RE = re.compile(r"[ \t]{1,4}+(?P<word>[!-~]{1,40}+)")


def _passphrase_end(text: str, masks: Masks, start: int, end: int, zh: bool) -> int:
    """Where a password value that starts with ``text[start:end]`` ends, its later words taken."""
    if text[start] in "\"“'「" or text[end - 1] in _SENTENCE_END:
        return end
    limit = masks.first_start_after(end)
    pattern = _NEXT_WORD_ZH_RE if zh else _NEXT_WORD_EN_RE
    for _ in range(_MAX_PASSPHRASE_WORDS - 1):
        m = pattern.match(text, end)
        if m is None or m.end() - start > _MAX_PASSPHRASE_CHARS:
            break
        if limit is not None and m.end() > limit:
            break  # masked text ahead: the value stops where the untouched text does
        if grouped_key_at(text, m.start("word")):
            break  # a key in hex groups follows: it is the key detector's, whole
        word = m.group("word")
        bare = word.lower().rstrip(_SENTENCE_END + ":")
        if not bare or bare in _CLAUSE_WORDS or word.startswith("[redacted:"):
            break
        end = m.end()
        if word[-1] in _SENTENCE_END:
            break
    return end


def detect_passwords(text: str, masks: Masks, found: set[str], facts: Facts) -> None:
    """Mask what follows "password is/:" (English) or "密码(是)" (Chinese), to the sentence end."""
    # Every keyword of _PASSWORD_EN_RE holds one of these.
    if _PASSWORD_HINT.search(facts.folded):
        for m, start, end in trigger_values(_PASSWORD_EN_RE, text, masks):
            value = text[start:end]
            if m.group("verb") and value[0] not in "\"“'「":
                if value.lower().rstrip(".,!?;:") in _PASSWORD_STOPWORDS:
                    continue
            if len(value.strip("\"“”'「」")) >= 3 and not grouped_key_at(text, start):
                claim(
                    masks, found, start, _passphrase_end(text, masks, start, end, False), "password"
                )
    if "密" in text or "口令" in text:
        for m, start, end in trigger_values(_PASSWORD_ZH_RE, text, masks):
            value = text[start:end]
            if not m.group("sep").strip() and value.lower() in _PASSWORD_STOPWORDS:
                continue
            if len(value.strip("\"“”'「」")) >= 3 and not grouped_key_at(text, start):
                claim(
                    masks, found, start, _passphrase_end(text, masks, start, end, True), "password"
                )
