"""The storage interface every backend implements (SQLite embedded, PostgreSQL for cluster mode).

The orchestrator (chatd.service) only ever talks to a :class:`Store`; it never sees SQL.
One contract test suite (tests/integration/test_store_contract.py) runs against every
implementation.

Durability rule: when an ``await`` on a write returns, the write is committed. The service
acknowledges a client message only after :meth:`Store.append_event` returned, so an acknowledged
message survives ``kill -9``. Backends may batch concurrent writes into one transaction (group
commit) as long as that rule holds.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from chatd.store.accounts import AccountStore
from chatd.store.erasure import Erasure
from chatd.store.followups import FollowupStore
from chatd.store.outbox import OutboxStore

__all__ = [
    "CONVERSATION_FIELDS",
    "OPEN_STATUSES",
    "STATUSES",
    "SUBJECT_CHARS",
    "AgentRecord",
    "ConditionFailed",
    "ConversationFilter",
    "ConversationRecord",
    "DuplicateError",
    "Event",
    "Expect",
    "NewEvent",
    "Store",
    "StoreError",
    "TicketRecord",
    "check_agent",
    "check_new_conversation",
    "check_ticket_update",
    "check_update",
]

#: Conversation lifecycle: bot -> queued -> assigned -> closed; bot/queued -> ticket (-> closed).
STATUSES = ("bot", "queued", "assigned", "closed", "ticket")
#: Conversations the server must bring back after a restart.
OPEN_STATUSES = ("bot", "queued", "assigned")
#: Agent account roles.
ROLES = ("agent", "supervisor", "operator")
TICKET_STATUSES = ("open", "answered", "closed")
#: Fields of TicketRecord that update_ticket accepts.
TICKET_FIELDS = frozenset({"status", "answered_at", "answered_by"})


class StoreError(Exception):
    """A storage operation failed (the message names what)."""


class DuplicateError(StoreError):
    """A unique key (agent name, conversation id) already exists."""


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An agent or operator account. ``token_hash`` is a salted hash, never the token itself."""

    agent_id: str
    name: str
    role: str  # "agent" | "supervisor" | "operator"
    token_hash: str
    languages: tuple[str, ...] = ("en",)
    skills: tuple[str, ...] = ()
    capacity: int = 3
    created_at: float = 0.0


#: A conversation's subject keeps at most this many characters of the first message.
SUBJECT_CHARS = 120


@dataclass(frozen=True, slots=True)
class ConversationRecord:
    """One conversation's current state. Its history lives in events."""

    conversation_id: str
    created_at: float
    updated_at: float
    status: str = "bot"
    locale: str = "en"
    #: Identity of a verified logged-in customer (HMAC-checked), else None.
    user_id: str | None = None
    verified: bool = False
    priority: str = "normal"
    #: Intent that caused the handoff, and its routing skills.
    intent: str | None = None
    skills: tuple[str, ...] = ()
    #: ORIGINAL time the conversation entered the queue; kept when it returns to the queue.
    enqueued_at: float | None = None
    agent_id: str | None = None
    assigned_at: float | None = None
    first_response_at: float | None = None
    closed_at: float | None = None
    closed_by: str | None = None  # "customer" | "agent" | "system"
    csat_score: int | None = None
    csat_comment: str | None = None
    tags: tuple[str, ...] = ()
    #: Highest seq stored for this conversation.
    last_seq: int = 0
    #: Consecutive bot replies without a confident intent (handoff after two).
    bot_misses: int = 0
    handoff_reason: str | None = None
    #: The customer's first message (secrets masked, at most SUBJECT_CHARS): what the chat was
    #: about, in lists of conversations. None until the customer writes.
    subject: str | None = None


