"""The customer flow: a chat opens, the customer writes, the bot answers, a person is asked for.

What the widget's socket asks of the service (chatd/web/customer_ws.py): open or resume a
conversation, take a message (mask its secrets, identify its language, store it, let the bot
answer while the chat is the bot's), hand over to the queue, stop waiting, read an earlier
conversation. Tickets and ratings are :mod:`chatd.service.tickets`; where a conversation goes
next (queue, agent, closed) is :mod:`chatd.service.assignments`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from bot_intents import Bot, Reply
from chatd.auth import sign_resume_token, verify_identity, verify_resume_token
from chatd.config import Config
from chatd.domain.handoff import HandoffDecision, decide_handoff
from chatd.domain.redact import warning
from chatd.logs import get_logger
from chatd.protocol import ProtocolError
from chatd.service.assignments import Assignments
from chatd.service.conversations import (
    CUSTOMER_WRITABLE,
    ConversationLog,
    Done,
    changed_meanwhile,
    serialized,
)
from chatd.service.external_bot import ExternalAnswer, ExternalBot
from chatd.service.masking import Masker
from chatd.service.metrics import Metrics
from chatd.service.views import subject_of
from chatd.store.base import ConditionFailed, ConversationRecord, Event, Expect, NewEvent, Store

__all__ = ["GREETING_SUGGESTIONS", "CustomerFlow", "normalize_locale"]

log = get_logger(__name__)

#: Quick replies offered with the greeting: the questions that dominate a market-move surge.
GREETING_SUGGESTIONS = ("account.password_reset", "deposit.missing", "withdrawal.pending")
#: How much of a customer's last message the masker may read with the next one (see
#: chatd.domain.redact: it examines the last 400 characters of ``previous``).
PREVIOUS_TEXT_CHARS = 400


def normalize_locale(locale: str | None, languages: tuple[str, ...] = ("en", "zh")) -> str:
    """Map a browser locale (zh-CN, zh-Hant, pt-BR, tr-TR, ...) to one of ``languages`` (the
    bot's), by its primary subtag; English for any other."""
    primary = (locale or "").strip().lower().replace("_", "-").split("-", 1)[0]
    return primary if primary in languages else "en"


class CustomerFlow:
    """What a customer does in a conversation, up to the hand-over to a person."""

    def __init__(
        self,
        *,
        config: Config,
        log: ConversationLog,
        assignments: Assignments,
        store: Store,
        bot: Bot,
        masker: Masker,
        metrics: Metrics,
        secret: str,
        clock: Callable[[], float],
        external: ExternalBot | None = None,
    ) -> None:
        self.config = config
        #: The exchange's own bot, asked first when ``[bot] webhook_url`` is set.
        self.external = external
        self.log = log
        self.assignments = assignments
        self.store = store
        self.bot = bot
        self.masker = masker
        self.metrics = metrics
        self.secret = secret
        self.clock = clock
        self.accepting = True
        #: Conversations whose last staff message mentioned a 2FA/verification code (the agent
        #: desk adds them; the next customer message masks a bare 6-8 digit number).
        self.code_requested: set[str] = set()
        #: The end of each open conversation's last customer message as stored (masked): the
        #: masker reads it to catch a seed phrase continued in the next message. Kept by the node
        #: that stored it (a customer's messages travel on one socket, so on one node).
        self._previous_text: dict[str, str] = {}
        #: What a conversation must be to take a customer's message.
        self._writable = Expect(
            statuses=CUSTOMER_WRITABLE, seq_below=config.limits.max_events_per_conversation
        )
        assignments.on_closed.append(self._forget)

    def _forget(self, conversation_id: str) -> None:
        self.code_requested.discard(conversation_id)
        self._previous_text.pop(conversation_id, None)

    # -- opening and resuming -----------------------------------------------------------------

    async def start(
        self, *, locale: str | None, user_id: str | None, verified: bool
    ) -> ConversationRecord:
        """Open a new conversation and greet the customer in their language."""
        if not self.accepting:
            raise ProtocolError("unavailable", "the server is shutting down; retry shortly")
        now = self.clock()
        conv = ConversationRecord(
            conversation_id=uuid.uuid4().hex,
            created_at=now,
            updated_at=now,
            locale=normalize_locale(locale, self.bot.languages),
            user_id=user_id if verified else None,
            verified=verified,
        )
        await self.store.create_conversation(conv)
        self.log.open[conv.conversation_id] = conv
        self.metrics.conversations_started.inc()
        suggestions = [
            {"intent": i, "title": self.bot.title(i, conv.locale)}
            for i in GREETING_SUGGESTIONS
            if i in self.bot.intent_ids
        ]
        await self.log.append(
            conv.conversation_id,
            NewEvent(
                kind="message",
                ts=now,
                author="bot",
                text=self.bot.welcome(conv.locale),
                data={"intent": None, "suggestions": suggestions},
            ),
        )
        if self.config.bot.always_handoff:
            async with self.log.section(conv.conversation_id):
                await self.assignments.hand_off(
                    conv.conversation_id,
                    HandoffDecision("always", "normal"),
                    intent=None,
                    skills=(),
                )
        return self.log.open.get(conv.conversation_id, conv)

    def resume_token(self, conversation_id: str) -> str:
        return sign_resume_token(
            self.secret,
            conversation_id,
            now=self.clock(),
            ttl_s=self.config.security.resume_token_ttl_s,
        )

    async def resume(self, token: str) -> ConversationRecord:
        """The conversation a resume token grants; bad_token when invalid, expired or unknown."""
        conversation_id = verify_resume_token(self.secret, token, now=self.clock())
        conv = await self.log.get(conversation_id) if conversation_id else None
        if conv is None:
            raise ProtocolError("bad_token", "this chat link expired; a new chat was not started")
        return conv

    def check_identity(self, user_id: str | None, user_hash: str | None) -> bool:
        """True for a verified customer; ProtocolError when a given hash does not match."""
        if not user_id or not user_hash:
            return False
        if not verify_identity(self.config.security.identity_secret, user_id, user_hash):
            raise ProtocolError("identity_invalid", "user_hash does not match user_id")
        return True

    async def history(self, conversation_id: str, other_id: str, ref: str | None) -> list[dict]:
        """The public events of ``other_id`` if it belongs to the same verified customer.

        Identity comes only from a verified user_hash at hello; an unverified customer (or one
        asking for someone else's conversation) gets ``forbidden`` and learns nothing.
        """
        conv = await self.log.get(conversation_id)
        other = await self.log.get(other_id)
        if (
            conv is None
            or other is None
            or not (conv.verified and conv.user_id)
            or not other.verified
            or other.user_id != conv.user_id
        ):
            raise ProtocolError("forbidden", "that conversation is not yours", ref)
        return await self.log.customer_events(other_id, 0)

    # -- messages -----------------------------------------------------------------------------

    def _may_write(self, conv: ConversationRecord | None, ref: str | None) -> None:
        """ProtocolError unless a customer may add a message to ``conv``."""
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", ref)
        if conv.status == "closed":
            raise ProtocolError("invalid_state", "this conversation is closed", ref)
        self.log.check_size(conv, ref)

    @serialized
    async def message(
        self,
        conversation_id: str,
        cid: str,
        text: str,
        intent: str | None = None,
        *,
        on_stored: Callable[[Event, bool], None] | None = None,
    ) -> Event:
        """A customer's chat message: mask secrets, store, then let the bot or agent see it."""
        expecting_code = conversation_id in self.code_requested
        self.code_requested.discard(conversation_id)
        masked = await self.masker.redact(
            text,
            expecting_2fa_code=expecting_code,
            previous=self._previous_text.get(conversation_id),
        )
        data: dict[str, Any] = {"masked": list(masked.kinds)} if masked.masked else {}
        now = self.clock()
        try:
            event, created = await self.log.append(
                conversation_id,
                NewEvent(
                    kind="message", ts=now, author="customer", text=masked.text, cid=cid, data=data
                ),
                expect=self._writable,
            )
        except ConditionFailed as exc:
            self._may_write(exc.conversation, cid)
            raise changed_meanwhile(cid) from exc
        if on_stored is not None:
            on_stored(event, created)  # acknowledge before the bot's turn
        if not created:
            return event
        self.metrics.messages.labels("customer").inc()
        self._previous_text[conversation_id] = masked.text[-PREVIOUS_TEXT_CHARS:]
        conv = self.log.open.get(conversation_id) or await self.log.get(conversation_id)
        assert conv is not None  # it took the event
        # The language of every customer message, the conversation's so far as the hint (so
        # "ok" or "USDT" does not flip it): the bot answers in it, routing and notices use it.
        language = self.bot.detect_language(masked.text, hint=conv.locale)
        fields: dict[str, Any] = {}
        if conv.subject is None:
            fields["subject"] = subject_of(masked.text)
        if language != conv.locale:
            fields["locale"] = language
        if fields:
            conv = await self.log.update(conversation_id, **fields)
        if masked.masked:
            await self._secret_masked(conv, masked.kinds)
        conv = self.log.open.get(conversation_id, conv)
        if conv.status == "bot":
            await self._bot_turn(conv, masked.text, intent)
        return event

    async def _secret_masked(self, conv: ConversationRecord, kinds: tuple[str, ...]) -> None:
        self.metrics.secrets_masked.inc()
        log.warning("secret_masked", conversation_id=conv.conversation_id, kinds=list(kinds))
        now = self.clock()
        await self.log.audit(
            conv.conversation_id,
            author="system",
            ts=now,
            data={"action": "secret_masked", "kinds": list(kinds)},
        )
        await self.log.append(
            conv.conversation_id,
            NewEvent(
                kind="message",
                ts=now,
                author="system",
                text=warning(kinds, conv.locale),
                data={"warning": "secret_masked", "masked": list(kinds)},
            ),
        )

    async def _bot_turn(self, conv: ConversationRecord, text: str, intent: str | None) -> None:
        reply: Reply
        if intent is not None and intent in self.bot.intent_ids:
            reply = self.bot.answer(intent, conv.locale)
        else:
            reply = self.bot.reply(text, locale=conv.locale)
            if self.external is not None and self.external.enabled:
                answer = await self.external.ask(
                    conversation_id=conv.conversation_id,
                    text=text,
                    locale=conv.locale,
                    user_id=conv.user_id if conv.verified else None,
                    intent=reply.intent,
                    confidence=reply.confidence,
                )
                if answer is not None:
                    await self._external_turn(conv, answer)
                    return
        self.metrics.bot_replies.labels(
            "ambiguous" if reply.ambiguous else ("answered" if reply.intent else "no_match")
        ).inc()
        decision = decide_handoff(
            reply,
            misses=conv.bot_misses,
            handoff_after_misses=self.config.bot.handoff_after_misses,
        )
        await self._bot_says(
            conv,
            reply.answer,
            {
                "intent": reply.intent,
                "confidence": round(reply.confidence, 3),
                "suggestions": [{"intent": s.intent, "title": s.title} for s in reply.suggestions],
                "ambiguous": reply.ambiguous,
                "handoff": reply.handoff,
                "runner_up": [[i, round(c, 3)] for i, c in reply.runner_up[:3]],
            },
        )
        fields: dict[str, Any] = {"bot_misses": decision.misses}
        if reply.locale != conv.locale:
            fields["locale"] = reply.locale
        if reply.intent and not reply.ambiguous and reply.intent != conv.intent:
            # The topic of the chat so far: a later "talk to a person" hands it over (routing
            # by skill, the console's intent, /ops's filter) even though that turn matched none.
            fields["intent"] = reply.intent
            fields["skills"] = tuple(reply.skills)
        conv = await self.log.update(conv.conversation_id, **fields)
        if decision.handoff:
            confident = reply.intent is not None
            await self.assignments.hand_off(
                conv.conversation_id,
                decision,
                intent=reply.intent if confident else conv.intent,
                skills=tuple(reply.skills) if confident else conv.skills,
            )

    async def _bot_says(self, conv: ConversationRecord, text: str, data: dict[str, Any]) -> None:
        """A message from the bot (built-in or the exchange's) into the conversation."""
        new = NewEvent(kind="message", ts=self.clock(), author="bot", text=text, data=data)
        await self.log.append(conv.conversation_id, new)

    async def _external_turn(self, conv: ConversationRecord, answer: ExternalAnswer) -> None:
        """Show the exchange bot's answer as the bot's, and hand off when it says so."""
        self.metrics.bot_replies.labels("external").inc()
        if answer.reply is not None:
            await self._bot_says(
                conv,
                answer.reply,
                {
                    "intent": None,
                    "source": "webhook",
                    "suggestions": [{"intent": None, "title": t} for t in answer.quick_replies],
                    "handoff": "immediate" if answer.handoff else "none",
                },
            )
        conv = await self.log.update(conv.conversation_id, bot_misses=0)
        if answer.handoff:
            await self.assignments.hand_off(
                conv.conversation_id,
                HandoffDecision("external"),
                intent=conv.intent,
                skills=conv.skills,
            )

    async def email_transcript(self, conversation_id: str, address: str) -> Event:
        """The customer asked for their transcript by email: an internal audit event whose own
        transaction queues the mail (chatd.service.deliveries builds it from the stored,
        masked events). The conversation may be open or closed."""
        return await self.log.audit(
            conversation_id,
            author="customer",
            ts=self.clock(),
            data={"action": "transcript_email", "to": address},
        )

    # -- to a person and back -----------------------------------------------------------------

    @serialized
    async def request_human(self, conversation_id: str, cid: str) -> None:
        """The customer asked for a person."""
        conv = await self.log.get(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", cid)
        if conv.status in ("queued", "assigned"):
            return  # already with (or waiting for) a person: nothing to do
        if conv.status != "bot":
            raise ProtocolError("invalid_state", f"the conversation is {conv.status}", cid)
        await self.assignments.hand_off(
            conversation_id,
            HandoffDecision("requested", "normal"),
            intent=conv.intent,
            skills=conv.skills,
        )

    @serialized
    async def leave_queue(self, conversation_id: str, cid: str) -> Done:
        """The customer stops waiting; the bot takes the conversation back."""
        conv = await self.log.get(conversation_id)
        if conv is None or conv.status != "queued":
            retried = await self.log.retried(conversation_id, "customer", cid)
            if retried is not None:
                return retried
            raise ProtocolError("invalid_state", "you are not waiting in the queue", cid)
        self.assignments.leave(conversation_id)
        await self.log.update(conversation_id, status="bot", enqueued_at=None)
        event, _ = await self.log.append(
            conversation_id,
            NewEvent(kind="left_queue", ts=self.clock(), author="customer", cid=cid),
        )
        return Done(event)

    async def typing(self, conversation_id: str, active: bool) -> None:
        """Relay the customer's typing indicator to their agent."""
        conv = self.log.open.get(conversation_id)
        if conv is not None and conv.status == "assigned" and conv.agent_id:
            await self.log.to_agent(
                conv.agent_id,
                {"type": "typing", "conversation_id": conversation_id, "active": active},
            )
