"""Card numbers and one-time (2FA) codes, and whether a staff message asks for a code."""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from ._spans import LIST_GAP_RE, Facts, Masks, claim, gap_free, placeholder, unmasked_matches

__all__ = ["asks_for_code", "card_spans", "detect_otp", "id_context_before"]

_OTP_TRIGGER_RE = re.compile(
    r"2fa|2-fa|two[\s-]*+factor|google\s*+auth(?:enticator)?|authenticator|\bga\s*+code|\botp\b|"
    r"verification\s*+code|sms\s*+code|auth\s*+code|"
    # The look-ahead first: seventeen look-behinds tried at every position made a miss slow.
    r"(?=code)(?<!referral )(?<!invite )(?<!invitation )(?<!promo )(?<!coupon )(?<!voucher )"
    r"(?<!order )(?<!error )(?<!tracking )(?<!reference )(?<!zip )(?<!postal )(?<!bonus )"
    r"(?<!status )(?<!country )(?<!area )(?<!swift )(?<!bank )(?<!reason )"
    r"\bcodes?\b|"
    r"验证码|驗證碼|谷歌验证|谷歌驗證|动态码|動態碼|动态口令|安全码|校验码|二次验证|"
    # Said in other words: "the 6-digit number", "the number in my app", "验证器里的六位数".
    r"\b(?:six|6|eight|8)[\s-]?+digits?\b|"
    r"\bnumber\s++(?:in|on|from|shown\s++in)\s++(?:my|the|your)\s++(?:app|authenticator)\b|"
    r"验证器|驗證器|[六6]位数|[六6]位數|动态密码|動態密碼",
    re.IGNORECASE,
)
_OTP_HINT = re.compile(
    "2fa|2-fa|two|google|auth|ga|otp|verif|sms|code|digit|number|验|驗|谷歌|动|動|安全码|"
    "校验码|二次|位数|位數"
)
_OTP_RE = re.compile(
    r"(?<![0-9A-Za-z.,+_/:\]-])(?:\d{6,8}|\d{3}[ -]\d{3})(?![0-9A-Za-z_\[]|[.,:/-]?[\d\[])"
)
# Digit sequences with single space/dash separators: candidate card numbers. Attempts start only
# where no digit stands before; giving back a whole group at the end is one step per group.
_DIGIT_SEQ_RE = re.compile(
    r"(?<![0-9A-Za-z.,+_/\]-])\d++(?:[ -]\d++)*(?![0-9A-Za-z_\[]|[.,][\d\[])"
)
_DIGITS_RE = re.compile(r"\d+")
# A group that can start a card: 4 digits, or 13-19 unbroken, the first 2-6 (see card_spans).
_CARD_START_RE = re.compile(r"(?<!\d)[2-6](?:\d{3}|\d{12,18})(?!\d)")
# Words before a digit string that make it an identifier rather than a card number or a code.
_ID_CONTEXT_RE = re.compile(
    r"order|订单|訂單|单号|單號|编号|編號|流水|(?<![A-Za-z])id(?![A-Za-z])|uid|\bref\b|reference|"
    r"tracking|invoice|ticket|#|\btx|交易|hash|phone|\btel\b|电话|電話|手机|手機|\bqq\b|wechat|"
    r"微信|工单|账号|賬號|帐号|帳號",
    re.IGNORECASE,
)
# A currency after a number, or a currency sign before it, makes it an amount ("withdraw 150000
# USDT", "$250000"), whatever word ("code") stands nearby. Anchored at the number: O(1) each.
_CURRENCY_AFTER_RE = re.compile(
    r"[ \t]?+(?:usdt|usdc|busd|fdusd|dai|usd|eur|gbp|cny|rmb|hkd|jpy|krw|aud|cad|sgd|btc|eth|bnb|"
    r"sol|xrp|trx|doge|ada|ltc|matic|shib|avax|sats?|gwei|dollars?|euros?|"
    r"元|块|塊|美元|美金|人民币|人民幣|港币|港幣|个币|個幣)(?![A-Za-z])",
    re.IGNORECASE,
)
_CURRENCY_SIGNS = frozenset("$¥€£￥₿")

_OTP_AFTER = 40
_OTP_BEFORE = 24
_ID_BEFORE = 24


