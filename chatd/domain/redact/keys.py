"""Keys and keyword-triggered values: extended keys, WIF keys, "private key: ...", API secrets."""

from __future__ import annotations

import re

from ._spans import (
    B58,
    HAS_DIGIT,
    HAS_LETTER,
    Facts,
    Masks,
    claim,
    trigger_values,
    unmasked_matches,
)

__all__ = ["detect_config_values", "detect_key_shapes", "detect_triggered_values"]

_XPRV_RE = re.compile(rf"(?<![0-9A-Za-z\]])[xyztuvXYZUV]prv[{B58}]{{20,}}")
_WIF_RE = re.compile(
    rf"(?<![0-9A-Za-z\]])(?:5[HJK][{B58}]{{49}}|[KL][{B58}]{{51}})(?![0-9A-Za-z\[])"
)
# Why the triggers below are linear: every quantifier that meets a separator is possessive
# (``*+``, ``++``, ``?+``), so a failed attempt never re-splits a run of separators. The old
# ``(?:\s*(?:is|=|:)\s*)*`` could split " = = = ..." in 3^n ways: "api secret" + " = " * 17
# + "!" took 27 s. Now an attempt scans its keyword, the separators after it and at most the
# value once, and attempts start only at a keyword.
#: "is", "=", "：", "是" ... possibly repeated ("secret = : abc"); at least one, as before.
_SEPS = r"(?:(?:\s*+(?:is|was|are|=|:|：|是|为|為))++\s*+)?+"
#: "private key for binance: ..." (the word after "for" stops at a separator).
_FOR = r"(?:\s++(?:for|of|on|to)\s++[^\s:：=是为為]++)?+"

_KEY_TRIGGER_RE = re.compile(
    r"(?:private[\s_-]*+key|priv[\s_-]*+key|privkey|私钥|私鑰)"
    rf"{_FOR}{_SEPS}[\"'“「]?+"
    r"(?P<value>[A-Za-z0-9+/=]{32,}+)",
    re.IGNORECASE,
)
_SECRET_TRIGGER_RE = re.compile(
    r"(?<![A-Za-z])(?:(?:api|apikey)[\s_-]*+)?(?:secret(?:[\s_-]*+key)?|密钥|秘钥|密鑰)"
    rf"{_FOR}{_SEPS}[\"'“「]?+"
    r"(?P<value>[A-Za-z0-9+/=_\-]{16,}+)",
    re.IGNORECASE,
)


# Config and code shapes: "secret": "...", apiKey: '...', API_SECRET=..., "privateKey": "0x...",
# ccxt's {'apiKey': '...', 'secret': '...', 'password': '...'}. The key name stays visible, the
# value goes. Linear: an attempt starts only at the start of a name (the look-behind), the name
# is at most 64 characters and possessive, and the value at most 256.
_CONFIG_RE = re.compile(
    r"(?<![A-Za-z0-9_.\-])(?P<q>[\"'`]?+)(?P<name>[A-Za-z][A-Za-z0-9_.\-]{0,63}+)(?P=q)"
    r"[ \t]*+(?::|=>|=|：)[ \t]*+"
    r"(?P<vq>[\"'`])?+(?P<value>(?(vq)(?:(?!\[redacted:)[^\"'`\n]){1,256}+|[^\s,;'\"`}{)\]]{1,256}+))(?(vq)(?P=vq))"
)
# What a config name ends with, lower-cased with "-" as "_", and the kind of its value.
_CONFIG_NAMES: tuple[tuple[str, str], ...] = (
    ("private_key", "private_key"),
    ("privatekey", "private_key"),
    ("priv_key", "private_key"),
    ("privkey", "private_key"),
    ("secret", "api_secret"),
    ("secret_key", "api_secret"),
    ("secretkey", "api_secret"),
    ("api_key", "api_secret"),
    ("apikey", "api_secret"),
    ("access_key", "api_secret"),
    ("accesskey", "api_secret"),
    ("_token", "api_secret"),
    ("accesstoken", "api_secret"),
    ("authtoken", "api_secret"),
    ("apitoken", "api_secret"),
    ("password", "password"),
    ("passwd", "password"),
    ("passphrase", "password"),
    ("pwd", "password"),
    ("mnemonic", "seed_phrase"),
    ("seed", "seed_phrase"),
    ("seed_phrase", "seed_phrase"),
)
# Cheap necessary tests on the case-folded text: every name of _CONFIG_NAMES, and every keyword
# of the two triggers, holds one of these. One search each, where a loop over ``in`` tests cost
# a generator per message.
_CONFIG_HINT = re.compile("key|secret|pass|pwd|token|mnemonic|seed")
_KEY_HINT = re.compile("key|priv|私钥|私鑰")
_SECRET_HINT = re.compile("secret|密钥|秘钥|密鑰")
# Values that are a stand-in, not a secret: "...", "xxx", "***", "<your key>", "YOUR_API_KEY".
_STAND_IN_RE = re.compile(r"[.*x<>_\-\s]*+|.*(?:\.\.\.|…|<|your[_ -]?).*", re.IGNORECASE)


