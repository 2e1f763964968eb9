"""How a client frame's fields are declared and checked: :class:`Field`, :class:`ClientMessage`.

One declaration per field serves decoding (``check_field``), encoding and the JSON Schema.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from chatd.protocol.codes import MAX_CID_CHARS, ProtocolError

__all__ = ["CID", "CONVERSATION", "OPTIONAL_CID", "TEXT", "ClientMessage", "Field", "check_field"]


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a frame: its JSON type and limits.

    Client frames' fields are checked by :func:`check_field`; server frames' fields
    (``server_frames``) are only published. Both become the JSON Schema (``schema``).
    """

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
    #: What the field means, for the JSON Schema's description.
    doc: str = ""
    #: A JSON Schema of the value where the type alone says too little (nested objects).
    schema: Mapping[str, Any] | None = None


def check_field(obj: Mapping[str, Any], spec: Field, ref: str | None, max_text: int) -> Any:
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