#: Fields of ConversationRecord that update_conversation accepts.
CONVERSATION_FIELDS = frozenset(ConversationRecord.__dataclass_fields__) - {
    "conversation_id",
    "created_at",
    "last_seq",
}


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append; the store assigns ``seq``."""

    kind: str
    ts: float
    author: str  # "customer" | "bot" | "agent" | "system"
    text: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    #: Client message id, unique per author: a second append with the same (conversation,
    #: :func:`cid_owner`, cid) returns the first event. Another author's cid never collides.
    cid: str | None = None
    #: Internal events (notes, tags, assignment reasons, audit) are never shown to the customer.
    internal: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)
    #: Writes that belong to this event, run in the transaction that stores it and only when it
    #: is stored (not for a retried cid): ``(sql with ? placeholders, params)``. The outbox of
    #: emails and webhooks (chatd.store.outbox) queues its deliveries this way, durably with
    #: the event. The SQL may read the new event's seq as ``MAX(seq)`` of its conversation.
    also: tuple[tuple[str, tuple[Any, ...]], ...] = ()


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event of a conversation; ``seq`` is strictly increasing per conversation."""

    conversation_id: str
    seq: int
    kind: str
    ts: float
    author: str
    text: str | None = None
    author_id: str | None = None
    author_name: str | None = None
    cid: str | None = None
    internal: bool = False
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TicketRecord:
    """A ticket: a conversation that ended without an agent, waiting for a written answer."""

    ticket_id: int  # human-facing number, assigned by the store, increasing
    conversation_id: str
    created_at: float
    status: str = "open"  # "open" | "answered" | "closed"
    contact: str = ""
    text: str = ""
    answered_at: float | None = None
    answered_by: str | None = None


@dataclass(frozen=True, slots=True)
class ConversationFilter:
    """Operator search. Every field narrows the result; None means any."""

    status: str | None = None
    agent_id: str | None = None
    intent: str | None = None
    user_id: str | None = None
    since: float | None = None  # created_at >= since
    until: float | None = None  # created_at < until
    text: str | None = None  # substring of any message text (case-insensitive)
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Expect:
    """What a conversation must be for an append to go ahead, checked where the seq is allocated.

    Cluster mode appends with one of these instead of reading the conversation first: the check
    and the write are one step, so a conversation closed or reassigned by another node in
    between cannot take the event. Unset fields check nothing.
    """

    #: Status must be one of these (empty: any).
    statuses: tuple[str, ...] = ()
    #: The assigned agent must be this one.
    agent_id: str | None = None
    #: ``last_seq`` must be below this (the conversation's length limit).
    seq_below: int | None = None

    def allows(self, conv: ConversationRecord) -> bool:
        """Whether ``conv`` meets every set field."""
        return (
            (not self.statuses or conv.status in self.statuses)
            and (self.agent_id is None or conv.agent_id == self.agent_id)
            and (self.seq_below is None or conv.last_seq < self.seq_below)
        )


class ConditionFailed(StoreError):
    """An append's :class:`Expect` did not hold, or there is no such conversation: nothing was
    written."""

    def __init__(self, conversation_id: str, conversation: ConversationRecord | None) -> None:
        what = "is not as expected" if conversation is not None else "does not exist"
        super().__init__(f"conversation {conversation_id!r} {what}")
        #: The conversation as it stood when the append was refused (None: no such conversation).
        self.conversation = conversation


