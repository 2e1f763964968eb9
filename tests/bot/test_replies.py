"""Behaviour of Bot.reply on realistic messages (none of them copied from the KB's examples)."""

from __future__ import annotations

import pytest

from bot_intents import Bot
from bot_intents.loader import default_kb_paths, load_knowledge_base

# Realistic customer messages with the intent the bot must answer with.
MESSAGES: list[tuple[str, str]] = [
    ("hey, i forgot the password for my account, how can i get back in?", "account.password_reset"),
    ("need to reset my password asap", "account.password_reset"),
    ("passwrod reset email never came", "account.password_reset"),
    ("my new phone doesn't have google authenticator, how to move 2fa", "account.2fa_reset"),
    ("lost my authenticator, can't get in", "account.2fa_reset"),
    ("why is my account locked??", "account.locked"),
    ("account got frozen after i logged in from vacation", "account.locked"),
    ("someone hacked my account and withdrew everything", "security.compromised"),
    ("i see a withdrawal i didn't make!!", "security.compromised"),
    ("got an email asking for my seed phrase, is it you?", "security.phishing"),
    ("a telegram 'support' guy wants my 2fa code", "security.phishing"),
    ("how can i register a new account", "account.signup"),
    ("what do i need to verify my identity", "kyc.verify"),
    ("my kyc has been pending for days", "kyc.status"),
    ("verification got rejected, what now", "kyc.status"),
    ("i sent usdt to my deposit address but it's not showing", "deposit.missing"),
    ("deposited btc 5 hours ago, still nothing in my balance", "deposit.missing"),
    ("how can i deposit bitcoin", "deposit.how"),
    ("where do i find my usdt deposit address", "deposit.how"),
    ("my withdrawal has been pending since yesterday", "withdrawal.pending"),
    ("withdrew eth and it hasn't arrived in my wallet", "withdrawal.pending"),
    ("how much is the fee to withdraw usdt", "withdrawal.fees_limits"),
    ("what's my daily withdrawal limit", "withdrawal.fees_limits"),
    ("what fees do you charge for spot trades", "trading.fees"),
    ("how do i place a limit order", "trading.order_types"),
    ("what's the difference between a stop loss and a limit", "trading.order_types"),
    ("my order keeps failing with insufficient balance", "trading.order_failed"),
    ("how do i use 20x leverage on futures", "margin.leverage"),
    ("how do i stake my eth for rewards", "staking.earn"),
    ("my api key gives invalid signature", "api.keys"),
    ("do you support cardano", "assets.supported"),
    ("how many confirmations for a btc deposit", "blockchain.confirmations"),
    ("please delete my account", "account.close"),
    ("i need a csv of my trades for taxes", "tax.documents"),
    ("is customer support open on sunday", "support.hours"),
    ("can i talk to a real human please", "support.human"),
    ("hello there", "greeting"),
    ("thank you very much!", "thanks"),
    ("ok bye then", "goodbye"),
    ("忘了登录密码怎么办", "account.password_reset"),
    ("我想重置一下密码", "account.password_reset"),
    ("新手机没有谷歌验证器了怎么登录", "account.2fa_reset"),
    ("为什么我的账户被锁定了", "account.locked"),
    ("我的号被盗了，币全没了", "security.compromised"),
    ("有人冒充客服找我要助记词", "security.phishing"),
    ("怎么注册一个新账户", "account.signup"),
    ("实名认证需要准备什么", "kyc.verify"),
    ("身份认证审核好几天了", "kyc.status"),
    ("USDT充值到现在还没到账", "deposit.missing"),
    ("怎么往账户里充币", "deposit.how"),
    ("USDT提现一直没到", "withdrawal.pending"),
    ("提币手续费是多少", "withdrawal.fees_limits"),
    ("现货交易的手续费怎么算", "trading.fees"),
    ("限价单怎么下", "trading.order_types"),
    ("下单总是失败", "trading.order_failed"),
    ("合约怎么开杠杆", "margin.leverage"),
    ("ETH质押收益怎么算", "staking.earn"),
    ("API签名一直报错", "api.keys"),
    ("你们支持哪些币种", "assets.supported"),
    ("转账需要几个区块确认", "blockchain.confirmations"),
    ("我想把账户注销掉", "account.close"),
    ("怎么导出交易记录报税", "tax.documents"),
    ("客服几点下班", "support.hours"),
    ("我要人工客服", "support.human"),
    ("你好呀", "greeting"),
    ("非常感谢你的帮助", "thanks"),
    ("那就先这样吧，再见啦", "goodbye"),
]

