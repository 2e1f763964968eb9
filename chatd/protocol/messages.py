"""Every client frame: customer -> server and agent/operator -> server, one frozen dataclass each.

``CUSTOMER_MESSAGES`` and ``AGENT_MESSAGES`` map a frame's ``type`` to its class; the class's
``fields`` are what the decoder checks and what the JSON Schema publishes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from chatd.protocol.codes import MAX_ID
from chatd.protocol.fields import CID, CONVERSATION, OPTIONAL_CID, TEXT, ClientMessage, Field

__all__ = [
    "AGENT_MESSAGES",
    "CUSTOMER_MESSAGES",
    "AgentClose",
    "AgentHello",
    "AgentText",
    "AgentTyping",
    "CreateTicket",
    "Csat",
    "CustomerClose",
    "CustomerHello",
    "CustomerText",
    "CustomerTyping",
    "History",
    "KbSearch",
    "LeaveQueue",
    "Note",
    "Ping",
    "RequestHuman",
    "SetStatus",
    "SetTags",
    "Sync",
    "TicketReply",
    "Transfer",
]


# -- customer -> server -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerHello(ClientMessage):
    """First frame: start a new conversation, or resume one with its token and last seen seq."""

    type: ClassVar[str] = "hello"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("locale", str, required=False, max_len=16),
        Field("resume_token", str, required=False, max_len=512),
        Field("last_seq", int, required=False, minimum=0, maximum=MAX_ID),
        Field("user_id", str, required=False, max_len=128),
        Field("user_hash", str, required=False, max_len=128),
    )
    locale: str | None = None
    resume_token: str | None = None
    last_seq: int | None = None
    user_id: str | None = None
    user_hash: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerText(ClientMessage):
    """A chat message from the customer; acknowledged once stored."""

    type: ClassVar[str] = "message"
    fields: ClassVar[tuple[Field, ...]] = (
        CID,
        TEXT,
        # Set when the customer taps a quick-reply chip: the bot answers that intent directly.
        Field("intent", str, required=False, max_len=64),
    )
    cid: str = ""
    text: str = ""
    intent: str | None = None


@dataclass(frozen=True, slots=True)
class RequestHuman(ClientMessage):
    """The customer asks for a person ("Talk to a person")."""

    type: ClassVar[str] = "request_human"
    fields: ClassVar[tuple[Field, ...]] = (CID,)
    cid: str = ""


@dataclass(frozen=True, slots=True)
class CustomerTyping(ClientMessage):
    """Typing indicator; relayed to the assigned agent, never stored."""

    type: ClassVar[str] = "typing"
    fields: ClassVar[tuple[Field, ...]] = (Field("active", bool),)
    active: bool = False


@dataclass(frozen=True, slots=True)
class LeaveQueue(ClientMessage):
    """The customer stops waiting (the conversation goes back to the bot)."""

    type: ClassVar[str] = "leave_queue"
    fields: ClassVar[tuple[Field, ...]] = (CID,)
    cid: str = ""


@dataclass(frozen=True, slots=True)
class CreateTicket(ClientMessage):
    """Leave a ticket instead of waiting: contact (e-mail or handle) and the question."""

    type: ClassVar[str] = "create_ticket"
    fields: ClassVar[tuple[Field, ...]] = (CID, Field("contact", str, max_len=200), TEXT)
    cid: str = ""
    contact: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class Csat(ClientMessage):
    """Satisfaction rating after the conversation closed: 1-5 and an optional comment."""

    type: ClassVar[str] = "csat"
    fields: ClassVar[tuple[Field, ...]] = (
        CID,
        Field("score", int, minimum=1, maximum=5),
        Field("comment", str, required=False, max_len=1000),
    )
    cid: str = ""
    score: int = 0
    comment: str | None = None


@dataclass(frozen=True, slots=True)
class CustomerClose(ClientMessage):
    """The customer ends the conversation."""

    type: ClassVar[str] = "close"
    fields: ClassVar[tuple[Field, ...]] = (CID,)
    cid: str = ""


@dataclass(frozen=True, slots=True)
class History(ClientMessage):
    """A verified customer reads one of their earlier conversations (listed in welcome)."""

    type: ClassVar[str] = "history"
    fields: ClassVar[tuple[Field, ...]] = (OPTIONAL_CID, CONVERSATION)
    cid: str | None = None
    conversation_id: str = ""


@dataclass(frozen=True, slots=True)
class Ping(ClientMessage):
    """Application-level keepalive; answered with pong."""

    type: ClassVar[str] = "ping"
    fields: ClassVar[tuple[Field, ...]] = ()


CUSTOMER_MESSAGES: dict[str, type[ClientMessage]] = {
    m.type: m
    for m in (
        CustomerHello,
        CustomerText,
        RequestHuman,
        CustomerTyping,
        LeaveQueue,
        CreateTicket,
        Csat,
        CustomerClose,
        History,
        Ping,
    )
}


# -- agent -> server ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AgentHello(ClientMessage):
    """First frame of an agent or operator connection: the token printed by `chatd agents add`."""

    type: ClassVar[str] = "hello"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("token", str, max_len=256),
        Field("status", str, required=False, choices=("online", "away")),
    )
    token: str = ""
    status: str | None = None


@dataclass(frozen=True, slots=True)
class SetStatus(ClientMessage):
    """online: takes new chats; away: keeps current chats, gets no new ones."""

    type: ClassVar[str] = "set_status"
    fields: ClassVar[tuple[Field, ...]] = (Field("status", str, choices=("online", "away")),)
    status: str = "online"


@dataclass(frozen=True, slots=True)
class AgentText(ClientMessage):
    """A reply to the customer of an assigned conversation."""

    type: ClassVar[str] = "message"
    fields: ClassVar[tuple[Field, ...]] = (CID, CONVERSATION, TEXT)
    cid: str = ""
    conversation_id: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class AgentTyping(ClientMessage):
    """Typing indicator shown to the customer."""

    type: ClassVar[str] = "typing"
    fields: ClassVar[tuple[Field, ...]] = (CONVERSATION, Field("active", bool))
    conversation_id: str = ""
    active: bool = False


@dataclass(frozen=True, slots=True)
class Note(ClientMessage):
    """An internal note: visible to agents and operators, never to the customer."""

    type: ClassVar[str] = "note"
    fields: ClassVar[tuple[Field, ...]] = (CID, CONVERSATION, TEXT)
    cid: str = ""
    conversation_id: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class SetTags(ClientMessage):
    """Replace the conversation's tags (internal)."""

    type: ClassVar[str] = "tag"
    fields: ClassVar[tuple[Field, ...]] = (
        CID,
        CONVERSATION,
        Field("tags", list, item_kind=str, max_items=20),
    )
    cid: str = ""
    conversation_id: str = ""
    tags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Transfer(ClientMessage):
    """Hand the conversation to another agent, or back to the queue (to_agent_id null)."""

    type: ClassVar[str] = "transfer"
    fields: ClassVar[tuple[Field, ...]] = (
        CID,
        CONVERSATION,
        Field("to_agent_id", str, required=False, max_len=64),
    )
    cid: str = ""
    conversation_id: str = ""
    to_agent_id: str | None = None