def id_context_before(text: str, masks: Masks, start: int, after: int = 0) -> bool:
    """Whether an order/phone/tx/user-id keyword sits just before ``start`` in untouched text.

    Only the text from ``after`` on counts: in "UID 123, 2fa code 654321" the 2FA words stand
    between the "UID" and the code, so the code is not an id.
    """
    lo = max(masks.last_end_before(start), start - _ID_BEFORE, after)
    return _ID_CONTEXT_RE.search(text, lo, start) is not None


def _is_amount(text: str, masks: Masks, start: int, end: int) -> bool:
    """Whether the number at ``[start, end)`` is an amount: a currency word or sign next to it."""
    after = _CURRENCY_AFTER_RE.match(text, end)
    if after is not None and not masks.overlaps(end, after.end()):
        return True
    before = text[max(0, start - 2) : start].rstrip(" ")
    return bool(before) and before[-1] in _CURRENCY_SIGNS and not masks.overlaps(start - 2, start)


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
    # Every trigger holds one of the stems of _OTP_HINT: most messages with a number in them
    # skip the trigger scan (its many alternatives cost about as much as the rest together).
    triggers = list(_OTP_TRIGGER_RE.finditer(text)) if _OTP_HINT.search(facts.folded) else []
    # Matches of one pattern are disjoint and in order, so starts and ends are both sorted and
    # only the nearest trigger on each side needs checking: a farther one's gap contains it.
    t_starts = [t.start() for t in triggers]
    t_ends = [t.end() for t in triggers]
    # A group inside a card written in groups ("3782 822463 10005") is the card's, not a code:
    # taken as a code it left the card's other digits visible. The sweep masks the card later.
    # card_spans yields disjoint spans in order: one bisect finds the one a code could be in.
    cards = list(card_spans(text, masks)) if facts.digits >= 13 else []
    card_starts = [s for s, _e in cards]
    for code in unmasked_matches(_OTP_RE, text, masks):
        start, end = code.span()
        k = bisect_right(card_starts, start) - 1
        if k >= 0 and end <= cards[k][1]:
            continue
        hit = False
        i = bisect_right(t_ends, start)
        # The nearest 2FA word before the code: an id word after it makes the number an id.
        trigger_before = t_ends[i - 1] if i > 0 else 0
        if i > 0 and start - t_ends[i - 1] <= _OTP_AFTER:
            hit = gap_free(masks, t_ends[i - 1], start)
        j = bisect_left(t_starts, end)
        if not hit and j < len(t_starts) and t_starts[j] - end <= _OTP_BEFORE:
            hit = gap_free(masks, end, t_starts[j])
        if not hit:
            # "codes: 123456, 654321": a code listed right after a masked code is one too.
            hit = _follows_masked(text, masks, start, "otp_code")
        if not hit and expecting_2fa_code:
            hit = True
        # An amount, an order number or a user id stays visible, whatever 2FA word stands near
        # it and also when a code is expected: "UID 12345678, the code never came".
        if (
            hit
            and not _is_amount(text, masks, start, end)
            and not id_context_before(text, masks, start, trigger_before)
        ):
            claim(masks, found, start, end, "otp_code")


#: The Luhn sum of a doubled digit, as a digit: "5" doubled is 10, which adds 1.
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def _luhn_ok(digits: str) -> bool:
    """Whether ``digits`` pass the Luhn check of card numbers."""
    if not digits.isascii():
        digits = "".join(str(int(d)) for d in digits)  # fullwidth digits, as \d reads them
    doubled = digits[-2::-2].translate(_LUHN_DOUBLED)
    return (sum(map(int, digits[-1::-2])) + sum(map(int, doubled))) % 10 == 0


