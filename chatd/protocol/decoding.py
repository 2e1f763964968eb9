"""Client frames in: JSON parsing with its limits, then the fields of the frame's type.

``decode_customer`` and ``decode_agent`` raise only :class:`ProtocolError`; ``encode`` is their
inverse (the Python client and the tests send with it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from chatd.protocol.codes import (
    DEFAULT_MAX_TEXT_CHARS,
    MAX_CID_CHARS,
    MAX_FRAME_BYTES,
    MAX_JSON_DEPTH,
    ProtocolError,
)
from chatd.protocol.fields import ClientMessage, check_field
from chatd.protocol.messages import AGENT_MESSAGES, CUSTOMER_MESSAGES

__all__ = ["decode_agent", "decode_customer", "encode", "parse_frame", "parse_json_object"]


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
    values = {spec.name: check_field(obj, spec, ref, max_text) for spec in cls.fields}
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

    The same rules as check_field and _decode for string fields, without building a spec walk per
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
