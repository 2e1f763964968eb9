"""Mask secrets in customer messages before they are stored, logged or shown.

Customers of an exchange who are in a panic paste whatever they think will help: seed phrases,
private keys, API secrets, passwords, 2FA codes, card numbers. None of these may reach the
database, the logs or an agent's screen, so :func:`redact` runs on every customer message first
and replaces each secret with a language-neutral placeholder such as ``[redacted:seed_phrase]``.

Seed phrases are runs of at least 12 BIP39 words (English, or Chinese characters separated by
spaces or commas); a run is masked when it holds a checksum-valid phrase, or when it is not
mostly everyday words, so a mistyped phrase is still caught while a sentence such as "you can
also use this one now, what other day will you want help" stays visible.

What support needs stays visible: transaction hashes (a 64-hex string next to "txid", "hash",
"交易哈希" or inside an explorer URL), deposit addresses (``0x`` + 40 hex, ``bc1...``, ``1...``/
``3...``, TRON ``T...``), order ids, amounts, dates and phone numbers.

Detectors run in a fixed order and the first one to claim a span wins:

1. placeholders already in the text are protected (so redaction is idempotent);
2. shape-only detectors: BIP39 seed phrases, extended private keys, WIF keys;
3. keyword-triggered detectors: API secrets, "private key: ...", "seed phrase: ...",
   passwords, 2FA codes;
4. shape detectors with a visibility exemption (raw hex / base58 keys vs. transaction hashes,
   card numbers vs. order ids), decided left to right in one sweep.

A keyword's context never reaches across a span that is already masked: the gap between a
keyword and its target must be untouched text. That rule is what makes
``redact(redact(x).text).text == redact(x).text`` hold, because masking only ever *adds*
barriers and never changes the text inside an unmasked gap.

This module is pure: no I/O at call time (the BIP39 word lists are read once at import), no
clock, and :func:`redact` never raises for any ``str``.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from mnemonic import Mnemonic

__all__ = [
    "KINDS",
    "Redaction",
    "asks_for_code",
    "placeholder",
    "redact",
    "warning",
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


@dataclass(frozen=True, slots=True)
class Redaction:
    """The outcome of :func:`redact`: the masked text and which kinds of secret were found."""

    text: str
    kinds: tuple[str, ...]

    @property
    def masked(self) -> bool:
        """True when at least one secret was replaced."""
        return bool(self.kinds)


# --------------------------------------------------------------------------------------------
# Word lists, loaded once.

_EN_WORDS: tuple[str, ...] = tuple(Mnemonic("english").wordlist)
_EN_INDEX: dict[str, int] = {word: i for i, word in enumerate(_EN_WORDS)}
_EN_SET = frozenset(_EN_WORDS)
# Chinese wallets (imToken and others) hand out Chinese mnemonics: one character per word.
_ZH_INDEXES: tuple[dict[str, int], ...] = tuple(
    {word: i for i, word in enumerate(Mnemonic(lang).wordlist)}
    for lang in ("chinese_simplified", "chinese_traditional")
)
_ZH_SET = frozenset(_ZH_INDEXES[0]) | frozenset(_ZH_INDEXES[1])
# The Chinese lists are ordered by character frequency; the first 160 (的 一 是 在 不 了 ...)
# play the role _COMMON_EN plays for English.
_COMMON_ZH = frozenset(w for index in _ZH_INDEXES for w, i in index.items() if i < 160)

# Very frequent English words (and support-chat words) that are also BIP39 words: about 6% of
# the list. A real mnemonic draws its words uniformly from 2048, so 6 or more of these in 12
# words happens about 3 times in 100,000; a run of 12 list words taken from an ordinary sentence
# ("you can also use this one now, what other day will you want help") is mostly made of them.
# Runs without a valid checksum that are at least half common words are left visible.
_COMMON_EN = _EN_SET & frozenset(
    """
    that have you this they say will one all there what about when make can like time just
    know people into year good other then now only come over also use two work first way want
    because any give day please help account order deposit still since wrong right correct
    valid nothing again before today tomorrow need transfer receive check problem issue wait
    sorry balance fee price where very much more long next never same three month hour minute
    already call tell ask try find keep put feel leave mean talk turn start play run move live
    believe hold bring write provide stand include learn change follow speak allow add spend
    grow open walk win offer remember love consider appear expect build stay fall remain
    """.split()
)

_PREFIX4_EN = frozenset(word[:4] for word in _EN_WORDS)
_LETTERS = "abcdefghijklmnopqrstuvwxyz"

# --------------------------------------------------------------------------------------------
# Compiled patterns. Boundaries are spelled as ASCII classes on purpose: Python's \w and \b are
# Unicode-aware, and in "验证码是123456" the CJK character before the digits counts as \w.
# The boundaries also refuse "]" before and "[" after: a placeholder stands where a secret was,
# and a string glued to a secret must stay as unmatchable on the second pass as on the first.

_PLACEHOLDER_RE = re.compile(r"\[redacted:[a-z_]+\]")
_B58 = "1-9A-HJ-NP-Za-km-z"

# Tokens for the seed-phrase scan: placeholders (always breakers), Latin words, CJK runs.
_TOKEN_RE = re.compile(r"\[redacted:[a-z_]+\]|[A-Za-z]+|[\u3400-\u9fff]+")
# What may sit between two words of a pasted phrase: separators and an optional "2." numbering.
_GLUE_PUNCT = r"[\s,;.、，；。:：)(\-–—|/\"'*·•#]"
_GLUE_RE = re.compile(rf"{_GLUE_PUNCT}*(?:\d{{1,2}}{_GLUE_PUNCT}*)?")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_CJK_CHAR_RE = re.compile(r"[\u3400-\u9fff]")
_CJK_ALONE_RE = re.compile(r"(?<![\u3400-\u9fff])[\u3400-\u9fff](?![\u3400-\u9fff])")

_XPRV_RE = re.compile(rf"(?<![0-9A-Za-z\]])[xyztuvXYZUV]prv[{_B58}]{{20,}}")
_WIF_RE = re.compile(
    rf"(?<![0-9A-Za-z\]])(?:5[HJK][{_B58}]{{49}}|[KL][{_B58}]{{51}})(?![0-9A-Za-z\[])"
)
_HEX_RUN_RE = re.compile(r"[0-9a-fA-F]{64}")  # what _HEX64_RE needs, found without look-arounds
_HEX64_RE = re.compile(r"(?<![0-9A-Za-z\]])(?:0[xX])?[0-9a-fA-F]{64}(?![0-9A-Za-z\[])")
# A 64-byte base58 string (Solana keypair export, 87-88 chars); Solana transaction signatures
# have the same shape, so these get the same transaction exemption as hex keys.
_B58_64_RE = re.compile(rf"(?<![0-9A-Za-z\]])[{_B58}]{{86,88}}(?![0-9A-Za-z\[])")

_HAS_DIGIT = re.compile(r"\d")
_HAS_LETTER = re.compile(r"[A-Za-z]")
_SEP = r"(?:\s*(?:is|was|are|=|:|：|是|为|為)\s*)"
_VALUE_STOP = r"(?:(?!(?-i:\[redacted:))\S)+"

_KEY_TRIGGER_RE = re.compile(
    r"(?:private[\s_-]*key|priv[\s_-]*key|privkey|私钥|私鑰)"
    rf"(?:\s+(?:for|of|on|to)\s+\S+)?{_SEP}*[\"'“「]?"
    r"(?P<value>[A-Za-z0-9+/=]{32,})",
    re.IGNORECASE,
)
_SECRET_TRIGGER_RE = re.compile(
    r"(?<![A-Za-z])(?:(?:api|apikey)[\s_-]*)?(?:secret(?:[\s_-]*key)?|密钥|秘钥|密鑰)"
    rf"(?:\s+(?:for|of|on|to)\s+\S+)?{_SEP}*[\"'“「]?"
    r"(?P<value>[A-Za-z0-9+/=_\-]{16,})",
    re.IGNORECASE,
)
_SEED_TRIGGER_RE = re.compile(
    r"(?:seed(?:\s*phrase|\s*words)?|recovery\s*(?:phrase|words)|mnemonic(?:\s*phrase)?|"
    r"secret\s*(?:recovery\s*)?phrase|助记词|助記詞)\s*(?:is|was|are|:|：|是|为|為)\s*",
    re.IGNORECASE,
)
#: One of these starts every keyword of _SEED_TRIGGER_RE (a cheap test before the search).
_SEED_KEYWORDS = ("seed", "recovery", "mnemonic", "secret", "助记词", "助記詞")
_PASSWORD_EN_RE = re.compile(
    r"(?<![A-Za-z])(?:(?:login|account|trading|trade|fund|funds|withdrawal|email|wallet|exchange)"
    r"\s+)?(?:password|passwd|passcode|passphrase|pass\s+word|pwd|pw|pin(?:\s*code)?)"
    r"(?![A-Za-z])(?:\s+(?:for|of|on|at|to)\s+(?:[\w.@-]+\s+){0,2}?[\w.@-]+)?"
    r"(?:\s*(?P<verb>is|was)(?![A-Za-z])\s*[:：]?|\s*[:=：])\s*"
    rf"(?P<value>[\"“'「][^\"”'」\n]{{1,64}}[\"”'」]|{_VALUE_STOP})",
    re.IGNORECASE,
)
# Chinese: the password is whatever printable ASCII follows "密码", with or without "是"/"：".
# Stopping at the first non-ASCII character keeps "密码错误" / "密码是多少" visible.
_PASSWORD_ZH_RE = re.compile(
    r"(?:密码|密碼|口令)\s*(?P<sep>(?:是|为|為)?\s*[:：=]?)\s*"
    r"(?P<value>[\"“'「][^\"”'」\n]{1,64}[\"”'」]|(?:(?!\[redacted:)[!-~])+)"
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
# Words before a digit string that make it an identifier rather than a card number or a code.
_ID_CONTEXT_RE = re.compile(
    r"order|订单|訂單|单号|單號|编号|編號|流水|\bid\b|uid|\bref\b|reference|tracking|invoice|"
    r"ticket|#|\btx|交易|hash|phone|\btel\b|电话|電話|手机|手機|\bqq\b|wechat|微信|工单",
    re.IGNORECASE,
)

_LIST_GAP_RE = re.compile(r"(?:\s|[,;、，；|&]|and|和){1,8}", re.IGNORECASE)
# How far (in characters of untouched text) a keyword's influence reaches. Chosen so that
# "txid for my withdrawal yesterday: <hash>" still counts, while a keyword two sentences away
# does not.
_KEYWORD_BEFORE = 48
_KEYWORD_AFTER = 24
_OTP_AFTER = 40
_OTP_BEFORE = 24
_ID_BEFORE = 24
_MIN_SEED_WORDS = 12
_MIN_SEED_AFTER_KEYWORD = 6


# --------------------------------------------------------------------------------------------
# The span book-keeping shared by all detectors.


class _Masks:
    """Claimed spans, disjoint and sorted; ``kind`` None marks a pre-existing placeholder.

    Because the spans never overlap, sorting by start also sorts by end, so every query is a
    binary search: a message full of secrets costs O(n log n), not O(n^2).
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
        i = bisect_left(self.starts, pos)
        return self.starts[i] if i < len(self.starts) else None

    def last_end_before(self, pos: int) -> int:
        i = bisect_right(self.starts, pos)
        while i > 0:
            end = self.spans[i - 1][1]
            if end <= pos:
                return end
            i -= 1
        return 0

    def claim(self, start: int, end: int, kind: str | None) -> bool:
        if start >= end or self.overlaps(start, end):
            return False
        i = bisect_left(self.starts, start)
        self.starts.insert(i, start)
        self.spans.insert(i, (start, end, kind))
        return True


