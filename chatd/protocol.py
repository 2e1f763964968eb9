"""The chatd wire vocabulary: every WebSocket message, its fields and limits, error and close codes.

Transport: JSON text frames over WebSocket with the subprotocol ``chatd.v1``. Every frame is an
object with a ``type``. Client frames are decoded here into frozen dataclasses; ``decode_customer``
and ``decode_agent`` raise only :class:`ProtocolError`, whose ``code`` is one of ``ERROR_CODES``.
Server frames are built here too (``frame_*`` functions and :func:`event_frame`), so PROTOCOL.md
and the clients have one place to check.

Conversation events (messages, queue entry, assignment, close, ...) carry ``conversation_id`` and
``seq``, strictly increasing per conversation. A client that reconnects says the last ``seq`` it
saw and receives exactly the events after it. Ephemeral frames (``ack``, ``error``, ``queue``,
``typing``, ``pong``) carry no ``seq``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from chatd.store.base import Event

__all__ = [
    "AGENT_MESSAGES",
    "CLOSE_CODES",
    "CUSTOMER_MESSAGES",
    "ERROR_CODES",
    "MAX_CID_CHARS",
    "MAX_ID",
    "SUBPROTOCOL",
    "ProtocolError",
    "decode_agent",
    "decode_customer",
    "event_frame",
    "frame_ack",
    "frame_error",
    "parse_frame",
    "parse_json_object",
]

SUBPROTOCOL = "chatd.v1"

#: Client ids are opaque strings chosen by the client (a UUID fits); bounded so they can be indexed.
MAX_CID_CHARS = 64
#: Free text of one chat message. Long enough for a pasted error log, short enough to read.
DEFAULT_MAX_TEXT_CHARS = 4000
#: A frame is rejected before JSON parsing above this size (the server also closes with 1009).
MAX_FRAME_BYTES = 65536
#: JSON nesting is never needed beyond a few levels; deep nesting is an attack on the parser.
MAX_JSON_DEPTH = 8
#: Numeric ids and sequence numbers: exact in a JavaScript number and in a 64-bit column.
MAX_ID = 2**53

#: Stable error codes: clients switch on these, so they never change meaning.
ERROR_CODES: dict[str, str] = {
    "bad_frame": "the frame is not a JSON object with a string 'type'",
    "unknown_type": "no client message has this 'type'",
    "invalid_field": "a field is missing, has the wrong type or is out of range",
    "too_long": "the text is longer than the server allows",
    "hello_required": "the first frame must be 'hello'",
    "already_started": "'hello' was already sent on this connection",
    "bad_token": "the resume token is invalid, expired or for another conversation",
    "identity_invalid": "user_hash does not match user_id",
    "not_authenticated": "the agent token is missing or wrong",
    "forbidden": "this action is not allowed for you (not your conversation, or wrong role)",
    "not_found": "no such conversation, agent or ticket",
    "invalid_state": "the conversation is not in a state that allows this action",
    "rate_limited": "too many messages; slow down (see retry_after_s)",
    "limit_reached": "a size limit of the conversation was reached",
    "unavailable": "the server is shutting down or overloaded; retry later",
    "internal_error": "the server failed to handle this frame; it was not applied",
}

#: WebSocket close codes the server uses, with their meaning.
CLOSE_CODES: dict[int, str] = {
    1000: "normal closure (the conversation ended or the client closed)",
    1001: "going away: the server is shutting down; reconnect and resume",
    1007: "invalid frame payload: a text frame that is not UTF-8",
    1008: "policy violation: origin not allowed, or authentication failed",
    1009: "message too big: a frame exceeded the size limit",
    1011: "internal error",
    1012: "service restart: reconnect and resume",
    4000: "hello timeout: no 'hello' within the allowed time",
    4008: "slow consumer: the client did not read its frames; reconnect and resume",
    4029: "abusive rate: repeated rate-limit violations",
}


class ProtocolError(Exception):
    """A client frame is invalid. ``code`` is a key of ERROR_CODES; ``ref`` is the frame's cid."""

    def __init__(
        self,
        code: str,
        message: str,
        ref: str | None = None,
        *,
        retry_after_s: float | None = None,
    ) -> None:
        if code not in ERROR_CODES:  # pragma: no cover - programming error
            raise ValueError(f"unknown error code {code!r}")
        super().__init__(message)
        self.code = code
        self.message = message
        self.ref = ref
        #: rate_limited: seconds until the refused frame would be accepted.
        self.retry_after_s = retry_after_s


