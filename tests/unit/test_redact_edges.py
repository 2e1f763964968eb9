"""The masker's detectors at their edges: length limits, masked neighbours, near-miss shapes.

Written from the survivors of a mutation run over ``chatd/domain/redact/`` (docs/testing.md,
"Survivors of the masker's detectors"). Each row states the whole text a customer's message
becomes, so a detector off by one there shows as a secret left visible or an ordinary message
mangled.
"""

from __future__ import annotations

import pytest

from chatd.domain.redact import asks_for_code, redact
from tests.support.redaction import Stored, groups

KEYS = [
    Stored(
        "config-name-with-dashes",
        "API-KEY=abc123def456",
        "API-KEY=[redacted:api_secret]",
    ),
    Stored(
        "config-fullwidth-colon-only",
        "apikey：sk8f3kD92mxQ1",
        "apikey：[redacted:api_secret]",
    ),
    # The scan goes on past a name that holds no secret and past an unquoted password.
    Stored(
        "config-env-block",
        "login: bob\npassword: hunter2\napi_key: abc123def456",
        "login: bob\npassword: [redacted:password]\napi_key: [redacted:api_secret]",
    ),
    Stored(
        "config-json-password-without-digits",
        '{"user": "bob", "password": "purple"}',
        '{"user": "bob", "password": "[redacted:password]"}',
    ),
    Stored(
        "config-quoted-name-bare-value",
        '"password": hunter2',
        '"password": [redacted:password]',
    ),
    Stored(
        "config-json-password-3-chars", '{"password": "x7q"}', '{"password": "[redacted:password]"}'
    ),
    Stored("config-json-password-2-chars", '{"password": "x7"}', '{"password": "x7"}'),
    Stored(
        "config-mnemonic-3-words",
        'mnemonic = "orbit cabin laugh"',
        'mnemonic = "[redacted:seed_phrase]"',
    ),
    Stored("config-random-seed", "seed: 42", "seed: 42"),
    Stored("config-key-8-chars", "api_key: ab12cd34", "api_key: [redacted:api_secret]"),
    Stored("config-key-7-chars", "api_key: ab12cd3", "api_key: ab12cd3"),
    # A word after a secret's name is a state, not a secret; the scan goes on past it.
    Stored(
        "config-key-state-word",
        "my api_key: disabled after the update",
        "my api_key: disabled after the update",
    ),
    Stored(
        "config-key-after-a-state-word",
        "api_key: disabled, access_key: ab12cd34ef",
        "api_key: disabled, access_key: [redacted:api_secret]",
    ),
    # The key's value is cut where a masked secret starts; the 16 characters left are no key.
    Stored(
        "private-key-cut-short-by-a-masked-value",
        "my private key is Zm9vYmFy/apikey=ab12cd34ef56gh78",
        "my private key is Zm9vYmFy/apikey=[redacted:api_secret]",
    ),
    Stored(
        "api-secret-sentence-without-digits",
        "the api secret is incorrectly-configured",
        "the api secret is incorrectly-configured",
    ),
    Stored(
        "api-secret-16-chars",
        "my api secret is ab12cd34ef56gh78",
        "my api secret is [redacted:api_secret]",
    ),
]

