"""The JSON Schema (2020-12) of every client and server frame, built from their definitions.

Client frames come from ``messages`` (the same :class:`Field` declarations the decoder checks),
server frames from ``server_frames``. ``python -m chatd.docs_gen`` writes the result to
``docs/protocol.schema.json``; a unit test fails when the committed file is stale.

A schema cannot say everything the decoder checks: ``text`` is limited by
``limits.max_message_chars`` (the schema states the default), and a field that is ``null`` counts
as absent. Unknown fields are ignored by the server, so frames are open objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from chatd.protocol.codes import DEFAULT_MAX_TEXT_CHARS, SUBPROTOCOL
from chatd.protocol.fields import ClientMessage, Field
from chatd.protocol.messages import AGENT_MESSAGES, CUSTOMER_MESSAGES
from chatd.protocol.server_frames import EVENT, SERVER_FRAMES, ServerFrame

__all__ = ["field_schema", "protocol_schema"]

_JSON_TYPES = {
    str: "string",
    int: "integer",
    float: "number",
    bool: "boolean",
    list: "array",
    dict: "object",
    type(None): "null",
}
#: Fields that must hold more than white space (the decoder's rule).
_NOT_BLANK = ("text", "contact")


def field_schema(spec: Field, *, client: bool) -> dict[str, Any]:
    """The JSON Schema of one field's value.

    A client's optional field may also be null (the decoder treats null as absent).
    """
    if spec.schema is not None:
        out = dict(spec.schema)
    else:
        kinds = spec.kind if isinstance(spec.kind, tuple) else (spec.kind,)
        if client and not spec.required:
            kinds = (*kinds, type(None))
        names = list(dict.fromkeys(_JSON_TYPES[k] for k in kinds))
        out = {"type": names[0] if len(names) == 1 else names}
        if spec.choices is not None:
            out["enum"] = [*spec.choices, *([None] if "null" in names else [])]
        if str in kinds:
            if spec.max_len is not None:
                out["maxLength"] = spec.max_len
            elif client:
                out["maxLength"] = DEFAULT_MAX_TEXT_CHARS
                out["description"] = (
                    f"at most limits.max_message_chars characters (default "
                    f"{DEFAULT_MAX_TEXT_CHARS}; longer: error too_long)"
                )
            if client and spec.name in _NOT_BLANK:
                out["pattern"] = r"\S"
        if spec.minimum is not None:
            out["minimum"] = spec.minimum
        if spec.maximum is not None:
            out["maximum"] = spec.maximum
        if spec.item_kind is not None:
            out["items"] = {"type": _JSON_TYPES[spec.item_kind]}
            if spec.item_kind is str:
                out["items"] |= {"minLength": 1, "maxLength": 40}
        if spec.max_items is not None:
            out["maxItems"] = spec.max_items
    if spec.doc:
        out["description"] = spec.doc
    return out


def _object(type_: str | None, doc: str, fields: Iterable[Field], *, client: bool) -> dict:
    fields = tuple(fields)
    props: dict[str, Any] = {} if type_ is None else {"type": {"const": type_}}
    props |= {f.name: field_schema(f, client=client) for f in fields}
    return {
        "type": "object",
        "description": doc,
        "properties": props,
        "required": ["type", *(f.name for f in fields if f.required)],
    }


def _client(cls: type[ClientMessage]) -> dict[str, Any]:
    doc = " ".join((cls.__doc__ or "").split())
    return _object(cls.type, doc, cls.fields, client=True)


def _server(frame: ServerFrame) -> dict[str, Any]:
    if frame.event:
        return {"description": frame.doc, "$ref": "#/$defs/event"}
    return _object(frame.type, frame.doc, frame.fields, client=False)


def protocol_schema() -> dict[str, Any]:
    """The whole document: ``$defs`` per frame and one union per direction."""
    defs: dict[str, Any] = {"event": dict(EVENT)}
    unions: dict[str, list[dict[str, str]]] = {}
    for side, table in (("customer", CUSTOMER_MESSAGES), ("agent", AGENT_MESSAGES)):
        name = f"{side}_to_server"
        unions[name] = []
        for type_, cls in table.items():
            key = f"{side}.{type_}"
            defs[key] = _client(cls)
            unions[name].append({"$ref": f"#/$defs/{key}"})
    for frame in SERVER_FRAMES:
        key = (
            f"server.{frame.type}" if len(frame.sides) > 1 else f"to_{frame.sides[0]}.{frame.type}"
        )
        defs[key] = _server(frame)
        for side in frame.sides:
            unions.setdefault(f"server_to_{side}", []).append({"$ref": f"#/$defs/{key}"})
    for name, refs in unions.items():
        defs[name] = {"anyOf": refs}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"chatd WebSocket frames ({SUBPROTOCOL})",
        "description": (
            "Every frame of the customer (/ws/customer) and agent (/ws/agent) WebSockets: "
            "customer_to_server, agent_to_server, server_to_customer, server_to_agent. "
            "Generated from chatd/protocol by `python -m chatd.docs_gen`; PROTOCOL.md explains "
            "each frame. Frames are open objects: ignore fields you do not know."
        ),
        "anyOf": [{"$ref": f"#/$defs/{name}"} for name in unions],
        "$defs": defs,
    }