# -- field validation ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a client message: its JSON type and limits."""

    name: str
    kind: type | tuple[type, ...]
    required: bool = True
    max_len: int | None = None
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    #: For list fields: the element type and the maximum count.
    item_kind: type | None = None
    max_items: int | None = None


def _check(obj: Mapping[str, Any], spec: Field, ref: str | None, max_text: int) -> Any:
    value = obj.get(spec.name)
    if value is None:
        if spec.required:
            raise ProtocolError("invalid_field", f"'{spec.name}' is required", ref)
        return None
    kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
    # bool is an int in Python; a JSON true is never a valid number here.
    if isinstance(value, bool) and bool not in kinds:
        raise ProtocolError("invalid_field", f"'{spec.name}' must be {_kind_name(kinds)}", ref)
    if not isinstance(value, kinds):
        raise ProtocolError("invalid_field", f"'{spec.name}' must be {_kind_name(kinds)}", ref)
    if isinstance(value, float) and not math.isfinite(value):
        raise ProtocolError("invalid_field", f"'{spec.name}' must be finite", ref)
    if isinstance(value, str):
        limit = spec.max_len if spec.max_len is not None else max_text
        if len(value) > limit:
            code = "too_long" if spec.name in ("text", "comment") else "invalid_field"
            raise ProtocolError(code, f"'{spec.name}' is longer than {limit} characters", ref)
    if spec.choices is not None and value not in spec.choices:
        allowed = ", ".join(map(str, spec.choices))
        raise ProtocolError("invalid_field", f"'{spec.name}' must be one of: {allowed}", ref)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if spec.minimum is not None and value < spec.minimum:
            raise ProtocolError("invalid_field", f"'{spec.name}' must be >= {spec.minimum}", ref)
        if spec.maximum is not None and value > spec.maximum:
            raise ProtocolError("invalid_field", f"'{spec.name}' must be <= {spec.maximum}", ref)
    if isinstance(value, list):
        if spec.max_items is not None and len(value) > spec.max_items:
            raise ProtocolError(
                "invalid_field", f"'{spec.name}' has more than {spec.max_items} items", ref
            )
        if spec.item_kind is not None:
            for item in value:
                if not isinstance(item, spec.item_kind) or (
                    isinstance(item, str) and not 0 < len(item) <= 40
                ):
                    raise ProtocolError(
                        "invalid_field", f"'{spec.name}' items must be short strings", ref
                    )
        value = tuple(value)
    return value


def _kind_name(kinds: tuple[type, ...]) -> str:
    names = {str: "a string", int: "an integer", float: "a number", bool: "a boolean"}
    names[list] = "a list"
    return " or ".join(names.get(k, k.__name__) for k in kinds)


CID = Field("cid", str, max_len=MAX_CID_CHARS)
OPTIONAL_CID = Field("cid", str, required=False, max_len=MAX_CID_CHARS)
TEXT = Field("text", str)
CONVERSATION = Field("conversation_id", str, max_len=64)


@dataclass(frozen=True, slots=True)
class ClientMessage:
    """Base of every decoded client frame."""

    type: ClassVar[str] = ""
    fields: ClassVar[tuple[Field, ...]] = ()

    @property
    def ref(self) -> str | None:
        """The client id echoed in the ack or error for this frame."""
        return getattr(self, "cid", None)


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
        Field("locale", str, required=False, choices=("en", "zh")),
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


