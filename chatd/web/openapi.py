"""The OpenAPI 3.1 document of chatd's HTTP routes, served at ``GET /api/openapi.json``.

``PATHS`` holds one entry per route the app registers, built with :func:`operation`; the JSON
shapes inside come from ``chatd.protocol.server_frames`` (the same records the WebSocket
frames carry). ``python -m chatd.docs_gen`` writes the document to ``docs/openapi.json`` and
``tests/unit/test_published_schemas.py`` fails when a route of the app is missing here or the
committed file is stale.

To add a route: register it as usual (``chatd/web/api.py`` or a module beside it), add its
entry to ``PATHS`` below, ``"/api/your/route": {"post": operation("What it does",
roles=("operator",), params=(...), body=..., ok=_json(...), errors=(404,))}``, then run
``python -m chatd.docs_gen`` and commit docs/openapi.json.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from chatd.protocol import MAX_CID_CHARS
from chatd.service.export import CSV_COLUMNS
from chatd.store.accounts import AUDIT_ACTIONS
from chatd.web.api import CONVERSATION_CSV_COLUMNS, EXPORT_MAX_CONVERSATIONS, MAX_LIMIT
from chatd.web.deliveries_api import DELIVERY_SCHEMA as _DELIVERY
from chatd.web.deliveries_api import DELIVERY_STATES
from chatd.web.openapi_parts import (
    _ATTACHMENT,
    _ATTACHMENT_ID,
    _ATTACHMENTS,
    _CONV_ID,
    _FILTERS,
    _LIMIT,
    _STAFF,
    _STR_SCHEMA,
    _TICKET_ID,
    _TRANSCRIPT,
    _TZ,
    COMPONENTS,
    CONVERSATION,
    EVENT,
    TICKET,
    _json,
    _list_of,
    _page,
    _preflight,
    _upload,
    _websocket,
    operation,
    param,
    ref,
)

__all__ = ["COMPONENTS", "PATHS", "openapi_document", "operation", "param", "ref", "routes"]


PATHS: dict[str, dict[str, dict[str, Any]]] = {
    "/ws/customer": {"get": _websocket("customer", "The widget's chat.")},
    "/ws/agent": {
        "get": _websocket("agent", "The console; the token goes in the first frame, never the URL.")
    },
    "/healthz": {
        "get": operation(
            "Readiness",
            ok=_json({"type": "object", "properties": {"status": {"const": "ok"}}}),
            errors={503: 'shutting down: `{"status": "shutting_down"}`'},
            tag="ops",
        )
    },
    "/metrics": {
        "get": operation(
            "Prometheus metrics",
            description="Readable from an address in `[metrics] allow` or with `Authorization: "
            "Bearer <[metrics] token>`.",
            ok={"description": "Prometheus text", "content": {"text/plain": {"schema": {}}}},
            errors={403: "forbidden: not an allowed address and no metrics token"},
            tag="ops",
        )
    },
    "/api/openapi.json": {
        "get": operation("This document", ok=_json({"type": "object"}), tag="ops"),
    },
    "/api/login": {
        "post": operation(
            "Staff sign-in: name, password and (when enrolled) a TOTP code → a session token",
            description=(
                "The token works wherever an agent token does (`Authorization: Bearer`, the "
                "hello of `/ws/agent`) until `expires_at` (`[security] session_ttl_s`) or "
                "`POST /api/logout`. An unknown name and a wrong password get the same answer. "
                "After `[security] login_failures` failures of one account within "
                "`login_window_s`, 429 even for the right password (with `Retry-After`); also "
                "429 after 20 attempts a minute from one address."
            ),
            body={
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 64},
                    "password": {"type": "string", "minLength": 1, "maxLength": 1024},
                    "otp": {"type": "string", "maxLength": 16, "description": "6 digits"},
                },
                "required": ["name", "password"],
            },
            ok=_json(
                {
                    "type": "object",
                    "properties": {
                        "token": {"type": "string", "pattern": "^cs_"},
                        "expires_at": {"type": "number", "description": "unix seconds"},
                        "agent": {
                            "type": "object",
                            "properties": {
                                "id": {"type": "string"},
                                "name": {"type": "string"},
                                "role": {"enum": ["agent", "supervisor", "operator"]},
                            },
                            "required": ["id", "name", "role"],
                        },
                    },
                    "required": ["token", "expires_at", "agent"],
                }
            ),
            errors={
                400: "bad_frame or invalid_field: the body is not a JSON object with strings",
                401: "bad_credentials, otp_required or bad_otp",
                403: "totp_required: `[security] require_totp` and no TOTP enrolled",
                429: "rate_limited: too many failures of this account, or attempts from here",
            },
            tag="sign-in",
        )
    },
    "/api/logout": {
        "post": operation(
            "End the session the bearer token names, at once and on every node",
            description="Consoles open on the session are closed with 1008.",
            ok={"description": "signed out (no body)"},
            ok_status=204,
            errors={401: "not_authenticated: no bearer token, or not a valid session token"},
            tag="sign-in",
        )
    },
    "/api/audit": {
        "get": operation(
            "The audit trail, newest first",
            roles=("operator",),
            params=(
                param("since", "unix seconds or ISO 8601, inclusive"),
                param("until", "unix seconds or ISO 8601, exclusive"),
                param("actor", "an account name, `cli:<user>` for admin commands"),
                param("action", "one action", {"enum": list(AUDIT_ACTIONS)}),
                param("limit", f"1-{MAX_LIMIT}, default 100", {"type": "integer"}),
            ),
            ok=_json(
                _list_of(
                    "entries",
                    {
                        "type": "object",
                        "properties": {
                            "ts": {"type": "number"},
                            "actor": {"type": "string"},
                            "action": {"enum": list(AUDIT_ACTIONS)},
                            "target": {"type": ["string", "null"]},
                            "ip": {"type": ["string", "null"]},
                        },
                        "required": ["ts", "actor", "action", "target", "ip"],
                    },
                )
            ),
        )
    },
    _ATTACHMENTS: {
        "post": _upload(),
        "options": _preflight(),
    },
    _ATTACHMENT: {
        "get": operation(
            "Download a file",
            description=(
                "For the conversation's customer (`Authorization: Bearer <resume_token>`), its "
                "assigned agent, any operator, or anyone with a signed link (`?exp=&sig=` from "
                "`.../link`). The bytes with their stored `Content-Type`, "
                "`X-Content-Type-Options: nosniff` and a `Content-Disposition`. A staff "
                "member's read is audited (`attachment.read`)."
            ),
            params=(
                _CONV_ID,
                _ATTACHMENT_ID,
                param("exp", "signed link"),
                param("sig", "signed link"),
            ),
            ok={"description": "the file's bytes", "content": {"*/*": {"schema": {}}}},
            errors={401: None, 403: None, 404: None},
            tag="attachments",
        ),
        "options": _preflight(),
    },
    _ATTACHMENT + "/link": {
        "get": operation(
            "A signed link to the file, for an <img src> (no header needed); expires",
            params=(_CONV_ID, _ATTACHMENT_ID),
            ok=_json(
                {
                    "type": "object",
                    "properties": {"url": _STR_SCHEMA, "expires_at": {"type": "number"}},
                    "required": ["url", "expires_at"],
                }
            ),
            errors={401: None, 403: None, 404: None},
            tag="attachments",
        ),
        "options": _preflight(),
    },
    "/api/conversations/{conversation_id}/messages": {
        "post": operation(
            "Post a system message into an open conversation (integrations)",
            description=(
                "For integration tokens with the scope `messages:write` (`chatd tokens create "
                "NAME --scope messages:write`) and operators. Shown to the customer and the "
                "assigned agent with the token's name as `author_name`; secrets masked; a "
                "retried `cid` answers 200 with the first event."
            ),
            roles=("operator",),
            params=(_CONV_ID,),
            body={
                "type": "object",
                "properties": {
                    "text": {"type": "string", "minLength": 1},
                    "cid": {"type": "string", "maxLength": MAX_CID_CHARS},
                },
                "required": ["text"],
            },
            ok=_json({"type": "object", "properties": {"event": EVENT}}, "posted"),
            ok_status=201,
            errors={404: None, 409: "invalid_state: the conversation is closed"},
            tag="integrations",
        )
        | {"x-retried": "a retried cid answers 200 with the first event"}
    },
    "/api/conversations/{conversation_id}/transcript": {
        "post": operation(
            "Email me the transcript (the conversation's customer)",
            description=(
                "Auth: the customer's resume token (`Authorization: Bearer`). Queues one mail "
                "of the conversation's public events (secrets masked) with a link back, to the "
                "address given; an internal audit event records it. At most 3 a conversation "
                "and 10 an address per hour (429 with `Retry-After`)."
            ),
            params=(_CONV_ID,),
            body={
                "type": "object",
                "properties": {"email": {"type": "string", "maxLength": 254}},
                "required": ["email"],
            },
            ok=_json({"type": "object", "properties": {"queued": {"const": True}}}, "queued"),
            ok_status=202,
            errors={
                400: "invalid_field: not an email address",
                401: None,
                403: "forbidden: another conversation's token",
                409: "invalid_state: this server sends no email",
                429: "rate_limited",
            },
            tag="integrations",
        )
    },
    "/api/conversations/{conversation_id}/followup": {
        method: operation(
            summary,
            description=(
                "Auth: the customer's resume token (`Authorization: Bearer`). While an address "
                "is set, the staff's replies the customer has not seen (not connected when they "
                "came, and not back since) are mailed `[email] notify_after_s` after the first, "
                "all in one digest with a link back. Every open connection of the customer's "
                "gets a `followup` frame; an internal audit event records it. At most 5 changes "
                "a conversation per hour (429 with `Retry-After`)."
            ),
            params=(_CONV_ID,),
            body=body,
            ok=_json(
                {
                    "type": "object",
                    "properties": {
                        "email": {"type": ["string", "null"]},
                        "notify_after_s": {"type": "number"},
                    },
                    "required": ["email"],
                }
            ),
            errors={
                **({400: "invalid_field: not an email address"} if body else {}),
                401: None,
                403: "forbidden: another conversation's token",
                409: "invalid_state: this server sends no email",
                429: "rate_limited",
            },
            tag="integrations",
        )
        for method, summary, body in (
            (
                "put",
                "Email me new replies while I am away (the conversation's customer)",
                {
                    "type": "object",
                    "properties": {"email": {"type": "string", "maxLength": 254}},
                    "required": ["email"],
                },
            ),
            ("delete", "Stop emailing me replies (the conversation's customer)", None),
        )
    },
    "/api/deliveries": {
        "get": operation(
            "Outgoing emails and webhook calls that keep failing, oldest first",
            description="Each is still retried with backoff until its receiver accepts it "
            "(docs/integrations.md).",
            roles=("operator",),
            params=(
                param("state", "only `failing` (the default)", {"enum": list(DELIVERY_STATES)}),
                _LIMIT,
            ),
            ok=_json(_list_of("deliveries", _DELIVERY)),
            tag="integrations",
        )
    },
    "/api/deliveries/{delivery}/retry": {
        "post": operation(
            "Try a queued delivery again now",
            roles=("operator",),
            params=(param("delivery", "the delivery's id", {"type": "integer"}, where="path"),),
            ok=_json(
                {
                    "type": "object",
                    "properties": {"delivery": {"oneOf": [_DELIVERY, {"type": "null"}]}},
                    "required": ["delivery"],
                }
            ),
            errors={404: "not_found: no such delivery queued (delivered already?)"},
            tag="integrations",
        )
    },
    "/api/deliveries/{delivery}": {
        "delete": operation(
            "Give up on a queued delivery",
            description="It is deleted and no longer retried (a receiver removed from the "
            "configuration, an address that will never accept); the staff audit trail records "
            "`delivery.dropped`. A node sending it at that moment may still deliver it.",
            roles=("operator",),
            params=(param("delivery", "the delivery's id", {"type": "integer"}, where="path"),),
            ok=_json(
                {
                    "type": "object",
                    "properties": {"dropped": _DELIVERY},
                    "required": ["dropped"],
                }
            ),
            errors={404: "not_found: no such delivery queued (delivered already?)"},
            tag="integrations",
        )
    },
    "/api/me": {"get": operation("My account", roles=_STAFF, ok=_json(ref("Agent")))},
    "/api/queue": {
        "get": operation("The queue's figures", roles=_STAFF, ok=_json(ref("QueueOverview")))
    },
    "/api/canned": {
        "get": operation(
            "Canned replies from the config",
            roles=_STAFF,
            ok=_json(
                _list_of(
                    "canned",
                    {
                        "type": "object",
                        "properties": {"shortcut": {"type": "string"}, "text": {"type": "string"}},
                    },
                )
            ),
        )
    },
    "/api/kb/search": {
        "get": operation(
            "Search the bot's knowledge base",
            roles=_STAFF,
            params=(
                param("q", "the question, at most 200 characters"),
                param("locale", "one of the bot's languages (en, zh, ...); default: all"),
                param("limit", "1-20, default 5", {"type": "integer"}),
            ),
            ok=_json(_list_of("results", ref("KbResult"))),
        )
    },
    "/api/tickets": {
        "get": operation(
            "Tickets, newest first",
            roles=_STAFF,
            params=(param("status", "open, answered or closed; default all"), _LIMIT),
            ok=_json(_list_of("tickets", TICKET)),
        )
    },
    "/api/tickets/{ticket_id}": {
        "get": operation(
            "A ticket with its conversation and every event",
            roles=_STAFF,
            params=(_TICKET_ID,),
            ok=_json({**_TRANSCRIPT, "required": ["ticket", "conversation", "events"]}),
            errors=(404,),
        )
    },
    "/api/tickets/{ticket_id}/reply": {
        "post": operation(
            "Answer a ticket in writing",
            description="The customer sees the answer live or when they come back. A retried "
            "`cid` is stored once. When the ticket's contact is an email address and `[email]` "
            "is on, the answer is also mailed to it (docs/integrations.md).",
            roles=_STAFF,
            params=(_TICKET_ID,),
            body={
                "type": "object",
                "properties": {
                    "text": {
                        "type": "string",
                        "pattern": r"\S",
                        "description": "not blank; at most limits.max_message_chars (default "
                        "4000; longer: too_long)",
                    },
                    "cid": {"type": ["string", "null"], "maxLength": MAX_CID_CHARS},
                },
                "required": ["text"],
            },
            ok=_json({"type": "object", "properties": {"ticket": TICKET}, "required": ["ticket"]}),
            errors={
                400: "invalid_field: the body is not a JSON object, `text` is blank or not a "
                "string, `cid` is not a short string; too_long: `text` is over the limit; "
                "limit_reached: the conversation holds limits.max_events_per_conversation events",
                404: "not_found: no such ticket",
            },
        )
    },
    "/api/tickets/{ticket_id}/close": {
        "post": operation(
            "Close a ticket (its conversation ends too; closing twice is fine)",
            roles=_STAFF,
            params=(_TICKET_ID,),
            ok=_json({"type": "object", "properties": {"ticket": TICKET}, "required": ["ticket"]}),
            errors=(404,),
        )
    },
    "/api/agents": {
        "get": operation(
            "Every account with its live status and load",
            roles=_STAFF,
            ok=_json(
                _list_of(
                    "agents",
                    {
                        "allOf": [ref("Agent")],
                        "properties": {"active": {"type": "integer", "description": "chats now"}},
                    },
                )
            ),
        )
    },
    "/api/live": {
        "get": operation(
            "Every open conversation, oldest first, with its agent's name",
            description="What a supervisor watches; each is readable with the agent "
            "socket's `sync` (read-only) and movable with `transfer`.",
            roles=("supervisor", "operator"),
            ok=_json(_list_of("conversations", CONVERSATION)),
        )
    },
    "/api/conversations": {
        "get": operation(
            "Search conversations, newest first (each with `agent_name`)",
            roles=("operator",),
            params=(*_FILTERS, _LIMIT),
            ok=_json(_list_of("conversations", CONVERSATION)),
        )
    },
    "/api/conversations/{conversation_id}": {
        "get": operation(
            "A transcript: the conversation, its ticket and every event (internal ones too)",
            roles=("operator",),
            params=(param("conversation_id", "the conversation", where="path"),),
            ok=_json(_TRANSCRIPT),
            errors=(404,),
        )
    },
    "/api/export": {
        "get": operation(
            "Export the matching conversations, streamed",
            description=(
                "`format=jsonl` (default): one event a line, as in a transcript. "
                f"`format=csv`: one event a row, columns {', '.join(CSV_COLUMNS)} (`time` in "
                "ISO 8601 UTC, `internal` 1 or 0, `data` a JSON object or empty). "
                "`format=csv&rows=conversation`: one conversation a row, columns "
                f"{', '.join(CONVERSATION_CSV_COLUMNS)} (`created`, `closed` as "
                "YYYY-MM-DD HH:MM:SS in `tz`; `wait_s` from queueing to assignment, "
                "`first_response_s` to the first agent reply). CSV starts with a UTF-8 BOM and "
                "cells a spreadsheet would read as a formula start with `'`."
            ),
            roles=("operator",),
            params=(
                param("format", "jsonl (default) or csv"),
                param("rows", "event (default) or conversation (csv only)"),
                _TZ,
                *_FILTERS,
                param(
                    "limit",
                    f"conversations, 1-{EXPORT_MAX_CONVERSATIONS}, default 100",
                    {"type": "integer", "minimum": 1, "maximum": EXPORT_MAX_CONVERSATIONS},
                ),
            ),
            ok={
                "description": "a file (Content-Disposition: attachment)",
                "content": {
                    "application/x-ndjson": {"schema": {"type": "string"}},
                    "text/csv": {"schema": {"type": "string"}},
                },
            },
        )
    },
    "/api/stats": {
        "get": operation(
            "One day's figures",
            description=(
                "The day runs from local midnight in `tz` to the next midnight (23 or 25 hours "
                "across a DST change); `tz` is an IANA zone or minutes east of UTC, UTC by "
                "default, and is echoed as `tz`. `hourly[].hour` counts hours from that "
                "midnight. Without `day`: today in `tz`."
            ),
            roles=("operator",),
            params=(param("day", "YYYY-MM-DD, default today in `tz`"), _TZ),
            ok=_json(
                {
                    "type": "object",
                    "properties": {
                        "day": {"type": "string", "format": "date"},
                        "tz": {"type": "string", "description": "`Asia/Shanghai` or `UTC+08:00`"},
                        "conversations": {"type": "integer"},
                        "deflection_rate": {
                            "type": ["number", "null"],
                            "description": "share of closed chats the bot ended alone",
                        },
                        "handed_off": {"type": "integer"},
                        "tickets": {"type": "integer"},
                        "wait_p50_s": {"type": ["number", "null"]},
                        "wait_p90_s": {"type": ["number", "null"]},
                        "first_response_p50_s": {"type": ["number", "null"]},
                        "csat_avg": {"type": ["number", "null"]},
                        "csat_count": {"type": "integer"},
                        "hourly": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "hour": {
                                        "type": "integer",
                                        "description": "hours since local midnight",
                                    },
                                    "conversations": {"type": "integer"},
                                    "deflected": {"type": "integer"},
                                    "handed_off": {"type": "integer"},
                                    "wait_p50_s": {"type": ["number", "null"]},
                                },
                            },
                        },
                    },
                    "required": ["day", "tz", "conversations", "hourly"],
                }
            ),
        )
    },
    "/": {
        "get": operation(
            "Redirects to /demo", ok={"description": "to /demo"}, ok_status=302, tag="pages"
        )
    },
    "/widget.js": {
        "get": operation(
            "The embeddable widget (one <script> tag; cross-origin allowed)",
            ok={"description": "JavaScript", "content": {"text/javascript": {"schema": {}}}},
            tag="pages",
        )
    },
    "/static/{name}": {
        "get": operation(
            "A file of the web UI (gzip and ETag)",
            params=(param("name", "the file's name", where="path"),),
            ok={"description": "the file"},
            errors=(404,),
            tag="pages",
        )
    },
    "/console": {"get": _page("The agent console")},
    "/ops": {"get": _page("The operator pages")},
    "/demo": {"get": _page("A demo page embedding the widget")},
}


def openapi_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "chatd HTTP API",
            "version": "1",
            "description": "Staff routes take `Authorization: Bearer <token>` (from `chatd "
            'agents add`); every error is `{"error": {"code", "message"}}` with the codes of '
            "PROTOCOL.md. Generated from chatd/web/openapi.py by `python -m chatd.docs_gen`.",
        },
        "paths": {path: dict(ops) for path, ops in PATHS.items()},
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {name: dict(schema) for name, schema in COMPONENTS.items()},
        },
    }


routes = web.RouteTableDef()


@routes.get("/api/openapi.json")
async def openapi_json(request: web.Request) -> web.Response:
    """This document (no authentication: it holds no data)."""
    return web.json_response(openapi_document())
