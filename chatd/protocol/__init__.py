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

The package's modules, each owning one thing (import from ``chatd.protocol`` itself):

- ``codes``: limits, ``ERROR_CODES``, ``CLOSE_CODES``, :class:`ProtocolError`;
- ``fields``: :class:`Field` (one field's type and limits) and :class:`ClientMessage`;
- ``messages``: every client frame, customer and agent, and the type -> class tables;
- ``decoding``: JSON parsing with its limits, ``decode_customer`` / ``decode_agent``, ``encode``;
- ``frames``: server frames out (``event_frame``, ``frame_ack``, ``frame_error``, ``dumps``);
- ``server_frames``: every server frame's fields, for the published JSON Schema;
- ``schema``: ``docs/protocol.schema.json`` built from ``messages`` and ``server_frames``.
"""

from __future__ import annotations

from chatd.protocol.codes import (
    CLOSE_CODES,
    DEFAULT_MAX_TEXT_CHARS,
    ERROR_CODES,
    MAX_CID_CHARS,
    MAX_FRAME_BYTES,
    MAX_ID,
    MAX_JSON_DEPTH,
    SUBPROTOCOL,
    ProtocolError,
)
from chatd.protocol.decoding import (
    decode_agent,
    decode_customer,
    encode,
    parse_frame,
    parse_json_object,
)
from chatd.protocol.fields import CID, CONVERSATION, OPTIONAL_CID, TEXT, ClientMessage, Field
from chatd.protocol.frames import CUSTOMER_DATA_KEYS, dumps, event_frame, frame_ack, frame_error
from chatd.protocol.messages import (
    AGENT_MESSAGES,
    CUSTOMER_MESSAGES,
    AgentClose,
    AgentHello,
    AgentText,
    AgentTyping,
    CreateTicket,
    Csat,
    CustomerClose,
    CustomerHello,
    CustomerText,
    CustomerTyping,
    History,
    KbSearch,
    LeaveQueue,
    Note,
    Ping,
    RequestHuman,
    SetStatus,
    SetTags,
    Sync,
    TicketReply,
    Transfer,
)

__all__ = [
    "AGENT_MESSAGES",
    "CID",
    "CLOSE_CODES",
    "CONVERSATION",
    "CUSTOMER_DATA_KEYS",
    "CUSTOMER_MESSAGES",
    "DEFAULT_MAX_TEXT_CHARS",
    "ERROR_CODES",
    "MAX_CID_CHARS",
    "MAX_FRAME_BYTES",
    "MAX_ID",
    "MAX_JSON_DEPTH",
    "OPTIONAL_CID",
    "SUBPROTOCOL",
    "TEXT",
    "AgentClose",
    "AgentHello",
    "AgentText",
    "AgentTyping",
    "ClientMessage",
    "CreateTicket",
    "Csat",
    "CustomerClose",
    "CustomerHello",
    "CustomerText",
    "CustomerTyping",
    "Field",
    "History",
    "KbSearch",
    "LeaveQueue",
    "Note",
    "Ping",
    "ProtocolError",
    "RequestHuman",
    "SetStatus",
    "SetTags",
    "Sync",
    "TicketReply",
    "Transfer",
    "decode_agent",
    "decode_customer",
    "dumps",
    "encode",
    "event_frame",
    "frame_ack",
    "frame_error",
    "parse_frame",
    "parse_json_object",
]
