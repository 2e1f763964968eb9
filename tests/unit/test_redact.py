"""Secret masking: a table of en/zh cases plus hypothesis properties of :func:`redact`."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from mnemonic import Mnemonic

from chatd.domain.redact import KINDS, Redaction, placeholder, redact, seeds, warning

_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def _b58(data: bytes) -> str:
    """Base58-encode ``data`` (enough for building key-shaped test strings)."""
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58_ALPHABET[r] + out
    return "1" * (len(data) - len(data.lstrip(b"\0"))) + out


def _luhn_complete(prefix: str) -> str:
    """Append the Luhn check digit to ``prefix``."""
    for d in "0123456789":
        total = 0
        for i, ch in enumerate(reversed(prefix + d)):
            v = int(ch) * (2 if i % 2 else 1)
            total += v - 9 if v > 9 else v
        if total % 10 == 0:
            return prefix + d
    raise AssertionError("unreachable")


# Secrets (all made up or published test vectors).
KEY_HEX = "c1e3844824dc34aee0c8de1e492b68c326065b8c8e5a636e60d0eec9d0bc9e2a"
SEED12 = "prepare harsh combine snap ski gauge army cabin virus laugh grief opinion"
SEED15 = "subway air long dwarf idle art again ride item bless blast silent venture velvet spring"
SEED24 = (
    "trap afford exact mail boring wheat practice general evolve medal useless pulse impulse "
    "smart total ridge remember small entry diagram stuff spawn diary road"
)
ZH_SEED = "毫 粉 景 界 尾 渐 月 促 运 净 病 雄"
XPRV = (  # BIP32 test vector 1, master key
    "xprv9s21ZrQH143K3QTDL4LXw2F7HEK3wJUD2nW2nRk4stbPy6cq3jPPqjiChkVvvNKmPGJxWUtg6LnF5kejMRNNU3TG"
    "tRBeJgk33yuGBxrMPHi"
)
WIF_UNCOMPRESSED = "5HueCGU8rMjxEXxiPuD5BDku4MkFqeZyd4dZ1jvhTVqvbTLvyTJ"
WIF_COMPRESSED = "KwdMAjGmerYanjeui5SHS7JkmpZvVipYvB2LJGU1ZxJwYvP98617"
SOL_KEY = _b58(hashlib.sha512(b"chatd solana key").digest())
API_SECRET = "hG7sK2pL9qR4tV8wX1yZ3aB5cD6eF0gH"

# What support needs to see.
TX_HEX = "d27a041fdb86426c8abbace6619aa2266024cb387729ee2bd84bbfad5322de2b"
SOL_SIG = _b58(hashlib.sha512(b"chatd solana signature").digest())
ETH_ADDR = "0x742d35Cc6634C0532925a3b844Bc454e4438f44e"
BTC_BECH32 = "bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq"
BTC_TAPROOT = "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"
BTC_LEGACY = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
BTC_P2SH = "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy"
TRON_ADDR = "TJCnKsPa7y5okkXvQAidZBzqx3QyQ6sxMW"
SOL_ADDR = "7EcDhSYGxXyscszYEp35KHN8vvw3svAuLKTzXwCFLtV"


@dataclass(frozen=True)
class Case:
    """One row of the table: input, expected kinds, text that must stay and must go."""

    id: str
    text: str
    kinds: tuple[str, ...] = ()
    visible: tuple[str, ...] = ()
    hidden: tuple[str, ...] = ()
    expecting_2fa_code: bool = False


CASES = [
    # --- seed phrases -------------------------------------------------------------------
    Case("seed12-bare", SEED12, ("seed_phrase",), hidden=("harsh", "grief")),
    Case(
        "seed12-announced",
        f"my seed phrase is {SEED12}, I need help",
        ("seed_phrase",),
        visible=("my seed phrase is", "I need help"),
        hidden=("combine snap",),
    ),
    Case(
        "seed24-numbered",
        " ".join(f"{i}. {w}" for i, w in enumerate(SEED24.split(), 1)),
        ("seed_phrase",),
        hidden=("afford", "road"),
    ),
    Case(
        "seed12-commas-mixed-case",
        ", ".join(w.upper() if i % 2 else w.title() for i, w in enumerate(SEED12.split())),
        ("seed_phrase",),
        hidden=("HARSH", "Gauge"),
    ),
    Case(
        "seed12-one-per-line",
        "wallet words:\n" + "\n".join(SEED12.split()),
        ("seed_phrase",),
        visible=("wallet words:",),
        hidden=("virus",),
    ),
    Case(
        "seed12-typo-bad-checksum",
        SEED12.replace("virus", "virsu"),
        ("seed_phrase",),
        hidden=("virsu", "prepare"),
    ),
    Case(
        "seed12-wrong-word-bad-checksum",
        SEED12.replace("opinion", "abandon"),
        ("seed_phrase",),
        hidden=("prepare harsh",),
    ),
    Case("seed15", f"here: {SEED15}", ("seed_phrase",), visible=("here:",), hidden=("dwarf",)),
    Case(
        "seed12-zh-context",
        f"我的助记词是：{SEED12}，钱被盗了怎么办",
        ("seed_phrase",),
        visible=("我的助记词是", "钱被盗了怎么办"),
        hidden=("harsh",),
    ),
    Case(
        "seed12-chinese-words",
        f"助记词 {ZH_SEED} 请帮忙",
        ("seed_phrase",),
        visible=("请帮忙",),
        hidden=("景 界 尾",),
    ),
    Case(
        "seed-short-but-announced",
        "my recovery phrase is prepare harsh combine snap ski gauge",
        ("seed_phrase",),
        visible=("my recovery phrase is",),
        hidden=("snap",),
    ),
    # --- private keys -------------------------------------------------------------------
    Case("hex-key-bare", KEY_HEX, ("private_key",), hidden=(KEY_HEX,)),
    Case(
        "hex-key-0x-announced",
        f"here is my private key: 0x{KEY_HEX}",
        ("private_key",),
        visible=("here is my private key",),
        hidden=(KEY_HEX,),
    ),
    Case(
        "hex-key-zh",
        f"私钥是{KEY_HEX}，帮我找回资产",
        ("private_key",),
        visible=("帮我找回资产",),
        hidden=(KEY_HEX[:16],),
    ),
    Case("wif-uncompressed", f"key {WIF_UNCOMPRESSED}", ("wif_key",), hidden=(WIF_UNCOMPRESSED,)),
    Case(
        "wif-compressed-zh",
        f"我的钱包私钥 {WIF_COMPRESSED} 还能用吗",
        ("wif_key",),
        visible=("还能用吗",),
        hidden=(WIF_COMPRESSED,),
    ),
    Case("xprv", f"exported {XPRV}", ("extended_private_key",), hidden=(XPRV[:30],)),
    Case(
        "zprv",
        "zprv" + XPRV[4:],
        ("extended_private_key",),
        hidden=(XPRV[10:40],),
    ),
    Case("solana-key-bare", SOL_KEY, ("private_key",), hidden=(SOL_KEY,)),
    # --- API secrets --------------------------------------------------------------------
    Case(
        "api-secret-en",
        f"API Secret: {API_SECRET}",
        ("api_secret",),
        visible=("API Secret",),
        hidden=(API_SECRET,),
    ),
    Case(
        "secret-key-hex",
        f"my binance secret key is {KEY_HEX}",
        ("api_secret",),
        visible=("my binance secret key is",),
        hidden=(KEY_HEX,),
    ),
    Case(
        "api-secret-zh",
        f"API密钥：{API_SECRET} 为什么下单失败",
        ("api_secret",),
        visible=("为什么下单失败",),
        hidden=(API_SECRET,),
    ),
    # --- passwords ----------------------------------------------------------------------
    Case(
        "password-is",
        "my password is Hunter2! can you check",
        ("password",),
        visible=("can you check",),
        hidden=("Hunter2!",),
    ),
    Case("password-colon", "password: correct-horse-42", ("password",), hidden=("horse",)),
    Case("pw-colon", "pw: s3cr3t thanks", ("password",), visible=("thanks",), hidden=("s3cr3t",)),
    Case(
        "password-quoted",
        'my password is "open sesame 9"',
        ("password",),
        hidden=("sesame",),
    ),
    Case(
        "password-for-site",
        "my login password for binance is Tr0ub4dor&3",
        ("password",),
        hidden=("Tr0ub4dor",),
    ),
    Case("password-zh-shi", "密码是abc12345", ("password",), hidden=("abc12345",)),
    Case(
        "password-zh-colon",
        "我的登录密码：Qwerty!23 请帮我看看",
        ("password",),
        visible=("请帮我看看",),
        hidden=("Qwerty",),
    ),
    # --- 2FA codes ----------------------------------------------------------------------
    Case("otp-2fa", "my 2fa code is 123456", ("otp_code",), hidden=("123456",)),
    Case(
        "otp-google-split",
        "google authenticator: 482 913",
        ("otp_code",),
        hidden=("482 913",),
    ),
    Case("otp-zh", "验证码是 654321", ("otp_code",), visible=("验证码是",), hidden=("654321",)),
    # A Chinese input method types fullwidth digits; the patterns' \d counts them, so must the
    # cheap pre-check in front of them.
    Case("otp-fullwidth", "验证码 １２３４５６", ("otp_code",), hidden=("１２３４５６",)),
    # IGNORECASE matches "İ" to "i": the keyword pre-check must too.
    Case("password-dotted-i", "MY PİN IS 4491", ("password",), hidden=("4491",)),
    Case("otp-expected", "739201", ("otp_code",), hidden=("739201",), expecting_2fa_code=True),
    Case("otp-code-is", "the code is 88123456", ("otp_code",), hidden=("88123456",)),
    Case(
        "otp-before-keyword",
        "123456 is my google authenticator code",
        ("otp_code",),
        hidden=("123456",),
    ),
    # --- card numbers -------------------------------------------------------------------
    Case(
        "card-spaces",
        "card 4111 1111 1111 1111 exp 12/27",
        ("card_number",),
        visible=("exp 12/27",),
        hidden=("1111 1111",),
    ),
    Case("card-dashes", "5555-5555-5555-4444", ("card_number",), hidden=("5555-5555",)),
    Case("card-amex", "amex 3782 822463 10005", ("card_number",), hidden=("822463",)),
    Case(
        "card-unionpay-zh",
        "我的银行卡号6222021234567890128，提现不到账",
        ("card_number",),
        visible=("提现不到账",),
        hidden=("6222021234567890128",),
    ),
    Case("card-unionpay-groups", "卡号 6212 3456 7890 1232", ("card_number",), hidden=("7890",)),
    Case(
        "several-kinds",
        f"{SEED12}\npassword: letmein99",
        ("password", "seed_phrase"),
        hidden=("letmein99", "harsh"),
    ),
    # --- must stay visible: transaction hashes ------------------------------------------
    Case("txid-colon", f"txid: {TX_HEX}", visible=(TX_HEX,)),
    Case("tx-hash-0x", f"tx hash 0x{TX_HEX}", visible=(TX_HEX,)),
    Case("transaction-word", f"Transaction {TX_HEX} still pending", visible=(TX_HEX,)),
    Case("txid-after", f"{TX_HEX} is the txid of my withdrawal", visible=(TX_HEX,)),
    Case("tx-hash-zh", f"交易哈希：{TX_HEX}，还没到账", visible=(TX_HEX,)),
    Case("hash-zh-0x", f"哈希 0x{TX_HEX}", visible=(TX_HEX,)),
    Case("etherscan-url", f"https://etherscan.io/tx/0x{TX_HEX}", visible=(TX_HEX,)),
    Case("mempool-url", f"see https://mempool.space/tx/{TX_HEX} please", visible=(TX_HEX,)),
    Case(
        "two-txids",
        f"txids: {TX_HEX}, {KEY_HEX}",
        visible=(TX_HEX, KEY_HEX),
    ),
    Case("solana-signature", f"signature {SOL_SIG}", visible=(SOL_SIG,)),
    # --- must stay visible: addresses ---------------------------------------------------
    Case("eth-address", f"deposit to {ETH_ADDR} please", visible=(ETH_ADDR,)),
    Case("btc-bech32", f"my BTC address {BTC_BECH32}", visible=(BTC_BECH32,)),
    Case("btc-taproot", BTC_TAPROOT, visible=(BTC_TAPROOT,)),
    Case("btc-legacy-p2sh", f"{BTC_LEGACY} and {BTC_P2SH}", visible=(BTC_LEGACY, BTC_P2SH)),
    Case("tron-zh", f"请帮我查一下充值地址 {TRON_ADDR} 的USDT", visible=(TRON_ADDR,)),
    Case("solana-address", f"SOL to {SOL_ADDR}", visible=(SOL_ADDR,)),
    # --- must stay visible: ids, amounts, dates, phones ---------------------------------
    Case("order-luhn-valid", "order 4111111111111111 not filled", visible=("4111111111111111",)),
    Case("order-zh", "订单号 202401151234567 一直没成交", visible=("202401151234567",)),
    Case("price", "I bought 0.5 BTC at 43,250.00 USDT on 2024-01-15 14:30", visible=("43,250.00",)),
    Case("phone", "call me +86 138 0013 8000 or 13800138000", visible=("138 0013 8000",)),
    Case("luhn-invalid", "4111 1111 1111 1112", visible=("4111 1111 1111 1112",)),
    Case(
        "uid-while-expecting", "my UID is 12345678", visible=("12345678",), expecting_2fa_code=True
    ),
    Case(
        "order-zh-while-expecting",
        "订单号 87654321",
        visible=("87654321",),
        expecting_2fa_code=True,
    ),
    Case("referral-code", "referral code is 654321", visible=("654321",)),
    Case("error-code", "error code: 100001 when I withdraw", visible=("100001",)),
    Case("bare-six-digits", "I sent 250000 yesterday", visible=("250000",)),
    # --- must stay visible: ordinary sentences ------------------------------------------
    Case(
        "common-list-words",
        "you can also use this one now, what other day will you want help",
        visible=("what other day",),
    ),
    Case(
        "frozen-account",
        "Please help, my account is frozen since yesterday and I cannot withdraw",
        visible=("account is frozen",),
    ),
    Case(
        "deposit-question",
        "I want to know about my deposit, it has been two days and still nothing arrived",
        visible=("still nothing",),
    ),
    Case(
        "never-shared-seed", "I never shared my seed phrase with anyone", visible=("seed phrase",)
    ),
    Case("password-not-working", "my password is not working", visible=("not working",)),
    Case("forgot-password", "I forgot my password, reset email never arrived", visible=("reset",)),
    Case("api-secret-talk", "api key works but the secret was reset yesterday", visible=("reset",)),
    Case("zh-forgot-password", "我忘记密码了，怎么重置？密码错误", visible=("我忘记密码了",)),
    Case("zh-withdrawal", "请问提现什么时候到账？我等了两天了", visible=("什么时候到账",)),
    Case(
        "zh-spaced-sentence",
        " ".join("请帮我看一下这个问题谢谢你们"),
        visible=("请 帮 我 看",),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_table(case: Case) -> None:
    """Each table case masks exactly its kinds and keeps what support needs."""
    result = redact(case.text, expecting_2fa_code=case.expecting_2fa_code)
    assert result.kinds == case.kinds, result.text
    assert result.masked == bool(case.kinds)
    for fragment in case.visible:
        assert fragment in result.text
    for fragment in case.hidden:
        assert fragment not in result.text
    for kind in case.kinds:
        assert placeholder(kind) in result.text


def test_table_size() -> None:
    """The table holds at least 50 cases, in English and Chinese."""
    assert len(CASES) >= 50
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in c.text) for c in CASES)
    assert {k for c in CASES for k in c.kinds} == set(KINDS)


def test_clean_text_is_returned_as_is() -> None:
    """A message without secrets comes back unchanged with no kinds."""
    assert redact("hello, where is my withdrawal?") == Redaction(
        "hello, where is my withdrawal?", ()
    )


def test_existing_placeholder_is_left_alone() -> None:
    """A placeholder already in the text is neither re-masked nor reported."""
    text = f"password: {placeholder('password')} and {placeholder('seed_phrase')}"
    assert redact(text) == Redaction(text, ())


def test_kinds_are_sorted_and_unique() -> None:
    """Kinds are reported sorted and once each, however often they occur."""
    result = redact(f"{KEY_HEX} pw: abc123 {KEY_HEX[::-1]} password: xyz789")
    assert result.kinds == ("password", "private_key")


def test_warning_english() -> None:
    """The English warning names what was removed, says staff never ask, and says what to do."""
    text = warning(("seed_phrase", "password"), "en")
    assert "recovery (seed) phrase" in text and "a password" in text
    assert "never ask for your password, 2FA code, private key or seed phrase" in text
    assert "new wallet" in text and "change your password" in text


def test_warning_chinese() -> None:
    """A zh locale gets the Chinese warning with matching advice."""
    text = warning(["private_key"], "zh_CN")
    assert "私钥" in text and "绝不会" in text and "新钱包" in text
    assert warning(["card_number"], "zh-TW").endswith("请联系银行冻结该卡。")


def test_warning_without_kinds_is_empty() -> None:
    """No kinds means no warning."""
    assert warning((), "en") == ""


@pytest.mark.parametrize("kind", KINDS)
def test_warning_covers_every_kind(kind: str) -> None:
    """Every kind has a name and advice in both languages."""
    for locale in ("en", "zh"):
        text = warning([kind], locale)
        assert text and "{" not in text


# --------------------------------------------------------------------------------------------
# Properties.

_FRAGMENTS = [
    "password:",
    "my password is",
    "密码是",
    "2fa",
    "验证码",
    "code is",
    "txid",
    "交易哈希",
    "private key",
    "secret",
    "seed phrase is",
    "order",
    "1.",
    "0x",
    "123456",
    "4111 1111 1111 1111",
    "5555-5555-5555-4444",
    "482 913",
    "https://etherscan.io/tx/",
    KEY_HEX,
    TX_HEX,
    API_SECRET,
    WIF_COMPRESSED,
    ETH_ADDR,
    placeholder("password"),
    "[redacted:",
    *SEED12.split(),
]
_SEPARATORS = st.sampled_from(["", " ", "\n", ": ", ", ", "，", "/"])
_MIXED_TEXT = st.lists(
    st.tuples(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=6)), _SEPARATORS),
    max_size=30,
).map(lambda parts: "".join(frag + sep for frag, sep in parts))
_NEUTRAL_WORD = st.sampled_from(["hello", "please", "wallet", "thanks", "我的", "钱包", "急", "!"])
_NEUTRAL_TEXT = st.lists(_NEUTRAL_WORD, max_size=6).map(" ".join)


@given(st.one_of(st.text(), _MIXED_TEXT), st.booleans())
@example("password: [redacted:password]", False)
def test_never_raises(text: str, expecting: bool) -> None:
    """Any string is accepted and yields a Redaction with known kinds."""
    result = redact(text, expecting_2fa_code=expecting)
    assert isinstance(result.text, str)
    assert set(result.kinds) <= set(KINDS)
    assert list(result.kinds) == sorted(set(result.kinds))


@given(st.one_of(st.text(), _MIXED_TEXT), st.booleans())
def test_idempotent(text: str, expecting: bool) -> None:
    """Redacting already-redacted text changes nothing and reports nothing."""
    once = redact(text, expecting_2fa_code=expecting)
    twice = redact(once.text, expecting_2fa_code=expecting)
    assert twice.text == once.text
    assert twice.kinds == ()


_MNEMONIC = Mnemonic("english")


@given(
    st.sampled_from([16, 32]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
    st.text(),
    st.text(),
    st.sampled_from([" ", ", ", "\n"]),
)
def test_embedded_mnemonic_is_masked(entropy: bytes, before: str, after: str, sep: str) -> None:
    """A valid 12- or 24-word mnemonic inside any text is masked and never shown."""
    words = _MNEMONIC.to_mnemonic(entropy).split()
    result = redact(f"{before} {sep.join(words)} {after}")
    assert "seed_phrase" in result.kinds
    # No four consecutive words of the phrase survive anywhere in the output.
    for i in range(len(words) - 3):
        assert sep.join(words[i : i + 4]) not in result.text


_MNEMONIC_ZH = Mnemonic("chinese_simplified")


@given(st.binary(min_size=16, max_size=16), _NEUTRAL_TEXT, _NEUTRAL_TEXT)
def test_embedded_chinese_mnemonic_is_masked(entropy: bytes, before: str, after: str) -> None:
    """A valid 12-character Chinese mnemonic, space separated, is masked and never shown."""
    phrase = _MNEMONIC_ZH.to_mnemonic(entropy)
    result = redact(f"{before} {phrase} {after}")
    assert "seed_phrase" in result.kinds
    assert phrase[8:] not in result.text and phrase[:-8] not in result.text


@given(st.binary(min_size=32, max_size=32), _NEUTRAL_TEXT, _NEUTRAL_TEXT, st.booleans())
def test_embedded_hex_key_is_masked(key: bytes, before: str, after: str, prefixed: bool) -> None:
    """A 64-hex key in text with no transaction context is masked and never shown."""
    secret = ("0x" if prefixed else "") + key.hex()
    result = redact(f"{before} {secret} {after}")
    assert result.kinds == ("private_key",)
    assert key.hex() not in result.text


@st.composite
def _card_body(draw: st.DrawFn) -> str:
    """A card number without its check digit: a common IIN and random digits."""
    iin = draw(st.sampled_from(["4", "51", "37", "62"]))
    length = draw(st.integers(min_value=13, max_value=19))
    size = length - len(iin) - 1
    return iin + draw(st.text("0123456789", min_size=size, max_size=size))


_CARD_BODY = _card_body()


@given(_CARD_BODY, _NEUTRAL_TEXT, _NEUTRAL_TEXT)
def test_embedded_card_is_masked(body: str, before: str, after: str) -> None:
    """A Luhn-valid card number with no order context is masked and never shown."""
    number = _luhn_complete(body)
    result = redact(f"{before} {number} {after}")
    assert result.kinds == ("card_number",)
    assert number not in result.text


@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789!#%&*", min_size=4, max_size=20))
def test_announced_password_is_masked(password: str) -> None:
    """Whatever follows "password:" is masked, in English and Chinese."""
    for keyword in ("password: ", "密码："):
        result = redact(keyword + password)
        assert result == Redaction(keyword + placeholder("password"), ("password",))


# The cheap test that spares most messages the seed-phrase scan must never skip a real run:
# whenever the scan would mask a run, the test must have said "maybe".
_LIST_WORDS = Mnemonic("english").wordlist
_NOISE = st.sampled_from(["abandn", "zoo0", "hello", "wallet", "x", "please", "12", "助记", "的"])


@st.composite
def _run_text(draw: st.DrawFn) -> str:
    words = draw(st.lists(st.sampled_from(_LIST_WORDS[100:400]), min_size=8, max_size=30))
    for _ in range(draw(st.integers(0, 4))):
        words.insert(draw(st.integers(0, len(words))), draw(_NOISE))
    gaps = draw(st.lists(st.sampled_from([" ", ", ", "\n", " 2. ", "-"]), min_size=len(words)))
    return "".join(w + g for w, g in zip(words, gaps, strict=False))


@given(_run_text())
def test_seed_pre_check_never_skips_a_phrase(text: str) -> None:
    tokens = seeds._tokens(text)
    found = any(seeds._is_seed_run(run) for run in seeds._seed_runs(text, tokens))
    if found:
        assert seeds._may_hold_seed_run(seeds._LATIN_WORD_RE.findall(text), text)
