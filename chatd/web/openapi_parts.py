"""The parts the OpenAPI document of chatd/web/openapi.py is built from: the shared records
(``COMPONENTS``), :func:`operation` and :func:`param`, and the parameters and bodies several
routes share."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from chatd.domain.roles import STAFF
from chatd.protocol import ERROR_CODES, MAX_CID_CHARS, SUBPROTOCOL
from chatd.protocol import server_frames as shapes
from chatd.web.api import MAX_LIMIT

Schema = Mapping[str, Any]

ERROR: Schema = {
    "type": "object",
    "description": "Every 4xx/5xx answer of the HTTP API.",
    "properties": {
        "error": {
            "type": "object",
            "properties": {
                "code": {"enum": list(ERROR_CODES), "description": "stable; see PROTOCOL.md"},
                "message": {"type": "string", "description": "for people; may change"},
            },
            "required": ["code", "message"],
        }
    },
    "required": ["error"],
}

#: Records the routes share, under components/schemas (the shapes the WebSocket frames carry).
COMPONENTS: dict[str, Schema] = {
    "Error": ERROR,
    "Event": shapes.EVENT,
    "Ticket": shapes.TICKET,
    "Conversation": shapes.CONVERSATION_SUMMARY,
    "Agent": shapes.AGENT_PROFILE,
    "QueueOverview": shapes.QUEUE_OVERVIEW,
    "KbResult": shapes.KB_RESULT,
}


def ref(name: str) -> Schema:
    """A reference to one of COMPONENTS."""
    assert name in COMPONENTS, name
    return {"$ref": f"#/components/schemas/{name}"}


EVENT, TICKET, CONVERSATION = ref("Event"), ref("Ticket"), ref("Conversation")

#: Why each error status is answered, for the responses of every operation.
_ERRORS = {
    400: "invalid_field (or too_long): a parameter or the body is malformed",
    401: "not_authenticated: no `Authorization: Bearer <token>`, or the token is not valid",
    403: "forbidden: the route is not for this role",
    404: "not_found",
    409: "invalid_state: the record's state does not allow this",
}


def _error(status: int, why: str | None = None) -> dict[str, Any]:
    return {
        "description": why or _ERRORS[status],
        "content": {"application/json": {"schema": ref("Error")}},
    }


def _json(schema: Schema, description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def param(
    name: str, description: str, schema: Schema | None = None, *, where: str = "query"
) -> dict[str, Any]:
    """One parameter (query by default; path parameters are required)."""
    out: dict[str, Any] = {
        "name": name,
        "in": where,
        "description": description,
        "schema": dict(schema or {"type": "string"}),
    }
    if where == "path":
        out["required"] = True
    return out


def operation(
    summary: str,
    *,
    roles: Iterable[str] | None = None,
    description: str = "",
    params: Iterable[Mapping[str, Any]] = (),
    body: Schema | None = None,
    ok: Mapping[str, Any] | None = None,
    errors: Mapping[int, str | None] | Iterable[int] = (),
    tag: str = "api",
    ok_status: int = 200,
) -> dict[str, Any]:
    """One operation. ``roles``: staff roles admitted with a bearer token (None: no auth);
    ``ok``: the 200 response (``_json(schema)``); ``errors``: statuses besides the auth ones."""
    errs = dict(errors) if isinstance(errors, Mapping) else dict.fromkeys(errors)
    out: dict[str, Any] = {"summary": summary, "tags": [tag]}
    if description:
        out["description"] = description
    if roles is not None:
        who = ", ".join(roles)
        out["description"] = f"{description}\n\nRoles: {who}.".strip()
        out["security"] = [{"bearer": []}]
        errs = {400: None, 401: None, 403: None, **errs}
    if params:
        out["parameters"] = [dict(p) for p in params]
    if body is not None:
        out["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    out["responses"] = {str(ok_status): dict(ok or _json({"type": "object"}))}
    out["responses"] |= {str(s): _error(s, why) for s, why in sorted(errs.items())}
    return out


_STR_SCHEMA: Schema = {"type": "string"}
_ATTACHMENTS = "/api/conversations/{conversation_id}/attachments"
_ATTACHMENT = _ATTACHMENTS + "/{attachment_id}"
_CONV_ID = param("conversation_id", "the conversation", where="path")
_ATTACHMENT_ID = param("attachment_id", "the attachment", where="path")
_ATTACHMENT_OBJECT: Schema = {
    "type": "object",
    "properties": {
        "id": _STR_SCHEMA,
        "name": _STR_SCHEMA,
        "content_type": _STR_SCHEMA,
        "size": {"type": "integer"},
        "url": {"type": "string", "description": "a path on this server"},
    },
    "required": ["id", "name", "content_type", "size", "url"],
}


def _upload() -> dict[str, Any]:
    out = operation(
        "Upload a file into the conversation",
        description=(
            "The conversation's customer (`Authorization: Bearer <resume_token>`) or its "
            "assigned agent; operators may not upload. The type is read from the bytes (PNG, "
            "JPEG, WebP, GIF, PDF, plain text by default); images are re-encoded (EXIF "
            "dropped). A retry with the same `cid` answers 200 with the first attachment. The "
            "conversation gets one `attachment` event."
        ),
        params=(_CONV_ID,),
        ok=_json(
            {
                "type": "object",
                "properties": {"attachment": _ATTACHMENT_OBJECT},
                "required": ["attachment"],
            },
            "stored",
        ),
        ok_status=201,
        errors={
            400: "invalid_field: not multipart/form-data with a part `file`",
            401: None,
            403: "forbidden: an operator, another conversation's customer, an unassigned agent",
            404: None,
            409: "invalid_state: the conversation is closed",
            413: "too_large or quota_exceeded",
            415: "unsupported_type",
            429: "rate_limited: too many uploads from this address (`Retry-After`)",
        },
        tag="attachments",
    )
    out["requestBody"] = {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        "cid": {"type": "string", "maxLength": MAX_CID_CHARS},
                    },
                    "required": ["file"],
                }
            }
        },
    }
    out["responses"]["200"] = _json(
        {"type": "object", "properties": {"attachment": _ATTACHMENT_OBJECT}},
        "a retried cid: the attachment stored the first time",
    )
    return out


def _preflight() -> dict[str, Any]:
    return {
        "summary": "CORS preflight for pages on `[server] allowed_origins`",
        "tags": ["attachments"],
        "responses": {"204": {"description": "allowed (Access-Control-Allow-* headers)"}},
    }


def _list_of(key: str, item: Schema) -> Schema:
    return {
        "type": "object",
        "properties": {key: {"type": "array", "items": item}},
        "required": [key],
    }


_STAFF = STAFF
_TICKET_ID = param("ticket_id", "the ticket's number", {"type": "integer"}, where="path")
_LIMIT = param(
    "limit", f"1-{MAX_LIMIT}, default 100", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT}
)
_TZ = param(
    "tz",
    "an IANA zone name (`Asia/Shanghai`) or minutes east of UTC (`480` is UTC+8); default UTC",
)
_FILTERS = (
    param("status", "bot, queued, assigned, closed or ticket"),
    param("agent_id", "the agent who served it"),
    param("intent", "the intent the bot recognised"),
    param("since", "created at or after: Unix seconds or ISO 8601 (UTC without a zone)"),
    param("until", "created before: Unix seconds or ISO 8601 (UTC without a zone)"),
    param("q", "text search in messages, at most 200 characters"),
    param("offset", "skip this many, default 0", {"type": "integer", "minimum": 0}),
)
_TRANSCRIPT = {
    "type": "object",
    "properties": {
        "conversation": {"anyOf": [CONVERSATION, {"type": "null"}]},
        "ticket": {"anyOf": [TICKET, {"type": "null"}]},
        "events": {"type": "array", "items": EVENT},
    },
    "required": ["conversation", "events"],
}
_PAGE = {"text/html": {"schema": {"type": "string"}}}


def _page(summary: str) -> dict[str, Any]:
    return operation(summary, ok={"description": "the page", "content": _PAGE}, tag="pages")


def _websocket(side: str, description: str) -> dict[str, Any]:
    return operation(
        f"The {side} WebSocket (subprotocol {SUBPROTOCOL})",
        description=f"{description} Frames: PROTOCOL.md and docs/protocol.schema.json "
        f"(`{side}_to_server`, `server_to_{side}`).",
        errors={
            400: f"invalid_field: the subprotocol {SUBPROTOCOL!r} was not offered",
            403: "forbidden: the Origin is not allowed",
        },
        ok={"description": "switching protocols"},
        ok_status=101,
        tag="websocket",
    )