def card_spans(text: str, masks: Masks) -> Iterator[tuple[int, int]]:
    """Yield spans that look like a payment card number (IIN 2-6, 13-19 digits, Luhn).

    Windows that touch masked text are skipped rather than taken, so the greedy search goes on
    exactly as it would on a second pass where that text is a placeholder.
    """
    for m in _DIGIT_SEQ_RE.finditer(text):
        seq = m.group()
        if len(seq) < 13:
            continue
        if _CARD_START_RE.search(seq) is None:
            continue  # no group can start a card: spare the book-keeping below
        groups = [(g.start(), g.end()) for g in _DIGITS_RE.finditer(seq)]
        n = len(groups)
        # Per group, worked out once so that each window is judged in O(1): digits before it,
        # groups of a size other than 3-7 before it, and the last group that one separator
        # (the one after this group) reaches without changing.
        before = [0]
        odd_before = [0]
        for a, b in groups:
            before.append(before[-1] + b - a)
            odd_before.append(odd_before[-1] + (not 3 <= b - a <= 7))
        same_sep_to = list(range(n))
        for k in range(n - 2, -1, -1):
            same_sep_to[k] = k + 1
            if k + 2 < n and seq[groups[k + 1][1]] == seq[groups[k][1]]:
                same_sep_to[k] = same_sep_to[k + 1]
        base = m.start()
        i = hi = 0
        while i < n:
            taken = None
            first_start, first_end = groups[i]
            # Cards are written 4-x-x or unbroken, and start with 2-6.
            if (first_end - first_start not in (4, *range(13, 20))) or seq[
                first_start
            ] not in "23456":
                i += 1
                continue
            # A card has at most 19 digits, so a window spans at most 19 groups and 19 + 18
            # characters: a constant number of windows per group, which keeps a long run of
            # numbers ("4111 4111 4111 ...") linear. ``hi`` only moves forward as ``i`` does.
            # Of those windows, the ones with 13-19 digits are a contiguous range of ends j
            # (``before`` increases); the longest is tried first.
            hi = max(hi, i + 1)
            while hi < min(n, i + 19) and groups[hi][1] - first_start <= 19 + 18:
                hi += 1
            j_hi = min(hi, bisect_right(before, before[i] + 19) - 1)
            j_lo = max(i + 1, bisect_left(before, before[i] + 13))
            for j in range(j_hi, j_lo - 1, -1):
                end = groups[j - 1][1]
                if j - i == 1:
                    digits = seq[first_start:end]
                elif (
                    first_end - first_start != 4
                    or j - 1 > same_sep_to[i]
                    or odd_before[j] != odd_before[i + 1]
                ):
                    continue  # grouped: 4 first, then groups of 3-7, one separator throughout
                else:
                    digits = seq[first_start:end].replace(seq[first_end], "")
                if digits.count(digits[0]) == len(digits) or not _luhn_ok(digits):
                    continue
                if masks.overlaps(base + first_start, base + end):
                    continue
                taken = (base + first_start, base + end, j)
                break
            if taken is None:
                i += 1
                continue
            yield taken[0], taken[1]
            i = taken[2]


# Matched against the lower-cased text: a case-insensitive alternation is three times slower,
# and every staff message is checked. Staff ask in many words: "the 6-digit code shown in your
# authenticator app", "the code from Google Authenticator", "the number in your app",
# "验证器里的六位数". Linear: each alternative is anchored at a word and scans at most 40
# characters after it.
_ASKS_FOR_CODE = re.compile(
    r"(?:2fa|two[- ]factor|authenticator|verification|otp|sms|security|one[- ]time|google auth)"
    r"\s*+(?:code|pin|token|number)|authenticator|google auth|"
    # Not "the 8-digit order number" nor "your order number in the app": an agent asking for
    # an id must not get the customer's answer masked. The look-ahead reads at most 20 chars.
    r"\b(?:six|6|eight|8|seven|7)[- ]?digits?\b"
    r"(?![^.?!\n]{0,20}\b(?:order|uid|id|account|phone|ticket|reference)\b)|"
    r"\b(?:code|(?<!order )(?<!phone )(?<!ticket )(?<!account )number|digits)\b"
    r"[^.?!\n]{0,40}?\b(?:app|sms|text message)\b|"
    r"验证码|驗證碼|动态码|動態碼|校验码|谷歌验证|谷歌驗證|验证器|驗證器|[六6]位数|[六6]位數|"
    r"动态口令|動態口令|动态密码|動態密碼|安全码|二次验证"
)


def asks_for_code(text: str) -> bool:
    """Does a staff or bot message mention a 2FA/verification code?

    Then the customer's next message is redacted with ``expecting_2fa_code``: a bare 6-8 digit
    number in it is treated as the code it probably is. Staff never need one; an impostor or a
    careless agent asking must not get it stored.
    """
    return _ASKS_FOR_CODE.search(text[:2000].lower()) is not None