CODES = [
    # An id word counts only in the untouched text just before the number, after the 2FA word.
    Stored(
        "zh-account-word-before-a-masked-password",
        "账号密码是abc123，482913是验证码",
        "账号密码是[redacted:password]，[redacted:otp_code]是验证码",
    ),
    Stored(
        "id-word-far-before-an-expected-code",
        "I placed an order yesterday and I'm still waiting, here: 482913",
        "I placed an order yesterday and I'm still waiting, here: [redacted:otp_code]",
        expecting_2fa_code=True,
    ),
    Stored(
        "id-word-before-the-2fa-word", "uid 1234, 2fa 654321", "uid 1234, 2fa [redacted:otp_code]"
    ),
    Stored(
        "id-word-after-the-code",
        "2fa code 654321 for my order",
        "2fa code [redacted:otp_code] for my order",
    ),
    # Amounts next to masked text.
    Stored(
        "amount-after-a-masked-password",
        "pw: hunter2, withdraw 150000 USDT, code 482913",
        "pw: [redacted:password] withdraw 150000 USDT, code [redacted:otp_code]",
    ),
    Stored(
        "dollar-amount-after-a-masked-password",
        "pw: hunter2, $250000 and the 2fa code?",
        "pw: [redacted:password] $250000 and the 2fa code?",
    ),
    Stored("dollar-space-amount", "$ 250000 and the 2fa code?", "$ 250000 and the 2fa code?"),
    # The sign counts only right before the number (one space) and only when it is not masked.
    Stored(
        "dollar-two-spaces-before-a-code", "2fa code $  654321", "2fa code $  [redacted:otp_code]"
    ),
    Stored("dollar-tab-before-a-code", "2fa code $\t654321", "2fa code $\t[redacted:otp_code]"),
    Stored(
        "masked-dollar-before-a-code",
        "access_key=ab12cd34$ 654321 2fa code",
        "access_key=[redacted:api_secret] [redacted:otp_code] 2fa code",
    ),
    Stored(
        "dollar-after-a-placeholder",
        "[redacted:password]$ 654321 2fa code",
        "[redacted:password]$ 654321 2fa code",
    ),
    # A list of codes runs past the 2FA word's reach; a number after another secret is no code.
    Stored(
        "backup-codes-list",
        "my 2fa backup codes: 123456, 234567, 345678, 456789, 567890, 678901, 789012",
        "my 2fa backup codes: " + ", ".join(["[redacted:otp_code]"] * 7),
    ),
    Stored(
        "code-listed-after-a-stored-code",
        "[redacted:otp_code], 654321",
        "[redacted:otp_code], [redacted:otp_code]",
    ),
    Stored(
        "date-after-a-masked-password",
        "password: hunter2, 19900512 is my birthday",
        "password: [redacted:password] 19900512 is my birthday",
    ),
    Stored(
        "date-after-a-stored-password",
        "[redacted:password] and 20231104",
        "[redacted:password] and 20231104",
    ),
    # A card typed partly with fullwidth digits (the input method switched mid-number).
    Stored("card-half-fullwidth", "card 4111 1111 １１１１ 1111", "card [redacted:card_number]"),
    Stored("card-fullwidth-end", "card 4111 1111 1111 １１１１", "card [redacted:card_number]"),
]

XPRV = (  # BIP32 test vector 1, master key
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TG"
    "tRBeJgk33yuGBxrMPHi"
)
SEED12 = "prepare harsh combine snap ski gauge army cabin virus laugh grief opinion"

