"""The chat orchestrator: turns client actions and core decisions into stored, delivered events.

Every change to a conversation goes the same way: validate against the conversation's state,
append an event to the store (which assigns its ``seq``), then publish the event on the bus so the
customer's and the agent's connections receive it. A client action is acknowledged only after its
event is stored. Appends and publishes of one conversation happen under that conversation's lock,
so delivery order is seq order.

Queue and agent decisions come from the pure :class:`~chatd.domain.dispatch.Dispatcher`; this
module applies them (see :mod:`chatd.service.queueing` for the periodic parts: assignment, queue
updates, grace timers).
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import operator
import time
import uuid
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from bot_intents import Bot, Reply
from chatd.auth import (
    parse_agent_token,
    sign_resume_token,
    verify_agent_token,
    verify_identity,
    verify_resume_token,
)
from chatd.bus.base import Bus
from chatd.config import Config
from chatd.domain.dispatch import Assignment, Dispatcher
from chatd.domain.handoff import HandoffDecision, decide_handoff
from chatd.domain.notices import language_fallback_notice
from chatd.domain.queue import FairQueue, QueueEntry
from chatd.domain.redact import asks_for_code, redact, warning
from chatd.domain.routing import FALLBACK_LANGUAGE, AgentProfile, language_of
from chatd.domain.stats import outcome
from chatd.domain.wait import WaitEstimator
from chatd.logs import get_logger
from chatd.protocol import ProtocolError, event_frame
from chatd.service.cluster import Coordinator, LocalCoordinator
from chatd.service.masking import Masker
from chatd.service.metrics import Metrics
from chatd.service.views import conversation_summary, event_dict, subject_of, ticket_dict
from chatd.store.base import (
    STATUSES,
    AgentRecord,
    ConditionFailed,
    ConversationFilter,
    ConversationRecord,
    Event,
    Expect,
    NewEvent,
    Store,
    TicketRecord,
)

_Method = TypeVar("_Method", bound=Callable[..., Awaitable[Any]])
#: Where a customer may still write (a ticket's conversation takes follow-ups until closed).
_CUSTOMER_WRITABLE = tuple(status for status in STATUSES if status != "closed")

__all__ = ["ChatService", "Done", "normalize_locale"]

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


_CONVERSATION_FIELDS = tuple(ConversationRecord.__dataclass_fields__)
_conversation_values = operator.attrgetter(*_CONVERSATION_FIELDS)
_LAST_SEQ = _CONVERSATION_FIELDS.index("last_seq")
_UPDATED_AT = _CONVERSATION_FIELDS.index("updated_at")


def _with_last_event(conv: ConversationRecord, seq: int, ts: float) -> ConversationRecord:
    """``dataclasses.replace(conv, last_seq=seq, updated_at=ts)`` at half the cost (per event)."""
    values = list(_conversation_values(conv))
    values[_LAST_SEQ] = seq
    values[_UPDATED_AT] = ts
    return ConversationRecord(*values)


@dataclasses.dataclass(frozen=True, slots=True)
class Done:
    """What a client action stored: its event (None when it changed nothing) and whether it
    was a retry of an action already applied (then ``event`` is the first one's)."""

    event: Event | None = None
    duplicate: bool = False

    @property
    def seq(self) -> int | None:
        return self.event.seq if self.event is not None else None


def _owned_by(
    agent: AgentRecord, conv: ConversationRecord | None, ref: str | None
) -> ConversationRecord:
    """``conv`` if it is assigned to ``agent``; not_found or forbidden otherwise."""
    if conv is None:
        raise ProtocolError("not_found", "no such conversation", ref)
    if conv.status != "assigned" or conv.agent_id != agent.agent_id:
        raise ProtocolError("forbidden", "this conversation is not assigned to you", ref)
    return conv


def _by_agent(
    agent: AgentRecord,
    kind: str,
    ts: float,
    *,
    cid: str | None,
    text: str | None = None,
    internal: bool = False,
    data: Mapping[str, Any] | None = None,
) -> NewEvent:
    """An event written by ``agent``: their id and name are stamped on it."""
    return NewEvent(
        kind=kind,
        ts=ts,
        author="agent",
        text=text,
        author_id=agent.agent_id,
        author_name=agent.name,
        cid=cid,
        internal=internal,
        data=data or {},
    )


def _allows(expect: Expect, conv: ConversationRecord | None) -> bool:
    return conv is not None and expect.allows(conv)


def _changed(ref: str | None) -> ProtocolError:
    """A cluster append refused although the conversation, read again, allows it: another node
    changed it in between (twice). Nothing was stored; sending again is safe."""
    return ProtocolError("invalid_state", "the conversation changed meanwhile; send again", ref)


def serialized(method: _Method) -> _Method:
    """Run a ChatService method inside its conversation's critical section.

    The conversation is the method's ``conversation_id`` argument.
    """
    position = list(inspect.signature(method).parameters).index("conversation_id")

    @functools.wraps(method)
    async def wrapper(self: ChatService, *args: Any, **kwargs: Any) -> Any:
        conversation_id = kwargs.get("conversation_id") or args[position - 1]
        async with self._conversation(conversation_id):
            return await method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _ConversationSection:
    """The critical section of :meth:`ChatService._conversation`.

    A class rather than ``contextlib.asynccontextmanager``: every chat message enters it twice
    (the method, then ``_append``), and the generator machinery cost more than the lock.
    """

    __slots__ = ("_conversation_id", "_lock", "_service")

    def __init__(self, service: ChatService, conversation_id: str) -> None:
        self._service = service
        self._conversation_id = conversation_id
        #: The lock this section acquired (a strong reference: the registry holds weak ones);
        #: None when the task already held it (re-entry passes straight through).
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        service, conversation_id = self._service, self._conversation_id
        task = asyncio.current_task()
        if service._lock_owners.get(conversation_id) is task:
            return
        lock = service._lock(conversation_id)
        await lock.acquire()
        self._lock = lock
        service._lock_owners[conversation_id] = task

    async def __aexit__(self, *_exc: object) -> None:
        lock = self._lock
        if lock is not None:
            self._lock = None
            del self._service._lock_owners[self._conversation_id]
            lock.release()


class ChatService:
    """Conversations, agents, queue and tickets of one chatd node."""

    def __init__(
        self,
        *,
        config: Config,
        store: Store,
        bus: Bus,
        bot: Bot,
        secret: str,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.store = store
        self.bus = bus
        self.bot = bot
        self.secret = secret
        self.metrics = metrics or Metrics()
        self.clock = clock
        self.reset_dispatcher()
        #: Who applies queue/agent changes: this process (default) or the cluster's leader
        #: (chatd.service.cluster; the app swaps in a ClusterCoordinator in cluster mode).
        self.coordinator: Coordinator = LocalCoordinator(self)
        #: Open conversations (bot, queued, assigned), kept in memory; the store is the truth.
        self.open: dict[str, ConversationRecord] = {}
        self.agents: dict[str, AgentRecord] = {}
        #: Agent connections per agent id (an agent may have two tabs open).
        self.agent_connections: dict[str, int] = {}
        #: Customer connections per conversation.
        self.customer_connections: dict[str, int] = {}
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._assign_wanted = asyncio.Event()
        self._lock_owners: dict[str, asyncio.Task[Any] | None] = {}
        #: Conversations whose last staff message mentioned a 2FA/verification code.
        self._code_requested: set[str] = set()
        #: The end of each open conversation's last customer message as stored (masked): the
        #: masker reads it to catch a seed phrase continued in the next message. Kept by the node
        #: that stored it (a customer's messages travel on one socket, so on one node).
        self._previous_text: dict[str, str] = {}
        self.accepting = True
        #: Masks customer text inline, or in a worker process when it is long.
        self.masker = Masker(config.limits)
        #: What a conversation must be to take a customer's message.
        self._customer_expect = Expect(
            statuses=_CUSTOMER_WRITABLE, seq_below=config.limits.max_events_per_conversation
        )
        #: Set by the queueing loops (chatd.service.queueing) on start.
        self.on_queue_changed: Callable[[], None] = lambda: None

    def reset_dispatcher(self) -> None:
        """An empty Dispatcher (start; in cluster mode also on winning or losing leadership)."""
        q = self.config.queue
        self.dispatcher = Dispatcher(
            queue=FairQueue({"urgent": q.urgent_boost_s, "vip": q.vip_boost_s, "normal": 0.0}),
            estimator=WaitEstimator(q.prior_handle_s),
        )
        self.restored_agents: set[str] = set()

    @property
    def shared(self) -> bool:
        """Cluster mode: other nodes change conversations too, so the open cache may be stale."""
        return not self.coordinator.inline

    async def refresh(self, conversation_id: str) -> ConversationRecord | None:
        """Cluster mode: reload a conversation into the open cache from the store (the truth)."""
        conv = await self.store.get_conversation(conversation_id)
        self._remember(conversation_id, conv)
        return conv

    def _remember(self, conversation_id: str, conv: ConversationRecord | None) -> None:
        """Keep a conversation read from the store in the open cache, or drop it once closed."""
        if conv is not None and conv.status in ("bot", "queued", "assigned"):
            self.open[conversation_id] = conv
        else:
            self.open.pop(conversation_id, None)

    # -- lifecycle --------------------------------------------------------------------------------

    async def recover(self) -> None:
        """Bring back open conversations, queue order and assignments after a (re)start."""
        now = self.clock()
        for agent in await self.store.list_agents():
            self.agents[agent.agent_id] = agent
        restored_agents: set[str] = set()
        for conv in await self.store.open_conversations():
            self.open[conv.conversation_id] = conv
            if conv.status == "queued":
                self.dispatcher.enqueue(self._entry(conv), now)
            elif conv.status == "assigned" and conv.agent_id in self.agents:
                agent_id = conv.agent_id
                if agent_id not in restored_agents:
                    self.dispatcher.agent_online(self._profile(self.agents[agent_id]), now)
                    self.dispatcher.agent_offline(agent_id, now)
                    restored_agents.add(agent_id)
                self.dispatcher.attach(agent_id, conv.conversation_id)
            elif conv.status == "assigned":
                # Its agent account was removed while the server was down: back to the queue.
                await self._update(conv.conversation_id, status="queued", agent_id=None)
                self.dispatcher.enqueue(self._entry(self.open[conv.conversation_id]), now)
        self.restored_agents = restored_agents
        log.info(
            "recovered",
            open_conversations=len(self.open),
            queued=len(self.dispatcher.queue),
            agents_with_chats=len(restored_agents),
        )

    # -- helpers ----------------------------------------------------------------------------------

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    def _conversation(self, conversation_id: str) -> _ConversationSection:
        """Hold the conversation's lock; re-entrant within one task (``async with``).

        Every change of a conversation runs inside it from its first read of the state to its
        last write, so a close cannot slip between an assignment's check and its write, and two
        tabs cannot hand off one chat twice. Nested calls in the same task pass straight through.
        """
        return _ConversationSection(self, conversation_id)

    @staticmethod
    def _profile(agent: AgentRecord) -> AgentProfile:
        return AgentProfile(
            agent_id=agent.agent_id,
            name=agent.name,
            capacity=agent.capacity,
            languages=agent.languages,
            skills=agent.skills,
        )

    @staticmethod
    def _entry(conv: ConversationRecord) -> QueueEntry:
        return QueueEntry(
            conversation_id=conv.conversation_id,
            priority=conv.priority,
            enqueued_at=conv.enqueued_at if conv.enqueued_at is not None else conv.created_at,
            locale=conv.locale,
            skills=conv.skills,
        )

    async def conversation(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, from memory when open, else from the store."""
        if self.shared:
            return await self.refresh(conversation_id)
        conv = self.open.get(conversation_id)
        if conv is None:
            conv = await self.store.get_conversation(conversation_id)
        return conv

    async def _update(self, conversation_id: str, **fields: Any) -> ConversationRecord:
        now = self.clock()
        await self.store.update_conversation(conversation_id, **fields)
        conv = self.open.get(conversation_id) or await self.store.get_conversation(conversation_id)
        assert conv is not None
        conv = dataclasses.replace(conv, updated_at=now, **fields)
        if conv.status in ("bot", "queued", "assigned"):
            self.open[conversation_id] = conv
        else:
            self.open.pop(conversation_id, None)
        return conv

    async def _append(
        self,
        conversation_id: str,
        new: NewEvent,
        *,
        agent_id: str | None = None,
        expect: Expect | None = None,
    ) -> tuple[Event, bool]:
        """Store an event and deliver it, under the conversation's lock (seq order = delivery).

        The assigned agent receives it too (``agent_id`` names them when the conversation has
        just left the open set, e.g. on close). ``expect``: what the conversation must be for
        the event to be stored, else ConditionFailed (a retried cid still returns its event).
        In cluster mode the store checks it where it allocates the seq; one process checks its
        open cache (the truth there) and leaves anything else to the store.
        """
        async with self._conversation(conversation_id):
            if (self.shared and agent_id is None) or (
                expect is not None and not _allows(expect, self.open.get(conversation_id))
            ):
                # Cluster mode reads after the append (the store returns the row in the same
                # round trip): an assignment committed before it is seen here, one committed
                # after it includes this event in its chat_assigned history.
                event, created, fresh = await self.store.append_event_with_conversation(
                    conversation_id, new, expect
                )
                if created:
                    self._remember(conversation_id, fresh)
            else:
                event, created = await self.store.append_event(conversation_id, new)
            if created:
                conv = self.open.get(conversation_id)
                if conv is not None:
                    self.open[conversation_id] = _with_last_event(conv, event.seq, event.ts)
                    agent_id = agent_id or conv.agent_id
                await self._publish_event(event, agent_id)
        return event, created

    async def _publish_event(self, event: Event, agent_id: str | None) -> None:
        if not event.internal:
            await self.bus.publish(
                f"conv:{event.conversation_id}",
                {"frame": event_frame(event, for_customer=True)},
            )
        if agent_id is not None:
            await self.bus.publish(
                f"agent:{agent_id}", {"frame": event_frame(event, for_customer=False)}
            )

    async def _to_agent(self, agent_id: str, frame: Mapping[str, Any]) -> None:
        await self.bus.publish(f"agent:{agent_id}", {"frame": frame})

    async def _to_customer(self, conversation_id: str, frame: Mapping[str, Any]) -> None:
        await self.bus.publish(f"conv:{conversation_id}", {"frame": frame})

    async def _to_all_agents(self, frame: Mapping[str, Any]) -> None:
        await self.bus.publish("agents", {"frame": frame})

    def _customer_may_write(self, conv: ConversationRecord | None, ref: str | None) -> None:
        """ProtocolError unless a customer may add a message to ``conv``."""
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", ref)
        if conv.status == "closed":
            raise ProtocolError("invalid_state", "this conversation is closed", ref)
        self._check_size(conv, ref)

    def _check_size(self, conv: ConversationRecord, ref: str | None) -> None:
        if conv.last_seq >= self.config.limits.max_events_per_conversation:
            raise ProtocolError(
                "limit_reached", "this conversation is too long; please start a new one", ref
            )

    async def _retried(self, conversation_id: str, owner: str, cid: str | None) -> Done | None:
        """The first result when ``owner`` already sent ``cid`` in this conversation.

        Actions that are not plain appends (close, csat, ticket, transfer) check this first:
        their state has changed since the first attempt, so re-running them would answer a
        client whose ack was lost with an error about the change it made itself.
        """
        if cid is None:
            return None
        event = await self.store.event_by_cid(conversation_id, owner, cid)
        return Done(event, duplicate=True) if event is not None else None

    # -- customers --------------------------------------------------------------------------------

    async def start_conversation(
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
        self.open[conv.conversation_id] = conv
        self.metrics.conversations_started.inc()
        suggestions = [
            {"intent": i, "title": self.bot.title(i, conv.locale)}
            for i in GREETING_SUGGESTIONS
            if i in self.bot.intent_ids
        ]
        await self._append(
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
            await self._handoff(conv.conversation_id, HandoffDecision("always", "normal"), None)
        return self.open.get(conv.conversation_id, conv)

    def resume_token(self, conversation_id: str) -> str:
        return sign_resume_token(
            self.secret,
            conversation_id,
            now=self.clock(),
            ttl_s=self.config.security.resume_token_ttl_s,
        )

    async def resume_conversation(self, token: str) -> ConversationRecord:
        """The conversation a resume token grants; bad_token when invalid, expired or unknown."""
        conversation_id = verify_resume_token(self.secret, token, now=self.clock())
        conv = await self.conversation(conversation_id) if conversation_id else None
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

    async def earlier_conversations(self, conv: ConversationRecord) -> list[dict]:
        """A verified customer's other conversations, newest first (empty when unverified)."""
        if not (conv.verified and conv.user_id):
            return []
        found = await self.store.list_conversations(
            ConversationFilter(user_id=conv.user_id, limit=21)
        )
        return [
            {
                "conversation_id": other.conversation_id,
                "created_at": other.created_at,
                "status": other.status,
                "intent": other.intent,
                "subject": other.subject,
            }
            for other in found
            if other.conversation_id != conv.conversation_id and other.verified
        ][:20]

    async def customer_history(
        self, conversation_id: str, other_id: str, ref: str | None
    ) -> list[dict]:
        """The public events of ``other_id`` if it belongs to the same verified customer.

        Identity comes only from a verified user_hash at hello; an unverified customer (or one
        asking for someone else's conversation) gets ``forbidden`` and learns nothing.
        """
        conv = await self.conversation(conversation_id)
        other = await self.conversation(other_id)
        if (
            conv is None
            or other is None
            or not (conv.verified and conv.user_id)
            or not other.verified
            or other.user_id != conv.user_id
        ):
            raise ProtocolError("forbidden", "that conversation is not yours", ref)
        return await self.customer_events(other_id, 0)

    async def customer_events(
        self, conversation_id: str, after_seq: int, limit: int | None = None
    ) -> list[dict]:
        """Public events after ``after_seq`` (at most ``limit``), as customer frames (resume)."""
        events = await self.store.events(
            conversation_id, after_seq=after_seq, include_internal=False, limit=limit
        )
        return [event_frame(e, for_customer=True) for e in events]

    @serialized
    async def customer_message(
        self,
        conversation_id: str,
        cid: str,
        text: str,
        intent: str | None = None,
        *,
        on_stored: Callable[[Event, bool], None] | None = None,
    ) -> Event:
        """A customer's chat message: mask secrets, store, then let the bot or agent see it."""
        expecting_code = conversation_id in self._code_requested
        self._code_requested.discard(conversation_id)
        masked = await self.masker.redact(
            text,
            expecting_2fa_code=expecting_code,
            previous=self._previous_text.get(conversation_id),
        )
        data: dict[str, Any] = {"masked": list(masked.kinds)} if masked.masked else {}
        now = self.clock()
        try:
            event, created = await self._append(
                conversation_id,
                NewEvent(
                    kind="message", ts=now, author="customer", text=masked.text, cid=cid, data=data
                ),
                expect=self._customer_expect,
            )
        except ConditionFailed as exc:
            self._customer_may_write(exc.conversation, cid)
            raise _changed(cid) from exc
        if on_stored is not None:
            on_stored(event, created)  # acknowledge before the bot's turn
        if not created:
            return event
        self.metrics.messages.labels("customer").inc()
        self._previous_text[conversation_id] = masked.text[-PREVIOUS_TEXT_CHARS:]
        conv = self.open.get(conversation_id) or await self.conversation(conversation_id)
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
            conv = await self._update(conversation_id, **fields)
        if masked.masked:
            await self._secret_masked(conv, masked.kinds)
        conv = self.open.get(conversation_id, conv)
        if conv.status == "bot":
            await self._bot_turn(conv, masked.text, intent)
        return event

    async def _secret_masked(self, conv: ConversationRecord, kinds: tuple[str, ...]) -> None:
        self.metrics.secrets_masked.inc()
        log.warning("secret_masked", conversation_id=conv.conversation_id, kinds=list(kinds))
        now = self.clock()
        await self._append(
            conv.conversation_id,
            NewEvent(
                kind="audit",
                ts=now,
                author="system",
                internal=True,
                data={"action": "secret_masked", "kinds": list(kinds)},
            ),
        )
        await self._append(
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
        self.metrics.bot_replies.labels(
            "ambiguous" if reply.ambiguous else ("answered" if reply.intent else "no_match")
        ).inc()
        decision = decide_handoff(
            reply,
            misses=conv.bot_misses,
            handoff_after_misses=self.config.bot.handoff_after_misses,
        )
        await self._append(
            conv.conversation_id,
            NewEvent(
                kind="message",
                ts=self.clock(),
                author="bot",
                text=reply.answer,
                data={
                    "intent": reply.intent,
                    "confidence": round(reply.confidence, 3),
                    "suggestions": [
                        {"intent": s.intent, "title": s.title} for s in reply.suggestions
                    ],
                    "ambiguous": reply.ambiguous,
                    "handoff": reply.handoff,
                    "runner_up": [[i, round(c, 3)] for i, c in reply.runner_up[:3]],
                },
            ),
        )
        misses = decision.misses
        fields: dict[str, Any] = {"bot_misses": misses}
        if reply.locale != conv.locale:
            fields["locale"] = reply.locale
        if reply.intent and not reply.ambiguous and reply.intent != conv.intent:
            # The topic of the chat so far: a later "talk to a person" hands it over (routing
            # by skill, the console's intent, /ops's filter) even though that turn matched none.
            fields["intent"] = reply.intent
            fields["skills"] = tuple(reply.skills)
        await self._update(conv.conversation_id, **fields)
        if decision.handoff:
            await self._handoff(conv.conversation_id, decision, reply)

    @serialized
    async def request_human(self, conversation_id: str, cid: str) -> None:
        """The customer asked for a person."""
        conv = await self.conversation(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", cid)
        if conv.status in ("queued", "assigned"):
            return  # already with (or waiting for) a person: nothing to do
        if conv.status != "bot":
            raise ProtocolError("invalid_state", f"the conversation is {conv.status}", cid)
        await self._handoff(conversation_id, HandoffDecision("requested", "normal"), None)

    async def _handoff(
        self, conversation_id: str, decision: HandoffDecision, reply: Reply | None
    ) -> None:
        """Put the conversation in the human queue (and offer a ticket when nobody can come)."""
        conv = self.open[conversation_id]
        now = self.clock()
        intent = reply.intent if reply is not None and reply.intent else conv.intent
        skills = tuple(reply.skills) if reply is not None and reply.intent else conv.skills
        conv = await self._update(
            conversation_id,
            status="queued",
            priority=decision.priority,
            intent=intent,
            skills=skills,
            enqueued_at=now,
            handoff_reason=decision.reason,
            bot_misses=0,
        )
        self.metrics.handoffs.labels(decision.reason).inc()
        await self._append(
            conversation_id,
            NewEvent(
                kind="queued",
                ts=now,
                author="system",
                data={"priority": decision.priority, "reason": decision.reason, "intent": intent},
            ),
        )
        self.coordinator.enqueue(conv, now, offer_ticket=True)
        log.info(
            "handoff",
            conversation_id=conversation_id,
            reason=decision.reason,
            priority=decision.priority,
            intent=intent,
        )
        if self.coordinator.inline:  # else the leader offers it once it queued the chat
            await self._offer_ticket_if_needed(conversation_id)
        # Their place in line at once, not at the next update tick (up to an interval later).
        await self.coordinator.send_position_now(conversation_id)
        self.wake_assigner()

    async def _offer_ticket_if_needed(self, conversation_id: str) -> None:
        status = self.dispatcher.queue_status(conversation_id, self.clock())
        if status is None:
            return
        conv = self.open.get(conversation_id)
        if (
            conv is not None
            and language_of(conv.locale) != FALLBACK_LANGUAGE
            and self.dispatcher.language_fallback(conv.locale)
        ):
            await self._append(
                conversation_id,
                NewEvent(
                    kind="message",
                    ts=self.clock(),
                    author="system",
                    text=language_fallback_notice(conv.locale),
                    data={"notice": "language_fallback", "language": FALLBACK_LANGUAGE},
                ),
            )
        if status.agents_online == 0:
            reason = "no_agents"
        elif (
            status.estimated_wait_s is not None
            and status.estimated_wait_s > self.config.queue.max_wait_s
        ):
            reason = "long_wait"
        else:
            return
        await self._append(
            conversation_id,
            NewEvent(
                kind="ticket_offered", ts=self.clock(), author="system", data={"reason": reason}
            ),
        )

    @serialized
    async def leave_queue(self, conversation_id: str, cid: str) -> Done:
        """The customer stops waiting; the bot takes the conversation back."""
        conv = await self.conversation(conversation_id)
        if conv is None or conv.status != "queued":
            retried = await self._retried(conversation_id, "customer", cid)
            if retried is not None:
                return retried
            raise ProtocolError("invalid_state", "you are not waiting in the queue", cid)
        self.coordinator.leave(conversation_id, self.clock())
        await self._update(conversation_id, status="bot", enqueued_at=None)
        event, _ = await self._append(
            conversation_id,
            NewEvent(kind="left_queue", ts=self.clock(), author="customer", cid=cid),
        )
        self.on_queue_changed()
        return Done(event)

    @serialized
    async def create_ticket(
        self, conversation_id: str, cid: str, contact: str, text: str
    ) -> tuple[int, Done]:
        """Turn the conversation into a ticket answered in writing later; (ticket id, done)."""
        conv = await self.conversation(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", cid)
        retried = await self._retried(conversation_id, "customer", cid)
        if retried is not None and retried.event is not None:
            return int(retried.event.data.get("ticket_id", 0)), retried
        existing = await self.store.ticket_for_conversation(conversation_id)
        if existing is not None:
            return existing.ticket_id, Done()
        if conv.status not in ("bot", "queued"):
            raise ProtocolError("invalid_state", f"the conversation is {conv.status}", cid)
        now = self.clock()
        if conv.status == "queued":
            self.coordinator.leave(conversation_id, now)
            self.on_queue_changed()
        masked = await self.masker.redact(text)
        contact_masked = redact(contact).text  # at most 200 characters: inline
        ticket = await self.store.create_ticket(
            conversation_id, contact=contact_masked, text=masked.text, now=now
        )
        await self._update(conversation_id, status="ticket")
        event, _ = await self._append(
            conversation_id,
            NewEvent(
                kind="ticket_created",
                ts=now,
                author="customer",
                text=masked.text,
                cid=cid,
                data={"ticket_id": ticket.ticket_id, "contact": contact_masked},
            ),
        )
        self.metrics.tickets.inc()
        log.info("ticket_created", conversation_id=conversation_id, ticket_id=ticket.ticket_id)
        await self._to_all_agents({"type": "ticket", "ticket": ticket_dict(ticket)})
        return ticket.ticket_id, Done(event)

    @serialized
    async def submit_csat(
        self, conversation_id: str, cid: str, score: int, comment: str | None
    ) -> Done:
        """Rate a closed conversation, once (a retry of the rating is acknowledged again)."""
        conv = await self.conversation(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", cid)
        if conv.status not in ("closed", "ticket"):
            raise ProtocolError("invalid_state", "rate the chat after it has ended", cid)
        if conv.csat_score is not None:
            retried = await self._retried(conversation_id, "customer", cid)
            if retried is not None:
                return retried
            raise ProtocolError("invalid_state", "this chat was already rated", cid)
        comment = (await self.masker.redact(comment)).text if comment else None
        await self.store.update_conversation(
            conversation_id, csat_score=score, csat_comment=comment
        )
        self.metrics.csat.observe(score)
        event, _ = await self._append(
            conversation_id,
            NewEvent(
                kind="csat",
                ts=self.clock(),
                author="customer",
                cid=cid,
                data={"score": score, "comment": comment},
            ),
        )
        return Done(event)

    @serialized
    async def close(
        self,
        conversation_id: str,
        *,
        by: str,
        ref: str | None,
        agent: AgentRecord | None = None,
    ) -> Done:
        """End the conversation (customer, agent or system); agents get their slot back.

        ``ref`` is the closing client's cid, stored on the ``closed`` event so that a retry is
        acknowledged as a duplicate; ``agent`` names the staff member who closed it.
        """
        conv = await self.conversation(conversation_id)
        if conv is None:
            raise ProtocolError("not_found", "no such conversation", ref)
        if conv.status == "closed" or conv.closed_at is not None:
            owner = agent.agent_id if agent is not None else by
            return await self._retried(conversation_id, owner, ref) or Done()
        now = self.clock()
        agent_id = conv.agent_id if conv.status == "assigned" else None
        if conv.status == "queued":
            self.coordinator.leave(conversation_id, now)
            self.on_queue_changed()
        if agent_id is not None:
            handled = now - conv.assigned_at if conv.assigned_at else None
            self.coordinator.release(agent_id, conversation_id, now, handled_s=handled)
        ended = outcome(conv)
        self._code_requested.discard(conversation_id)
        self._previous_text.pop(conversation_id, None)
        # The state changes first, so a client that rates the chat the moment it sees "closed"
        # finds it closed. A ticket stays a ticket (its answer may still come): only closed_at.
        status = "ticket" if conv.status == "ticket" else "closed"
        await self._update(conversation_id, status=status, closed_at=now, closed_by=by)
        data: dict[str, Any] = {"by": by}
        if agent is not None:
            data.update(agent_id=agent.agent_id, agent_name=agent.name)
        event, _ = await self._append(
            conversation_id,
            NewEvent(
                kind="closed",
                ts=now,
                author=by,
                author_id=agent.agent_id if agent is not None else None,
                author_name=agent.name if agent is not None else None,
                cid=ref,
                data=data,
            ),
            agent_id=agent_id,
        )
        self.metrics.conversations_closed.labels(ended).inc()
        log.info("closed", conversation_id=conversation_id, by=by, outcome=ended)
        if agent_id is not None:
            await self._to_agent(
                agent_id,
                {"type": "unassigned", "conversation_id": conversation_id, "reason": "closed"},
            )
            self.wake_assigner()
        return Done(event)

    async def customer_typing(self, conversation_id: str, active: bool) -> None:
        conv = self.open.get(conversation_id)
        if conv is not None and conv.status == "assigned" and conv.agent_id:
            await self._to_agent(
                conv.agent_id,
                {"type": "typing", "conversation_id": conversation_id, "active": active},
            )

    # -- agents -----------------------------------------------------------------------------------

    async def authenticate(self, token: str) -> AgentRecord:
        """The account a token belongs to; not_authenticated otherwise (constant-time compare)."""
        agent_id = parse_agent_token(token)
        agent = await self.store.get_agent(agent_id) if agent_id else None
        if agent is None or not verify_agent_token(token, agent.token_hash):
            raise ProtocolError("not_authenticated", "the token is not valid")
        self.agents[agent.agent_id] = agent
        return agent

    def agent_status(self, agent_id: str) -> str:
        return self.coordinator.agent_status(agent_id)

    async def agent_connected(self, agent: AgentRecord, status: str) -> None:
        """An agent (not an operator) connection opened: they take chats when online."""
        self.agent_connections[agent.agent_id] = self.agent_connections.get(agent.agent_id, 0) + 1
        self.coordinator.agent_status_changed(agent, status, connected=True)
        log.info("agent_online", agent_id=agent.agent_id, status=status)
        self.on_queue_changed()
        self.wake_assigner()

    async def set_agent_status(self, agent: AgentRecord, status: str) -> None:
        self.coordinator.agent_status_changed(agent, status, connected=False)
        if status == "online":
            self.wake_assigner()
        self.on_queue_changed()

    def agent_disconnected(self, agent: AgentRecord) -> bool:
        """Returns True when it was the agent's last connection (the grace period starts)."""
        left = self.agent_connections.get(agent.agent_id, 1) - 1
        if left > 0:
            self.agent_connections[agent.agent_id] = left
            return False
        self.agent_connections.pop(agent.agent_id, None)
        self.coordinator.agent_offline(agent.agent_id, self.clock())
        log.info("agent_offline", agent_id=agent.agent_id)
        self.on_queue_changed()
        return True

    async def agent_conversations(self, agent_id: str) -> list[ConversationRecord]:
        return await self.coordinator.conversations_of(agent_id)

    async def assigned_frame(self, conv: ConversationRecord) -> dict:
        """Everything an agent needs to take over: summary, full history, earlier chats."""
        events = await self.store.events(conv.conversation_id)
        earlier = await self.earlier_conversations(conv)
        return {
            "type": "chat_assigned",
            "conversation": conversation_summary(
                conv, customer_online=conv.conversation_id in self.customer_connections
            ),
            "events": [event_dict(e) for e in events],
            "earlier": earlier,
        }

    async def _owned(
        self, agent: AgentRecord, conversation_id: str, ref: str | None
    ) -> ConversationRecord:
        if self.shared:
            await self.refresh(conversation_id)
        return _owned_by(agent, self.open.get(conversation_id), ref)

    @serialized
    async def agent_message(
        self, agent: AgentRecord, conversation_id: str, cid: str, text: str
    ) -> Done:
        now = self.clock()
        try:
            event, created = await self._append(
                conversation_id,
                _by_agent(agent, "message", now, text=text, cid=cid),
                expect=Expect(
                    statuses=("assigned",),
                    agent_id=agent.agent_id,
                    seq_below=self.config.limits.max_events_per_conversation,
                ),
            )
        except ConditionFailed as exc:
            self._check_size(_owned_by(agent, exc.conversation, cid), cid)
            raise _changed(cid) from exc
        if created:
            if asks_for_code(text):
                self._code_requested.add(conversation_id)
            self.metrics.messages.labels("agent").inc()
            conv = self.open.get(conversation_id)  # as the append left it
            if conv is not None and conv.first_response_at is None:
                await self._update(conversation_id, first_response_at=now)
                if conv.enqueued_at is not None:
                    self.metrics.first_response.observe(max(0.0, now - conv.enqueued_at))
        return Done(event, duplicate=not created)

    async def agent_typing(self, agent: AgentRecord, conversation_id: str, active: bool) -> None:
        await self._owned(agent, conversation_id, None)
        await self._to_customer(
            conversation_id, {"type": "typing", "active": active, "author_name": agent.name}
        )

    @serialized
    async def note(self, agent: AgentRecord, conversation_id: str, cid: str, text: str) -> Done:
        conv = await self._owned(agent, conversation_id, cid)
        self._check_size(conv, cid)
        event, created = await self._append(
            conversation_id,
            _by_agent(agent, "note", self.clock(), text=text, cid=cid, internal=True),
        )
        return Done(event, duplicate=not created)

    @serialized
    async def set_tags(
        self, agent: AgentRecord, conversation_id: str, cid: str, tags: tuple[str, ...]
    ) -> Done:
        await self._owned(agent, conversation_id, cid)
        clean = tuple(sorted({t.strip().lower() for t in tags if t.strip()}))
        await self._update(conversation_id, tags=clean)
        event, created = await self._append(
            conversation_id,
            _by_agent(
                agent, "tags", self.clock(), cid=cid, internal=True, data={"tags": list(clean)}
            ),
        )
        return Done(event, duplicate=not created)

    @serialized
    async def transfer(
        self, agent: AgentRecord, conversation_id: str, cid: str, to_agent_id: str | None
    ) -> Done:
        """Hand a chat to another online agent, or back to the queue at its original place."""
        retried = await self._retried(conversation_id, agent.agent_id, cid)
        if retried is not None:
            return retried
        await self._owned(agent, conversation_id, cid)
        now = self.clock()
        if to_agent_id is None:
            await self.requeue(conversation_id, reason="transfer")
            return Done()
        target_record = self.agents.get(to_agent_id) or await self.store.get_agent(to_agent_id)
        if target_record is None or target_record.role != "agent":
            raise ProtocolError("not_found", f"no agent with the id {to_agent_id[:64]!r}", cid)
        await self.coordinator.transfer(agent.agent_id, to_agent_id, conversation_id, now, cid)
        await self._update(conversation_id, agent_id=to_agent_id, assigned_at=now)
        await self._to_agent(
            agent.agent_id,
            {"type": "unassigned", "conversation_id": conversation_id, "reason": "transferred"},
        )
        event, _ = await self._append(
            conversation_id,
            _by_agent(
                agent,
                "transferred",
                now,
                cid=cid,
                data={
                    "agent_name": target_record.name,
                    "from_agent_id": agent.agent_id,
                    "to_agent_id": to_agent_id,
                },
            ),
        )
        await self._to_agent(to_agent_id, await self.assigned_frame(self.open[conversation_id]))
        log.info("transferred", conversation_id=conversation_id, to_agent_id=to_agent_id)
        return Done(event)

    @serialized
    async def requeue(self, conversation_id: str, *, reason: str) -> None:
        """Return an assigned chat to the queue at its original place (transfer, agent gone)."""
        conv = (
            await self.refresh(conversation_id) if self.shared else self.open.get(conversation_id)
        )
        if conv is None or conv.status != "assigned" or conv.agent_id is None:
            return
        now = self.clock()
        old_agent = conv.agent_id
        self.coordinator.release(old_agent, conversation_id, now)
        conv = await self._update(conversation_id, status="queued", agent_id=None, assigned_at=None)
        self.coordinator.enqueue(conv, now)
        await self._to_agent(
            old_agent,
            {"type": "unassigned", "conversation_id": conversation_id, "reason": "requeued"},
        )
        await self._append(
            conversation_id,
            NewEvent(
                kind="requeued",
                ts=now,
                author="system",
                data={"reason": reason, "from_agent_id": old_agent},
            ),
        )
        log.info("requeued", conversation_id=conversation_id, reason=reason, agent_id=old_agent)
        await self.coordinator.send_position_now(conversation_id)
        self.wake_assigner()

    async def agent_close(self, agent: AgentRecord, conversation_id: str, cid: str) -> Done:
        retried = await self._retried(conversation_id, agent.agent_id, cid)
        if retried is not None:
            return retried
        await self._owned(agent, conversation_id, cid)
        return await self.close(conversation_id, by="agent", ref=cid, agent=agent)

    async def sync(
        self, agent: AgentRecord, conversation_id: str, last_seq: int, limit: int | None = None
    ) -> list[dict]:
        """Events after ``last_seq`` (at most ``limit``) of a conversation the agent owns."""
        if agent.role != "operator":
            await self._owned(agent, conversation_id, None)
        events = await self.store.events(conversation_id, after_seq=last_seq, limit=limit)
        return [event_dict(e) for e in events]

    async def ticket_reply(
        self, agent: AgentRecord, ticket_id: int, cid: str | None, text: str
    ) -> tuple[TicketRecord, Done]:
        """Answer a ticket; the customer sees it live or when they come back."""
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None:
            raise ProtocolError("not_found", f"no ticket {ticket_id}", cid)
        now = self.clock()
        event, created = await self._append(
            ticket.conversation_id,
            _by_agent(agent, "ticket_reply", now, text=text, cid=cid),
        )
        if not created:
            return ticket, Done(event, duplicate=True)
        await self.store.update_ticket(
            ticket_id, status="answered", answered_at=now, answered_by=agent.agent_id
        )
        conv = await self.store.get_conversation(ticket.conversation_id)
        if conv is not None and conv.first_response_at is None:
            await self.store.update_conversation(ticket.conversation_id, first_response_at=now)
        updated = await self.store.get_ticket(ticket_id)
        assert updated is not None
        return updated, Done(event)

    async def close_ticket(self, agent: AgentRecord, ticket_id: int) -> TicketRecord:
        """Mark a ticket done; its conversation ends too (closing twice changes nothing)."""
        ticket = await self.store.get_ticket(ticket_id)
        if ticket is None:
            raise ProtocolError("not_found", f"no ticket {ticket_id}")
        if ticket.status != "closed":
            await self.store.update_ticket(ticket_id, status="closed")
            log.info("ticket_closed", ticket_id=ticket_id, agent_id=agent.agent_id)
        await self.close(ticket.conversation_id, by="agent", ref=None, agent=agent)
        updated = await self.store.get_ticket(ticket_id)
        assert updated is not None
        await self._to_all_agents({"type": "ticket", "ticket": ticket_dict(updated)})
        return updated

    # -- assignment -------------------------------------------------------------------------------

    def wake_assigner(self) -> None:
        """Ask the assignment loop to run soon (it coalesces many wake-ups into one pass)."""
        self._assign_wanted.set()
        self.on_queue_changed()

    async def wait_for_assign_request(self) -> None:
        await self._assign_wanted.wait()
        self._assign_wanted.clear()

    async def run_assignments(self) -> int:
        """Assign every waiting chat that can be assigned now; returns how many were."""
        now = self.clock()
        assignments = self.dispatcher.assign_ready(now)
        for assignment in assignments:
            try:
                await self._apply_assignment(assignment, now)
            except Exception:
                log.exception("assignment_failed", conversation_id=assignment.conversation_id)
        if assignments:
            self.on_queue_changed()
        return len(assignments)

    async def _apply_assignment(self, a: Assignment, now: float) -> None:
        async with self._conversation(a.conversation_id):
            await self._apply_assignment_locked(a, now)

    async def _apply_assignment_locked(self, a: Assignment, now: float) -> None:
        agent = self.agents[a.agent_id]
        if not await self.coordinator.claim(a, now):
            return
        self.metrics.wait.labels(a.priority).observe(a.waited_s)
        log.info(
            "assigned",
            conversation_id=a.conversation_id,
            agent_id=a.agent_id,
            reason=a.reason,
            waited_s=round(a.waited_s, 1),
        )
        await self._append(
            a.conversation_id,
            NewEvent(
                kind="assigned",
                ts=now,
                author="system",
                author_name=agent.name,
                data={
                    "agent_name": agent.name,
                    "agent_id": a.agent_id,
                    "reason": a.reason,
                    "waited_s": round(a.waited_s, 3),
                },
            ),
        )
        await self._to_agent(a.agent_id, await self.assigned_frame(self.open[a.conversation_id]))

    # -- operators ---------------------------------------------------------------------------------

    def agents_live(self) -> list[dict]:
        """Every account with its live status and load."""
        out = []
        for agent in sorted(self.agents.values(), key=lambda a: a.name):
            load = self.dispatcher.agent(agent.agent_id)
            out.append(
                {
                    "agent_id": agent.agent_id,
                    "name": agent.name,
                    "role": agent.role,
                    "status": load.status if load else "offline",
                    "active": load.active if load else 0,
                    "capacity": agent.capacity,
                    "languages": list(agent.languages),
                    "skills": list(agent.skills),
                }
            )
        return out