def _config_kind(name: str) -> str | None:
    """The kind of secret a config key called ``name`` holds, if any."""
    folded = name.lower().replace("-", "_")
    return next((kind for suffix, kind in _CONFIG_NAMES if folded.endswith(suffix)), None)


def detect_config_values(text: str, masks: Masks, found: set[str], facts: Facts) -> None:
    """Mask the values of secret-named keys in config, JSON, env and code shapes."""
    # Every name of _CONFIG_NAMES holds one of these: most messages skip the search.
    if not ("=" in text or ":" in text or "：" in text) or not _CONFIG_HINT.search(facts.folded):
        return
    for m, start, end in trigger_values(_CONFIG_RE, text, masks):
        kind = _config_kind(m.group("name"))
        if kind is None:
            continue
        value = text[start:end]
        if kind == "password":
            # "password: two words" unquoted is the password detector's, which takes the
            # words of a passphrase; here only the quoted shapes ('password': '...').
            if not (m.group("q") or m.group("vq")) or len(value) < 3:
                continue
        elif kind == "seed_phrase":
            if len(value.split()) < 3:
                continue  # "seed: 42" is a random seed; a phrase has words
        elif len(value) < 8 or not (HAS_DIGIT.search(value) and HAS_LETTER.search(value)):
            continue  # keys and secrets are long and mix letters and digits; "token: USDT" not
        if not _STAND_IN_RE.fullmatch(value):
            claim(masks, found, start, end, kind)


def detect_key_shapes(text: str, masks: Masks, found: set[str]) -> None:
    """Mask extended private keys (xprv...) and WIF keys, which no other string resembles."""
    for m in unmasked_matches(_XPRV_RE, text, masks):
        claim(masks, found, m.start(), m.end(), "extended_private_key")
    if len(text) >= 51:
        for m in unmasked_matches(_WIF_RE, text, masks):
            claim(masks, found, m.start(), m.end(), "wif_key")


def detect_triggered_values(text: str, masks: Masks, found: set[str], facts: Facts) -> None:
    """Mask the value after "private key" / "私钥" and after "API secret" / "密钥"."""
    if _KEY_HINT.search(facts.folded):
        for _, start, end in trigger_values(_KEY_TRIGGER_RE, text, masks):
            if end - start >= 32:
                claim(masks, found, start, end, "private_key")
    if not _SECRET_HINT.search(facts.folded):
        return
    for _, start, end in trigger_values(_SECRET_TRIGGER_RE, text, masks):
        value = text[start:end]
        # Real secrets mix letters and digits; "secret key is incorrectly-configured" does not.
        if len(value) >= 16 and HAS_DIGIT.search(value) and HAS_LETTER.search(value):
            claim(masks, found, start, end, "api_secret")