PASSWORDS = [
    # A passphrase runs on over the words after it, up to a sentence mark or a clause word.
    Stored(
        "password-ends-at-a-full-stop",
        "my password is hunter2. Fix it",
        "my password is [redacted:password] Fix it",
    ),
    Stored(
        "password-starting-with-x-runs-on",
        "password: Xmas2024 rocks",
        "password: [redacted:password]",
    ),
    Stored(
        "password-with-a-mark-inside-runs-on",
        "password: P@ss!1 horse",
        "password: [redacted:password]",
    ),
    Stored("password-non-ascii-word", "password: hunter2 café", "password: [redacted:password]"),
    Stored(
        "password-late-in-a-long-message",
        "Hello, I have been trying to log in since this morning and it keeps failing. "
        "My password is purple monkey dishwasher",
        "Hello, I have been trying to log in since this morning and it keeps failing. "
        "My password is [redacted:password]",
    ),
    Stored(
        "passphrase-of-64-characters",
        "password: p4ssw0rd correct horse battery staple purple monkeys dishwashers",
        "password: [redacted:password]",
    ),
    Stored(
        "password-then-thanks",
        "my password is hunter2 thanks!",
        "my password is [redacted:password] thanks!",
    ),
    # Masked text ahead ends the passphrase where the untouched text does.
    Stored(
        "password-before-a-seed-phrase",
        f"password: hunter2 {SEED12}",
        "password: [redacted:password] [redacted:seed_phrase]",
    ),
    Stored(
        "password-up-to-a-masked-value",
        'pwd: hunter2 blue api_secret=" ab12cd34ef"',
        'pwd: [redacted:password][redacted:api_secret]"',
    ),
    # Stop words: after "is" a word about the password is not one; after ":" it is.
    Stored("password-colon-stop-word", "password: incorrect", "password: [redacted:password]"),
    Stored("password-is-wrong-full-stop", "my password is wrong.", "my password is wrong."),
    Stored(
        "password-wrong-then-the-new-one",
        "my password is wrong, the new password is hunter2",
        "my password is wrong, the new password is [redacted:password]",
    ),
    Stored("zh-password-kouling", "口令是abc123", "口令是[redacted:password]"),
    Stored("zh-password-then-stop-word", "密码 wrong", "密码 wrong"),
    Stored("zh-password-without-separator", "密码 hunter2", "密码 [redacted:password]"),
    Stored(
        "zh-stop-word-then-a-password",
        "密码 wrong。密码是 abc123",
        "密码 wrong。密码是 [redacted:password]",
    ),
    Stored("zh-password-3-chars", "密码是abc", "密码是[redacted:password]"),
    # A Turkish keyboard's dotless ı: re reads "pın" as "pin", so the pre-check must too.
    Stored("pin-with-a-dotless-i", "pın: 8264", "pın: [redacted:password]"),
    # A value that starts in masked text is no password; the scan goes on to the next one.
    Stored(
        "password-after-a-masked-key",
        f"password: {XPRV} and password: hunter2",
        "password: [redacted:extended_private_key] and password: [redacted:password]",
    ),
    # A word shaped like a placeholder ends it too (a second pass sees one there).
    Stored(
        "password-before-a-placeholder-lookalike",
        "my password is hunter2 [redacted:Password]",
        "my password is [redacted:password] [redacted:Password]",
    ),
]

KEY_HEX = "c1e3844824dc34aee0c8de1e492b68c326065b8c8e5a636e60d0eec9d0bc9e2a"
TX_HEX = "d27a041fdb86426c8abbace6619aa2266024cb387729ee2bd84bbfad5322de2b"


KEY_8X8 = groups(KEY_HEX, 8, " ")

