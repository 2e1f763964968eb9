"""The seed-phrase detector and the span helpers at their edges, through :func:`redact`.

Written from the survivors of a mutation run over ``chatd/domain/`` (issue 21). Each row states
the whole text a customer's message is stored as, so a detector off by one there shows as a
secret left visible or an ordinary message mangled.
"""

from __future__ import annotations

import pytest

from chatd.domain.redact import redact
from tests.support.redaction import Stored

#: Six list words, no checksum: a phrase only when announced ("my seed phrase is ...").
WORDS6 = "orbit cabin laugh piano tunnel zebra"
ZH_SEED = "毫 粉 景 界 尾 渐 月 促 运 净 病 雄"
SEED12 = "prepare harsh combine snap ski gauge army cabin virus laugh grief opinion"
XPRV = (  # BIP32 test vector 1, master key
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TG"
    "tRBeJgk33yuGBxrMPHi"
)
KEY_HEX = "c1e3844824dc34aee0c8de1e492b68c326065b8c8e5a636e60d0eec9d0bc9e2a"
#: Twelve list words (none with an "l", so all base58) numbered without spaces.
NUMBERED = "".join(
    f"{i % 9 + 1}{word}"
    for i, word in enumerate(
        "orbit cabin piano zebra garden ribbon anchor comic tiger mango rocket fruit".split()
    )
)

ANNOUNCED = [
    # Six words after the keyword, wherever the keyword stands and whatever language it is in.
    Stored("zh-keyword-english-words", f"助记词：{WORDS6}", "助记词：[redacted:seed_phrase]"),
    Stored("keyword-first-in-the-message", f"seed: {WORDS6}", "seed: [redacted:seed_phrase]"),
    # Six Chinese list words announced are masked too (only Latin words were counted: a Chinese
    # phrase of 6 to 11 words stayed visible); five are not a phrase, as in English.
    Stored(
        "zh-keyword-six-zh-words", "助记词是 毫 粉 景 界 尾 渐", "助记词是 [redacted:seed_phrase]"
    ),
    Stored(
        "zh-keyword-eleven-zh-words",
        "我的助记词是：毫 粉 景 界 尾 渐 月 促 运 净 病",
        "我的助记词是：[redacted:seed_phrase]",
    ),
    Stored(
        "keyword-seven-zh-words",
        "seed phrase: 毫 粉 景 界 尾 渐 月",
        "seed phrase: [redacted:seed_phrase]",
    ),
    Stored("zh-keyword-five-zh-words", "助记词是 毫 粉 景 界 尾", "助记词是 毫 粉 景 界 尾"),
    # The shortest such message: 15 characters.
    Stored(
        "zh-keyword-colon-six-zh-words",
        "助记词：毫 粉 景 界 尾 渐",
        "助记词：[redacted:seed_phrase]",
    ),
    # The phrase ends at its last list word: the words after it stay.
    Stored(
        "announced-phrase-then-thanks",
        f"my seed phrase is {WORDS6}, thanks for helping",
        "my seed phrase is [redacted:seed_phrase], thanks for helping",
    ),
    Stored(
        "announced-phrase-then-an-exclamation",
        f"my seed phrase is {WORDS6}! Please help",
        "my seed phrase is [redacted:seed_phrase]! Please help",
    ),
    # A keyword with nothing (or no phrase) after it leaves the message as written, and the
    # scan goes on to the next keyword.
    Stored(
        "keyword-at-the-end",
        "The app keeps asking me what my seed phrase is",
        "The app keeps asking me what my seed phrase is",
    ),
    Stored(
        "keyword-then-other-words-then-a-phrase",
        f"My seed phrase is not working, the recovery phrase is {WORDS6}",
        "My seed phrase is not working, the recovery phrase is [redacted:seed_phrase]",
    ),
    Stored(
        "keyword-then-a-percentage-then-a-phrase",
        f"my seed phrase is 100% safe, but the recovery phrase: {WORDS6}",
        "my seed phrase is 100% safe, but the recovery phrase: [redacted:seed_phrase]",
    ),
    # Fewer than six list words after the keyword are a sentence about the phrase.
    Stored(
        "keyword-then-one-list-word",
        "I think my seed phrase is wrong",
        "I think my seed phrase is wrong",
    ),
    Stored(
        "keyword-then-five-list-words",
        "My seed phrase is correct, please check again today",
        "My seed phrase is correct, please check again today",
    ),
]

