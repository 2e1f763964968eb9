"""bot_intents: a fuzzy intent bot that answers the support FAQ in the customer's language.

The shipped knowledge base speaks en, zh, ru, es, ko, tr and vi; a KB file adds a language by
adding a locale key (docs/bot.md). Load once, answer many::

    from bot_intents import load_bot
    bot = load_bot()                       # the shipped crypto-exchange support KB
    bot.languages                          # ("en", "es", "ko", "ru", "tr", "vi", "zh")
    reply = bot.reply("how do i reset my pasword", hint="en")
    reply.intent, reply.confidence, reply.answer, reply.handoff, reply.locale
    bot.detect_language("şifremi unuttum", hint="en")   # "tr"

The package imports nothing from chatd and does no I/O after loading.
"""

from __future__ import annotations

from bot_intents.bot import Bot
from bot_intents.errors import KnowledgeBaseError
from bot_intents.loader import load_knowledge_base
from bot_intents.loading import load_bot
from bot_intents.model import Calibration, Intent, KnowledgeBase, Reply, SearchHit, Suggestion

__all__ = [
    "Bot",
    "Calibration",
    "Intent",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "Reply",
    "SearchHit",
    "Suggestion",
    "load_bot",
    "load_knowledge_base",
]
