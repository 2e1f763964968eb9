"""Shapes with a visibility exemption, swept left to right in one pass.

A 64-hex or 64-byte base58 string is a private key unless it reads as a transaction hash (a
"txid"/"hash"/"交易哈希" word nearby, or an explorer URL); a Luhn-valid digit string is a card
number unless an order, phone or id word stands before it.
"""

from __future__ import annotations

import re

from ._spans import B58, LIST_GAP_RE, Facts, Masks, unmasked_matches
from .codes import card_spans, id_context_before

__all__ = ["detect_exempt_shapes", "grouped_key_at"]

_HEX_RUN_RE = re.compile(r"[0-9a-fA-F]{64}")  # what _HEX64_RE needs, found without look-arounds
_HEX64_RE = re.compile(r"(?<![0-9A-Za-z\]])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z\[])")
# Hex keys written in groups (see _grouped_hex_spans).
# Groups of one digit are never part of a key; leaving them out cannot link two groups, which
# must stand one separator apart.
_HEX_GROUP_RE = re.compile(r"[0-9a-fA-F]{2,}")
_HEX_GROUP_SEPS = " \t\n:-"
# What every grouped key holds (2 groups of 32, or 4 or more groups): a cheap necessary test
# that spares ordinary messages the scan. Attempts start only where a hex run starts and the
# runs are possessive, so a long hex run is scanned once, not once per position.
_HEX_GROUPS_HINT_RE = re.compile(
    r"(?<![0-9a-fA-F])(?:[0-9a-fA-F]{32}+[ \t\n:\-][0-9a-fA-F]{32}+"
    r"|(?:[0-9a-fA-F]{2,}+[ \t\n:\-]){3}[0-9a-fA-F]{2})"
)
_HEX_DIGIT_RE = re.compile(r"[0-9]")
_HEX_LETTER_RE = re.compile(r"[a-fA-F]")
_GLUED_BEFORE = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz]")
_GLUED_AFTER = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz[")
# A 64-byte base58 string (Solana keypair export, 87-88 chars); Solana transaction signatures
# have the same shape, so these get the same transaction exemption as hex keys.
_B58_64_RE = re.compile(rf"(?<![0-9A-Za-z\]])[{B58}]{{86,88}}(?![0-9A-Za-z\[])")

_TX_WORD = (
    r"\btx(?:id|ids|hash|n|s)?\b|\btx\s*(?:id|hash)|\btransactions?\b|\bhash(?:es)?\b|"
    r"\bsignatures?\b|交易|哈希|签名|簽名|转账|轉賬|区块|區塊|浏览器|瀏覽器|"
    r"etherscan|bscscan|tronscan|solscan|polygonscan|arbiscan|blockchair|mempool|explorer"
)
_KEY_WORD = (
    r"private[\s_-]*key|priv[\s_-]*key|privkey|私钥|私鑰|密钥|秘钥|密鑰|\bsecret\b|\bseed\b|"
    r"助记词|\bkey\b|\bpk\b"
)
_CONTEXT_RE = re.compile(rf"(?P<tx>{_TX_WORD})|(?P<key>{_KEY_WORD})", re.IGNORECASE)
# How far (in characters of untouched text) a keyword's influence reaches. Chosen so that
# "txid for my withdrawal yesterday: <hash>" still counts, while a keyword two sentences away
# does not.
_KEYWORD_BEFORE = 48
_KEYWORD_AFTER = 24
# An explorer URL before a hash is well under this ("https://blockchair.com/bitcoin/transaction/").
_URL_PREFIX = 200
_SPACE_RE = re.compile(r"\s")


def _in_url_or_path(text: str, masks: Masks, start: int) -> bool:
    """Whether a "/" stands in the whitespace-delimited token before ``start`` (an explorer URL).

    Only untouched text is looked at, cut at masked spans (what follows may still be masked
    later in the sweep, and a decision must not depend on text that a second pass would see as
    a placeholder), and at most _URL_PREFIX characters back: walking back to the start of the
    token made "/<hash>/<hash>/..." quadratic.
    """
    lo = max(masks.last_end_before(start), start - _URL_PREFIX)
    slash = text.rfind("/", lo, start)
    return slash >= 0 and _SPACE_RE.search(text, slash, start) is None


def _tx_context(text: str, masks: Masks, start: int, end: int, next_candidate: int | None) -> bool:
    """Whether the key-shaped string at ``[start, end)`` reads as a transaction hash."""
    if _in_url_or_path(text, masks, start):
        return True  # inside an explorer URL or a path: .../tx/<hash>
    lo = max(masks.last_end_before(start), start - _KEYWORD_BEFORE)
    last = None
    for m in _CONTEXT_RE.finditer(text, lo, start):
        last = m
    if last is not None:
        return last.group("tx") is not None
    # Looking ahead, stop at the next masked span or the next key-shaped candidate so that the
    # decision cannot change once that candidate has been masked.
    hi = min(len(text), end + _KEYWORD_AFTER)
    nxt = masks.first_start_after(end)
    if nxt is not None:
        hi = min(hi, nxt)
    if next_candidate is not None:
        hi = min(hi, next_candidate)
    first = _CONTEXT_RE.search(text, end, hi)
    return first is not None and first.group("tx") is not None


def _grouped_hex_spans(text: str, masks: Masks) -> list[tuple[int, int]]:
    """Spans of 64 hex digits written in equal groups: "a77a08bc b4a8f65f ..." (8 x 8), 4 x 16,
    32 x 2 with ":" ..., one separator throughout (space, tab, newline, ":" or "-").

    One pass over the hex runs of the text: linear. A group
    glued to a letter, a digit or masked text (a placeholder on a second pass) cannot start or
    end a key, and a stretch of equal groups longer than one key is not taken (it is some other
    listing). A key has letters and digits; "face cafe dead beef ..." has no digits.
    """
    runs = [m.span() for m in _HEX_GROUP_RE.finditer(text) if not masks.overlaps(*m.span())]
    spans: list[tuple[int, int]] = []
    k = 0
    while k < len(runs):
        # The stretch of groups of the size of runs[k], one separator character between each.
        size = runs[k][1] - runs[k][0]
        e = k + 1
        while (
            e < len(runs)
            and runs[e][1] - runs[e][0] == size
            and runs[e][0] - runs[e - 1][1] == 1
            and text[runs[e - 1][1]] in _HEX_GROUP_SEPS
            and text[runs[e - 1][1]] == text[runs[k][1]]
        ):
            e += 1
        # One key's worth: 64 digits in 2 groups at least (64 unbroken is _HEX64_RE's).
        if 2 <= size < 64 and 64 % size == 0 and (e - k) * size == 64:
            start, end = runs[k][0], runs[e - 1][1]
            if _free_edge(text, masks, start, end) and _has_digits_and_letters(text, start, end):
                spans.append((start, end))
        k = e
    return spans


def grouped_key_at(text: str, start: int) -> bool:
    """Whether a key of hex groups that :func:`_grouped_hex_spans` takes starts at ``start``.

    For the password detector: a passphrase runs on over the words after its first one, and
    must stop where a grouped key starts rather than take some of its groups, which would leave
    the rest too few to be a key ("pw: hunter2 a77a08bc b4a8f65f ..." showed the last groups).
    Reads at most one key's worth of groups forward, so a passphrase's words cost O(1) each.
    """
    first = _HEX_GROUP_RE.match(text, start)
    if first is None or (start > 0 and text[start - 1] in _GLUED_BEFORE):
        return False
    size = first.end() - start
    if not (2 <= size < 64 and 64 % size == 0) or first.end() >= len(text):
        return False
    sep = text[first.end()]
    end, groups = first.end(), 1
    while groups <= 64 // size and end < len(text) and text[end] == sep:
        nxt = _HEX_GROUP_RE.match(text, end + 1)
        if nxt is None or nxt.end() - nxt.start() != size:
            break
        end, groups = nxt.end(), groups + 1
    return (
        sep in _HEX_GROUP_SEPS
        and groups * size == 64
        and not (end < len(text) and text[end] in _GLUED_AFTER)
        and _has_digits_and_letters(text, start, end)
    )


def _free_edge(text: str, masks: Masks, start: int, end: int) -> bool:
    """Whether ``[start, end)`` stands free: no letter, digit or masked text glued to either end."""
    if start > 0 and (text[start - 1] in _GLUED_BEFORE or masks.overlaps(start - 1, start)):
        return False
    return not (end < len(text) and (text[end] in _GLUED_AFTER or masks.overlaps(end, end + 1)))


def _has_digits_and_letters(text: str, start: int, end: int) -> bool:
    return _HEX_DIGIT_RE.search(text, start, end) is not None and (
        _HEX_LETTER_RE.search(text, start, end) is not None
    )


def detect_exempt_shapes(text: str, masks: Masks, found: set[str], facts: Facts) -> None:
    """Mask 64-hex / base58 keys and card numbers, sparing tx hashes and order ids."""
    candidates: list[tuple[int, int, str]] = []
    if len(text) >= 64 and _HEX_RUN_RE.search(text):
        candidates += [
            (m.start(), m.end(), "private_key") for m in unmasked_matches(_HEX64_RE, text, masks)
        ]
    if len(text) >= 86:
        candidates += [
            (m.start(), m.end(), "private_key") for m in unmasked_matches(_B58_64_RE, text, masks)
        ]
    if (
        len(text) >= 64 + 1
        and facts.digits >= 1
        # At least 64 hex characters (digits counted as \d does, a few more): most messages
        # stop here, before the pattern below. A key has a digit, but may have only one.
        and facts.digits + sum(map(text.count, "abcdefABCDEF")) >= 64
        and _HEX_GROUPS_HINT_RE.search(text)
    ):
        candidates += [(s, e, "private_key") for s, e in _grouped_hex_spans(text, masks)]
    if facts.digits >= 13:
        candidates += [(s, e, "card_number") for s, e in card_spans(text, masks)]
    candidates = [c for c in candidates if not masks.overlaps(c[0], c[1])]
    # Left to right; of two starting together the longer first: a key in groups whose first
    # 16 digits look like a card is a key, not a card and 48 visible digits.
    candidates.sort(key=lambda c: (c[0], -c[1]))
    prev_tx_end = -1
    for idx, (start, end, kind) in enumerate(candidates):
        if masks.overlaps(start, end) or start < prev_tx_end:
            continue  # taken, or part of a hash that stays visible (card-like digits in it)
        if kind == "private_key":
            # "txids: <hash>, <hash>": a hash listed right after a visible hash is one too.
            in_list = prev_tx_end >= 0 and LIST_GAP_RE.fullmatch(text, prev_tx_end, start)
            later = idx + 1
            while later < len(candidates) and candidates[later][0] < end:
                later += 1
            nxt = candidates[later][0] if later < len(candidates) else None
            if in_list or _tx_context(text, masks, start, end, nxt):
                prev_tx_end = end
                continue
        elif id_context_before(text, masks, start):
            continue
        if masks.claim(start, end, kind):
            found.add(kind)