EXEMPT = [
    # An explorer URL without a transaction word still shows its hash; only a slash in the
    # same token, at most 200 characters back, makes a URL.
    Stored(
        "explorer-url-then-thanks",
        f"https://btc.com/{TX_HEX} thanks",
        f"https://btc.com/{TX_HEX} thanks",
    ),
    Stored(
        "explorer-url-after-a-fraction",
        f"he said 50/50, https://btc.com/{TX_HEX}",
        f"he said 50/50, https://btc.com/{TX_HEX}",
    ),
    Stored("path-at-the-start", f"/{TX_HEX}", f"/{TX_HEX}"),
    Stored(
        "slash-after-the-key",
        f"here it is {KEY_HEX} please help, 24/7 support?",
        "here it is [redacted:private_key] please help, 24/7 support?",
    ),
    Stored(
        "slash-more-than-200-characters-back",
        "see https://x.io/" + "q" * 220 + "=" + KEY_HEX,
        "see https://x.io/" + "q" * 220 + "=[redacted:private_key]",
    ),
    # Words around a key: the nearest one before it decides; after it, only 24 characters of
    # untouched text count.
    Stored(
        "key-word-before-tx-word-after",
        f"my private key {KEY_HEX}, not a transaction hash",
        "my private key [redacted:private_key], not a transaction hash",
    ),
    Stored(
        "tx-word-beyond-a-placeholder",
        f"{KEY_HEX} [redacted:otp_code] tx",
        "[redacted:private_key] [redacted:otp_code] tx",
    ),
    Stored(
        "tx-word-far-after",
        f"{KEY_HEX} is what I have, and the transaction failed",
        "[redacted:private_key] is what I have, and the transaction failed",
    ),
    # Grouped keys: all eight groups go, after other hex groups, next to masked text too.
    Stored("grouped-key-after-short-groups", f"ab 12 {KEY_8X8}", "ab 12 [redacted:private_key]"),
    Stored("grouped-key-in-a-sentence", f"my key {KEY_8X8} ok", "my key [redacted:private_key] ok"),
    Stored(
        "grouped-key-after-a-quoted-password",
        f'password: "hunter2" {KEY_8X8}',
        'password: "[redacted:password]" [redacted:private_key]',
    ),
    Stored(
        "grouped-key-before-a-placeholder",
        f"{KEY_8X8} [redacted:otp_code]",
        "[redacted:private_key] [redacted:otp_code]",
    ),
    Stored(
        "grouped-key-after-a-password-and-comma",
        f"pw: hunter2, {KEY_8X8}",
        "pw: [redacted:password] [redacted:private_key]",
    ),
    Stored(
        "grouped-key-between-masked-text-and-words",
        f'password: "hunter2" {KEY_8X8} thanks',
        'password: "[redacted:password]" [redacted:private_key] thanks',
    ),
    # Hex-looking words without digits, digits without hex letters, and groups glued to a
    # letter, are not keys.
    Stored(
        "hex-words-without-digits-and-a-ticket",
        "deadbeef cafebabe " * 3 + "deadbeef cafebabe ticket 12345678",
        "deadbeef cafebabe " * 3 + "deadbeef cafebabe ticket 12345678",
    ),
    Stored(
        "digit-groups-then-words",
        groups("1234567890" * 6 + "1234", 8, " ") + " please check",
        groups("1234567890" * 6 + "1234", 8, " ") + " please check",
    ),
    Stored(
        "hex-words-without-digits",
        "deadbeef cafebabe " * 3 + "deadbeef cafebabe",
        "deadbeef cafebabe " * 3 + "deadbeef cafebabe",
    ),
    Stored("grouped-glued-to-a-letter-before", f"z{KEY_8X8}", f"z{KEY_8X8}"),
    Stored("grouped-glued-to-a-letter-after", f"{KEY_8X8}z", f"{KEY_8X8}z"),
]

COMMON_48 = " ".join(
    ("help account again before call card change coin check hour issue keep " * 3).split()
)
MOSTLY_EVERYDAY_VALID = "ability check help account again before call card change coin hour accuse"
EVERYDAY_VALID_24 = (
    "wrong change hold nothing correct phone valid still verify hour offer network use when "
    "service allow transfer long report sorry into just win balance"
)

