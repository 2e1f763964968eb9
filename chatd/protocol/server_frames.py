"""Every server frame, customer side and agent side: its fields, for the published JSON Schema.

The frames themselves are built where they are sent (``frames``, the web adapters, the service);
this module declares what they hold, with the same :class:`Field` the client frames use, and the
JSON shapes of the records inside them (events, tickets, conversation summaries), which the
OpenAPI document of the HTTP API reuses. ``tests/unit/test_published_schemas.py`` validates
every example of PROTOCOL.md against the schema, so a frame that gains a field gains it here.

To add a server frame: append a :class:`ServerFrame` to ``SERVER_FRAMES``, add an example to
PROTOCOL.md, and regenerate the schema (``python -m chatd.docs_gen``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from chatd.protocol.codes import ERROR_CODES, MAX_ID
from chatd.protocol.fields import Field
from chatd.protocol.frames import CUSTOMER_DATA_KEYS

__all__ = [
    "AGENT_PROFILE",
    "CONVERSATION_SUMMARY",
    "EARLIER_CONVERSATION",
    "EVENT",
    "EVENT_KINDS",
    "INTERNAL_EVENT_KINDS",
    "KB_RESULT",
    "QUEUE_OVERVIEW",
    "SERVER_FRAMES",
    "TICKET",
    "ServerFrame",
]

JsonSchema = Mapping[str, Any]
NONE = type(None)

#: Event kinds only staff see (``"internal": true``).
INTERNAL_EVENT_KINDS = ("note", "tags", "audit")
#: Every conversation event kind: those a customer may see, then the internal ones.
EVENT_KINDS = (*CUSTOMER_DATA_KEYS, *INTERNAL_EVENT_KINDS)

_STR = {"type": "string"}
_NULLABLE_STR = {"type": ["string", "null"]}
_TIME = {"type": "number", "description": "Unix seconds"}
_NULLABLE_TIME = {"type": ["number", "null"], "description": "Unix seconds"}
_STRINGS = {"type": "array", "items": _STR}
_STATUS = {"enum": ["bot", "queued", "assigned", "closed", "ticket"]}

#: A stored conversation event as ``event_frame`` builds it (staff see every key).
EVENT: JsonSchema = {
    "type": "object",
    "description": "A conversation event. A customer sees only public kinds, `cid` only on "
    "their own events and `data` only with the keys of its kind; staff see everything.",
    "properties": {
        "type": {"enum": list(EVENT_KINDS)},
        "conversation_id": _STR,
        "seq": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
        "ts": _TIME,
        "author": {"enum": ["customer", "bot", "agent", "system"]},
        "author_name": _STR,
        "author_id": {"type": "string", "description": "staff only"},
        "text": _STR,
        "cid": _STR,
        "internal": {"const": True, "description": "staff only: note, tags, audit"},
        "data": {"type": "object", "description": "per kind; see PROTOCOL.md"},
    },
    "required": ["type", "conversation_id", "seq", "ts", "author"],
}

#: A ticket (``views.ticket_dict``).
TICKET: JsonSchema = {
    "type": "object",
    "properties": {
        "ticket_id": {"type": "integer", "minimum": 1},
        "conversation_id": _STR,
        "created_at": _TIME,
        "status": {"enum": ["open", "answered", "closed"]},
        "contact": _STR,
        "text": _STR,
        "answered_at": _NULLABLE_TIME,
        "answered_by": {"type": ["string", "null"], "description": "agent id"},
    },
    "required": ["ticket_id", "conversation_id", "created_at", "status", "contact", "text"],
}

#: A conversation for staff (``views.conversation_summary``).
CONVERSATION_SUMMARY: JsonSchema = {
    "type": "object",
    "properties": {
        "conversation_id": _STR,
        "status": _STATUS,
        "locale": _STR,
        "verified": {"type": "boolean"},
        "user_id": {"type": ["string", "null"], "description": "verified customers only"},
        "priority": _STR,
        "intent": _NULLABLE_STR,
        "skills": _STRINGS,
        "tags": _STRINGS,
        "last_seq": {"type": "integer"},
        "created_at": _TIME,
        "updated_at": _TIME,
        "enqueued_at": _NULLABLE_TIME,
        "assigned_at": _NULLABLE_TIME,
        "agent_id": _NULLABLE_STR,
        "agent_name": {"type": ["string", "null"], "description": "operator API only"},
        "first_response_at": _NULLABLE_TIME,
        "closed_at": _NULLABLE_TIME,
        "closed_by": _NULLABLE_STR,
        "csat_score": {"type": ["integer", "null"], "minimum": 1, "maximum": 5},
        "csat_comment": _NULLABLE_STR,
        "handoff_reason": _NULLABLE_STR,
        "subject": {
            "type": ["string", "null"],
            "description": "the customer's first message on one line, secrets masked",
        },
        "customer_online": {"type": "boolean"},
    },
    "required": ["conversation_id", "status"],
}

#: One of a verified customer's other conversations.
EARLIER_CONVERSATION: JsonSchema = {
    "type": "object",
    "properties": {
        "conversation_id": _STR,
        "created_at": _TIME,
        "status": _STATUS,
        "intent": _NULLABLE_STR,
        "subject": _NULLABLE_STR,
    },
    "required": ["conversation_id", "created_at", "status", "intent", "subject"],
}

#: A staff account as its own connection sees it.
AGENT_PROFILE: JsonSchema = {
    "type": "object",
    "properties": {
        "agent_id": _STR,
        "name": _STR,
        "role": {"enum": ["agent", "operator"]},
        "capacity": {"type": "integer"},
        "languages": _STRINGS,
        "skills": _STRINGS,
        "status": {"enum": ["online", "away", "offline"]},
    },
    "required": ["agent_id", "name", "role", "capacity", "languages", "skills", "status"],
}

#: The live queue figures (``Dispatcher.overview``).
QUEUE_OVERVIEW: JsonSchema = {
    "type": "object",
    "properties": {
        "waiting": {"type": "integer"},
        "waiting_by_class": {"type": "object", "additionalProperties": {"type": "integer"}},
        "oldest_wait_s": {"type": "number"},
        "agents_online": {"type": "integer"},
        "slots": {"type": "integer"},
        "free_slots": {"type": "integer"},
    },
    "required": ["waiting", "waiting_by_class", "oldest_wait_s", "agents_online"],
}

#: One knowledge-base answer.
KB_RESULT: JsonSchema = {
    "type": "object",
    "properties": {"intent": _STR, "title": _STR, "answer": _STR, "score": {"type": "number"}},
    "required": ["intent", "title", "answer", "score"],
}


@dataclass(frozen=True, slots=True)
class ServerFrame:
    """One server frame: its ``type``, who receives it, what it means and its fields."""

    type: str
    sides: tuple[str, ...]
    doc: str
    fields: tuple[Field, ...] = ()
    #: A conversation event frame: the fields of ``EVENT`` (the ``type`` is the event kind).
    event: bool = False


def _object(name: str, schema: JsonSchema, *, required: bool = True, doc: str = "") -> Field:
    return Field(name, dict, required=required, schema=schema, doc=doc)


def _array(name: str, items: JsonSchema, *, required: bool = True, doc: str = "") -> Field:
    return Field(name, list, required=required, schema={"type": "array", "items": items}, doc=doc)


#: Events inside frames point at the schema's one event definition.
_EVENT_REF = {"$ref": "#/$defs/event"}
_REF = Field("ref", (str, NONE), doc="the `cid` of the client frame this answers")
_CONV = Field("conversation_id", str)
_BOTH = ("customer", "agent")
_WAIT = (int, NONE)

SERVER_FRAMES: tuple[ServerFrame, ...] = (
    ServerFrame(
        "event",
        _BOTH,
        "A conversation event (message, queued, assigned, ..., and for staff note, tags, "
        "audit): `type` is the event kind.",
        event=True,
    ),
    ServerFrame(
        "ack",
        _BOTH,
        "The client frame `ref` was stored or applied.",
        (
            _REF,
            Field("seq", int, required=False, doc="the seq of the event it stored"),
            Field("ticket_id", int, required=False, doc="create_ticket"),
            Field("duplicate", bool, required=False, doc="a retry of a frame already applied"),
        ),
    ),
    ServerFrame(
        "error",
        _BOTH,
        "A client frame was rejected; the connection stays open unless the error is abusive.",
        (
            Field("code", str, choices=tuple(ERROR_CODES)),
            Field("message", str),
            _REF,
            Field("retry_after_s", float, required=False, doc="rate_limited only"),
        ),
    ),
    ServerFrame("pong", _BOTH, "The answer to ping."),
    ServerFrame(
        "welcome",
        ("customer",),
        "After hello; then every event after last_seq.",
        (
            _CONV,
            Field("resume_token", str, doc="signed; send it with hello to resume"),
            Field("status", str, choices=tuple(_STATUS["enum"])),
            Field("locale", str),
            Field("verified", bool),
            Field("resumed", bool),
            Field("agent_name", str, required=False, doc="when assigned"),
            Field("ticket_id", int, required=False, doc="when a ticket"),
            _array("earlier", EARLIER_CONVERSATION, required=False, doc="verified customers"),
            _object(
                "hours",
                {
                    "type": "object",
                    "properties": {"open": {"type": "boolean"}, "back_at": _NULLABLE_TIME},
                    "required": ["open", "back_at"],
                },
                required=False,
                doc="only when [hours] sets a schedule: open now, else when people are back",
            ),
        ),
    ),
    ServerFrame(
        "history",
        ("customer",),
        "The answer to a history request: that conversation's public events.",
        (_REF, _CONV, _array("events", _EVENT_REF)),
    ),
    ServerFrame(
        "queue",
        ("customer",),
        "While waiting: position and estimated wait (null while no agent is online).",
        (
            Field("position", int),
            Field("estimated_wait_s", _WAIT),
            Field("wait_low_s", _WAIT, doc="10th percentile"),
            Field("wait_high_s", _WAIT, doc="90th percentile"),
            Field("agents_online", int),
        ),
    ),
    ServerFrame(
        "followup",
        ("customer",),
        "Replies go to this address by email while the customer is away (null: no more); "
        "sent to every open connection of the conversation when the customer sets or stops it.",
        (Field("email", (str, NONE)),),
    ),
    ServerFrame(
        "typing",
        ("customer",),
        "The agent is typing.",
        (Field("active", bool), Field("author_name", str)),
    ),
    ServerFrame(
        "welcome",
        ("agent",),
        "After hello: the account and its conversations; then one chat_assigned per "
        "conversation and a queue_overview.",
        (_object("agent", AGENT_PROFILE), _array("conversations", CONVERSATION_SUMMARY)),
    ),
    ServerFrame(
        "chat_assigned",
        ("agent",),
        "A chat is now yours: its summary, full history and the customer's earlier chats.",
        (
            _object("conversation", CONVERSATION_SUMMARY),
            _array("events", _EVENT_REF),
            _array("earlier", EARLIER_CONVERSATION),
        ),
    ),
    ServerFrame(
        "unassigned",
        ("agent",),
        "A chat left you.",
        (_CONV, Field("reason", str, choices=("closed", "transferred", "requeued"))),
    ),
    ServerFrame(
        "queue_overview",
        ("agent",),
        "The queue's figures, on change, at most once per second.",
        tuple(
            Field(name, dict if name == "waiting_by_class" else (int, float), schema=schema)
            for name, schema in QUEUE_OVERVIEW["properties"].items()
        ),
    ),
    ServerFrame(
        "typing",
        ("agent",),
        "The customer is typing.",
        (_CONV, Field("active", bool)),
    ),
    ServerFrame(
        "status",
        ("agent",),
        "Confirms set_status.",
        (Field("status", str, choices=("online", "away")),),
    ),
    ServerFrame(
        "kb_results", ("agent",), "The answer to kb_search.", (_REF, _array("results", KB_RESULT))
    ),
    ServerFrame(
        "ticket",
        ("agent",),
        "A ticket was created or closed (sent to every agent; `status` says which).",
        (_object("ticket", TICKET),),
    ),
)
