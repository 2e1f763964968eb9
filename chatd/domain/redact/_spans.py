"""Span book-keeping shared by every detector, and the facts their pre-checks read.

Every detector claims spans in one :class:`Masks`; the first claim wins. A keyword's context never
reaches across a claimed span, which is what makes redaction idempotent (see the package doc).
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

__all__ = [
    "B58",
    "HAS_DIGIT",
    "HAS_LETTER",
    "KINDS",
    "LIST_GAP_RE",
    "PLACEHOLDER_RE",
    "Facts",
    "Masks",
    "apply_masks",
    "claim",
    "gap_free",
    "placeholder",
    "trigger_values",
    "unmasked_matches",
]

KINDS: tuple[str, ...] = (
    "seed_phrase",
    "private_key",
    "wif_key",
    "extended_private_key",
    "api_secret",
    "password",
    "otp_code",
    "card_number",
)


def placeholder(kind: str) -> str:
    """Return the token that replaces a secret of ``kind``."""
    return f"[redacted:{kind}]"


# Compiled patterns. Boundaries are spelled as ASCII classes on purpose: Python's \w and \b are
# Unicode-aware, and in "验证码是123456" the CJK character before the digits counts as \w.
# The boundaries also refuse "]" before and "[" after: a placeholder stands where a secret was,
# and a string glued to a secret must stay as unmatchable on the second pass as on the first.

PLACEHOLDER_RE = re.compile(r"\[redacted:[a-z_]+\]")
B58 = "1-9A-HJ-NP-Za-km-z"
HAS_DIGIT = re.compile(r"\d")
HAS_LETTER = re.compile(r"[A-Za-z]")
LIST_GAP_RE = re.compile(r"(?:\s|[,;、，；|&]|and|和){1,8}", re.IGNORECASE)


class Masks:
    """Claimed spans, disjoint and sorted; ``kind`` None marks a pre-existing placeholder.

    Because the spans never overlap, sorting by start also sorts by end, so every query is a
    binary search: a message full of secrets costs O(n log n), not O(n^2). (A claim inserts
    into two lists, a memmove; detectors claim mostly left to right, so it is mostly an append.)
    """

    __slots__ = ("spans", "starts")

    def __init__(self) -> None:
        self.spans: list[tuple[int, int, str | None]] = []
        self.starts: list[int] = []

    def overlaps(self, start: int, end: int) -> bool:
        """True when a claimed span intersects ``[start, end)``."""
        i = bisect_left(self.starts, end)
        return i > 0 and self.spans[i - 1][1] > start

    def crosses(self, start: int, end: int) -> bool:
        """True when a claimed span lies (even partly) inside the gap ``[start, end)``."""
        return self.overlaps(start, end)

    def first_start_after(self, pos: int) -> int | None:
        """Start of the first claimed span at or after ``pos``, if any."""
        i = bisect_left(self.starts, pos)
        return self.starts[i] if i < len(self.starts) else None

    def last_end_before(self, pos: int) -> int:
        """End of the last claimed span that ends at or before ``pos`` (0 if none)."""
        i = bisect_right(self.starts, pos)
        while i > 0:
            end = self.spans[i - 1][1]
            if end <= pos:
                return end
            i -= 1
        return 0

    def end_of_first_overlap(self, start: int, end: int) -> int:
        """End of the first claimed span that intersects ``[start, end)`` (``start`` if none)."""
        i = bisect_right(self.starts, start)
        if i > 0 and self.spans[i - 1][1] > start:
            return self.spans[i - 1][1]
        if i < len(self.spans) and self.spans[i][0] < end:
            return self.spans[i][1]
        return start

    def claim(self, start: int, end: int, kind: str | None) -> bool:
        """Claim ``[start, end)`` unless it is empty or overlaps a claimed span."""
        if start >= end or self.overlaps(start, end):
            return False
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.spans.insert(i, (start, end, kind))
        return True


def unmasked_matches(pattern: re.Pattern[str], text: str, masks: Masks) -> Iterator[re.Match[str]]:
    """Matches of ``pattern`` that touch no masked span, found as if masks were placeholders.

    A match that runs into masked text is dropped and the search resumes after that span, as
    it would on a second pass where the span is a placeholder. ``finditer`` would instead skip
    the rest of the dropped match, and a second pass could then find something new there.
    Masks claimed while the caller iterates are taken into account.

    Linear as long as ``pattern`` is: every search starts past the previous match or span.
    """
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if not masks.overlaps(m.start(), m.end()):
            yield m
            pos = m.end() if m.end() > m.start() else m.start() + 1
            continue
        # After the span holding m.start(), else the first span that begins inside the match.
        pos = masks.end_of_first_overlap(m.start(), m.end())


def trigger_values(
    pattern: re.Pattern[str], text: str, masks: Masks
) -> Iterator[tuple[re.Match[str], int, int]]:
    """Yield ``(match, start, end)`` for each keyword + value of ``pattern`` in untouched text.

    The value is cut where a masked span begins, and the scan moves on exactly as it would if
    that span were already a placeholder (a value never starts with ``[redacted:``): that is
    what keeps a second pass from finding a value the first pass did not.
    """
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        start, end = m.span("value")
        if masks.overlaps(m.start(), start):
            # The keyword runs into masked text: go on after that span, as a second pass would
            # after its placeholder. Moving on by one character instead rescanned the value of
            # every keyword inside a long masked run ("xprv" + "privkey" * 500): quadratic.
            pos = max(m.start() + 1, masks.end_of_first_overlap(m.start(), start))
            continue
        nxt = masks.first_start_after(start)
        if nxt is not None and nxt < end:
            end = nxt
        if end <= start:
            pos = m.start() + 1
            continue
        yield m, start, end
        pos = end


def claim(masks: Masks, found: set[str], start: int, end: int, kind: str) -> None:
    """Claim ``[start, end)`` as ``kind``; note the kind in ``found`` when the claim holds."""
    if masks.claim(start, end, kind):
        found.add(kind)


def gap_free(masks: Masks, start: int, end: int) -> bool:
    """True when no claimed span lies (even partly) in the gap ``[start, end)``."""
    return not masks.crosses(start, end)


@dataclass(frozen=True, slots=True)
class Facts:
    """What the cheap pre-checks of several detectors read, worked out once per message.

    The pre-checks are necessary conditions: a detector whose keyword or digits are absent
    skips its slow search, and must never skip one that would have matched.
    """

    #: The text case-folded so that it holds a keyword wherever an IGNORECASE pattern matches
    #: one: casefold() maps "ſ" to "s" and "K" (Kelvin) to "k" as re does; re also matches "İ"
    #: and "ı" to "i", which casefold() leaves as "i̇" and "ı".
    folded: str
    #: Digits as the patterns count them (``\d`` is Unicode: fullwidth "１２３" too).
    digits: int

    @classmethod
    def of(cls, text: str) -> Facts:
        """The facts of ``text``."""
        folded = text.casefold().replace("i\u0307", "i").replace("ı", "i")
        return cls(folded, len(HAS_DIGIT.findall(text)))


def apply_masks(text: str, spans: Iterable[tuple[int, int, str | None]]) -> str:
    """``text`` with each claimed span replaced by its placeholder (old placeholders stay)."""
    parts: list[str] = []
    pos = 0
    for start, end, kind in spans:
        parts.append(text[pos:start])
        parts.append(text[start:end] if kind is None else placeholder(kind))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)
