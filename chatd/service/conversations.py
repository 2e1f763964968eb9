"""The conversation log: the one way an event enters a conversation; the open conversations.

Every change to a conversation goes the same way: validate against the conversation's state,
append an event to the store (which assigns its ``seq``), then publish the event on the bus so
the customer's and the agent's connections receive it. A client action is acknowledged only
after its event is stored. Appends and publishes of one conversation happen under that
conversation's lock (:meth:`ConversationLog.section`, and :func:`serialized` for a whole
method), so delivery order is seq order.

The parts of the service (chatd/service/customers.py, desk.py, tickets.py, assignments.py) all
write through this class; none keeps a second copy of a conversation.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import inspect
import operator
import weakref
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Protocol, TypeVar

from chatd.bus.base import Bus
from chatd.config import Config
from chatd.protocol import ProtocolError, event_frame
from chatd.store.base import (
    STATUSES,
    AgentRecord,
    ConversationFilter,
    ConversationRecord,
    Event,
    Expect,
    NewEvent,
    Store,
)

__all__ = [
    "CUSTOMER_WRITABLE",
    "ConversationLog",
    "Done",
    "Outgoing",
    "by_agent",
    "changed_meanwhile",
    "owned_by",
    "serialized",
]

_Method = TypeVar("_Method", bound=Callable[..., Awaitable[Any]])
#: Where a customer may still write (a ticket's conversation takes follow-ups until closed).
CUSTOMER_WRITABLE = tuple(status for status in STATUSES if status != "closed")
#: Statuses kept in the open cache.
_OPEN = ("bot", "queued", "assigned")

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


def _allows(expect: Expect, conv: ConversationRecord | None) -> bool:
    return conv is not None and expect.allows(conv)


def by_agent(
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


def changed_meanwhile(ref: str | None) -> ProtocolError:
    """A cluster append refused although the conversation, read again, allows it: another node
    changed it in between (twice). Nothing was stored; sending again is safe."""
    return ProtocolError("invalid_state", "the conversation changed meanwhile; send again", ref)


class Outgoing(Protocol):
    """What queues emails and webhook calls with the events that cause them
    (chatd/service/deliveries.py)."""

    async def attach(
        self, conversation_id: str, new: NewEvent, conv: ConversationRecord | None
    ) -> NewEvent:
        """``new`` with the outbox rows it causes added to ``also``."""
        ...

    def stored(self, new: NewEvent, event: Event | None) -> None:
        """The append of ``new`` (as attach returned it) ended: stored as ``event``, or not
        (None: a retried cid, or an error)."""
        ...


class _HasLog(Protocol):
    log: ConversationLog


def serialized(method: _Method) -> _Method:
    """Run a method of a service part inside its conversation's critical section.

    The conversation is the method's ``conversation_id`` argument; the part has a ``log``.
    """
    position = list(inspect.signature(method).parameters).index("conversation_id")

    @functools.wraps(method)
    async def wrapper(self: _HasLog, *args: Any, **kwargs: Any) -> Any:
        conversation_id = kwargs.get("conversation_id") or args[position - 1]
        async with self.log.section(conversation_id):
            return await method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


class _ConversationSection:
    """The critical section of :meth:`ConversationLog.section`.

    A class rather than ``contextlib.asynccontextmanager``: every chat message enters it twice
    (the method, then ``append``), and the generator machinery cost more than the lock.
    """

    __slots__ = ("_conversation_id", "_lock", "_log")

    def __init__(self, log: ConversationLog, conversation_id: str) -> None:
        self._log = log
        self._conversation_id = conversation_id
        #: The lock this section acquired (a strong reference: the registry holds weak ones);
        #: None when the task already held it (re-entry passes straight through).
        self._lock: asyncio.Lock | None = None

    async def __aenter__(self) -> None:
        log, conversation_id = self._log, self._conversation_id
        task = asyncio.current_task()
        if log._lock_owners.get(conversation_id) is task:
            return
        lock = log._lock(conversation_id)
        await lock.acquire()
        self._lock = lock
        log._lock_owners[conversation_id] = task

    async def __aexit__(self, *_exc: object) -> None:
        lock = self._lock
        if lock is not None:
            self._lock = None
            del self._log._lock_owners[self._conversation_id]
            lock.release()


def owned_by(
    agent: AgentRecord, conv: ConversationRecord | None, ref: str | None
) -> ConversationRecord:
    """``conv`` if it is assigned to ``agent``; not_found or forbidden otherwise."""
    if conv is None:
        raise ProtocolError("not_found", "no such conversation", ref)
    if conv.status != "assigned" or conv.agent_id != agent.agent_id:
        raise ProtocolError("forbidden", "this conversation is not assigned to you", ref)
    return conv


class ConversationLog:
    """Appends, the open-conversation cache, per-conversation locks, and delivery on the bus."""

    def __init__(
        self, *, config: Config, store: Store, bus: Bus, clock: Callable[[], float]
    ) -> None:
        self.config = config
        self.store = store
        self.bus = bus
        self.clock = clock
        #: Open conversations (bot, queued, assigned), kept in memory; the store is the truth.
        self.open: dict[str, ConversationRecord] = {}
        #: Customer connections per conversation (on this node).
        self.customer_connections: dict[str, int] = {}
        #: Cluster mode (set by the container): other nodes change conversations too, so the
        #: open cache may be stale and reads go to the store.
        self.shared = False
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._lock_owners: dict[str, asyncio.Task[Any] | None] = {}
        #: Emails and webhooks (set by the container when any is configured): every event is
        #: shown to it before it is stored, so its deliveries are stored in the same transaction.
        self.outgoing: Outgoing | None = None

    # -- locking ------------------------------------------------------------------------------

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[conversation_id] = lock
        return lock

    def section(self, conversation_id: str) -> _ConversationSection:
        """Hold the conversation's lock; re-entrant within one task (``async with``).

        Every change of a conversation runs inside it from its first read of the state to its
        last write, so a close cannot slip between an assignment's check and its write, and two
        tabs cannot hand off one chat twice. Nested calls in the same task pass straight through.
        """
        return _ConversationSection(self, conversation_id)

    # -- reads --------------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> ConversationRecord | None:
        """The conversation, from memory when open, else from the store."""
        if self.shared:
            return await self.refresh(conversation_id)
        conv = self.open.get(conversation_id)
        if conv is None:
            conv = await self.store.get_conversation(conversation_id)
        return conv

    async def refresh(self, conversation_id: str) -> ConversationRecord | None:
        """Reload a conversation into the open cache from the store (the truth)."""
        conv = await self.store.get_conversation(conversation_id)
        self.remember(conversation_id, conv)
        return conv

    def remember(self, conversation_id: str, conv: ConversationRecord | None) -> None:
        """Keep a conversation read from the store in the open cache, or drop it once closed."""
        if conv is not None and conv.status in _OPEN:
            self.open[conversation_id] = conv
        else:
            self.open.pop(conversation_id, None)

    async def customer_events(
        self, conversation_id: str, after_seq: int, limit: int | None = None
    ) -> list[dict]:
        """Public events after ``after_seq`` (at most ``limit``), as customer frames (resume)."""
        events = await self.store.events(
            conversation_id, after_seq=after_seq, include_internal=False, limit=limit
        )
        return [event_frame(e, for_customer=True) for e in events]

    async def earlier(self, conv: ConversationRecord) -> list[dict]:
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

    async def retried(self, conversation_id: str, owner: str, cid: str | None) -> Done | None:
        """The first result when ``owner`` already sent ``cid`` in this conversation.

        Actions that are not plain appends (close, csat, ticket, transfer) check this first:
        their state has changed since the first attempt, so re-running them would answer a
        client whose ack was lost with an error about the change it made itself.
        """
        if cid is None:
            return None
        event = await self.store.event_by_cid(conversation_id, owner, cid)
        return Done(event, duplicate=True) if event is not None else None

    def check_size(self, conv: ConversationRecord, ref: str | None) -> None:
        """ProtocolError limit_reached when the conversation is full."""
        if conv.last_seq >= self.config.limits.max_events_per_conversation:
            raise ProtocolError(
                "limit_reached", "this conversation is too long; please start a new one", ref
            )

    # -- writes -------------------------------------------------------------------------------

    async def update(self, conversation_id: str, **fields: Any) -> ConversationRecord:
        """Change stored fields of the conversation; the new record (in the cache when open)."""
        now = self.clock()
        await self.store.update_conversation(conversation_id, **fields)
        conv = self.open.get(conversation_id) or await self.store.get_conversation(conversation_id)
        assert conv is not None
        conv = dataclasses.replace(conv, updated_at=now, **fields)
        self.remember(conversation_id, conv)
        return conv

    async def audit(
        self, conversation_id: str, *, author: str, ts: float, data: dict[str, Any]
    ) -> Event:
        """Record what happened in the conversation for the staff: an internal ``audit`` event
        (``data["action"]`` names it), which the customer never receives."""
        new = NewEvent(kind="audit", ts=ts, author=author, internal=True, data=data)
        event, _created = await self.append(conversation_id, new)
        return event

    async def append(
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
        async with self.section(conversation_id):
            outgoing = self.outgoing
            if outgoing is not None:
                new = await outgoing.attach(conversation_id, new, self.open.get(conversation_id))
            created = False
            try:
                if (self.shared and agent_id is None) or (
                    expect is not None and not _allows(expect, self.open.get(conversation_id))
                ):
                    # Cluster mode reads after the append (the store returns the row in the
                    # same round trip): an assignment committed before it is seen here, one
                    # committed after it includes this event in its chat_assigned history.
                    event, created, fresh = await self.store.append_event_with_conversation(
                        conversation_id, new, expect
                    )
                    if created:
                        self.remember(conversation_id, fresh)
                else:
                    event, created = await self.store.append_event(conversation_id, new)
            finally:
                if outgoing is not None and new.also:
                    outgoing.stored(new, event if created else None)
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

    # -- delivery of ephemeral frames ---------------------------------------------------------

    async def to_agent(self, agent_id: str, frame: Mapping[str, Any]) -> None:
        """A frame for every connection of one agent (any node)."""
        await self.bus.publish(f"agent:{agent_id}", {"frame": frame})

    async def to_customer(self, conversation_id: str, frame: Mapping[str, Any]) -> None:
        """A frame for every connection of one conversation's customer (any node)."""
        await self.bus.publish(f"conv:{conversation_id}", {"frame": frame})

    async def to_all_agents(self, frame: Mapping[str, Any]) -> None:
        """A frame for every agent and operator connection."""
        await self.bus.publish("agents", {"frame": frame})