def _unmasked_matches(
    pattern: re.Pattern[str], text: str, masks: _Masks
) -> Iterator[re.Match[str]]:
    """Matches of ``pattern`` that touch no masked span, found as if masks were placeholders.

    A match that runs into masked text is dropped and the search resumes after that span, as
    it would on a second pass where the span is a placeholder. ``finditer`` would instead skip
    the rest of the dropped match, and a second pass could then find something new there.
    Masks claimed while the caller iterates are taken into account.
    """
    pos = 0
    while (m := pattern.search(text, pos)) is not None:
        if not masks.overlaps(m.start(), m.end()):
            yield m
            pos = m.end() if m.end() > m.start() else m.start() + 1
            continue
        i = bisect_right(masks.starts, m.start())
        # The span holding m.start(), else the first span that begins inside the match.
        if i > 0 and masks.spans[i - 1][1] > m.start():
            pos = masks.spans[i - 1][1]
        else:
            pos = masks.spans[i][1]


# --------------------------------------------------------------------------------------------
# Seed phrases.


def _edit1_in_list(word: str) -> bool:
    """True when ``word`` is one typo (edit, insertion, deletion, swap) away from a BIP39 word."""
    if len(word) < 4 or len(word) > 9:
        return False
    splits = [(word[:i], word[i:]) for i in range(len(word) + 1)]
    for left, right in splits:
        if right and left + right[1:] in _EN_SET:
            return True
        if len(right) > 1 and left + right[1] + right[0] + right[2:] in _EN_SET:
            return True
        for c in _LETTERS:
            if right and left + c + right[1:] in _EN_SET:
                return True
            if left + c + right in _EN_SET:
                return True
    return False