# -- decoding -----------------------------------------------------------------------------------


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of a decoded JSON value, stopping early past ``limit``."""
    stack = [(value, 1)]
    deepest = 0
    while stack:
        item, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
    return deepest


def _encodable(value: Any) -> bool:
    """Whether every string in a decoded JSON value (keys too) can be encoded as UTF-8."""
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        return False
    return True


def parse_json_object(
    raw: str, *, what: str = "frame", too_deep: str = "bad_frame"
) -> dict[str, Any]:
    """Parse a JSON object (a frame, or an API request body); ProtocolError otherwise.

    Refused: anything but an object (``bad_frame``), nesting deeper than MAX_JSON_DEPTH (code
    ``too_deep``) and strings holding an unpaired UTF-16 surrogate (``invalid_field``).
    """
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError):
        raise ProtocolError("bad_frame", f"{what} is not valid JSON") from None
    if not isinstance(obj, dict):
        raise ProtocolError("bad_frame", f"{what} must be a JSON object")
    # JSON may spell a lone UTF-16 surrogate ("\ud800"); Python decodes it into a str that no
    # UTF-8 encoder accepts, so it would fail later where the text is stored or echoed (the
    # ack of a cid). Only a text with a \u escape can hold one: check just those.
    if "\\u" in raw and not _encodable(obj):
        raise ProtocolError("invalid_field", "a string holds an unpaired UTF-16 surrogate")
    # A flat object (every chat message) is one level deep: walk only objects that nest.
    for value in obj.values():
        if isinstance(value, dict | list):
            if _depth(obj, MAX_JSON_DEPTH) > MAX_JSON_DEPTH:
                raise ProtocolError(too_deep, f"{what} nested deeper than {MAX_JSON_DEPTH} levels")
            break
    return obj


def parse_frame(raw: str | bytes) -> dict[str, Any]:
    """Parse a text frame into a JSON object with a string ``type``; ProtocolError otherwise."""
    if isinstance(raw, bytes | bytearray):
        raise ProtocolError("bad_frame", "binary frames are not accepted; send JSON text")
    if len(raw) > MAX_FRAME_BYTES:
        raise ProtocolError("bad_frame", f"frame larger than {MAX_FRAME_BYTES} bytes")
    obj = parse_json_object(raw)
    if not isinstance(obj.get("type"), str):
        raise ProtocolError("bad_frame", "frame needs a string 'type'")
    return obj


def _decode(
    raw: str | bytes,
    table: Mapping[str, type[ClientMessage]],
    max_text: int,
) -> ClientMessage:
    obj = parse_frame(raw)
    ref = obj.get("cid") if isinstance(obj.get("cid"), str) else None
    if ref is not None and len(ref) > MAX_CID_CHARS:
        ref = None
    cls = table.get(obj["type"])
    if cls is None:
        raise ProtocolError("unknown_type", f"unknown message type {obj['type'][:40]!r}", ref)
    string_fields = _STRING_FIELDS.get(cls)
    if string_fields is not None:
        message = _decode_strings(cls, string_fields, obj, max_text)
        if message is not None:
            return message
    values = {spec.name: _check(obj, spec, ref, max_text) for spec in cls.fields}
    for name in ("text", "contact"):
        if name in values and isinstance(values[name], str) and not values[name].strip():
            raise ProtocolError("invalid_field", f"'{name}' must not be empty", ref)
    return cls(**{k: v for k, v in values.items() if v is not None})


#: Messages whose fields are all plain strings (chat messages, notes, ...): name, required and
#: length limit (None: the text limit) of each field, for the fast path of _decode.
_StringFields = tuple[tuple[str, bool, int | None], ...]
_STRING_FIELDS: dict[type[ClientMessage], _StringFields] = {
    cls: tuple((f.name, f.required, f.max_len) for f in cls.fields)
    for cls in {*CUSTOMER_MESSAGES.values(), *AGENT_MESSAGES.values()}
    if cls.fields
    and all(
        f.kind is str and f.choices is None and f.minimum is None and f.maximum is None
        for f in cls.fields
    )
}


def _decode_strings(
    cls: type[ClientMessage], fields: _StringFields, obj: Mapping[str, Any], max_text: int
) -> ClientMessage | None:
    """The message when every field is valid, else None: the full check then says what is wrong.

    The same rules as _check and _decode for string fields, without building a spec walk per
    field: this runs for every chat message.
    """
    values: dict[str, str] = {}
    for name, required, max_len in fields:
        value = obj.get(name)
        if value is None:
            if required:
                return None
            continue
        if type(value) is not str or len(value) > (max_text if max_len is None else max_len):
            return None
        if name in ("text", "contact") and not value.strip():
            return None
        values[name] = value
    return cls(**values)


def decode_customer(raw: str | bytes, *, max_text: int = DEFAULT_MAX_TEXT_CHARS) -> ClientMessage:
    """Decode a customer frame; raises ProtocolError only."""
    return _decode(raw, CUSTOMER_MESSAGES, max_text)


def decode_agent(raw: str | bytes, *, max_text: int = DEFAULT_MAX_TEXT_CHARS) -> ClientMessage:
    """Decode an agent/operator frame; raises ProtocolError only."""
    return _decode(raw, AGENT_MESSAGES, max_text)


def encode(message: ClientMessage) -> str:
    """Encode a client message (the inverse of decode; used by the Python client and tests)."""
    body: dict[str, Any] = {"type": message.type}
    for spec in message.fields:
        value = getattr(message, spec.name)
        if value is not None:
            body[spec.name] = list(value) if isinstance(value, tuple) else value
    return json.dumps(body, ensure_ascii=False)


# -- server -> client ---------------------------------------------------------------------------

#: Event data keys a customer may see, per event kind. Everything else (agent ids, assignment
#: reasons, audit details) stays with agents and operators.
CUSTOMER_DATA_KEYS: dict[str, frozenset[str]] = {
    "message": frozenset(
        {
            "intent",
            "suggestions",
            "ambiguous",
            "masked",
            "warning",
            "confidence",
            "notice",
            "language",
        }
    ),
    "queued": frozenset({"priority"}),
    "assigned": frozenset({"agent_name"}),
    "requeued": frozenset({"reason"}),
    "transferred": frozenset({"agent_name"}),
    "left_queue": frozenset(),
    "ticket_offered": frozenset({"reason"}),
    "ticket_created": frozenset({"ticket_id"}),
    "ticket_reply": frozenset(),
    "closed": frozenset({"by"}),
    "csat": frozenset({"score", "comment"}),
    "attachment": frozenset(),
}


def event_frame(event: Event, *, for_customer: bool) -> dict[str, Any]:
    """The wire form of a stored conversation event.

    For a customer, internal events must already be filtered out by the caller; this drops the
    data keys a customer must not see and the ids of staff.
    """
    frame: dict[str, Any] = {
        "type": event.kind,
        "conversation_id": event.conversation_id,
        "seq": event.seq,
        "ts": round(event.ts, 3),
        "author": event.author,
    }
    if event.author_name is not None:
        frame["author_name"] = event.author_name
    if event.text is not None:
        frame["text"] = event.text
    if event.cid is not None and (not for_customer or event.author == "customer"):
        frame["cid"] = event.cid
    if event.kind == "attachment":  # its object is top-level: {"attachment": {"id", ...}}
        frame["attachment"] = dict(event.data.get("attachment") or {})
    if for_customer:
        allowed = CUSTOMER_DATA_KEYS.get(event.kind, frozenset())
        data = {k: v for k, v in event.data.items() if k in allowed}
    else:
        data = {k: v for k, v in event.data.items() if k != "attachment"}
        if event.author_id is not None:
            frame["author_id"] = event.author_id
        if event.internal:
            frame["internal"] = True
    if data:
        frame["data"] = data
    return frame


def frame_ack(
    ref: str | None, *, seq: int | None = None, duplicate: bool = False
) -> dict[str, Any]:
    """Acknowledge a client frame: it was stored (seq) or applied."""
    frame: dict[str, Any] = {"type": "ack", "ref": ref}
    if seq is not None:
        frame["seq"] = seq
    if duplicate:
        frame["duplicate"] = True
    return frame


def frame_error(error: ProtocolError, **extra: Any) -> dict[str, Any]:
    """The error frame for a rejected client frame."""
    frame: dict[str, Any] = {
        "type": "error",
        "code": error.code,
        "message": error.message,
        "ref": error.ref,
    }
    if error.retry_after_s is not None:
        frame["retry_after_s"] = round(error.retry_after_s, 2)
    frame.update(extra)
    return frame


#: One encoder for every frame: json.dumps with keyword arguments builds a new JSONEncoder per
#: call: ~20% of the cost of a chat frame, and every chat message sends three.
_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
_encode = _encoder.encode
#: JSONEncoder.encode still builds a C encoder per call (~0.8 us of a 2.4 us frame); this one is
#: built once, with the same settings. Its circular-reference markers are emptied by every
#: call that returns; a call that raises may leave some behind, so dumps() clears them then.
_markers: dict[int, Any] = {}
_c_make_encoder = getattr(json.encoder, "c_make_encoder", None)  # the C accelerator, untyped
_c_encode = (
    _c_make_encoder(
        _markers,
        _encoder.default,
        json.encoder.encode_basestring,
        None,
        _encoder.key_separator,
        _encoder.item_separator,
        False,
        False,
        True,
    )
    if _c_make_encoder is not None
    else None
)


def dumps(frame: Mapping[str, Any]) -> str:
    """Serialise a server frame (compact, UTF-8 kept readable)."""
    if _c_encode is None or not isinstance(frame, dict):  # pragma: no cover - the stock path
        return _encode(frame)
    try:
        return "".join(_c_encode(frame, 0))
    except BaseException:
        _markers.clear()
        raise
