"""Seed phrases: runs of BIP39 words (English, or Chinese characters), bare or announced.

A run of at least 12 list words is masked when it holds a checksum-valid phrase, or when it is
not mostly everyday words, so a mistyped phrase is still caught while a sentence such as "you
can also use this one now, what other day will you want help" stays visible. A shorter run is
masked when the customer announces it ("my seed phrase is ...").

The word lists are read once, at import.
"""

from __future__ import annotations

import hashlib
import re
from bisect import bisect_left
from collections.abc import Iterator
from dataclasses import dataclass

from mnemonic import Mnemonic

from ._spans import Facts, Masks

__all__ = ["MIN_CONTINUATION", "PREVIOUS_TAIL", "detect_continuation", "detect_seed_phrases"]

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
    wallet access address token coin network verify unlock lock report history error amount
    limit trade cash fund money card phone email agent human live support service
    """.split()
)

_PREFIX4_EN = frozenset(word[:4] for word in _EN_WORDS)
# Every list word with one letter left out, and the same with the position of the letter: what
# _edit1_in_list looks a typo up in.
_EN_DELETES = frozenset(w[:i] + w[i + 1 :] for w in _EN_WORDS for i in range(len(w)))
_EN_DELETES_AT = frozenset((i, w[:i] + w[i + 1 :]) for w in _EN_WORDS for i in range(len(w)))


# Tokens for the seed-phrase scan: placeholders (always breakers), Latin words, CJK runs.
_TOKEN_RE = re.compile(r"\[redacted:[a-z_]+\]|[A-Za-z]+|[\u3400-\u9fff]+")
# What may sit between two words of a pasted phrase: separators and an optional "2." numbering.
_GLUE_PUNCT = r"[\s,;.、，；。:：)(\-–—|/\"'*·•#]"
# Possessive: the punctuation and the digits are disjoint classes, so nothing is given back.
_GLUE_RE = re.compile(rf"{_GLUE_PUNCT}*+(?:\d{{1,2}}+{_GLUE_PUNCT}*+)?+")
_LATIN_WORD_RE = re.compile(r"[A-Za-z]+")
_CJK_CHAR_RE = re.compile(r"[\u3400-\u9fff]")
_CJK_ALONE_RE = re.compile(r"(?<![\u3400-\u9fff])[\u3400-\u9fff](?![\u3400-\u9fff])")
_SEED_TRIGGER_RE = re.compile(
    r"(?:seed(?:\s*+phrase|\s*+words)?|recovery\s*+(?:phrase|words)|mnemonic(?:\s*+phrase)?|"
    r"secret\s*+(?:recovery\s*+)?phrase|助记词|助記詞)\s*+(?:is|was|are|:|：|是|为|為)\s*+",
    re.IGNORECASE,
)
#: One of these starts every keyword of _SEED_TRIGGER_RE (a cheap test before the search).
_SEED_KEYWORDS = ("seed", "recovery", "mnemonic", "secret", "助记词", "助記詞")
_SEED_HINT = re.compile("|".join(_SEED_KEYWORDS))
_MIN_SEED_WORDS = 12
_MIN_SEED_AFTER_KEYWORD = 6
#: The shortest message announcing Chinese words: the shortest keyword (3 characters, 助记词), a
#: separator (a character glued to the keyword would make one token of them) and 6 characters
#: with 5 separators.
_MIN_ANNOUNCED_ZH_CHARS = 3 + 1 + 2 * _MIN_SEED_AFTER_KEYWORD - 1


def _edit1_in_list(word: str) -> bool:
    """True when ``word`` is one typo (edit, insertion, deletion, swap) away from a BIP39 word.

    Looked up in the lists of one-letter deletions built at import: about 30 set lookups per
    word where trying every letter at every position took about 500.
    """
    if len(word) < 4 or len(word) > 9:
        return False
    if word in _EN_DELETES:  # a letter left out
        return True
    for i in range(len(word)):
        rest = word[:i] + word[i + 1 :]
        if rest in _EN_SET or (i, rest) in _EN_DELETES_AT:  # a letter too many, or a wrong one
            return True
        if i + 1 < len(word) and word[:i] + word[i + 1] + word[i] + word[i + 2 :] in _EN_SET:
            return True  # two letters swapped
    return False


def _looks_like_typo(word: str) -> bool:
    # BIP39 words are unique in their first four letters and wallets accept those alone.
    return word[:4] in _PREFIX4_EN or _edit1_in_list(word)


def _checksum_ok(nums: list[int]) -> bool:
    """Whether the list indexes ``nums`` (12, 15, 18, 21 or 24) form a valid BIP39 checksum.

    The words are 11 bits each; the last ``len // 3`` bits are the first bits of the SHA-256
    of the rest (the entropy).
    """
    value = 0
    for n in nums:
        value = value << 11 | n
    check_len = len(nums) // 3
    entropy = (value >> check_len).to_bytes((len(nums) * 11 - check_len) // 8, "big")
    return hashlib.sha256(entropy).digest()[0] >> (8 - check_len) == value & ((1 << check_len) - 1)


def _holds_valid_mnemonic(words: list[str]) -> bool:
    """Whether some 12-24 word window of ``words`` is a checksum-valid mnemonic.

    The window search matters when list words before or after the phrase ("please help seed:
    ...") make the run longer than the phrase itself. The caller bounds ``words`` (48), so this
    is at most 150 windows per list, each one SHA-256 of at most 32 bytes.
    """
    indexes = (_EN_INDEX,) if words[0].isascii() else _ZH_INDEXES
    for index in indexes:
        nums = [index.get(w, -1) for w in words]
        for size in (12, 15, 18, 21, 24):
            for i in range(len(nums) - size + 1):
                window = nums[i : i + size]
                if -1 not in window and _checksum_ok(window):
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


def detect_seed_phrases(text: str, masks: Masks, found: set[str], facts: Facts) -> None:
    """Mask runs of BIP39 words that hold a seed phrase, and shorter announced runs."""
    # Cheap pre-checks first: tokenising is only worth it for a message long enough to hold a
    # phrase, or one that announces a (possibly shorter) phrase.
    latin = _LATIN_WORD_RE.findall(text)
    words = len(latin)
    full_scan = _may_hold_seed_run(latin, text)
    # An announced phrase has 6 words at least: Latin ones, or Chinese characters standing
    # alone ("助记词是 毫 粉 景 界 尾 渐"; counting Latin words only let it through). The length
    # test spares short lines the keyword search, as the word count did before.
    triggers = (
        list(_SEED_TRIGGER_RE.finditer(text))
        if (words >= _MIN_SEED_AFTER_KEYWORD or len(text) >= _MIN_ANNOUNCED_ZH_CHARS)
        and _SEED_HINT.search(facts.folded)
        and (
            words >= _MIN_SEED_AFTER_KEYWORD
            or len(_CJK_ALONE_RE.findall(text)) >= _MIN_SEED_AFTER_KEYWORD
        )
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
# A phrase split over two messages of one conversation.

#: Only the end of the previous message is read, so the cost stays O(len(text)) however long
#: that message was.
PREVIOUS_TAIL = 400
#: List words that continue a masked phrase, when not all of them are everyday words. A phrase
#: split over two messages leaves a few words at least in the second; two list words start many
#: ordinary replies ("please help", "live agent"). Everyday words only ("wallet access please",
#: support words count as such) stay visible: a random run of 3 list words is that with
#: probability 0.06^3, about 1 in 5,000. Of the 888 customer lines of the bot's examples and the
#: bench texts, 12 would lose their first words right after a masked phrase ("close account
#: option missing"); requiring half of the words to be rare instead spared 8 of them but let
#: about 1 in 100 three-word continuations through.
MIN_CONTINUATION = 3
#: Characters of a message read for a continuation: 24 words of up to 8 letters with generous
#: separators, a numbering and a typo or two fit easily.
LEAD_CHARS = 600
_SEED_PLACEHOLDER = "[redacted:seed_phrase]"


def _leading_run(text: str, tokens: list[_Token]) -> list[_Token]:
    """The run of list words ``text`` starts with (after separators or a number), if any."""
    if not tokens or _GLUE_RE.fullmatch(text, 0, tokens[0].start) is None:
        return []
    for run in _seed_runs(text, tokens):
        return run if run[0] is tokens[0] else []
    return []


def _trailing_run(tail: str, tokens: list[_Token]) -> list[_Token]:
    """The run of list words ``tail`` ends with (then only separators), if any."""
    if not tokens or _GLUE_RE.fullmatch(tail, tokens[-1].end) is None:
        return []
    last: list[_Token] = []
    for run in _seed_runs(tail, tokens):
        last = run
    return last if last and last[-1] is tokens[-1] else []


def _all_common(run: list[_Token]) -> bool:
    common_words = _COMMON_ZH if run[0].lang == "zh" else _COMMON_EN
    return all(t.strong and t.word in common_words for t in run)


def detect_continuation(text: str, masks: Masks, found: set[str], previous: str) -> None:
    """Mask the list words this message starts with when they continue a phrase in ``previous``.

    ``previous`` is the conversation's previous customer message as stored (already masked).
    Two cases: it ends with a masked phrase (then at least MIN_CONTINUATION words, not all of
    them everyday words, continue it), or it ends with k visible list words that, with the m
    this message starts with, make a run the seed-phrase test masks (k + m >= 12).
    """
    # The previous message's end first (at most PREVIOUS_TAIL characters): most messages do
    # not follow a phrase, and then this one need not be tokenised at all.
    tail = previous[-PREVIOUS_TAIL:]
    tail_tokens = _tokens(tail)
    after_mask = (
        bool(tail_tokens)
        and tail_tokens[-1].word == _SEED_PLACEHOLDER
        and _GLUE_RE.fullmatch(tail, tail_tokens[-1].end) is not None
    )
    before = [] if after_mask else _trailing_run(tail, tail_tokens)
    if not after_mask and not before:
        return
    # Only the start of this message can continue a phrase: a mnemonic has at most 24 words,
    # and a longer run of list words is the ordinary seed-phrase test's (it reads them all).
    head = text[:LEAD_CHARS]
    lead = _leading_run(head, _tokens(head))
    if not lead:
        return
    if after_mask:
        hit = len(lead) >= MIN_CONTINUATION and not _all_common(lead)
    else:
        hit = (
            before[0].lang == lead[0].lang
            and len(before) + len(lead) >= _MIN_SEED_WORDS
            and _is_seed_run(before + lead)
        )
    if hit and masks.claim(lead[0].start, lead[-1].end, "seed_phrase"):
        found.add("seed_phrase")
