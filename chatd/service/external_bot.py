"""The exchange's own bot, asked before the built-in one (``[bot] webhook_url``).

For each customer message the bot would answer, chatd POSTs JSON to ``webhook_url``::

    {"conversation_id", "text" (secrets already masked), "locale", "user_id" (verified or null),
     "intent_guess": {"intent", "confidence"} (what the built-in bot matched)}

signed like webhooks (``Chatd-Signature: t=<unix>,v1=<hex HMAC-SHA256(webhook_secret,
"<t>.<raw body>")>``), and shows the answer ``{"reply": str|null, "handoff": bool,
"quick_replies": [str, ...]}`` as the bot's: ``reply`` is said, ``quick_replies`` become chips,
``handoff`` sends the chat to the queue. This is how "where is my withdrawal?" is answered from
the exchange's own data. A timeout (``webhook_timeout_s``), a non-2xx answer, or a body that is
not that shape falls back to the built-in bot, as does ``{"reply": null, "handoff": false}``
("not mine"). The answer is bounded: ``reply`` by ``limits.max_message_chars``, at most
:data:`MAX_QUICK_REPLIES` chips of :data:`MAX_CHIP_CHARS` characters.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import aiohttp

from chatd.config import BotConfig
from chatd.domain.delivery import signature_header
from chatd.logs import get_logger

__all__ = ["MAX_CHIP_CHARS", "MAX_QUICK_REPLIES", "ExternalAnswer", "ExternalBot"]

log = get_logger(__name__)

MAX_QUICK_REPLIES = 6
MAX_CHIP_CHARS = 80
#: The most of an answer read (a larger body is not an answer).
_MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class ExternalAnswer:
    """What the exchange's bot said: a reply (or None), chips, and whether to hand off."""

    reply: str | None
    handoff: bool
    quick_replies: tuple[str, ...] = ()


def parse_answer(data: Any, max_chars: int) -> ExternalAnswer | None:
    """The answer in ``data``, or None when it is not the contract's shape."""
    if not isinstance(data, dict):
        return None
    reply, handoff, chips = data.get("reply"), data.get("handoff", False), data.get("quick_replies")
    if reply is not None and (not isinstance(reply, str) or not reply.strip()):
        return None
    if not isinstance(handoff, bool):
        return None
    if chips is None:
        chips = []
    if not isinstance(chips, list) or not all(isinstance(c, str) and c.strip() for c in chips):
        return None
    return ExternalAnswer(
        reply=reply[:max_chars].strip() if reply is not None else None,
        handoff=handoff,
        quick_replies=tuple(c.strip()[:MAX_CHIP_CHARS] for c in chips[:MAX_QUICK_REPLIES]),
    )


class ExternalBot:
    """Asks ``[bot] webhook_url``; one HTTP session per node, opened at the first question."""

    def __init__(self, config: BotConfig, *, max_chars: int) -> None:
        self.url = config.webhook_url
        self.secret = config.webhook_secret
        self.timeout_s = config.webhook_timeout_s
        self.max_chars = max_chars
        self._session: aiohttp.ClientSession | None = None
        #: Questions that fell back to the built-in bot (timeouts, errors, bad answers).
        self.fallbacks = 0

    @property
    def enabled(self) -> bool:
        return bool(self.url)

    async def ask(
        self,
        *,
        conversation_id: str,
        text: str,
        locale: str,
        user_id: str | None,
        intent: str | None,
        confidence: float,
    ) -> ExternalAnswer | None:
        """The exchange bot's answer, or None: the built-in bot answers instead."""
        body = json.dumps(
            {
                "conversation_id": conversation_id,
                "text": text,
                "locale": locale,
                "user_id": user_id,
                "intent_guess": {"intent": intent, "confidence": round(confidence, 3)},
            },
            ensure_ascii=False,
        ).encode()
        headers = {"Content-Type": "application/json", "User-Agent": "chatd"}
        if self.secret:
            headers["Chatd-Signature"] = signature_header(self.secret, int(time.time()), body)
        if self._session is None:
            self._session = aiohttp.ClientSession()
        try:
            async with asyncio.timeout(self.timeout_s):
                async with self._session.post(self.url, data=body, headers=headers) as r:
                    if r.status // 100 != 2:
                        raise ValueError(f"HTTP {r.status}")
                    raw = await r.content.read(_MAX_BODY_BYTES + 1)
            if len(raw) > _MAX_BODY_BYTES:
                raise ValueError("answer too large")
            answer = parse_answer(json.loads(raw), self.max_chars)
            if answer is None:
                raise ValueError("answer is not {reply, handoff, quick_replies}")
        except (TimeoutError, aiohttp.ClientError, ValueError, OSError) as exc:
            self.fallbacks += 1
            log.warning("external_bot_failed", conversation_id=conversation_id, error=str(exc))
            return None
        if answer.reply is None and not answer.handoff:
            return None  # "not mine": the built-in bot answers
        return answer

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
