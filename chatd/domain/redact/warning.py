"""The notice shown to a customer whose message had something masked."""

from __future__ import annotations

from collections.abc import Iterable

from ._spans import KINDS

__all__ = ["warning"]

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
