"""Card numbers and one-time (2FA) codes, and whether a staff message asks for a code."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from ._spans import LIST_GAP_RE, Facts, Masks, claim, gap_free, placeholder, unmasked_matches

__all__ = ["asks_for_code", "card_spans", "detect_otp", "id_context_before"]

_OTP_TRIGGER_RE = re.compile(
    r"2fa|2-fa|two[\s-]*factor|google\s*auth(?:enticator)?|authenticator|\bga\s*code|\botp\b|"
    r"verification\s*code|sms\s*code|auth\s*code|"
    # The look-ahead first: seventeen look-behinds tried at every position made a miss slow.
    r"(?=code)(?<!referral )(?<!invite )(?<!invitation )(?<!promo )(?<!coupon )(?<!voucher )"
    r"(?<!order )(?<!error )(?<!tracking )(?<!reference )(?<!zip )(?<!postal )(?<!bonus )"
    r"(?<!status )(?<!country )(?<!area )(?<!swift )(?<!bank )(?<!reason )"
    r"\bcodes?\b|"
    r"验证码|驗證碼|谷歌验证|谷歌驗證|动态码|動態碼|动态口令|安全码|校验码|二次验证",
    re.IGNORECASE,
)
_OTP_RE = re.compile(
    r"(?<![0-9A-Za-z.,+_/:\]-])(?:\d{6,8}|\d{3}[ -]\d{3})(?![0-9A-Za-z_\[]|[.,:/-]?[\d\[])"
)
# Digit sequences with single space/dash separators: candidate card numbers.
_DIGIT_SEQ_RE = re.compile(r"(?<![0-9A-Za-z.,+_/\]-])\d+(?:[ -]\d+)*(?![0-9A-Za-z_\[]|[.,][\d\[])")
# Words before a digit string that make it an identifier rather than a card number or a code.
_ID_CONTEXT_RE = re.compile(
    r"order|订单|訂單|单号|單號|编号|編號|流水|\bid\b|uid|\bref\b|reference|tracking|invoice|"
    r"ticket|#|\btx|交易|hash|phone|\btel\b|电话|電話|手机|手機|\bqq\b|wechat|微信|工单",
    re.IGNORECASE,
)

_OTP_AFTER = 40
_OTP_BEFORE = 24
_ID_BEFORE = 24


def id_context_before(text: str, masks: Masks, start: int) -> bool:
    """Whether an order/phone/tx keyword sits just before ``start`` in untouched text."""
    lo = max(masks.last_end_before(start), start - _ID_BEFORE)
    return _ID_CONTEXT_RE.search(text, lo, start) is not None


def _follows_masked(text: str, masks: Masks, start: int, kind: str) -> bool:
    """Whether ``start`` follows a span masked as ``kind`` with only a list separator between."""
    i = bisect_right(masks.starts, start)
    if i == 0:
        return False
    s, e, k = masks.spans[i - 1]
    if e > start or not (k == kind or (k is None and text[s:e] == placeholder(kind))):
        return False
    return LIST_GAP_RE.fullmatch(text, e, start) is not None


def detect_otp(
    text: str, masks: Masks, found: set[str], facts: Facts, expecting_2fa_code: bool
) -> None:
    """Mask 6-8 digit codes near a 2FA word, or any bare code when one is expected."""
    if facts.digits < 6 or not _OTP_RE.search(text):
        return
    triggers = list(_OTP_TRIGGER_RE.finditer(text))
    # Matches of one pattern are disjoint and in order, so starts and ends are both sorted and
    # only the nearest trigger on each side needs checking: a farther one's gap contains it.
    t_starts = [t.start() for t in triggers]
    t_ends = [t.end() for t in triggers]
    for code in unmasked_matches(_OTP_RE, text, masks):
        start, end = code.span()
        hit = False
        i = bisect_right(t_ends, start)
        if i > 0 and start - t_ends[i - 1] <= _OTP_AFTER:
            hit = gap_free(masks, t_ends[i - 1], start)
        j = bisect_left(t_starts, end)
        if not hit and j < len(t_starts) and t_starts[j] - end <= _OTP_BEFORE:
            hit = gap_free(masks, end, t_starts[j])
        if not hit:
            # "codes: 123456, 654321": a code listed right after a masked code is one too.
            hit = _follows_masked(text, masks, start, "otp_code")
        if not hit and expecting_2fa_code:
            # An order number typed while a code is expected still reads as an order number.
            hit = not id_context_before(text, masks, start)
        if hit:
            claim(masks, found, start, end, "otp_code")


def _luhn_ok(digits: str) -> bool:
    """Whether ``digits`` pass the Luhn check of card numbers."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def card_spans(text: str, masks: Masks) -> Iterator[tuple[int, int]]:
    """Yield spans that look like a payment card number (IIN 2-6, 13-19 digits, Luhn).

    Windows that touch masked text are skipped rather than taken, so the greedy search goes on
    exactly as it would on a second pass where that text is a placeholder.
    """
    for m in _DIGIT_SEQ_RE.finditer(text):
        if len(m.group()) < 13:
            continue
        groups = [(g.start(), g.end()) for g in re.finditer(r"\d+", m.group())]
        base = m.start()
        i = 0
        while i < len(groups):
            taken = None
            first_len = groups[i][1] - groups[i][0]
            if first_len != 4 and first_len < 13:  # cards are written 4-x-x or unbroken
                i += 1
                continue
            # A card has at most 19 digits, so a window spans at most 19 groups: this keeps a
            # long run of numbers ("123 456 789 ...") linear instead of quadratic.
            for j in range(min(len(groups), i + 19), i, -1):
                window = groups[i:j]
                if window[-1][1] - window[0][0] > 19 + 18:
                    continue
                seg = m.group()[window[0][0] : window[-1][1]]
                digits = seg.replace(" ", "").replace("-", "")
                if not 13 <= len(digits) <= 19 or digits[0] not in "23456":
                    continue
                if len(window) > 1:
                    seps = {m.group()[a[1]] for a in window[:-1]}
                    sizes = [b - a for a, b in window]
                    if len(seps) != 1 or sizes[0] != 4 or any(not 3 <= s <= 7 for s in sizes[1:]):
                        continue
                if len(set(digits)) == 1 or not _luhn_ok(digits):
                    continue
                if masks.overlaps(base + window[0][0], base + window[-1][1]):
                    continue
                taken = (base + window[0][0], base + window[-1][1], j)
                break
            if taken is None:
                i += 1
                continue
            yield taken[0], taken[1]
            i = taken[2]


# Matched against the lower-cased text: a case-insensitive alternation is three times slower,
# and every staff message is checked.
_ASKS_FOR_CODE = re.compile(
    r"(?:2fa|two[- ]factor|authenticator|verification|otp|sms|security|one[- ]time)\s*"
    r"(?:code|pin|token)|验证码|动态码|校验码|谷歌验证"
)


def asks_for_code(text: str) -> bool:
    """Does a staff or bot message mention a 2FA/verification code?

    Then the customer's next message is redacted with ``expecting_2fa_code``: a bare 6-8 digit
    number in it is treated as the code it probably is. Staff never need one; an impostor or a
    careless agent asking must not get it stored.
    """
    return _ASKS_FOR_CODE.search(text[:2000].lower()) is not None