# Known misses of the shipped KB: they get a low-confidence "did you mean" question instead of the
# no-match text. strict=True makes the test fail once they are fixed, so they get promoted.
KNOWN_MISSES = [
    pytest.param(
        message,
        marks=pytest.mark.xfail(
            strict=True, reason="known OOS miss: a did-you-mean question, not the no-match text"
        ),
    )
    # 怎么做蛋炒饭 got the no-match text with the en+zh KB; with seven languages it gets a
    # "did you mean" (still no confident answer, so the held-out set counts it as handed off).
    for message in ("can you write my cover letter", "怎么做蛋炒饭")
]

OUT_OF_SCOPE = [
    *KNOWN_MISSES,
    "what's a good recipe for lasagna",
    "who is going to win the world cup",
    "how do I fix my bike chain",
    "what is the boiling point of water",
    "今天北京天气如何",
    "给我推荐一本小说",
]


def test_table_is_large_and_not_copied_from_kb() -> None:
    """The table has >= 60 messages in both languages and none is a KB example verbatim."""
    kb = load_knowledge_base(default_kb_paths())
    examples = {e.casefold() for i in kb.intents for v in i.examples.values() for e in v}
    assert len(MESSAGES) >= 60
    assert not [m for m, _ in MESSAGES if m.casefold() in examples]
    kb_bot = Bot(kb)
    assert {kb_bot.detect_language(m) for m, _ in MESSAGES} == {"en", "zh"}


@pytest.mark.parametrize(("message", "intent"), MESSAGES)
def test_realistic_message_gets_expected_intent(bot: Bot, message: str, intent: str) -> None:
    """Each realistic message is answered with (or asks about) the expected intent."""
    reply = bot.reply(message)
    asked = reply.ambiguous and intent in [s.intent for s in reply.suggestions]
    assert reply.intent == intent or asked, (reply.intent, reply.confidence, reply.runner_up)
    assert reply.locale == bot.detect_language(message)


def test_table_accuracy_is_high(bot: Bot) -> None:
    """Across the table, the bot answers (not just asks) for most messages."""
    answered = sum(bot.reply(m).intent == i and not bot.reply(m).ambiguous for m, i in MESSAGES)
    assert answered / len(MESSAGES) >= 0.8


@pytest.mark.parametrize("message", OUT_OF_SCOPE)
def test_out_of_scope_hands_off(bot: Bot, message: str) -> None:
    """Off-topic messages get no intent and the polite rephrase-or-agent text."""
    reply = bot.reply(message)
    assert reply.intent is None
    assert reply.handoff == "never" and reply.answer
    assert any(s.intent == "support.human" for s in reply.suggestions)


def test_compromised_is_urgent_and_immediate(bot: Bot) -> None:
    """An account takeover is routed to a human immediately with urgent priority."""
    reply = bot.reply("someone logged into my account and stole my bitcoin")
    assert reply.intent == "security.compromised"
    assert (reply.priority, reply.handoff) == ("urgent", "immediate")
    assert "security" in reply.skills


def test_reply_answers_in_locale(bot: Bot) -> None:
    """A Chinese question gets the Chinese answer and Chinese suggestion titles."""
    reply = bot.reply("忘记密码了怎么办")
    assert reply.locale == "zh"
    assert "密码" in reply.answer
    assert all(s.title == bot.title(s.intent, "zh") for s in reply.suggestions)


def test_explicit_locale_wins(bot: Bot) -> None:
    """A locale like zh-CN or tr-TR overrides detection; one the KB does not speak does not."""
    assert bot.reply("forgot my password", locale="zh-CN").locale == "zh"
    assert bot.reply("forgot my password", locale="tr-TR").locale == "tr"
    assert bot.reply("forgot my password", locale="fr").locale == "en"
    assert bot.reply("забыл пароль", locale="fr").locale == "ru"


# One realistic question per language (none is a KB example), with a word of the answer.
QUESTIONS = {
    "en": ("i forgot my password, how do i get back in", "account.password_reset", "password"),
    "zh": ("提币一直没到账", "withdrawal.pending", "提现"),
    "ru": ("вывод usdt trc20 висит уже 3 часа", "withdrawal.pending", "вывод"),
    "es": ("olvidé mi contraseña y no puedo entrar", "account.password_reset", "contraseña"),
    "ko": ("OTP 재설정 어떻게 해요", "account.2fa_reset", "OTP"),
    "tr": ("sifremi unuttum giris yapamiyorum", "account.password_reset", "şifre"),
    "vi": ("rut tien usdt 2 tieng chua ve vi", "withdrawal.pending", "rút"),
}