BARE = [
    # Three near-list words in 15 ("your", "lost", "with") are more typos than a phrase has.
    Stored(
        "everyday-message-with-three-near-words",
        "please check your account again today, still lost access since that deposit with "
        "wrong network",
        "please check your account again today, still lost access since that deposit with "
        "wrong network",
    ),
    # A word of ten letters is no typo of a list word (the longest has eight): it splits a run
    # as a name does, and neither part is long enough.
    Stored(
        "list-words-split-by-a-ten-letter-word",
        f"{WORDS6} garlic velvet anchor ribbon absolutely comic lounge",
        f"{WORDS6} garlic velvet anchor ribbon absolutely comic lounge",
    ),
    # Only a character of the Chinese lists is a word: the interjection after the phrase stays.
    Stored(
        "zh-phrase-then-an-interjection",
        f"助记词：{ZH_SEED} 哦",
        "助记词：[redacted:seed_phrase] 哦",
    ),
    # Everyday traditional characters typed one by one are no phrase in either Chinese list.
    Stored(
        "zh-traditional-everyday-characters",
        "我 們 這 個 帳 號 為 什 麼 不 能 用 呢",
        "我 們 這 個 帳 號 為 什 麼 不 能 用 呢",
    ),
]

CONTINUED = [
    # The previous message's list words continue into this one only when they end it.
    Stored(
        "previous-words-then-a-name",
        "garlic velvet anchor ribbon comic lounge",
        "garlic velvet anchor ribbon comic lounge",
        previous=f"{WORDS6} Binance",
    ),
]

SPANS = [
    # A match is never restarted inside the one before: the later groups of an amount written
    # in threes are no code, whatever 2FA word stands near.
    Stored(
        "amount-in-groups-of-three-near-a-2fa-word",
        "withdrawal of $100 000 000 failed at the 2fa code step",
        "withdrawal of $100 000 000 failed at the 2fa code step",
    ),
    # A shape that runs into masked text is dropped, and the message is not masked whole.
    Stored(
        "xprv-shape-holding-a-numbered-phrase", "xprv" + NUMBERED, "xprv1[redacted:seed_phrase]"
    ),
    Stored(
        "private-key-of-an-xprv-is-a-hex-key",
        f"private key for {XPRV}: {KEY_HEX}",
        "private key for [redacted:extended_private_key]: [redacted:private_key]",
    ),
    Stored(
        "password-is-a-seed-phrase",
        f"my wallet password is {SEED12}",
        "my wallet password is [redacted:seed_phrase]",
    ),
    # A keyword inside a placeholder is passed over, and the scan goes on to the next one.
    Stored(
        "placeholder-then-a-new-api-key",
        "[redacted:api_secret] was wrong, the new api_key=ab12cd34ef56",
        "[redacted:api_secret] was wrong, the new api_key=[redacted:api_secret]",
    ),
    # A password is cut where a masked value starts, and masked up to there.
    Stored(
        "password-glued-to-an-api-key",
        "password:hunter2,api_key=ab12cd34ef56",
        "password:[redacted:password][redacted:api_secret]",
    ),
]

ROWS = ANNOUNCED + BARE + CONTINUED + SPANS


@pytest.mark.parametrize("row", ROWS, ids=[r.id for r in ROWS])
def test_stored_text(row: Stored) -> None:
    """The message is stored exactly as shown: its secrets masked, the rest as written."""
    assert redact(row.text, previous=row.previous).text == row.stored


def test_a_mistyped_phrase_with_a_third_everyday_words_is_masked() -> None:
    """A 12-word run that fails the checksum is masked unless half its words are everyday ones:
    with 4 of 12 (a third) it is masked, with 6 it reads as a sentence and stays."""
    rare = ["zebra", "walnut", "vivid", "umbrella", "tornado", "sphere", "raccoon", "quantum"]
    everyday = ["account", "again", "before", "call", "address", "already"]
    four = [*rare[:2], everyday[0], *rare[2:4], everyday[1], *rare[4:6], everyday[2]]
    four += [rare[6], everyday[3], rare[7]]
    assert redact("here: " + " ".join(four)).text == "here: [redacted:seed_phrase]"
    six = [w for pair in zip(rare[:6], everyday, strict=True) for w in pair]
    assert redact("here: " + " ".join(six)).text == "here: " + " ".join(six)
