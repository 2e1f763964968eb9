"""The masker stays linear: no message up to the length limit can hold the event loop.

An anonymous customer's message of about 60 characters ("api secret" + " = " * 17 + "!") once
blocked the server for 27 s: the trigger patterns backtracked exponentially. These tests run
the masker on hostile shapes for every family of detectors, at up to ``max_message_chars``,
and fail when one call takes longer than a generous bound (an ordinary message takes well
under 5 ms; the worst shapes here take about 10 ms).

Time is the process's CPU time: what a call costs the event loop, whatever else the machine
runs (wall-clock time on a shared 2-core machine under load jumped to 0.4 s for calls that cost
5 ms of CPU). The fixed corpus runs in a child process with a timeout, so that a catastrophic
regression fails the test instead of hanging the suite.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from mnemonic import Mnemonic

import chatd
from chatd.config import LimitsConfig
from chatd.domain.redact import redact

MAX_CHARS = LimitsConfig().max_message_chars
#: Seconds one call may take; a safety bound against blow-ups, not a speed target.
BOUND_S = 0.25

#: Every keyword that starts a keyword-triggered detector, in English and Chinese.
TRIGGERS = [
    "api secret",
    "API_SECRET",
    "secret",
    "secret key",
    "secretKey",
    "apiKey",
    "api key",
    "private key",
    "priv key",
    "privkey",
    "privateKey",
    "私钥",
    "私鑰",
    "密钥",
    "秘钥",
    "密鑰",
    "seed phrase",
    "recovery phrase",
    "mnemonic",
    "助记词",
    "password",
    "login password for a b",
    "pw",
    "pin",
    "passphrase",
    "密码",
    "口令",
    "2fa",
    "code",
    "the code from google authenticator",
    "验证码",
    "txid",
    "交易哈希",
    "order",
    "UID",
    '"secret"',
    "'apiKey'",
]
SEPARATORS = [
    " = ",
    " : ",
    "=",
    ":",
    "：",
    " is ",
    "is",
    " was ",
    "是 ",
    "是",
    " 为 ",
    " ",
    "\t",
    "\n",
    '"',
    "'",
    '": "',
    " for x ",
    " for ",
    ", ",
    "-",
    "1",
    "1 ",
    "a",
    "a ",
    " 1. ",
    "[redacted:password]",
]
TAILS = ["!", "", "。", "x", "\u3000", " ", "[redacted:password]", "a1", "123456"]


def _hostile(word: str, sep: str, reps: int, tail: str) -> str:
    """``word`` and ``reps`` separators, cut to the length limit, then ``tail``."""
    return (word + sep * reps)[: MAX_CHARS - len(tail)] + tail


def _fill(unit: str, head: str = "", tail: str = "") -> str:
    """``head``, as many ``unit`` as fit in the length limit, ``tail``."""
    return head + unit * ((MAX_CHARS - len(head) - len(tail)) // len(unit)) + tail


_EN = Mnemonic("english").wordlist
_ZH = Mnemonic("chinese_simplified").wordlist
#: A previous message as long as allowed, ending with list words: the continuation check reads
#: its tail and tokenises this message.
HOSTILE_PREVIOUS = " ".join(_EN[i * 7 % 2048] for i in range(800))[-MAX_CHARS:]


@settings(deadline=None, max_examples=150)
@given(
    st.sampled_from(TRIGGERS),
    st.sampled_from(SEPARATORS),
    st.integers(min_value=1, max_value=MAX_CHARS),
    st.sampled_from(TAILS),
    st.booleans(),
    st.sampled_from([None, "[redacted:seed_phrase]", HOSTILE_PREVIOUS]),
)
def test_trigger_separator_repetition_is_fast(
    word: str, sep: str, reps: int, tail: str, expecting: bool, previous: str | None
) -> None:
    """Any trigger word followed by any separator repeated up to the limit is masked at once."""
    text = _hostile(word, sep, reps, tail)
    started = time.process_time()
    redact(text, expecting_2fa_code=expecting, previous=previous)
    assert time.process_time() - started < BOUND_S, (word, sep, reps, tail)


_HEX64 = "ab" * 32

#: Hostile shapes for every family of detectors, each close to the length limit.
CORPUS: dict[str, str] = {
    "reported-17": "api secret" + " = " * 17 + "!",
    "reported-full": _hostile("api secret", " = ", MAX_CHARS, "!"),
    "secret-colons": _fill(" : ", "api secret", "。"),
    "secret-is": _fill(" is ", "secret", ""),
    "private-key-seps": _fill(" = ", "private key", "!"),
    "private-key-for-seps": _fill(" =", "private key for x", "!"),
    "zh-private-key": _fill("是 ", "私钥", "!"),
    "zh-secret": _fill(" 为 ", "密钥", "。"),
    "zh-password-spaces": _fill(" ", "密码", ""),
    "zh-password-seps": _fill(" 是 ", "密码", "x"),
    "password-is-spaces": _fill(" ", "password is", ""),
    "password-for-chain": _fill(" a", "password for", "!"),
    "password-chains": _fill("password for a b c d e ", ""),
    "password-is-chain": _fill("password is ", ""),
    "pin-chain": _fill("pin ", ""),
    "keywords-in-xprv": _fill("privkey", "xprv", ""),
    "secret-words": _fill("secret ", "", "\u3000"),
    "api-words": _fill("api ", "", "secret!"),
    "config-keys": _fill('"secret": ', "{", "}"),
    "config-eq": _fill("API_SECRET=", ""),
    "many-code-words": _fill("code ", "", "123456"),
    "codes-and-words": _fill("code 123456 ", ""),
    "authenticator-words": _fill("the code from your authenticator app ", "", "123456"),
    "digits-single-spaces": _fill("1 ", "2fa "),
    "digits-dashes": _fill("1-", ""),
    "card-groups": _fill("4111 ", ""),
    "card-groups-dash": _fill("4111-", "", "\u3000"),
    "digits-long": _fill("4", "", "x"),
    "digits-mixed": _fill("4111 111 ", ""),
    "amounts-usdt": _fill("withdraw 150000 USDT code ", ""),
    "uid-words": _fill("UID 12345678 code ", ""),
    "hex-run": _fill("a", "", "!"),
    "hex-groups-8": _fill("a77a08bc ", ""),
    "hex-groups-4-dash": _fill("a77a-", ""),
    "hex-groups-colon": _fill("a7:", ""),
    "hex-keys-in-path": _fill("/" + _HEX64, "x"),
    "hex-keys-dashed": _fill("-" + _HEX64, "x"),
    "txid-hex": _fill(" txid " + _HEX64, ""),
    "base58-run": _fill("Z", "", "!"),
    "base58-groups": _fill("Zk ", ""),
    "xprv-run": _fill("xprv", ""),
    "bip39-typos": " ".join(
        _EN[i * 7 % 2048] if i % 3 else _EN[i * 7 % 2048][:-1] + "q" for i in range(700)
    )[:MAX_CHARS],
    "bip39-far-typos": _fill("abandon zzzzzzzzz "),
    "bip39-runs-of-47": " ! ".join(
        " ".join(_EN[(i * 47 + j) * 13 % 2048] for j in range(47)) for i in range(20)
    )[:MAX_CHARS],
    "zh-runs-of-48": " 。的的 ".join(
        " ".join(_ZH[(i * 48 + j) * 13 % 2048] for j in range(48)) for i in range(60)
    )[:MAX_CHARS],
    "bip39-run": " ".join(_EN[i * 7 % 2048] for i in range(800))[:MAX_CHARS],
    "seed-announced-chain": _fill("seed phrase is abandon ability "),
    "seed-announced-commas": _fill(",", "seed phrase is ", "abandon ability able about"),
    "placeholders": _fill("[redacted:password]"),
    "placeholders-glued": _fill("[redacted:seed_phrase]x "),
    "numbered-words": _fill(" 1. ", "abandon"),
    "all-keywords": _fill("password secret private key 2fa code 123456 seed "),
    "passphrase-words": _fill(" purple", "my password is"),
    "config-dicts": _fill("{'apiKey': 'ab12cd34ef56gh78', 'secret': 'x', 'password': 'y'} "),
    "list-words-after-previous": " ".join(_EN[i * 11 % 2048] for i in range(800))[:MAX_CHARS],
    "zh-password-chain": _fill("密码是"),
    "quotes": _fill('"', "password is "),
}

# Each text alone, with a code expected, and after a hostile previous message (only the new
# masker takes ``previous``: the old one is timed without it).
_CHILD = """
import inspect, json, sys, time
from chatd.domain.redact import redact
texts, previous = json.load(sys.stdin)
kwargs = [{}, {"expecting_2fa_code": True}]
if "previous" in inspect.signature(redact).parameters:
    kwargs.append({"previous": previous})