@runtime_checkable
class Store(Protocol):
    """Storage for agents, conversations, events and tickets."""

    @property
    def accounts(self) -> AccountStore:
        """Staff sign-in and the audit trail: passwords, TOTP, sessions, audit entries."""
        ...

    @property
    def erasure(self) -> Erasure:
        """Retention and erasure: finding and deleting conversations that are not open."""
        ...

    @property
    def outbox(self) -> OutboxStore:
        """Emails and webhook calls queued with their events (chatd.store.outbox)."""
        ...

    @property
    def followups(self) -> FollowupStore:
        """Replies by email for customers who are away (chatd.store.followups)."""
        ...

    async def open(self) -> None:
        """Connect and apply pending schema migrations."""

    async def close(self) -> None:
        """Flush pending writes and disconnect."""

    # -- agents -----------------------------------------------------------------------------------
    async def add_agent(self, agent: AgentRecord) -> None:
        """Insert an account; DuplicateError when the name or id exists."""

    async def get_agent(self, agent_id: str) -> AgentRecord | None: ...

    async def get_agent_by_name(self, name: str) -> AgentRecord | None: ...

    async def list_agents(self) -> list[AgentRecord]:
        """All accounts ordered by name."""

    async def remove_agent(self, agent_id: str) -> bool:
        """Delete an account; False when it did not exist."""

    # -- conversations ----------------------------------------------------------------------------
    async def create_conversation(self, conversation: ConversationRecord) -> None:
        """Insert; DuplicateError when the id exists."""

    async def get_conversation(self, conversation_id: str) -> ConversationRecord | None: ...

    async def update_conversation(self, conversation_id: str, **fields: Any) -> None:
        """Set the given fields (names from CONVERSATION_FIELDS, else ValueError) and updated_at."""

    async def event_by_cid(self, conversation_id: str, owner: str, cid: str) -> Event | None:
        """The event ``owner`` (:func:`cid_owner`) stored with ``cid`` in the conversation."""
        ...

    async def append_event(self, conversation_id: str, event: NewEvent) -> tuple[Event, bool]:
        """Store an event with the next seq. Returns (event, created).

        When ``event.cid`` is set and an event with that cid exists in the conversation, nothing is
        written and (existing event, False) is returned: a retried send is stored once.
        """

    async def append_event_with_conversation(
        self, conversation_id: str, event: NewEvent, expect: Expect | None = None
    ) -> tuple[Event, bool, ConversationRecord | None]:
        """:meth:`append_event`, plus the conversation as it stands after the append.

        The conversation is None when nothing was written (a retried cid: the stored event is
        returned, whatever ``expect`` says). When ``expect`` does not hold, nothing is written
        and :class:`ConditionFailed` carries the conversation as it is (with an ``expect``, an
        unknown conversation is a ConditionFailed too, its conversation None). Cluster mode
        checks and reads this way on every message (an assignment made by another node must see
        the event or be seen); a store shared between nodes answers in one round trip.
        """

    async def events(
        self,
        conversation_id: str,
        *,
        after_seq: int = 0,
        include_internal: bool = True,
        limit: int | None = None,
    ) -> list[Event]:
        """Events with seq > after_seq in seq order."""

    async def list_conversations(self, flt: ConversationFilter) -> list[ConversationRecord]:
        """Newest first."""

    async def open_conversations(self) -> list[ConversationRecord]:
        """Conversations whose status is in OPEN_STATUSES, oldest first (restart recovery)."""

    # -- tickets ----------------------------------------------------------------------------------
    async def create_ticket(
        self, conversation_id: str, *, contact: str, text: str, now: float
    ) -> TicketRecord: ...

    async def get_ticket(self, ticket_id: int) -> TicketRecord | None: ...

    async def ticket_for_conversation(self, conversation_id: str) -> TicketRecord | None: ...

    async def list_tickets(self, status: str | None = None, limit: int = 100) -> list[TicketRecord]:
        """Oldest open first."""

    async def update_ticket(self, ticket_id: int, **fields: Any) -> None:
        """Set status / answered_at / answered_by."""

    # -- metrics ----------------------------------------------------------------------------------
    async def count_by_status(self) -> dict[str, int]: ...


def cid_owner(author: str, author_id: str | None) -> str:
    """Whose namespace a cid lives in: the staff account that wrote it, else the author role.

    Customers are the only authors without an id (one per conversation); bots and the system
    send no cids. Both stores index ``COALESCE(author_id, author)`` with the same meaning.
    """
    return author_id if author_id is not None else author


def unknown_fields(fields: Sequence[str]) -> list[str]:
    """Names not allowed in update_conversation (helper for implementations)."""
    return sorted(set(fields) - CONVERSATION_FIELDS)


def check_update(fields: Mapping[str, Any]) -> None:
    """Validate update_conversation's fields the same way in every backend (ValueError)."""
    bad = unknown_fields(list(fields))
    if bad:
        raise ValueError(f"update_conversation: unknown field(s) {', '.join(bad)}")
    if "status" in fields and fields["status"] not in STATUSES:
        raise ValueError(f"unknown conversation status {fields['status']!r}")


def check_agent(agent: AgentRecord) -> None:
    """Validate a new account the same way in every backend (ValueError)."""
    if agent.role not in ROLES:
        raise ValueError(f"agent role must be one of {ROLES}, got {agent.role!r}")


def check_new_conversation(conversation: ConversationRecord) -> None:
    """Validate a new conversation the same way in every backend (ValueError)."""
    if conversation.status not in STATUSES:
        raise ValueError(f"unknown conversation status {conversation.status!r}")


def check_ticket_update(fields: Mapping[str, Any]) -> None:
    """Validate update_ticket's fields the same way in every backend (ValueError)."""
    bad = sorted(set(fields) - TICKET_FIELDS)
    if bad:
        raise ValueError(f"update_ticket: unknown field(s) {', '.join(bad)}")
    if "status" in fields and fields["status"] not in TICKET_STATUSES:
        raise ValueError(f"unknown ticket status {fields['status']!r}")
