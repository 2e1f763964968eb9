"""What the relay load says: support-chat lines of realistic length, in English and Chinese.

Every relayed message is one of these, after its number ("r17 ..."), so chatd does the work a
real message costs (secret masking scans the whole text; a 4-character message would hide it).
None of them holds a secret: chatd relays them unchanged, the baseline likewise.
With the number: 10 to 140 characters, about 55 on average (chat messages are short).

Each conversation is in one language, as customers write (:data:`CHINESE_EVERY`: every fourth
pair in Chinese). Until 2026-12-03 every conversation cycled through both languages line by
line; since chatd follows the language of each customer message (issue 19), every switch was a
change of the conversation's language, a write a real chat does not make once per few lines.
"""

from __future__ import annotations

__all__ = ["AGENT_LINES", "CHINESE_EVERY", "CUSTOMER_LINES", "line", "speaks_chinese"]

#: One conversation in this many is in Chinese.
CHINESE_EVERY = 4

CUSTOMER_LINES: tuple[str, ...] = (
    "hi, my deposit has not arrived yet",
    "I sent 0.5 BTC to my exchange address about two hours ago and it still shows pending",
    "where is my withdrawal?? it has been 3 hours",
    "ok thanks",
    "I can't log in, it keeps saying my session expired even after I reset the app",
    "my order 88231904 was filled at a price much worse than the limit I set, can you check?",
    "我的提现还没到账，请帮我查一下",
    "充值 USDT 走的是 TRC20 网络，已经 30 分钟了还没显示",
    "yes that's the one",
    "The app froze during the crash and my stop loss didn't trigger. I lost a lot of money "
    "and I want someone to explain what happened.",
    "how long does KYC verification usually take?",
    "好的，谢谢",
)

AGENT_LINES: tuple[str, ...] = (
    "Hello, thanks for waiting. Let me look into this for you.",
    "Could you tell me which network you used for the transfer?",
    "I can see the transaction; it needs 2 more confirmations before it is credited.",
    "Withdrawals are delayed by about 20 minutes right now because of high volume.",
    "您好，请稍等，我帮您查询一下。",
    "Thanks, I have escalated this to our trading team; you will get an email within 24 hours.",
    "Is there anything else I can help you with?",
    "您的充值已经到账，请刷新页面查看。",
)


_BY_LANGUAGE = {
    (side, chinese): tuple(t for t in lines if t.isascii() != chinese)
    for side, lines in ((True, CUSTOMER_LINES), (False, AGENT_LINES))
    for chinese in (False, True)
}


def speaks_chinese(pair_index: int) -> bool:
    """Whether conversation ``pair_index`` of a load is in Chinese."""
    return pair_index % CHINESE_EVERY == CHINESE_EVERY - 1


def line(from_customer: bool, number: int, chinese: bool = False) -> str:
    """The text of message ``number``: its number, then a line of that side and language."""
    lines = _BY_LANGUAGE[(from_customer, chinese)]
    return f"r{number} {lines[number % len(lines)]}"