def _looks_like_typo(word: str) -> bool:
    # BIP39 words are unique in their first four letters and wallets accept those alone.
    return word[:4] in _PREFIX4_EN or _edit1_in_list(word)


def _checksum_ok(words: list[str], index: dict[str, int]) -> bool:
    """Whether ``words`` is a BIP39 mnemonic of the list ``index`` with a valid checksum."""
    if len(words) not in (12, 15, 18, 21, 24) or any(w not in index for w in words):
        return False
    bits = "".join(format(index[w], "011b") for w in words)
    split = len(bits) // 33 * 32
    entropy = int(bits[:split], 2).to_bytes(split // 8, "big")
    digest = hashlib.sha256(entropy).digest()
    check_len = len(bits) - split
    return format(digest[0], "08b")[:check_len] == bits[split:]


def _holds_valid_mnemonic(words: list[str]) -> bool:
    """Whether some 12-24 word window of ``words`` is a checksum-valid mnemonic.

    The window search matters when list words before or after the phrase ("please help seed:
    ...") make the run longer than the phrase itself.
    """
    indexes = (_EN_INDEX,) if words[0].isascii() else _ZH_INDEXES
    for size in (12, 15, 18, 21, 24):
        for i in range(len(words) - size + 1):
            if any(_checksum_ok(words[i : i + size], index) for index in indexes):
                return True
    return False


@dataclass(slots=True)
class _Token:
    start: int
    end: int
    word: str  # lower-cased
    strong: bool
    weak: bool
    lang: str  # "en", "zh" or "" for breakers


def _tokens(text: str) -> list[_Token]:
    out: list[_Token] = []
    for m in _TOKEN_RE.finditer(text):
        raw = m.group()
        if raw.startswith("["):
            out.append(_Token(m.start(), m.end(), raw, False, False, ""))
        elif raw[0].isascii():
            word = raw.lower()
            strong = word in _EN_SET
            weak = not strong and 3 <= len(word) <= 9
            out.append(_Token(m.start(), m.end(), word, strong, weak, "en"))
        else:
            strong = len(raw) == 1 and raw in _ZH_SET
            out.append(_Token(m.start(), m.end(), raw, strong, False, "zh"))
    return out


def _glued(text: str, a: _Token, b: _Token) -> bool:
    """Whether two tokens sit next to each other as words of one pasted phrase."""
    if a.lang != b.lang or not a.lang:
        return False
    gap = text[a.end : b.start]
    # Chinese mnemonic words must be separated; unseparated Chinese is just a sentence.
    if a.lang == "zh" and not gap:
        return False
    return len(gap) <= 12 and _GLUE_RE.fullmatch(gap) is not None


def _seed_runs(text: str, tokens: list[_Token]) -> Iterator[list[_Token]]:
    """Yield maximal runs of glued list words (a typo allowed between two list words)."""
    run: list[_Token] = []
    n = len(tokens)
    for i, tok in enumerate(tokens):
        candidate = tok.strong
        if not candidate and tok.weak and 0 < i < n - 1:
            prev_tok, next_tok = tokens[i - 1], tokens[i + 1]
            candidate = (
                prev_tok.strong
                and next_tok.strong
                and _glued(text, prev_tok, tok)
                and _glued(text, tok, next_tok)
                and _looks_like_typo(tok.word)
            )
        if candidate and run and _glued(text, run[-1], tok):
            run.append(tok)
            continue
        if run:
            yield run
        run = [tok] if candidate else []
    if run:
        yield run


def _is_seed_run(run: list[_Token]) -> bool:
    if len(run) < _MIN_SEED_WORDS:
        return False
    strong = [t.word for t in run if t.strong]
    typos = len(run) - len(strong)
    # A couple of typos per 12 words is a mistyped phrase; more is ordinary text.
    if typos > len(run) // 6:
        return False
    # A checksum-valid phrase anywhere in the run settles it (typos split the run into
    # segments). The window search is bounded: longer runs are judged on their words alone.
    if len(run) <= 48:
        segment: list[str] = []
        for tok in [*run, None]:
            if tok is not None and tok.strong:
                segment.append(tok.word)
                continue
            if len(segment) >= _MIN_SEED_WORDS and _holds_valid_mnemonic(segment):
                return True
            segment = []
    common_words = _COMMON_ZH if run[0].lang == "zh" else _COMMON_EN
    common = sum(1 for w in strong if w in common_words)
    return common * 2 < len(run)


#: A run of n >= 12 list words allows n // 6 typos, so it holds at least this many list words.
_MIN_SEED_LIST_WORDS = _MIN_SEED_WORDS - _MIN_SEED_WORDS // 6


def _longest_en_run(latin: list[str]) -> int:
    """List words in the longest run of list words, a lone other word of 3-9 letters allowed.

    An upper bound of what :func:`_seed_runs` can find: it ignores the gaps and the Chinese
    between the words (which only break runs) and accepts any such word as a typo.
    """
    best = count = 0
    pending = False  # one non-list word after a list word: the run survives if a list word follows
    for word in latin:
        if word.lower() in _EN_SET:
            count += 1
            pending = False
            best = max(best, count)
        elif count and not pending and 3 <= len(word) <= 9:
            pending = True
        else:
            count, pending = 0, False
    return best


def _may_hold_seed_run(latin: list[str], text: str) -> bool:
    """Whether ``text`` has enough BIP39 words, in one language, for a seed run at all.

    A necessary condition, counted over the whole message (runs are contiguous, so a run needs
    at least as many). Everyday sentences of twelve words or more fail it in a few
    microseconds instead of being tokenised (that was most of the cost of a chat message).
    """
    if len(latin) >= _MIN_SEED_LIST_WORDS and _longest_en_run(latin) >= _MIN_SEED_LIST_WORDS:
        return True
    if len(_CJK_CHAR_RE.findall(text)) < _MIN_SEED_LIST_WORDS:
        return False
    # Only a character standing alone is a Chinese list word (see _tokens).
    alone = _CJK_ALONE_RE.findall(text)
    return sum(1 for char in alone if char in _ZH_SET) >= _MIN_SEED_LIST_WORDS


@dataclass(frozen=True, slots=True)
class _Facts:
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
    def of(cls, text: str) -> _Facts:
        folded = text.casefold().replace("i\u0307", "i").replace("ı", "i")
        return cls(folded, len(_HAS_DIGIT.findall(text)))


def _detect_seed_phrases(text: str, masks: _Masks, found: set[str], facts: _Facts) -> None:
    # Cheap pre-checks first: tokenising is only worth it for a message long enough to hold a
    # phrase, or one that announces a (possibly shorter) phrase.
    latin = _LATIN_WORD_RE.findall(text)
    words = len(latin)
    full_scan = _may_hold_seed_run(latin, text)
    triggers = (
        list(_SEED_TRIGGER_RE.finditer(text))
        if words >= _MIN_SEED_AFTER_KEYWORD and any(k in facts.folded for k in _SEED_KEYWORDS)
        else []
    )
    if not full_scan and not triggers:
        return
    tokens = _tokens(text)
    if full_scan:
        for run in _seed_runs(text, tokens):
            if _is_seed_run(run) and masks.claim(run[0].start, run[-1].end, "seed_phrase"):
                found.add("seed_phrase")
    # A shorter phrase is still a secret when the customer announces it ("my seed phrase is").
    if not triggers:
        return
    starts = [t.start for t in tokens]
    # run_end[k]: index of the last token of the glued run of list words starting at k, computed
    # once from the right so that many triggers cost O(n), not O(n^2).
    run_end = list(range(len(tokens)))
    for k in range(len(tokens) - 2, -1, -1):
        if tokens[k].strong and tokens[k + 1].strong and _glued(text, tokens[k], tokens[k + 1]):
            run_end[k] = run_end[k + 1]
    for m in triggers:
        k = bisect_left(starts, m.end())
        if k == len(tokens) or not tokens[k].strong:
            continue
        if not _GLUE_RE.fullmatch(text, m.end(), tokens[k].start):
            continue
        last = run_end[k]
        if last - k + 1 >= _MIN_SEED_AFTER_KEYWORD and masks.claim(
            tokens[k].start, tokens[last].end, "seed_phrase"
        ):
            found.add("seed_phrase")


# --------------------------------------------------------------------------------------------
# Keyword-triggered detectors.


def _trigger_values(
    pattern: re.Pattern[str], text: str, masks: _Masks
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
            pos = m.start() + 1  # the keyword itself is inside masked text
            continue
        nxt = masks.first_start_after(start)
        if nxt is not None and nxt < end:
            end = nxt
        if end <= start:
            pos = m.start() + 1
            continue
        yield m, start, end
        pos = end


def _claim(masks: _Masks, found: set[str], start: int, end: int, kind: str) -> None:
    if masks.claim(start, end, kind):
        found.add(kind)


def _gap_free(masks: _Masks, start: int, end: int) -> bool:
    return not masks.crosses(start, end)


def _detect_triggered_values(text: str, masks: _Masks, found: set[str], facts: _Facts) -> None:
    if any(k in facts.folded for k in ("key", "私钥", "私鑰", "priv")):
        for _, start, end in _trigger_values(_KEY_TRIGGER_RE, text, masks):
            if end - start >= 32:
                _claim(masks, found, start, end, "private_key")
    if not any(k in facts.folded for k in ("secret", "密钥", "秘钥", "密鑰")):
        return
    for _, start, end in _trigger_values(_SECRET_TRIGGER_RE, text, masks):
        value = text[start:end]
        # Real secrets mix letters and digits; "secret key is incorrectly-configured" does not.
        if len(value) >= 16 and _HAS_DIGIT.search(value) and _HAS_LETTER.search(value):
            _claim(masks, found, start, end, "api_secret")


def _detect_passwords(text: str, masks: _Masks, found: set[str], facts: _Facts) -> None:
    # Every keyword of _PASSWORD_EN_RE holds one of these.
    if any(k in facts.folded for k in ("pass", "pw", "pin")):
        for m, start, end in _trigger_values(_PASSWORD_EN_RE, text, masks):
            value = text[start:end]
            if m.group("verb") and value[0] not in "\"“'「":
                if value.lower().rstrip(".,!?;:") in _PASSWORD_STOPWORDS:
                    continue
            if len(value.strip("\"“”'「」")) >= 3:
                _claim(masks, found, start, end, "password")
    if "密" in text or "口令" in text:
        for m, start, end in _trigger_values(_PASSWORD_ZH_RE, text, masks):
            value = text[start:end]
            if not m.group("sep").strip() and value.lower() in _PASSWORD_STOPWORDS:
                continue
            if len(value.strip("\"“”'「」")) >= 3:
                _claim(masks, found, start, end, "password")


def _id_context_before(text: str, masks: _Masks, start: int) -> bool:
    """Whether an order/phone/tx keyword sits just before ``start`` in untouched text."""
    lo = max(masks.last_end_before(start), start - _ID_BEFORE)
    return _ID_CONTEXT_RE.search(text, lo, start) is not None


def _follows_masked(text: str, masks: _Masks, start: int, kind: str) -> bool:
    """Whether ``start`` follows a span masked as ``kind`` with only a list separator between."""
    i = bisect_right(masks.starts, start)
    if i == 0:
        return False
    s, e, k = masks.spans[i - 1]
    if e > start or not (k == kind or (k is None and text[s:e] == placeholder(kind))):
        return False
    return _LIST_GAP_RE.fullmatch(text, e, start) is not None


def _detect_otp(
    text: str, masks: _Masks, found: set[str], facts: _Facts, expecting_2fa_code: bool
) -> None:
    if facts.digits < 6 or not _OTP_RE.search(text):
        return
    triggers = list(_OTP_TRIGGER_RE.finditer(text))
    # Matches of one pattern are disjoint and in order, so starts and ends are both sorted and
    # only the nearest trigger on each side needs checking: a farther one's gap contains it.
    t_starts = [t.start() for t in triggers]
    t_ends = [t.end() for t in triggers]
    for code in _unmasked_matches(_OTP_RE, text, masks):
        start, end = code.span()
        hit = False
        i = bisect_right(t_ends, start)
        if i > 0 and start - t_ends[i - 1] <= _OTP_AFTER:
            hit = _gap_free(masks, t_ends[i - 1], start)
        j = bisect_left(t_starts, end)
        if not hit and j < len(t_starts) and t_starts[j] - end <= _OTP_BEFORE:
            hit = _gap_free(masks, end, t_starts[j])
        if not hit:
            # "codes: 123456, 654321": a code listed right after a masked code is one too.
            hit = _follows_masked(text, masks, start, "otp_code")
        if not hit and expecting_2fa_code:
            # An order number typed while a code is expected still reads as an order number.
            hit = not _id_context_before(text, masks, start)
        if hit:
            _claim(masks, found, start, end, "otp_code")


# --------------------------------------------------------------------------------------------
# Shape detectors with a visibility exemption, swept left to right.


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _card_spans(text: str, masks: _Masks) -> Iterator[tuple[int, int]]:
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


def _token_prefix(text: str, masks: _Masks, start: int) -> str:
    """The part of the whitespace-delimited token before ``start``, cut at masked spans.

    Only the part before is looked at: what follows may still be masked later in the sweep,
    and a decision must not depend on text that a second pass would see as a placeholder.
    """
    floor = masks.last_end_before(start)
    lo = start
    while lo > floor and not text[lo - 1].isspace():
        lo -= 1
    return text[lo:start]


def _tx_context(text: str, masks: _Masks, start: int, end: int, next_candidate: int | None) -> bool:
    """Whether the key-shaped string at ``[start, end)`` reads as a transaction hash."""
    if "/" in _token_prefix(text, masks, start):
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


def _detect_exempt_shapes(text: str, masks: _Masks, found: set[str], facts: _Facts) -> None:
    candidates: list[tuple[int, int, str]] = []
    if len(text) >= 64 and _HEX_RUN_RE.search(text):
        candidates += [
            (m.start(), m.end(), "private_key") for m in _unmasked_matches(_HEX64_RE, text, masks)
        ]
    if len(text) >= 86:
        candidates += [
            (m.start(), m.end(), "private_key") for m in _unmasked_matches(_B58_64_RE, text, masks)
        ]
    if facts.digits >= 13:
        candidates += [(s, e, "card_number") for s, e in _card_spans(text, masks)]
    candidates = [c for c in candidates if not masks.overlaps(c[0], c[1])]
    candidates.sort()
    prev_tx_end = -1
    for idx, (start, end, kind) in enumerate(candidates):
        if masks.overlaps(start, end):
            continue
        if kind == "private_key":
            # "txids: <hash>, <hash>": a hash listed right after a visible hash is one too.
            in_list = prev_tx_end >= 0 and _LIST_GAP_RE.fullmatch(text, prev_tx_end, start)
            later = idx + 1
            while later < len(candidates) and candidates[later][0] < end:
                later += 1
            nxt = candidates[later][0] if later < len(candidates) else None
            if in_list or _tx_context(text, masks, start, end, nxt):
                prev_tx_end = end
                continue
        elif _id_context_before(text, masks, start):
            continue
        if masks.claim(start, end, kind):
            found.add(kind)


# --------------------------------------------------------------------------------------------
# Entry point.


def _apply(text: str, spans: Iterable[tuple[int, int, str | None]]) -> str:
    parts: list[str] = []
    pos = 0
    for start, end, kind in spans:
        parts.append(text[pos:start])
        parts.append(text[start:end] if kind is None else placeholder(kind))
        pos = end
    parts.append(text[pos:])
    return "".join(parts)


def _redact(text: str, expecting_2fa_code: bool) -> Redaction:
    masks = _Masks()
    for m in _PLACEHOLDER_RE.finditer(text):
        masks.claim(m.start(), m.end(), None)
    found: set[str] = set()
    facts = _Facts.of(text)
    _detect_seed_phrases(text, masks, found, facts)
    for m in _unmasked_matches(_XPRV_RE, text, masks):
        if masks.claim(m.start(), m.end(), "extended_private_key"):
            found.add("extended_private_key")
    if len(text) >= 51:
        for m in _unmasked_matches(_WIF_RE, text, masks):
            if masks.claim(m.start(), m.end(), "wif_key"):
                found.add("wif_key")
    _detect_triggered_values(text, masks, found, facts)
    _detect_passwords(text, masks, found, facts)
    _detect_otp(text, masks, found, facts, expecting_2fa_code)
    _detect_exempt_shapes(text, masks, found, facts)
    if not found:
        return Redaction(text, ())
    return Redaction(_apply(text, masks.spans), tuple(sorted(found)))


def redact(text: str, *, expecting_2fa_code: bool = False) -> Redaction:
    """Mask every secret in ``text``; ``expecting_2fa_code`` masks any bare 6-8 digit code.

    Never raises: a message that trips a bug in a detector is masked whole (text
    ``[redacted:unknown]``, kinds ``("unknown",)``) rather than passed through, because leaking
    a secret is worse than hiding a harmless message.
    """
    try:
        return _redact(text, expecting_2fa_code)
    except Exception:  # pragma: no cover - defensive; the tests find no input that gets here
        return Redaction(placeholder("unknown"), ("unknown",))


# --------------------------------------------------------------------------------------------
# The warning shown to the customer.

_NAMES = {
    "en": {
        "seed_phrase": "a recovery (seed) phrase",
        "private_key": "a private key",
        "wif_key": "a private key",
        "extended_private_key": "an extended private key (xprv)",
        "api_secret": "an API secret",
        "password": "a password",
        "otp_code": "a 2FA code",
        "card_number": "a card number",
    },
    "zh": {
        "seed_phrase": "助记词",
        "private_key": "私钥",
        "wif_key": "私钥",
        "extended_private_key": "扩展私钥（xprv）",
        "api_secret": "API 密钥",
        "password": "密码",
        "otp_code": "二次验证（2FA）验证码",
        "card_number": "银行卡号",
    },
}

_ADVICE = {
    "en": {
        "wallet": "move your funds to a new wallet with a new seed phrase right away",
        "api_secret": "delete that API key and create a new one",
        "password": "change your password",
        "otp_code": "change your password and reset your 2FA",
        "card_number": "ask your bank to block the card",
    },
    "zh": {
        "wallet": "请立即把资产转移到用新助记词创建的新钱包",
        "api_secret": "请删除该 API 密钥并重新创建",
        "password": "请修改密码",
        "otp_code": "请修改密码并重置二次验证",
        "card_number": "请联系银行冻结该卡",
    },
}
_WALLET_KINDS = frozenset({"seed_phrase", "private_key", "wif_key", "extended_private_key"})


def _locale_lang(locale: str) -> str:
    return "zh" if locale.lower().replace("_", "-").startswith("zh") else "en"


def _advice_keys(kinds: Iterable[str]) -> list[str]:
    keys: list[str] = []
    for kind in kinds:
        key = "wallet" if kind in _WALLET_KINDS else kind
        if key in _ADVICE["en"] and key not in keys:
            keys.append(key)
    return keys


def warning(kinds: Iterable[str], locale: str = "en") -> str:
    """Return the notice shown to the customer at once when :func:`redact` masked something.

    ``locale`` starting with "zh" gives Chinese, anything else English. Empty ``kinds`` gives "".
    """
    given = set(kinds)
    ordered = [k for k in KINDS if k in given]
    extra = sorted(given - set(KINDS))
    if not ordered and not extra:
        return ""
    lang = _locale_lang(locale)
    names: list[str] = []
    for kind in ordered:
        name = _NAMES[lang][kind]
        if name not in names:
            names.append(name)
    if extra:
        names.append("敏感信息" if lang == "zh" else "a secret")
    advice = [_ADVICE[lang][key] for key in _advice_keys(ordered)]
    if lang == "zh":
        what = "、".join(names)
        text = (
            f"为了您的安全，我们已从您的消息中删除了看起来像{what}的内容，"
            "客服看不到它，也不会保存它。客服人员绝不会向您索要密码、二次验证码、私钥或助记词。"
        )
        if advice:
            text += "如果您认为它可能已经泄露：" + "；".join(advice) + "。"
        return text
    what = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    text = (
        f"For your safety we removed what looked like {what} from your message; our staff "
        "cannot see it and it was not stored. Our staff will never ask for your password, "
        "2FA code, private key or seed phrase."
    )
    if advice:
        steps = advice[0] if len(advice) == 1 else "; ".join(advice)
        text += f" If you think it may have been exposed, {steps}."
    return text


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