SEEDS = [
    # What glues a phrase: separators only, at most 12 characters, one language.
    Stored("seed-then-a-chinese-word", f"{SEED12} 的", "[redacted:seed_phrase] 的"),
    Stored(
        "seed-with-a-12-space-gap",
        SEED12.replace("harsh ", "harsh" + " " * 12),
        "[redacted:seed_phrase]",
    ),
    Stored(
        "seed-then-a-word-13-spaces-on",
        f"{SEED12}{' ' * 13}zoo",
        f"[redacted:seed_phrase]{' ' * 13}zoo",
    ),
    # Typos: one edit from a list word (up to 9 letters), or a list word's first four letters.
    Stored("seed-typo-second-to-last", SEED12.replace("grief", "grif"), "[redacted:seed_phrase]"),
    Stored(
        "seed-typo-of-9-letters", SEED12.replace("combine", "rmemember"), "[redacted:seed_phrase]"
    ),
    Stored(
        "seed-typo-with-a-list-prefix",
        SEED12.replace("harsh", "harshness"),
        "[redacted:seed_phrase]",
    ),
    Stored(
        "list-words-split-by-a-name",
        "orbit cabin laugh piano tunnel zebra Binance garlic velvet anchor ribbon comic",
        "orbit cabin laugh piano tunnel zebra Binance garlic velvet anchor ribbon comic",
    ),
    # More than one typo per six words is ordinary text (the documented threshold).
    Stored(
        "seed-three-typos",
        SEED12.replace("combine", "combne").replace("virus", "virsu").replace("grief", "grif"),
        SEED12.replace("combine", "combne").replace("virus", "virsu").replace("grief", "grif"),
    ),
    # A checksum-valid phrase is masked however everyday its words, in a run of up to 48.
    Stored("valid-phrase-of-everyday-words", MOSTLY_EVERYDAY_VALID, "[redacted:seed_phrase]"),
    Stored("valid-24-words-of-everyday-words", EVERYDAY_VALID_24, "[redacted:seed_phrase]"),
    Stored("valid-phrase-in-a-run-of-48", f"{COMMON_48} {SEED12}", "[redacted:seed_phrase]"),
    # Without a valid checksum, half everyday words is not "mostly rare".
    Stored(
        "half-everyday-words",
        "remain course run token collect october still dish dog alter way order",
        "remain course run token collect october still dish dog alter way order",
    ),
    # A message continuing a phrase: only the list words it starts with.
    Stored(
        "continuation-without-words",
        "???",
        "???",
        previous="my words: [redacted:seed_phrase]",
    ),
    Stored(
        "continuation-after-other-words",
        "ok thanks, cabin laugh grief",
        "ok thanks, cabin laugh grief",
        previous="my words: [redacted:seed_phrase]",
    ),
    Stored(
        "previous-words-not-at-its-end",
        "army cabin virus laugh grief opinion",
        "army cabin virus laugh grief opinion",
        previous="my words: prepare harsh combine snap ski gauge and then",
    ),
    Stored(
        "zh-everyday-continuation",
        "不 是 了",
        "不 是 了",
        previous="助记词 [redacted:seed_phrase]",
    ),
]

CARDS = [
    # Where a card starts and ends in a run of digit groups, and which groupings are cards.
    Stored(
        "two-cards",
        "cards 4111 1111 1111 1111 and 5500 0000 0000 0004",
        "cards [redacted:card_number] and [redacted:card_number]",
    ),
    Stored(
        "card-unbroken-16", "card 4111111111111111 thanks", "card [redacted:card_number] thanks"
    ),
    Stored("card-unbroken-13", "card 4222222222222", "card [redacted:card_number]"),
    Stored("card-amex-4-6-5", "amex 3782 822463 10005", "amex [redacted:card_number]"),
    Stored("card-19-digits", "card 6011 0000 0000 0000 001", "card [redacted:card_number]"),
    Stored("card-two-separators", "card 4111-1111 1111 1111", "card 4111-1111 1111 1111"),
    Stored(
        "card-then-a-group", "card 4111 1111 1111 1111 2222", "card [redacted:card_number] 2222"
    ),
    Stored(
        "card-after-a-long-group", "12345678 4111 1111 1111 1111", "12345678 [redacted:card_number]"
    ),
    Stored(
        "card-after-two-groups",
        "numbers 1234 5678 4111 1111 1111 1111",
        "numbers 1234 5678 [redacted:card_number]",
    ),
    Stored("repeated-groups", "4111 " * 10, "4111 " * 10),
    Stored("one-digit-repeated", "4444 4444 4444 4444", "4444 4444 4444 4444"),
    Stored("card-short-last-groups", "card 4111 1111 1111 111 1", "card 4111 1111 1111 111 1"),
    Stored("card-two-digit-groups", "card 4111 11 11 1111 1111", "card 4111 11 11 1111 1111"),
    Stored(
        "card-and-a-long-number",
        "card 4111 1111 1111 1111 and 1234567890123",
        "card [redacted:card_number] and 1234567890123",
    ),
]