@dataclass(frozen=True, slots=True)
class AgentClose(ClientMessage):
    """Close an assigned conversation; the customer is asked for CSAT."""

    type: ClassVar[str] = "close"
    fields: ClassVar[tuple[Field, ...]] = (CID, CONVERSATION)
    cid: str = ""
    conversation_id: str = ""


@dataclass(frozen=True, slots=True)
class Sync(ClientMessage):
    """Ask for the events of one of my conversations after last_seq (after a reconnect)."""

    type: ClassVar[str] = "sync"
    fields: ClassVar[tuple[Field, ...]] = (
        CONVERSATION,
        Field("last_seq", int, minimum=0, maximum=MAX_ID),
    )
    conversation_id: str = ""
    last_seq: int = 0


@dataclass(frozen=True, slots=True)
class TicketReply(ClientMessage):
    """Answer a ticket in writing; the customer sees it when they come back."""

    type: ClassVar[str] = "ticket_reply"
    fields: ClassVar[tuple[Field, ...]] = (
        CID,
        Field("ticket_id", int, minimum=1, maximum=MAX_ID),
        TEXT,
    )
    cid: str = ""
    ticket_id: int = 0
    text: str = ""


@dataclass(frozen=True, slots=True)
class KbSearch(ClientMessage):
    """Search the bot's knowledge base for an answer to insert into the composer."""

    type: ClassVar[str] = "kb_search"
    fields: ClassVar[tuple[Field, ...]] = (
        OPTIONAL_CID,
        Field("query", str, max_len=200),
        # A language the bot speaks (checked by the server: the knowledge base decides).
        Field("locale", str, required=False, max_len=8),
    )
    cid: str | None = None
    query: str = ""
    locale: str | None = None


AGENT_MESSAGES: dict[str, type[ClientMessage]] = {
    m.type: m
    for m in (
        AgentHello,
        SetStatus,
        AgentText,
        AgentTyping,
        Note,
        SetTags,
        Transfer,
        AgentClose,
        Sync,
        TicketReply,
        KbSearch,
        Ping,
    )
}