for name, text in texts.items():
    worst = 0.0
    for kw in kwargs:
        started = time.process_time()
        redact(text, **kw)
        worst = max(worst, time.process_time() - started)
    print(json.dumps([name, worst]), flush=True)
"""


def _worst_times(texts: dict[str, str]) -> tuple[dict[str, float], list[str]]:
    """Seconds of the slower of two calls per text, measured in a child; and those unfinished."""
    timed_out = False
    try:
        out = subprocess.run(
            [sys.executable, "-c", _CHILD],
            input=json.dumps([texts, HOSTILE_PREVIOUS]),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
            # The child imports the same chatd as this process.
            env={**os.environ, "PYTHONPATH": str(Path(chatd.__file__).parents[1])},
        ).stdout
    except subprocess.TimeoutExpired as exc:
        timed_out = True
        partial = exc.stdout or b""
        out = partial.decode() if isinstance(partial, bytes) else partial
    times = dict(json.loads(line) for line in out.splitlines())
    unfinished = [name for name in texts if name not in times]
    assert timed_out or not unfinished
    return times, unfinished


def test_reported_input_is_fast() -> None:
    """The reported message ("api secret" + " = " * 17 + "!") and its 4,000-char form are fast."""
    texts = {name: CORPUS[name] for name in ("reported-17", "reported-full")}
    assert len(texts["reported-17"]) == 62 and len(texts["reported-full"]) == MAX_CHARS
    times, unfinished = _worst_times(texts)
    assert not unfinished and max(times.values()) < BOUND_S, (times, unfinished)


def test_hostile_corpus_is_fast() -> None:
    """Each hostile shape, at up to the length limit, is masked within the bound."""
    assert all(len(text) <= MAX_CHARS for text in CORPUS.values())
    times, unfinished = _worst_times(CORPUS)
    slow = {name: round(t, 3) for name, t in times.items() if t >= BOUND_S}
    assert not unfinished and not slow, f"slow: {slow}; never finished: {unfinished[:1]}"