@pytest.mark.parametrize("locale", sorted(QUESTIONS))
def test_answer_comes_in_the_customers_language(bot: Bot, locale: str) -> None:
    """Each language's question gets the intent, the answer and the chips in that language."""
    text, intent, word = QUESTIONS[locale]
    reply = bot.reply(text)
    assert (reply.intent, reply.locale) == (intent, locale)
    assert word.casefold() in reply.answer.casefold()
    assert reply.answer == bot.answer(intent, locale).answer
    assert all(s.title == bot.title(s.intent, locale) for s in reply.suggestions)


def test_turkish_in_an_english_browser_gets_turkish(bot: Bot) -> None:
    """A customer whose conversation is English but who writes Turkish is answered in Turkish."""
    reply = bot.reply("şifremi unuttum ne yapmalıyım", hint="en")
    assert (reply.intent, reply.locale) == ("account.password_reset", "tr")


def test_short_message_keeps_the_conversation_language(bot: Bot) -> None:
    """An "ok" in a Turkish conversation is answered in Turkish, not English."""
    assert bot.reply("ok", hint="tr").locale == "tr"
    assert bot.reply("USDT", hint="ru").locale == "ru"
    assert bot.reply("ok").locale == "en"


@pytest.mark.parametrize("locale", ["en", "zh", "ru", "es", "ko", "tr", "vi"])
def test_no_match_and_did_you_mean_in_each_language(bot: Bot, locale: str) -> None:
    """The bot's own texts exist in each language and differ from English outside English."""
    no_match = bot.reply("lorem ipsum dolor", locale=locale)
    assert no_match.intent is None and no_match.locale == locale
    assert no_match.answer == bot.kb.texts["no_match"][locale]
    assert (no_match.answer == bot.kb.texts["no_match"]["en"]) == (locale == "en")
    assert bot.welcome(locale) == bot.kb.texts["welcome"][locale]


def test_ambiguous_reply_asks_with_both_suggestions(bot: Bot) -> None:
    """When the best two are close, the reply asks and suggests both."""
    queries = ("withdraw", "deposit", "fees", "提现", "有人冒充客服找我要助记词", "my card")
    replies = [bot.reply(m) for m in queries]
    ambiguous = [r for r in replies if r.ambiguous]
    assert ambiguous, "expected at least one one-word query to be ambiguous"
    for reply in ambiguous:
        assert len(reply.suggestions) == 2
        assert reply.suggestions[0].intent == reply.intent
        assert reply.suggestions[1].intent == reply.runner_up[0][0]
        assert reply.handoff == "never"
        assert reply.suggestions[0].title in reply.answer


def test_reply_fields_and_to_dict(bot: Bot) -> None:
    """Reply fields have the documented types and to_dict is JSON-ready."""
    import json

    reply = bot.reply("how do i reset my pasword")
    assert 0.0 <= reply.confidence <= 1.0
    assert reply.handoff in ("never", "after_answer", "immediate")
    assert reply.priority in ("normal", "urgent")
    assert isinstance(reply.skills, tuple)
    assert all(0.0 <= c <= 1.0 for _, c in reply.runner_up)
    data = json.loads(json.dumps(reply.to_dict()))
    assert data["intent"] == "account.password_reset"
    assert set(data) >= {"intent", "confidence", "answer", "suggestions", "handoff", "locale"}


def test_welcome_in_each_locale(bot: Bot) -> None:
    """The welcome text tells, in each language, how to reach a person."""
    person = {"en": "agent", "zh": "人工", "ru": "оператор", "es": "agente", "ko": "상담원",
              "tr": "temsilci", "vi": "nhân viên"}  # fmt: skip
    for locale, word in person.items():
        assert word in bot.welcome(locale), locale
    assert bot.welcome("pt-BR") == bot.welcome("en")


def test_search_finds_relevant_intent(bot: Bot) -> None:
    """The agent console's KB search ranks the relevant intent first."""
    hits = bot.search("withdrawal fee", limit=3)
    assert hits and hits[0].intent == "withdrawal.fees_limits"
    assert len(hits) <= 3 and hits[0].answer
    assert bot.search("", limit=3) == []
    assert bot.search("提现手续费", limit=1)[0].title == "提现手续费与限额"


def test_intent_ids_and_titles(bot: Bot) -> None:
    """intent_ids lists every intent, each with a distinct title in each language."""
    assert len(bot.intent_ids) == 27
    for locale in bot.languages:
        titles = [bot.title(intent_id, locale) for intent_id in bot.intent_ids]
        assert all(titles) and len(set(titles)) == len(titles), locale
    assert bot.title("greeting", "xx") == bot.title("greeting", "en")