EDGES = KEYS + CODES + PASSWORDS + EXEMPT + SEEDS + CARDS


@pytest.mark.parametrize("edge", EDGES, ids=[e.id for e in EDGES])
def test_edge(edge: Stored) -> None:
    """The message is stored exactly as shown: its secrets masked, the rest as written."""
    result = redact(edge.text, expecting_2fa_code=edge.expecting_2fa_code, previous=edge.previous)
    assert result.text == edge.stored


def test_private_key_value_needs_32_characters() -> None:
    """After "private key:", 32 characters are a key; 31 are shown as written."""
    key = "a1" * 16
    assert redact(f"private key: {key}").text == "private key: [redacted:private_key]"
    assert redact(f"private key: {key[:31]}").text == f"private key: {key[:31]}"


def test_only_the_first_2000_characters_of_a_staff_message_are_read() -> None:
    """A code asked for at the end of a long staff message is noticed up to character 2,000."""
    assert asks_for_code(" " * 1997 + "验证码")
    assert not asks_for_code(" " * 1998 + "验证码")


@pytest.mark.parametrize("size", [2, 4, 8, 16, 32])
@pytest.mark.parametrize("sep", [" ", ":", "-"])
@pytest.mark.parametrize(
    "before",
    [
        "pw: hunter2 ",
        "password is purple monkey ",
        "pw: ",
        "密码 hunter2 ",
        "my password is ",
        "密码 ",
        "密码是",
        "密码：",
    ],
)
def test_a_password_does_not_take_part_of_a_grouped_key(size: int, sep: str, before: str) -> None:
    """A key in hex groups after a password is masked whole, none of its groups left visible.

    A passphrase runs on over the words after its first one (up to 8 words, 64 characters):
    it used to take the first groups of the key, leaving the rest too few to be a key, and
    they were shown ("pw: [redacted:password] 60d0eec9 d0bc9e2a").
    """
    stored = redact(before + groups(KEY_HEX, size, sep)).text
    visible = [group for group in groups(KEY_HEX, size, " ").split() if group in stored]
    assert visible == [] and stored.endswith("[redacted:private_key]"), stored
    # The password itself is still masked where there is one ahead of the key.
    assert ("hunter2" not in stored) and ("purple" not in stored)


def test_a_password_before_a_grouped_key_and_more_words() -> None:
    """The passphrase stops at the key also when words follow the key, which is masked whole."""
    stored = redact(f"pw: hunter2 {KEY_8X8} thanks").text
    assert stored == "pw: [redacted:password] [redacted:private_key] thanks"


def test_a_value_after_a_password_keyword_is_the_password_whatever_its_shape() -> None:
    """64 hex digits, or hex groups joined by commas (no key to the sweep), after "pw:" are the
    password: masked as one, not left to the key detectors (which show the comma-joined form)."""
    assert redact(f"pw: {KEY_HEX} thanks").text == "pw: [redacted:password] thanks"
    assert redact(f"pw: {groups(KEY_HEX, 8, ',')}").text == "pw: [redacted:password]"


def test_config_values_after_a_random_seed_are_read() -> None:
    """ "seed: 42" is a random seed, no phrase: the secrets after it are still masked."""
    stored = redact("seed: 42, api_key=abc123def456").text
    assert stored == "seed: 42, api_key=[redacted:api_secret]"


def test_a_wif_key_pasted_alone_is_masked() -> None:
    """An uncompressed WIF key is 51 characters: a message of just that is masked."""
    wif = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
    assert redact(wif).text == "[redacted:wif_key]"


def test_a_tx_word_beyond_the_next_candidate_does_not_spare_a_key() -> None:
    """A key's look-ahead for a transaction word stops at the next card: the "tx" after the
    card is the card's context, so the key before it is masked."""
    stored = redact(f"{KEY_HEX} 4111 1111 1111 1111 tx 5555 5555 5555 4444").text
    assert stored.startswith("[redacted:private_key] [redacted:card_number] tx ")
