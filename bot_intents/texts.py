"""The bot's own sentences (welcome, no match, did-you-mean), per locale.

Kept apart from the knowledge base because they are part of the bot's behaviour, not FAQ
content; every supported locale in :data:`bot_intents.model.LOCALES` must have each text.
"""

from __future__ import annotations

__all__ = ["did_you_mean", "no_match", "welcome"]

_WELCOME = {
    "en": (
        "Hi! I'm the support assistant. Ask me anything about your account, deposits, "
        "withdrawals or trading, or type 'agent' to talk to a person. "
        "Our staff will never ask for your password, 2FA code, private key or seed phrase."
    ),
    "zh": (
        "您好！我是客服助手。关于账户、充值、提现或交易的问题都可以问我；"
        "如需人工客服，请输入“人工”。我们的工作人员绝不会索要您的密码、2FA验证码、私钥或助记词。"
    ),
}

_NO_MATCH = {
    "en": (
        "Sorry, I'm not sure I understood. Could you rephrase your question in a few words, "
        "or type 'agent' to talk to a person?"
    ),
    "zh": "抱歉，我不太确定您的意思。请换个说法简单描述一下问题，或输入“人工”转接人工客服。",
}

_DID_YOU_MEAN = {
    "en": "Did you mean “{first}” or “{second}”? Tap one, or type 'agent' to talk to a person.",
    "zh": "您是想问“{first}”还是“{second}”？请点选其一，或输入“人工”转接人工客服。",
}


def welcome(locale: str) -> str:
    """Greeting shown when a chat opens."""
    return _WELCOME.get(locale, _WELCOME["en"])


def no_match(locale: str) -> str:
    """Polite "rephrase or ask for a person" text for a message nothing matched."""
    return _NO_MATCH.get(locale, _NO_MATCH["en"])


def did_you_mean(locale: str, first: str, second: str) -> str:
    """Question asking which of two close intents the customer meant."""
    return _DID_YOU_MEAN.get(locale, _DID_YOU_MEAN["en"]).format(first=first, second=second)
